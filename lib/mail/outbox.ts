import * as nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { BlobStore } from './store';
import { StoredMail, addressKey, decodeStored, sha256 } from './envelope';
import { Failure, buildDsn } from './dsn';

/**
 * The sending side of every relay role: delivers the messages stored under
 * a prefix of a store, over SMTP, and removes each message only when every
 * recipient is done (delivered or bounced). Per recipient, a ledger entry
 * records delivery, so a message that comes round again (a retry after a
 * crash, a duplicate of an upstream retry) is not delivered twice.
 * Permanent failures (5xx) bounce with a DSN to the sender; temporary ones
 * (4xx, connection failures) retry with exponential backoff until
 * `maxAgeMs` after the message was first received, then bounce.
 */
export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface RouteGroup {
  readonly recipients: string[];
  /** Tried in order; the next one is used when a host cannot be reached. */
  readonly targets: Target[];
}

export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Give up (and bounce) this long after the message was first received. */
  readonly maxAgeMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 60_000, maxMs: 3_600_000, maxAgeMs: 5 * 24 * 3_600_000 };

export interface OutboxOptions {
  readonly role: string;
  readonly hostname: string;
  readonly source: BlobStore;
  readonly prefix: string;
  /** Delivered/bounced recipients and dead letters. */
  readonly ledger: BlobStore;
  /** Groups the pending recipients and names where each group goes. */
  route(mail: StoredMail, pending: string[]): Promise<RouteGroup[]> | RouteGroup[];
  /** Where delivery status notifications go (another store, or delivered by another outbox). */
  bounce(dsn: StoredMail): Promise<void>;
  readonly retry?: RetryPolicy;
  readonly concurrency?: number;
  readonly pollMs?: number;
  /** Offer STARTTLS opportunistically to the next hop (certificates are not verified inside the deployment). */
  readonly opportunisticTls?: boolean;
  readonly log?: (line: string) => void;
  /**
   * Several hosts may serve the same store (an auto-scaling group): each
   * message is leased (a conditional write in the ledger) before it is
   * sent, so only one host sends it. A lease runs out after `leaseMs`; the
   * same holder (a restarted service on the same host) takes its own
   * leases back at once.
   */
  readonly holder?: string;
  readonly leaseMs?: number;
  /** Turns the stored message into what is sent (the internet relay's DKIM signature); the stored message is never changed. */
  prepare?(mail: StoredMail): Promise<Buffer>;
  /** Called when a recipient was delivered (tests, metrics). */
  readonly onDelivered?: (mail: StoredMail, recipient: string) => void;
}

export interface OutboxStats {
  delivered: number;
  bounced: number;
  deferred: number;
  duplicates: number;
  dead: number;
}

type Outcome = { kind: 'ok' } | { kind: 'temp' | 'perm'; status: string; diagnostic: string; remote?: string };

function statusOf(code: number | undefined, text: string): string {
  const m = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(text);
  if (m) return m[1];
  if (!code) return '4.4.1';
  return `${Math.floor(code / 100)}.0.0`;
}

export class Outbox {
  readonly stats: OutboxStats = { delivered: 0, bounced: 0, deferred: 0, duplicates: 0, dead: 0 };
  private readonly transports = new Map<string, nodemailer.Transporter<SMTPPool.SentMessageInfo>>();
  private readonly inFlight = new Set<string>();
  private readonly nextAttempt = new Map<string, { at: number; attempts: number }>();
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private readonly log: (line: string) => void;
  private readonly retry: RetryPolicy;
  private readonly holder: string;
  private idle: Promise<void> = Promise.resolve();

  constructor(readonly o: OutboxOptions) {
    this.log = o.log ?? (() => undefined);
    this.retry = o.retry ?? DEFAULT_RETRY;
    this.holder = o.holder ?? `${o.hostname}/${o.role}`;
  }

  start(): void {
    const tick = async () => {
      if (this.stopping) return;
      try {
        await this.runOnce();
      } catch (e) {
        this.log(`${this.o.role}: outbox scan of ${this.o.source.where}/${this.o.prefix} failed, will retry: ${(e as Error).message}`);
      }
      if (!this.stopping) this.timer = setTimeout(() => (this.idle = tick()), this.o.pollMs ?? 1000);
    };
    this.idle = tick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.idle;
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
  }

