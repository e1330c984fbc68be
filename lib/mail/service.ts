import * as fs from 'fs';
import * as path from 'path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsQueue } from '../sanitizer/aws';
import { FsQueue, JobQueue, runWorker } from '../sanitizer/worker';
import { BlobStore, FsBlobStore, S3BlobStore } from './store';
import { DEFAULT_RETRY, RetryPolicy, Target } from './outbox';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SenderAuthOptions } from './sender-auth';
import { zoneFileResolver } from './stub-dns';
import { dkimKeyFromSecretsManager, dkimSigner } from './dkim';
import { InternetRoute, MAIL_PREFIX, Running, mxRoute, sanitizeMailJob, smarthost, startGateway, startIngester, startInternetRelay } from './roles';

/**
 * One mail role as a long-running service, configured by environment
 * variables (the hosts' systemd EnvironmentFile, or the local crash test).
 * With MAIL_FS_ROOT, buckets are folders under it and the sanitizer's queue
 * is a folder fed by the inbound "bucket" (as S3 event notifications feed
 * SQS in AWS); otherwise buckets are S3 and the queue is SQS.
 */
export const ROLES = ['gateway', 'internet-relay', 'mail-sanitizer', 'lgwan-ingester'] as const;
export type Role = (typeof ROLES)[number];

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function need(env: Env, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`${name} is not set: ${what}`);
  return v;
}

export function parseTargets(value: string, name: string): Target[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s);
      if (!m) throw new ConfigError(`${name}: "${s}" is not host or host:port`);
      const port = m[2] ? Number(m[2]) : 25;
      if (port < 1 || port > 65535) throw new ConfigError(`${name}: port ${port} of "${s}" is not 1-65535`);
      return { host: m[1].replace(/^\[|\]$/g, ''), port };
    });
}

function list(env: Env, name: string, what: string): string[] {
  const v = need(env, name, what)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (!v.length) throw new ConfigError(`${name} is empty: ${what}`);
  return v;
}

