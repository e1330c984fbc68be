import * as fs from 'fs';
import * as path from 'path';
import { AddressInfo } from 'net';
import { SMTPServer } from 'smtp-server';

/**
 * A mail server stand-in for the demo, the tests and the benchmark: the LGWAN
 * mail server, the LGWAN mail peer or "the internet". It accepts every
 * message (or answers what `answer` says), keeps it in memory and, with a
 * folder, writes it there as `<n>.eml` for a person to read.
 */
export interface SinkMessage {
  readonly from: string;
  readonly to: string[];
  readonly raw: Buffer;
  readonly at: number;
}

export interface SinkOptions {
  readonly name: string;
  readonly dir?: string;
  /** A refusal for this recipient (e.g. `{ code: 550, message: '5.1.1 no such user' }`), or undefined to accept. */
  readonly answer?: (rcpt: string) => { code: number; message: string } | undefined;
  readonly onMessage?: (m: SinkMessage) => void;
}

export class Sink {
  readonly messages: SinkMessage[] = [];
  /** Called for each message as it arrives (may be replaced, e.g. per benchmark run). */
  onMessage?: (m: SinkMessage) => void;
  private readonly server: SMTPServer;
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(readonly o: SinkOptions) {
    this.onMessage = o.onMessage;
    if (o.dir) fs.mkdirSync(o.dir, { recursive: true });
    this.server = new SMTPServer({
      name: o.name,
      banner: `${o.name} (stand-in)`,
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      logger: false,
      maxClients: 500,
      size: 100 * 1024 * 1024,
      onRcptTo: (address, _session, cb) => {
        const a = o.answer?.(address.address);
        if (a) return cb(Object.assign(new Error(a.message), { responseCode: a.code }));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const m: SinkMessage = { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks), at: Date.now() };
          this.messages.push(m);
          if (o.dir) fs.writeFileSync(path.join(o.dir, `${String(this.messages.length).padStart(5, '0')}.eml`), m.raw);
          this.onMessage?.(m);
          this.waiters = this.waiters.filter((w) => (this.messages.length >= w.n ? (w.resolve(), false) : true));
          cb();
        });
      },
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, host, () => resolve()));
    return ((this.server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  }

  /** Resolves when `n` messages have arrived, or rejects after `ms`. */
  waitFor(n: number, ms = 30_000): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.o.name}: ${this.messages.length} of ${n} messages after ${ms} ms`)), ms);
      this.waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