  /** One pass: every stored message that is due, `concurrency` at a time. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const keys = (await this.o.source.list(this.o.prefix, 5000)).filter((k) => !this.inFlight.has(k) && (this.nextAttempt.get(k)?.at ?? 0) <= Date.now());
    let next = 0;
    const worker = async () => {
      while (next < keys.length && !this.stopping) {
        const key = keys[next++];
        this.inFlight.add(key);
        try {
          await this.process(key);
        } catch (e) {
          // Storage trouble: the message stays where it is and is tried again.
          this.defer(key);
          this.log(`${this.o.role}: ${key}: ${(e as Error).message}; will retry`);
        } finally {
          this.inFlight.delete(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 16, keys.length) }, worker));
    return keys.length;
  }

  private defer(key: string): number {
    const prev = this.nextAttempt.get(key)?.attempts ?? 0;
    const delay = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** prev) * (0.8 + Math.random() * 0.4);
    this.nextAttempt.set(key, { at: Date.now() + delay, attempts: prev + 1 });
    return delay;
  }

  private ledgerKey(what: 'delivered' | 'bounced', id: string, rcpt: string): string {
    return `ledger/${what}/${id}/${addressKey(rcpt)}`;
  }

  /** Takes the lease of a message; undefined when another holder has it. */
  private async claim(key: string): Promise<string | undefined> {
    const base = `lease/${sha256(key).slice(0, 32)}/`;
    const held = await this.o.ledger.list(base);
    const last = held[held.length - 1];
    let gen = 0;
    if (last) {
      const lease = JSON.parse((await this.o.ledger.get(last))?.toString() || '{"until":0}') as { holder?: string; until: number };
      if (lease.until > Date.now() && lease.holder !== this.holder) return undefined;
      gen = Number(last.slice(base.length)) + 1;
    }
    const mine = `${base}${String(gen).padStart(8, '0')}`;
    return (await this.o.ledger.putIfAbsent(mine, Buffer.from(JSON.stringify({ holder: this.holder, key, until: Date.now() + (this.o.leaseMs ?? 10 * 60_000) })))) ? base : undefined;
  }

  private async release(base: string): Promise<void> {
    for (const k of await this.o.ledger.list(base)) await this.o.ledger.delete(k);
  }

  private async process(key: string): Promise<void> {
    const lease = await this.claim(key);
    if (!lease) return;
    try {
      await this.deliver(key);
    } finally {
      await this.release(lease);
    }
  }

  private async deliver(key: string): Promise<void> {
    const buf = await this.o.source.get(key);
    if (!buf) return;
    let mail: StoredMail;
    try {
      mail = decodeStored(buf);
    } catch (e) {
      await this.o.ledger.put(`dead/${key}`, buf);
      await this.o.source.delete(key);
      this.stats.dead++;
      this.log(`${this.o.role}: DEAD LETTER ${key}: ${(e as Error).message}; kept in ${this.o.ledger.where}/dead/${key}`);
      return;
    }
    const { meta } = mail;
    const pending: string[] = [];
    for (const rcpt of meta.to) {
      if ((await this.o.ledger.get(this.ledgerKey('delivered', meta.id, rcpt))) || (await this.o.ledger.get(this.ledgerKey('bounced', meta.id, rcpt)))) {
        this.stats.duplicates++;
        this.log(`${this.o.role}: ${meta.id} to <${rcpt}> was already delivered or bounced: duplicate suppressed`);
      } else pending.push(rcpt);
    }
    const failures: Failure[] = [];
    let deferred = false;
    if (pending.length) {
      for (const group of await this.o.route(mail, pending)) {
        const outcomes = await this.sendGroup(mail, group);
        for (const rcpt of group.recipients) {
          const out = outcomes.get(rcpt)!;
          if (out.kind === 'ok') {
            await this.o.ledger.putIfAbsent(this.ledgerKey('delivered', meta.id, rcpt), Buffer.from(new Date().toISOString()));
            this.stats.delivered++;
            this.o.onDelivered?.(mail, rcpt);
          } else if (out.kind === 'perm') {
            failures.push({ recipient: rcpt, status: out.status, diagnostic: out.diagnostic, remoteMta: out.remote });
          } else if (Date.now() - Date.parse(meta.receivedAt) > this.retry.maxAgeMs) {
            failures.push({ recipient: rcpt, status: '4.4.7', diagnostic: `delivery time expired after ${Math.round(this.retry.maxAgeMs / 3_600_000)} h; last error: ${out.diagnostic}`, remoteMta: out.remote });
          } else {
            deferred = true;
            this.log(`${this.o.role}: ${meta.id} to <${rcpt}> deferred: ${out.diagnostic}`);
          }
        }
      }
    }
    if (failures.length) await this.bounce(mail, failures, key);
    if (deferred) {
      this.stats.deferred++;
      const ms = this.defer(key);
      this.log(`${this.o.role}: ${meta.id} will be retried in ${Math.round(ms / 1000)} s`);
      return;
    }
    this.nextAttempt.delete(key);
    await this.o.source.delete(key);
  }

