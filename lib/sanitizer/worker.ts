import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AuditRecord, ENGINE, sanitize } from './engine';
import { DEFAULT_LIMITS, Limits } from './types';

/**
 * The sanitizer service on the transfer hosts: takes one object-created event
 * at a time from the queue, sanitizes the object, writes the result (the
 * sanitized file, or the original to quarantine), the audit record next to
 * the result and into the log archive, and only then deletes the message. A
 * worker killed mid-file never deletes its message: the queue hands it out
 * again after the visibility timeout (at least once; outputs are keyed by the
 * input key, so a repeat overwrites rather than duplicates).
 */

export interface Job {
  readonly id: string;
  /** The queue's handle for this delivery. */
  readonly handle: string;
  readonly bucket: string;
  readonly key: string;
  readonly deliveries: number;
}

export interface JobQueue {
  /** Up to `max` jobs, each hidden from other workers until done or its lease runs out. */
  receive(max: number): Promise<{ jobs: Job[]; unreadable: { handle: string; why: string }[]; ignorable: string[] }>;
  /** The job is finished: the message is deleted. */
  done(handle: string): Promise<void>;
  /** Keeps the job hidden while a long file is still being processed. */
  extend(handle: string, seconds: number): Promise<void>;
}

export interface ObjectStore {
  /** The object's bytes, or undefined when it does not exist. */
  get(bucket: string, key: string): Promise<Buffer | undefined>;
  put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<void>;
}

export interface Targets {
  readonly sanitizedBucket: string;
  readonly quarantineBucket: string;
  /** The log archive bucket and prefix for audit records. */
  readonly auditBucket: string;
  readonly auditPrefix: string;
}

export interface WorkerOptions {
  readonly queue: JobQueue;
  /** Where files are read and written (the default handler). */
  readonly store?: ObjectStore;
  readonly targets?: Targets;
  readonly limits?: Limits;
  readonly batch?: number;
  readonly visibilitySeconds?: number;
  readonly log?: (line: string) => void;
  readonly stopped?: () => boolean;
  /** Stop when the queue is empty (tests, one-shot runs). */
  readonly untilEmpty?: boolean;
  readonly idleSleepMs?: number;
  /** What to do with each job (default: sanitize the file, `processJob`). */
  readonly handle?: (job: Job) => Promise<{ verdict: string; reason?: string; durationMs: number }>;
}

/** The output key of a record: same folder (the user's prefix), the output's file name. */
function outputKey(key: string, record: AuditRecord): string {
  const dir = path.posix.dirname(key);
  const name = path.posix.basename(record.output?.name ?? key);
  return dir === '.' ? name : `${dir}/${name}`;
}

export async function processJob(job: Job, store: ObjectStore, targets: Targets, limits: Limits = DEFAULT_LIMITS): Promise<AuditRecord> {
  const body = await store.get(job.bucket, job.key);
  const day = new Date().toISOString().slice(0, 10);
  if (!body) {
    const record: AuditRecord = { input: { name: job.key, sha256: '', bytes: 0 }, type: 'unknown', removed: [], verdict: 'quarantined', reason: 'the object no longer exists in the inbound bucket (deleted before it was sanitized)', engine: ENGINE, durationMs: 0, at: new Date().toISOString() };
    await store.put(targets.auditBucket, `${targets.auditPrefix}${day}/${randomUUID()}.json`, Buffer.from(JSON.stringify({ ...record, bucket: job.bucket, key: job.key })), 'application/json');
    return record;
  }
  const { record, output } = await sanitize(body, path.posix.basename(job.key), limits);
  const full = { ...record, input: { ...record.input, name: job.key }, bucket: job.bucket, key: job.key, delivery: job.deliveries };
  if (output && record.output) {
    const out = outputKey(job.key, record);
    await store.put(targets.sanitizedBucket, out, output);
    await store.put(targets.sanitizedBucket, `${out}.audit.json`, Buffer.from(JSON.stringify({ ...full, output: { ...record.output, name: out } }, null, 2)), 'application/json');
  } else {
    await store.put(targets.quarantineBucket, job.key, body);
    // The user sees the verdict and the reason next to where the file would have been.
    await store.put(targets.sanitizedBucket, `${job.key}.audit.json`, Buffer.from(JSON.stringify(full, null, 2)), 'application/json');
  }
  await store.put(targets.auditBucket, `${targets.auditPrefix}${day}/${record.input.sha256}-${randomUUID()}.json`, Buffer.from(JSON.stringify(full)), 'application/json');
  return record;
}

