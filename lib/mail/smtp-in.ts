import { SMTPServer, SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { AddressInfo } from 'net';
import { ID_HEADER, MailMeta, headerValue, mailId, sha256 } from './envelope';

/**
 * The receiving side of every relay role: an SMTP server that answers 250
 * only after `store` resolved, i.e. after the message is durably stored.
 * A relay killed at any moment has either stored the message (and will
 * deliver it after restart) or not answered 250 (and the sender retries).
 */
export interface Refusal {
  readonly code: number;
  readonly message: string;
}

export interface ReceiverOptions {
  /** The role, for the banner, the Received header and logs. */
  readonly role: string;
  readonly hostname: string;
  readonly maxBytes: number;
  /** STARTTLS certificate; without it STARTTLS is not offered. */
  readonly tls?: { key: Buffer; cert: Buffer };
  /** Whether an existing id header (set by the relay before us) is trusted. */
  readonly trustIdHeader?: boolean;
  /** Most parallel sessions (SMTP 421 beyond). */
  readonly maxClients?: number;
  /** undefined accepts the recipient; a refusal answers with its code. */
  acceptRecipient(address: string, session: { remoteAddress: string }): Refusal | undefined;
  /**
   * Checks a received message before it is stored (the gateway's sender
   * authentication): a refusal answers with its code (451: the sender
   * retries; 5xx: refused, the sender bounces), otherwise `prepend` goes on
   * top and `raw` (if given) replaces the received bytes.
   */
  inspect?(raw: Buffer, session: { remoteAddress: string; helo: string; mailFrom: string }): Promise<{ refusal?: Refusal; prepend?: string; raw?: Buffer }>;
  /** Durably stores an accepted message; resolves when stored. Returns the queue id. */
  store(meta: MailMeta, raw: Buffer): Promise<string>;
  readonly log?: (line: string) => void;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/** The Received trace header this relay adds (RFC 5321 section 4.4). */
export function receivedHeader(o: { helo: string; remote: string; by: string; role: string; tls: boolean; id: string; rcpt?: string }): string {
  return `Received: from ${o.helo || 'unknown'} ([${o.remote}])\r\n\tby ${o.by} (three-tier ${o.role}) with ${o.tls ? 'ESMTPS' : 'ESMTP'} id ${o.id.slice(0, 16)}${o.rcpt ? `\r\n\tfor <${o.rcpt}>` : ''};\r\n\t${new Date().toUTCString().replace('GMT', '+0000')}\r\n`;
}

export class DurableReceiver {
  readonly server: SMTPServer;
  private readonly log: (line: string) => void;

  constructor(readonly o: ReceiverOptions) {
    this.log = o.log ?? (() => undefined);
    this.server = new SMTPServer({
      name: o.hostname,
      banner: `three-tier ${o.role}`,
      size: o.maxBytes,
      key: o.tls?.key,
      cert: o.tls?.cert,
      disabledCommands: o.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      authOptional: true,
      logger: false,
      maxClients: o.maxClients ?? 200,
      socketTimeout: 120_000,
      closeTimeout: 5_000,
      onRcptTo: (address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) => {
        const refusal = o.acceptRecipient(address.address, { remoteAddress: session.remoteAddress });
        if (refusal) {
          this.log(`${o.role}: refused RCPT TO:<${address.address}> from ${session.remoteAddress}: ${refusal.code} ${refusal.message}`);
          return cb(smtpError(refusal.code, refusal.message));
        }
        cb();
      },
      onData: (stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (e) => cb(smtpError(451, `4.3.0 could not read the message: ${e.message}`)));
        stream.on('end', () => {
          if (stream.sizeExceeded) return cb(smtpError(552, `5.3.4 message exceeds the limit of ${o.maxBytes} bytes`));
          const received = Buffer.concat(chunks);
          this.accept(received, session).then(
            (id) => cb(null, `2.0.0 Ok: stored as ${id}`),
            (e) => {
              const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
              if ((e as { refusal?: Refusal }).refusal) {
                // Refused by the check before storing: the sender gets the reason (451 retries, 5xx bounces at the sender).
                const r = (e as { refusal: Refusal }).refusal;
                this.log(`${o.role}: refused a message from <${from}> (${session.remoteAddress}): ${r.code} ${r.message}`);
                return cb(smtpError(r.code, r.message));
              }
              // Not stored: 451 makes the sender retry; nothing is lost.
              this.log(`${o.role}: could not store a message from <${from}>: ${(e as Error).message}`);
              cb(smtpError(451, '4.3.0 temporary storage failure, please retry'));
            },
          );
        });
      },
    });
    this.server.on('error', (e) => this.log(`${o.role}: SMTP server error: ${e.message}`));
  }

  private async accept(original: Buffer, session: SMTPServerSession): Promise<string> {
    // The id comes from the bytes as sent, so a retry of the same message gets the same id.
    const digest = sha256(original);
    let received = original;
    let checked = '';
    if (this.o.inspect) {
      const r = await this.o.inspect(original, { remoteAddress: session.remoteAddress, helo: session.hostNameAppearsAs, mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '' });
      if (r.refusal) throw Object.assign(new Error(r.refusal.message), { refusal: r.refusal });
      received = r.raw ?? original;
      checked = r.prepend ?? '';
    }
    let messageId = headerValue(received, 'Message-ID');
    let prefix = '';
    if (!messageId) {
      // A message without Message-ID gets one derived from its bytes, so a retry gets the same one.
      messageId = `<${digest.slice(0, 32)}@${this.o.hostname}>`;
      prefix += `Message-ID: ${messageId}\r\n`;
    }
    const trusted = this.o.trustIdHeader ? headerValue(received, ID_HEADER) : undefined;
    const id = trusted && /^[0-9a-f]{40}$/.test(trusted) ? trusted : mailId(messageId, digest);
    if (!trusted) prefix = `${ID_HEADER}: ${id}\r\n${prefix}`;
    const rcpts = session.envelope.rcptTo.map((r) => r.address);
    const raw = Buffer.concat([Buffer.from(checked), Buffer.from(receivedHeader({ helo: session.hostNameAppearsAs, remote: session.remoteAddress, by: this.o.hostname, role: this.o.role, tls: Boolean(session.secure), id, rcpt: rcpts.length === 1 ? rcpts[0] : undefined }) + prefix), received]);
    const meta: MailMeta = {
      id,
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: rcpts,
      messageId,
      sha256: digest,
      receivedAt: new Date().toISOString(),
      via: `${this.o.role} from ${session.remoteAddress}`,
    };
    return this.o.store(meta, raw);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return ((this.server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
