import { promises as dns } from 'dns';
import { Job } from '../sanitizer/worker';
import { BlobStore } from './store';
import { DurableReceiver } from './smtp-in';
import { Outbox, RetryPolicy, RouteGroup, Target } from './outbox';
import { MailMeta, StoredMail, decodeStored, domainOf, encodeStored, inDomains, sha256 } from './envelope';
import { textize } from './textize';
import { SenderAuthOptions, authenticateSender } from './sender-auth';

/**
 * The four roles of the mail relay (DESIGN section 3, X3 and X4, and the MX):
 * - gateway (security cloud): the public MX; accepts mail for the configured
 *   municipal domains only and forwards by recipient domain to each
 *   municipality's internet relay;
 * - internet relay (`internet`): stores incoming mail in the inbound bucket
 *   (X3) and sends the outbound bucket's mail to the internet (X4);
 * - mail sanitizer (`transfer`): inbound bucket → text-ized mail in the
 *   sanitized bucket, originals in quarantine;
 * - LGWAN ingester (`lgwan`): delivers sanitized mail to the LGWAN mail
 *   server; takes the LGWAN mail server's outbound mail and routes LGWAN
 *   recipients to the LGWAN network, the rest into the outbound bucket.
 * Every role answers 250 only after it stored the message; every outbox
 * deletes a message only when each recipient was delivered or bounced.
 */

export const MAIL_PREFIX = 'mail/';

/** The object key of a stored message: its id plus its envelope, so two transactions of the same message to different recipients never overwrite each other. */
export function storeKey(meta: MailMeta, prefix = MAIL_PREFIX): string {
  return `${prefix}${meta.id}-${sha256(`${meta.from}\n${[...meta.to].sort().join(',')}`).slice(0, 12)}.eml`;
}

export async function storeMail(store: BlobStore, meta: MailMeta, raw: Buffer, prefix = MAIL_PREFIX): Promise<string> {
  const key = storeKey(meta, prefix);
  await store.put(key, encodeStored(meta, raw));
  return key;
}

export interface CommonOptions {
  readonly hostname: string;
  readonly maxBytes: number;
  readonly tls?: { key: Buffer; cert: Buffer };
  readonly retry?: RetryPolicy;
  readonly pollMs?: number;
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
  readonly onDelivered?: (mail: StoredMail, recipient: string) => void;
  /** Lease length for messages several hosts could send (default 10 minutes). */
  readonly leaseMs?: number;
}

/** Where mail for the internet goes: a smarthost, or the recipient domain's MX hosts. */
export type InternetRoute = (domain: string) => Promise<Target[]>;

export function smarthost(t: Target): InternetRoute {
  return async () => [t];
}

/** MX lookup (RFC 5321 section 5.1): MX hosts by preference, else the domain itself; no such domain → no target (bounce). */
export function mxRoute(port = 25, resolveMx: (domain: string) => Promise<{ exchange: string; priority: number }[]> = (d) => dns.resolveMx(d)): InternetRoute {
  return async (domain: string) => {
    try {
      const mx = await resolveMx(domain);
      if (mx.length === 1 && mx[0].exchange === '') return []; // null MX (RFC 7505)
      if (mx.length) return mx.sort((a, b) => a.priority - b.priority).map((m) => ({ host: m.exchange, port }));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND') return [];
      if (code !== 'ENODATA') throw new Error(`MX lookup of ${domain} failed: ${code ?? (e as Error).message}`);
    }
    return [{ host: domain, port }];
  };
}

async function groupByDomain(rcpts: string[], route: InternetRoute): Promise<RouteGroup[]> {
  const byDomain = new Map<string, string[]>();
  for (const r of rcpts) byDomain.set(domainOf(r), [...(byDomain.get(domainOf(r)) ?? []), r]);
  const groups: RouteGroup[] = [];
  for (const [d, recipients] of byDomain) groups.push({ recipients, targets: await route(d) });
  return groups;
}

export interface Running {
  readonly port: number;
  readonly receiver: DurableReceiver;
  readonly outboxes: Outbox[];
  close(): Promise<void>;
}