/** A whole number from the environment, within bounds; the default when unset. */
function int(env: Env, name: string, fallback: number, min: number, max: number, unit: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} is "${raw}": give a whole number (${unit}) from ${min} to ${max}`);
  return n;
}

export interface ServiceHandle {
  readonly role: Role;
  readonly port?: number;
  stop(): Promise<void>;
}

/** The gateway's sender authentication from MAIL_AUTHSERV_ID, MAIL_DMARC_REJECT_ACTION, MAIL_ARC_TRUSTED_SEALERS (and MAIL_DNS_ZONE, locally only). */
export function senderAuthFromEnv(env: Env, local: boolean): SenderAuthOptions {
  const action = env.MAIL_DMARC_REJECT_ACTION || 'reject';
  if (action !== 'reject' && action !== 'quarantine') throw new ConfigError(`MAIL_DMARC_REJECT_ACTION is "${action}": set it to reject (550 at SMTP time) or quarantine`);
  const authservId = env.MAIL_AUTHSERV_ID || 'three-tier-mx';
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(authservId)) throw new ConfigError(`MAIL_AUTHSERV_ID is "${authservId}": give a host name such as mx.security-cloud.example.jp`);
  let resolver: SenderAuthOptions['resolver'];
  if (env.MAIL_DNS_ZONE) {
    if (!local) throw new ConfigError('MAIL_DNS_ZONE is for the local mail path only (with MAIL_FS_ROOT); the hosts use DNS');
    try {
      resolver = zoneFileResolver(env.MAIL_DNS_ZONE);
    } catch (e) {
      throw new ConfigError(`MAIL_DNS_ZONE: ${(e as Error).message}`);
    }
  }
  const sealers = (env.MAIL_ARC_TRUSTED_SEALERS ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  return { authservId, dmarcRejectAction: action, arcTrustedSealers: sealers, resolver };
}

/** The internet relay's DKIM signer: MAIL_DKIM_SELECTOR with MAIL_DKIM_SECRET_ID (Secrets Manager), or MAIL_DKIM_KEY_FILE locally. */
async function signerFromEnv(env: Env, local: boolean, domains: string[]): Promise<((raw: Buffer) => Promise<Buffer>) | undefined> {
  if (!env.MAIL_DKIM_SELECTOR) {
    if (env.MAIL_DKIM_SECRET_ID || env.MAIL_DKIM_KEY_FILE) throw new ConfigError('MAIL_DKIM_SELECTOR is not set: the selector under which the DKIM public key is published (<selector>._domainkey.<domain>)');
    return undefined;
  }
  if (!/^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$/.test(env.MAIL_DKIM_SELECTOR)) throw new ConfigError(`MAIL_DKIM_SELECTOR is "${env.MAIL_DKIM_SELECTOR}": give a DNS label such as "tt2026"`);
  let pem: string;
  try {
    if (env.MAIL_DKIM_KEY_FILE) {
      if (!local) throw new ConfigError('MAIL_DKIM_KEY_FILE is for the local mail path only; the hosts read the key from Secrets Manager (MAIL_DKIM_SECRET_ID)');
      pem = fs.readFileSync(env.MAIL_DKIM_KEY_FILE, 'utf8');
    } else {
      pem = await dkimKeyFromSecretsManager(new SecretsManagerClient({}), need(env, 'MAIL_DKIM_SECRET_ID', 'the Secrets Manager name or ARN of the DKIM private key'));
    }
    return dkimSigner({ selector: env.MAIL_DKIM_SELECTOR, privateKey: pem, domains });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`the DKIM key could not be loaded: ${(e as Error).message}`);
  }
}

export async function startService(env: Env, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<ServiceHandle> {
  const role = env.MAIL_ROLE as Role;
  if (!ROLES.includes(role)) throw new ConfigError(`MAIL_ROLE is "${env.MAIL_ROLE ?? ''}": set it to one of ${ROLES.join(', ')}`);
  const fsRoot = env.MAIL_FS_ROOT;
  const queueDir = fsRoot ? path.join(fsRoot, 'queue') : undefined;
  const s3 = fsRoot ? undefined : new S3Client({});
  const bucket = (name: string, what: string): BlobStore => {
    const b = need(env, name, what);
    if (!fsRoot) return new S3BlobStore(s3!, b);
    if (name !== 'MAIL_INBOUND_BUCKET' || role !== 'internet-relay') return new FsBlobStore(path.join(fsRoot, b));
    // Locally, new mail in the inbound bucket is announced on the queue, as S3 does in AWS.
    const queue = new FsQueue(queueDir!);
    return new FsBlobStore(path.join(fsRoot, b), (key) => {
      if (key.startsWith(MAIL_PREFIX)) queue.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: b }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/') } } }] }));
    });
  };
  const hostname = env.MAIL_HOSTNAME ?? `${role}.three-tier.invalid`;
  const maxBytes = int(env, 'MAIL_MAX_BYTES', 25 * 1024 * 1024, 1024, 100 * 1024 * 1024, 'bytes');
  const port = int(env, 'MAIL_PORT', 25, 0, 65535, 'the TCP port; 0 picks a free one');
  const listen = env.MAIL_LISTEN ?? '0.0.0.0';
  const tls = env.MAIL_TLS_KEY && env.MAIL_TLS_CERT ? { key: fs.readFileSync(env.MAIL_TLS_KEY), cert: fs.readFileSync(env.MAIL_TLS_CERT) } : undefined;
  const day = 86_400_000;
  const retry: RetryPolicy = {
    baseMs: int(env, 'MAIL_RETRY_BASE_MS', DEFAULT_RETRY.baseMs, 1, day, 'milliseconds'),
    maxMs: int(env, 'MAIL_RETRY_MAX_MS', DEFAULT_RETRY.maxMs, 1, day, 'milliseconds'),
    maxAgeMs: int(env, 'MAIL_RETRY_MAX_AGE_MS', DEFAULT_RETRY.maxAgeMs, 1, 30 * day, 'milliseconds'),
  };
  const pollMs = int(env, 'MAIL_POLL_MS', 1000, 10, 600_000, 'milliseconds');
  const common = { hostname, maxBytes, tls, retry, pollMs, concurrency: int(env, 'MAIL_CONCURRENCY', 16, 1, 1000, 'parallel deliveries'), leaseMs: int(env, 'MAIL_LEASE_MS', 10 * 60_000, 1000, day, 'milliseconds'), log };
  const internet: InternetRoute = env.MAIL_INTERNET_SMARTHOST ? smarthost(parseTargets(env.MAIL_INTERNET_SMARTHOST, 'MAIL_INTERNET_SMARTHOST')[0]) : mxRoute();

  let r: Running;
  switch (role) {
    case 'gateway': {
      let routes: Record<string, string>;
      try {
        routes = JSON.parse(need(env, 'MAIL_ROUTES', 'the municipal domains and their internet relays, e.g. {"city.example.jp":"10.1.32.10:25"}'));
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        throw new ConfigError(`MAIL_ROUTES is not JSON: ${(e as Error).message}; e.g. {"city.example.jp":"10.1.32.10:25"}`);
      }
      if (!Object.keys(routes).length) throw new ConfigError('MAIL_ROUTES lists no domain; the gateway would refuse all mail');
      const parsed = Object.fromEntries(Object.entries(routes).map(([d, t]) => [d.toLowerCase(), parseTargets(String(t), `MAIL_ROUTES["${d}"]`)]));
      r = await startGateway({ ...common, routes: parsed, spool: bucket('MAIL_SPOOL_BUCKET', 'the gateway\'s spool bucket'), internet, senderAuth: senderAuthFromEnv(env, Boolean(fsRoot)) }, port, listen);
      break;
    }
    case 'internet-relay': {
      const domains = list(env, 'MAIL_DOMAINS', 'the municipality\'s internet mail domains');
      const sign = await signerFromEnv(env, Boolean(fsRoot), domains);
      r = await startInternetRelay(
        {
          ...common,
          domains,
          sign,
          inbound: bucket('MAIL_INBOUND_BUCKET', 'the inbound bucket of crossing X3'),
          outbound: bucket('MAIL_OUTBOUND_BUCKET', 'the outbound bucket of crossing X4'),
          state: bucket('MAIL_STATE_BUCKET', 'the relay\'s ledger bucket'),
          internet,
        },
        port,
        listen,
      );
      break;
    }
    case 'lgwan-ingester':
      r = await startIngester(
        {
          ...common,
          sanitized: bucket('MAIL_SANITIZED_BUCKET', 'the sanitized bucket of crossing X3'),
          outbound: bucket('MAIL_OUTBOUND_BUCKET', 'the outbound bucket of crossing X4'),
          state: bucket('MAIL_STATE_BUCKET', 'the ingester\'s spool and ledger bucket'),
          lgwanMailServer: parseTargets(need(env, 'MAIL_LGWAN_SERVER', 'the LGWAN mail server, host:port'), 'MAIL_LGWAN_SERVER'),
          lgwanNetwork: parseTargets(need(env, 'MAIL_LGWAN_NETWORK', 'the LGWAN mail peer, host:port'), 'MAIL_LGWAN_NETWORK'),
          lgwanDomains: list(env, 'MAIL_LGWAN_DOMAINS', 'the recipient domains on the LGWAN list'),
          ownDomains: list(env, 'MAIL_OWN_DOMAINS', 'this municipality\'s own LGWAN mail domains'),
        },
        port,
        listen,
      );
      break;
    case 'mail-sanitizer': {
      const stores = {
        inbound: bucket('MAIL_INBOUND_BUCKET', 'the inbound bucket of crossing X3'),
        sanitized: bucket('MAIL_SANITIZED_BUCKET', 'the sanitized bucket'),
        quarantine: bucket('MAIL_QUARANTINE_BUCKET', 'the quarantine bucket'),
        audit: bucket('MAIL_AUDIT_BUCKET', 'the log archive bucket'),
        auditPrefix: env.MAIL_AUDIT_PREFIX ?? 'mail-audit/',
        reporter: hostname,
      };
      const queue: JobQueue = fsRoot ? new FsQueue(queueDir!, 5) : new SqsQueue(new SQSClient({}), need(env, 'MAIL_QUEUE_URL', 'the queue of inbound mail events'));
      let stopped = false;
      const loop = runWorker({ queue, handle: (job) => sanitizeMailJob(job, stores), log, stopped: () => stopped, idleSleepMs: pollMs, batch: 10, visibilitySeconds: 120 });
      log(`mail-sanitizer: waiting for mail on ${fsRoot ? queueDir : env.MAIL_QUEUE_URL}`);
      return {
        role,
        async stop() {
          stopped = true;
          await loop;
        },
      };
    }
  }
  log(`${role}: listening on ${listen}:${r.port}${tls ? ' (STARTTLS offered)' : ''}`);
  return { role, port: r.port, stop: () => r.close() };
}