export async function runWorker(o: WorkerOptions): Promise<{ processed: number }> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (!o.handle && (!o.store || !o.targets)) throw new Error('runWorker needs a store and targets, or a handler');
  const visibility = o.visibilitySeconds ?? 300;
  let processed = 0;
  while (!o.stopped?.()) {
    const { jobs, unreadable, ignorable } = await o.queue.receive(o.batch ?? 1);
    for (const h of ignorable) await o.queue.done(h);
    // Unreadable messages are left alone: after the queue's receive limit they move to the dead-letter queue.
    for (const u of unreadable) log(`unreadable message left for the dead-letter queue: ${u.why}`);
    if (!jobs.length && !unreadable.length && !ignorable.length) {
      if (o.untilEmpty) break;
      await new Promise((r) => setTimeout(r, o.idleSleepMs ?? 1000));
      continue;
    }
    for (const job of jobs) {
      // Heartbeat: keep the message hidden while a long file is processed.
      const beat = setInterval(() => void o.queue.extend(job.handle, visibility).catch((e) => log(`could not extend ${job.key}: ${(e as Error).message}`)), Math.max(1000, (visibility * 1000) / 2));
      try {
        const r = o.handle ? await o.handle(job) : await processJob(job, o.store!, o.targets!, o.limits);
        await o.queue.done(job.handle);
        processed++;
        log(`${r.verdict.padEnd(11)} s3://${job.bucket}/${job.key}${r.reason ? ` (${r.reason})` : ''} [${r.durationMs} ms, delivery ${job.deliveries}]`);
      } catch (e) {
        // Storage errors: the message stays and is retried after its lease.
        log(`error on s3://${job.bucket}/${job.key}, will be retried: ${(e as Error).message}`);
      } finally {
        clearInterval(beat);
      }
    }
  }
  return { processed };
}

/** Parses an S3 event notification (as delivered by S3 to SQS, or by EventBridge). */
export function parseS3Event(body: string): { records: { bucket: string; key: string }[]; test: boolean } {
  const msg = JSON.parse(body);
  if (msg?.Event === 's3:TestEvent') return { records: [], test: true };
  const records = (Array.isArray(msg?.Records) ? msg.Records : [])
    .filter((r: { eventName?: string }) => String(r?.eventName ?? '').startsWith('ObjectCreated'))
    .map((r: { s3: { bucket: { name: string }; object: { key: string } } }) => ({ bucket: r.s3.bucket.name, key: decodeURIComponent(String(r.s3.object.key).replace(/\+/g, ' ')) }));
  if (!records.length && !(Array.isArray(msg?.Records))) throw new Error('not an S3 event notification');
  return { records, test: false };
}

/**
 * A filesystem queue with the semantics of SQS that matter here (for the local
 * demo and the tests): `ready/` holds messages, `leased/` holds messages being
 * processed with their lease expiry; an expired lease returns the message.
 * Moves are renames, so a killed worker never loses a message.
 */
export class FsQueue implements JobQueue {
  constructor(
    readonly dir: string,
    readonly visibilitySeconds = 30,
  ) {
    fs.mkdirSync(path.join(dir, 'ready'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'leased'), { recursive: true });
  }

  private sent = 0;