async function running(receiver: DurableReceiver, port: number, host: string, outboxes: Outbox[]): Promise<Running> {
  const bound = await receiver.listen(port, host);
  for (const o of outboxes) o.start();
  return {
    port: bound,
    receiver,
    outboxes,
    async close() {
      await receiver.close();
      await Promise.all(outboxes.map((o) => o.stop()));
    },
  };
}

/** Outbox settings every role takes from its options. */
function outboxSettings(o: CommonOptions) {
  return { hostname: o.hostname, retry: o.retry, pollMs: o.pollMs, concurrency: o.concurrency, opportunisticTls: true, log: o.log, onDelivered: o.onDelivered, leaseMs: o.leaseMs };
}

function refuseUnless(domains: readonly string[], what: string) {
  return (address: string) => {
    const d = domainOf(address);
    if (!d) return { code: 501, message: '5.1.3 bad recipient address syntax' };
    return inDomains(d, domains) ? undefined : { code: 550, message: `5.7.1 relaying denied: ${d} is not ${what}` };
  };
}

// ─── gateway (security cloud) ────────────────────────────────────────────────

export interface GatewayOptions extends CommonOptions {
  /** Municipal internet mail domains → that municipality's internet relay(s). */
  readonly routes: Record<string, Target[]>;
  readonly spool: BlobStore;
  /** Delivery status notifications go back to internet senders this way. */
  readonly internet: InternetRoute;
  /** SPF, DKIM, DMARC and ARC of every inbound message (sender-auth.ts); the service always sets it. */
  readonly senderAuth?: SenderAuthOptions;
}

export function startGateway(o: GatewayOptions, port: number, host = '127.0.0.1'): Promise<Running> {
  const domains = Object.keys(o.routes);
  const receiver = new DurableReceiver({
    role: 'gateway',
    hostname: o.hostname,
    maxBytes: o.maxBytes,
    tls: o.tls,
    acceptRecipient: refuseUnless(domains, 'a municipal domain of this security cloud'),
    inspect: o.senderAuth
      ? async (raw, s) => {
          const r = await authenticateSender(raw, { ip: s.remoteAddress, helo: s.helo, sender: s.mailFrom }, o.senderAuth!);
          if (r.kind === 'refuse') return { refusal: { code: r.code, message: r.message } };
          o.log?.(`gateway: sender ${r.verdict.status} (${r.verdict.domain ?? '-'}; dmarc=${r.verdict.dmarc} policy=${r.verdict.policy ?? '-'} spf=${r.verdict.spf} dkim=${r.verdict.dkim} arc=${r.verdict.arcResult})${r.verdict.action === 'quarantine' ? ': for quarantine' : ''}`);
          return { prepend: r.headers, raw: r.raw };
        }
      : undefined,
    store: (meta, raw) => storeMail(o.spool, meta, raw, 'spool/'),
    log: o.log,
  });
  const outbox = new Outbox({
    role: 'gateway',
    source: o.spool,
    prefix: 'spool/',
    ledger: o.spool,
    route: async (mail, pending) => {
      const municipal = new Map<string, string[]>();
      const other: string[] = [];
      for (const r of pending) {
        const d = domainOf(r);
        const routeDomain = domains.find((x) => inDomains(d, [x]));
        if (routeDomain && !mail.meta.dsn) municipal.set(routeDomain, [...(municipal.get(routeDomain) ?? []), r]);
        else other.push(r);
      }
      return [...[...municipal].map(([d, recipients]) => ({ recipients, targets: o.routes[d] })), ...(await groupByDomain(other, o.internet))];
    },
    bounce: async (dsn) => void (await storeMail(o.spool, dsn.meta, dsn.raw, 'spool/')),
    ...outboxSettings(o),
  });
  return running(receiver, port, host, [outbox]);
}

// ─── internet relay (internet zone) ──────────────────────────────────────────

export interface InternetRelayOptions extends CommonOptions {
  /** This municipality's internet mail domains (the only recipients accepted). */
  readonly domains: string[];
  /** X3: the inbound bucket (write). */
  readonly inbound: BlobStore;
  /** X4: the outbound bucket (read, delete). */
  readonly outbound: BlobStore;
  /** This relay's ledger of delivered outbound mail. */
  readonly state: BlobStore;
  readonly internet: InternetRoute;
  /** DKIM-signs outbound mail for the municipal domains (dkim.ts). */
  readonly sign?: (raw: Buffer) => Promise<Buffer>;
}