  private async bounce(mail: StoredMail, failures: Failure[], key: string): Promise<void> {
    if (mail.meta.dsn || !mail.meta.from) {
      // A bounce of a bounce (null sender) is never sent: it is kept as a dead letter and logged.
      await this.o.ledger.put(`dead/${key}`, Buffer.concat([Buffer.from(`${JSON.stringify(failures)}\n`), mail.raw]));
      this.stats.dead++;
      this.log(`${this.o.role}: DEAD LETTER ${mail.meta.id}: undeliverable notification (${failures.map((f) => `${f.recipient} ${f.status}`).join(', ')}); kept in ${this.o.ledger.where}/dead/${key}`);
    } else {
      await this.o.bounce(buildDsn(this.o.hostname, mail, failures));
      this.log(`${this.o.role}: ${mail.meta.id} bounced to <${mail.meta.from}>: ${failures.map((f) => `${f.recipient} ${f.status} ${f.diagnostic}`).join('; ')}`);
    }
    for (const f of failures) await this.o.ledger.putIfAbsent(this.ledgerKey('bounced', mail.meta.id, f.recipient), Buffer.from(JSON.stringify(f)));
    this.stats.bounced += failures.length;
  }

  private transport(t: Target): nodemailer.Transporter<SMTPPool.SentMessageInfo> {
    const k = `${t.host}:${t.port}`;
    let tr = this.transports.get(k);
    if (!tr) {
      tr = nodemailer.createTransport({
        pool: true,
        maxConnections: 4,
        maxMessages: 1000,
        host: t.host,
        port: t.port,
        secure: false,
        ignoreTLS: !this.o.opportunisticTls,
        opportunisticTLS: Boolean(this.o.opportunisticTls),
        tls: { rejectUnauthorized: false },
        name: this.o.hostname,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 120_000,
      } as SMTPPool.Options);
      this.transports.set(k, tr);
    }
    return tr;
  }

  /** Sends to the group's first reachable target; the outcome per recipient. */
  private async sendGroup(mail: StoredMail, group: RouteGroup): Promise<Map<string, Outcome>> {
    const out = new Map<string, Outcome>();
    const all = (o: Outcome) => group.recipients.forEach((r) => out.set(r, o));
    if (!group.targets.length) {
      all({ kind: 'perm', status: '5.4.4', diagnostic: 'no route to the recipient domain' });
      return out;
    }
    let last: Outcome = { kind: 'temp', status: '4.4.1', diagnostic: 'no target could be reached' };
    let raw = mail.raw;
    if (this.o.prepare) {
      try {
        raw = await this.o.prepare(mail);
      } catch (e) {
        // Not sent unsigned: retried like any temporary failure, and the log says why.
        all({ kind: 'temp', status: '4.7.0', diagnostic: `could not prepare the message: ${(e as Error).message}` });
        return out;
      }
    }
    for (const t of group.targets) {
      const remote = `${t.host}:${t.port}`;
      try {
        const info = await this.transport(t).sendMail({ envelope: { from: mail.meta.from, to: group.recipients }, raw });
        const rejected = new Map<string, { responseCode?: number; response?: string; message?: string }>();
        for (const e of (info.rejectedErrors ?? []) as unknown as { recipient?: string; responseCode?: number; response?: string; message?: string }[]) if (e.recipient) rejected.set(e.recipient, e);
        const refused = ((info.rejected ?? []) as unknown[]).map((x) => (typeof x === 'object' && x ? (x as { address: string }).address : String(x)));
        for (const r of group.recipients) {
          const e = rejected.get(r) ?? (refused.includes(r) ? {} : undefined);
          if (!e) out.set(r, { kind: 'ok' });
          else out.set(r, { kind: (e.responseCode ?? 400) >= 500 ? 'perm' : 'temp', status: statusOf(e.responseCode, e.response ?? ''), diagnostic: e.response ?? e.message ?? 'rejected', remote });
        }
        return out;
      } catch (err) {
        const e = err as Error & { responseCode?: number; response?: string; code?: string; rejectedErrors?: { recipient?: string; responseCode?: number; response?: string }[] };
        if (e.rejectedErrors?.length) {
          // Every recipient refused at RCPT: each with its own code.
          for (const r of group.recipients) {
            const re = e.rejectedErrors.find((x) => x.recipient === r) ?? e;
            out.set(r, { kind: (re.responseCode ?? 400) >= 500 ? 'perm' : 'temp', status: statusOf(re.responseCode, re.response ?? ''), diagnostic: re.response ?? e.message, remote });
          }
          return out;
        }
        if (e.responseCode) {
          // The server answered (MAIL FROM or DATA refused): the answer holds for all.
          all({ kind: e.responseCode >= 500 ? 'perm' : 'temp', status: statusOf(e.responseCode, e.response ?? ''), diagnostic: e.response ?? e.message, remote });
          return out;
        }
        // No answer (connection refused, timeout): try the next target.
        last = { kind: 'temp', status: '4.4.1', diagnostic: `${remote}: ${e.code ?? ''} ${e.message}`.trim(), remote };
        this.transports.get(remote)?.close();
        this.transports.delete(remote);
      }
    }
    all(last);
    return out;
  }
}