  /** Messages are handed out in the order they were sent (ids sort by time, then by a per-queue counter). */
  send(body: string): string {
    const id = `${Date.now().toString(36).padStart(10, '0')}-${(this.sent++).toString(36).padStart(8, '0')}-${randomUUID()}`;
    const tmp = path.join(this.dir, `.${id}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify({ body, deliveries: 0 }));
    fs.renameSync(tmp, path.join(this.dir, 'ready', id));
    return id;
  }

  private reclaim(): void {
    const now = Date.now();
    for (const f of fs.readdirSync(path.join(this.dir, 'leased'))) {
      const until = Number(f.split('@')[1]);
      if (until < now) {
        try {
          fs.renameSync(path.join(this.dir, 'leased', f), path.join(this.dir, 'ready', f.split('@')[0]));
        } catch {
          // Another worker took it back first.
        }
      }
    }
  }

  async receive(max: number): Promise<{ jobs: Job[]; unreadable: { handle: string; why: string }[]; ignorable: string[] }> {
    this.reclaim();
    const jobs: Job[] = [];
    const unreadable: { handle: string; why: string }[] = [];
    const ignorable: string[] = [];
    for (const id of fs.readdirSync(path.join(this.dir, 'ready')).sort()) {
      if (jobs.length + unreadable.length >= max) break;
      const leased = `${id}@${Date.now() + this.visibilitySeconds * 1000}`;
      try {
        fs.renameSync(path.join(this.dir, 'ready', id), path.join(this.dir, 'leased', leased));
      } catch {
        continue;
      }
      const file = path.join(this.dir, 'leased', leased);
      const msg = JSON.parse(fs.readFileSync(file, 'utf8'));
      msg.deliveries = (msg.deliveries ?? 0) + 1;
      fs.writeFileSync(file, JSON.stringify(msg));
      try {
        const ev = parseS3Event(msg.body);
        if (ev.test) ignorable.push(leased);
        for (const r of ev.records) jobs.push({ id, handle: leased, bucket: r.bucket, key: r.key, deliveries: msg.deliveries });
      } catch (e) {
        unreadable.push({ handle: leased, why: (e as Error).message });
      }
    }
    return { jobs, unreadable, ignorable };
  }

  async done(handle: string): Promise<void> {
    const file = path.join(this.dir, 'leased', handle);
    if (fs.existsSync(file)) fs.rmSync(file);
  }

  async extend(handle: string, seconds: number): Promise<void> {
    const [id] = handle.split('@');
    const from = path.join(this.dir, 'leased', handle);
    const to = path.join(this.dir, 'leased', `${id}@${Date.now() + seconds * 1000}`);
    if (fs.existsSync(from)) fs.renameSync(from, to);
  }

  pending(): { ready: number; leased: number } {
    return { ready: fs.readdirSync(path.join(this.dir, 'ready')).length, leased: fs.readdirSync(path.join(this.dir, 'leased')).length };
  }
}

/** Buckets as folders, writes atomic (temporary file, then rename). */
export class FsStore implements ObjectStore {
  constructor(readonly root: string) {}

  private file(bucket: string, key: string): string {
    const p = path.resolve(this.root, bucket, key);
    if (!p.startsWith(path.resolve(this.root, bucket) + path.sep)) throw new Error(`key ${key} escapes bucket ${bucket}`);
    return p;
  }

  async get(bucket: string, key: string): Promise<Buffer | undefined> {
    const f = this.file(bucket, key);
    return fs.existsSync(f) ? fs.readFileSync(f) : undefined;
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const root = path.resolve(this.root, bucket);
    if (!fs.existsSync(root)) return [];
    const all = fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith('.tmp'));
    return all.map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/')).filter((k) => k.startsWith(prefix)).sort();
  }

  async put(bucket: string, key: string, body: Buffer): Promise<void> {
    const f = this.file(bucket, key);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const tmp = `${f}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, f);
  }
}