export function startInternetRelay(o: InternetRelayOptions, port: number, host = '127.0.0.1'): Promise<Running> {
  const receiver = new DurableReceiver({
    role: 'internet-relay',
    hostname: o.hostname,
    maxBytes: o.maxBytes,
    tls: o.tls,
    trustIdHeader: true,
    acceptRecipient: refuseUnless(o.domains, 'a domain of this municipality'),
    store: (meta, raw) => storeMail(o.inbound, meta, raw),
    log: o.log,
  });
  const outbox = new Outbox({
    role: 'internet-relay',
    source: o.outbound,
    prefix: MAIL_PREFIX,
    ledger: o.state,
    route: (_mail, pending) => groupByDomain(pending, o.internet),
    prepare: o.sign ? (mail) => o.sign!(mail.raw) : undefined,
    // Staff's undeliverable mail comes back to them through the sanitizer, like any mail from the internet.
    bounce: async (dsn) => void (await storeMail(o.inbound, dsn.meta, dsn.raw)),
    ...outboxSettings(o),
  });
  return running(receiver, port, host, [outbox]);
}

// ─── mail sanitizer (transfer zone) ──────────────────────────────────────────

export interface MailSanitizerStores {
  readonly inbound: BlobStore;
  readonly sanitized: BlobStore;
  readonly quarantine: BlobStore;
  /** The log archive (audit records), and the prefix of this municipality. */
  readonly audit: BlobStore;
  readonly auditPrefix: string;
  readonly reporter: string;
  /**
   * Benchmark baseline only (`npm run bench:mail`): pass the message through
   * unchanged, to measure what sanitization costs on the same durable path.
   * Never set by the services.
   */
  readonly passThrough?: boolean;
}

/**
 * One queue job: the original goes to quarantine first, then the text-ized
 * message to the sanitized bucket (same key), then the audit record. A crash
 * in between repeats the job; every write is keyed, so a repeat overwrites.
 */
export async function sanitizeMailJob(job: Pick<Job, 'key'> & Partial<Pick<Job, 'deliveries'>>, s: MailSanitizerStores): Promise<{ verdict: string; reason?: string; durationMs: number }> {
  const t0 = Date.now();
  const day = new Date().toISOString().slice(0, 10);
  let buf = await s.inbound.get(job.key);
  // An announcement can overtake its object by a moment (the local store announces before the rename): look again shortly.
  for (let i = 0; !buf && i < 5; i++) {
    await new Promise((r) => setTimeout(r, 50));
    buf = await s.inbound.get(job.key);
  }
  if (!buf && (job.deliveries ?? 1) < 3) {
    // Announced but not (yet) there: let the queue hand it out again before calling it missing.
    throw new Error(`${job.key} is not in the inbound bucket yet (delivery ${job.deliveries ?? 1})`);
  }
  if (!buf) {
    await s.audit.put(`${s.auditPrefix}${day}/missing-${sha256(job.key)}.json`, Buffer.from(JSON.stringify({ key: job.key, verdict: 'missing', reason: 'the object no longer exists in the inbound bucket', at: new Date().toISOString() })));
    return { verdict: 'missing', reason: 'the object no longer exists', durationMs: Date.now() - t0 };
  }
  let mail: StoredMail;
  try {
    mail = decodeStored(buf);
  } catch (e) {
    // Not written by the relay: kept, never passed; the audit record says why.
    const reason = `not a message stored by the internet relay: ${(e as Error).message}`;
    await s.quarantine.put(job.key, buf);
    await s.audit.put(`${s.auditPrefix}${day}/${sha256(buf)}.json`, Buffer.from(JSON.stringify({ key: job.key, verdict: 'quarantined', reason, sha256: sha256(buf), at: new Date().toISOString() })));
    return { verdict: 'quarantined', reason, durationMs: Date.now() - t0 };
  }
  await s.quarantine.put(job.key, buf);
  if (s.passThrough) {
    await s.sanitized.put(job.key, buf);
    return { verdict: 'passed-through', durationMs: Date.now() - t0 };
  }
  const r = await textize(mail, { reporter: s.reporter });
  const meta: MailMeta = { ...mail.meta, sha256: r.report.outputSha256, via: `mail-sanitizer (original ${r.report.originalSha256})` };
  await s.sanitized.put(job.key, encodeStored(meta, r.raw));
  await s.audit.put(`${s.auditPrefix}${day}/${mail.meta.id}.json`, Buffer.from(JSON.stringify({ key: job.key, envelope: { from: mail.meta.from, to: mail.meta.to }, ...r.report })));
  const removed = r.report.attachments.filter((a) => a.verdict === 'quarantined').length;
  return { verdict: r.report.unreadable ? 'withheld' : 'text-ized', reason: r.report.unreadable ?? (removed ? `${removed} attachment(s) removed` : undefined), durationMs: Date.now() - t0 };
}

// ─── LGWAN ingester (lgwan zone) ─────────────────────────────────────────────

export interface IngesterOptions extends CommonOptions {
  /** X3: the sanitized bucket (read and delete under mail/). */
  readonly sanitized: BlobStore;
  /** X4: the outbound bucket (write). */
  readonly outbound: BlobStore;
  /** The ingester's spool (LGWAN-network mail) and ledger. */
  readonly state: BlobStore;
  /** The municipality's LGWAN mail server. */
  readonly lgwanMailServer: Target[];
  /** The LGWAN mail peer (the LGWAN network's relay). */
  readonly lgwanNetwork: Target[];
  /** Recipient domains on the LGWAN list: they go to the LGWAN network and never to the internet. */
  readonly lgwanDomains: string[];
  /** This municipality's own LGWAN domains (notifications to its staff go to its mail server). */
  readonly ownDomains: string[];
}

export function startIngester(o: IngesterOptions, port: number, host = '127.0.0.1'): Promise<Running> {
  const receiver = new DurableReceiver({
    role: 'lgwan-ingester',
    hostname: o.hostname,
    maxBytes: o.maxBytes,
    tls: o.tls,
    acceptRecipient: (address) => (domainOf(address) ? undefined : { code: 501, message: '5.1.3 bad recipient address syntax' }),
    store: async (meta, raw) => {
      // Both parts are stored before 250: LGWAN recipients into the spool, the rest into the outbound bucket (X4).
      const lgwan = meta.to.filter((r) => inDomains(domainOf(r), o.lgwanDomains));
      const internet = meta.to.filter((r) => !lgwan.includes(r));
      const keys: string[] = [];
      if (lgwan.length) keys.push(await storeMail(o.state, { ...meta, to: lgwan }, raw, 'spool/'));
      if (internet.length) keys.push(await storeMail(o.outbound, { ...meta, to: internet }, raw));
      return keys.map((k) => k.split('/').pop()).join(', ');
    },
    log: o.log,
  });
  const common = { ...outboxSettings(o), ledger: o.state };
  const toStaff = new Outbox({
    ...common,
    role: 'lgwan-ingester',
    source: o.sanitized,
    prefix: MAIL_PREFIX,
    route: (_mail, pending) => [{ recipients: pending, targets: o.lgwanMailServer }],
    // Internet senders learn of undeliverable mail through the outbound path.
    bounce: async (dsn) => void (await storeMail(o.outbound, dsn.meta, dsn.raw)),
  });
  const toLgwan = new Outbox({
    ...common,
    role: 'lgwan-ingester',
    source: o.state,
    prefix: 'spool/',
    route: (_mail, pending) => {
      const own = pending.filter((r) => inDomains(domainOf(r), o.ownDomains));
      const net = pending.filter((r) => !own.includes(r));
      return [...(own.length ? [{ recipients: own, targets: o.lgwanMailServer }] : []), ...(net.length ? [{ recipients: net, targets: o.lgwanNetwork }] : [])];
    },
    bounce: async (dsn) => void (await storeMail(o.state, dsn.meta, dsn.raw, 'spool/')),
  });
  return running(receiver, port, host, [toStaff, toLgwan]);
}
