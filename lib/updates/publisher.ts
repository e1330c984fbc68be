import { randomUUID } from 'crypto';
import * as path from 'path';
import { UpdateChannel } from '../../config/updates';
import type { Job, ObjectStore } from '../sanitizer/worker';
import { Published, SIDECAR_RE, Verdict, verifyArtefact } from './verify';

/**
 * The verify-and-publish service on the transfer hosts (crossing X2-like
 * objects in, X6 out): one object-created event of the inbound bucket's
 * `updates/<channel>/` prefix at a time. A verified artefact goes to the
 * updates bucket under `<channel>/<file>` and the channel's `index.json`;
 * anything else goes to quarantine under `updates/<channel>/<file>`. Either
 * way an audit record (hash, signer, version, channel, verdict, reason) goes
 * into the log archive, and only then is the message deleted (runWorker), so
 * a worker killed mid-way leaves the message to be delivered again; every
 * write is keyed by the file name, so a repeat overwrites.
 */

export interface UpdatesTargets {
  readonly updatesBucket: string;
  readonly quarantineBucket: string;
  readonly auditBucket: string;
  readonly auditPrefix: string;
}

export interface ChannelIndex {
  readonly channel: string;
  readonly updatedAt: string;
  readonly artefacts: Record<string, Published & { bytes: number; signer: string; publishedAt: string }>;
}

export const INBOUND_PREFIX = 'updates/';

export async function readIndex(store: ObjectStore, bucket: string, channel: string): Promise<ChannelIndex> {
  const raw = await store.get(bucket, `${channel}/index.json`);
  return raw ? (JSON.parse(raw.toString('utf8')) as ChannelIndex) : { channel, updatedAt: new Date(0).toISOString(), artefacts: {} };
}

export interface PublishResult extends Verdict {
  readonly key: string;
  readonly durationMs: number;
}

export async function publishJob(job: Pick<Job, 'bucket' | 'key' | 'deliveries'>, store: ObjectStore, targets: UpdatesTargets, channels: UpdateChannel[]): Promise<PublishResult | { verdict: 'sidecar'; key: string; durationMs: number }> {
  const t0 = Date.now();
  const rel = job.key.startsWith(INBOUND_PREFIX) ? job.key.slice(INBOUND_PREFIX.length) : job.key;
  const [channelName, ...rest] = rel.split('/');
  const file = rest.join('/');
  // Detached signatures travel with their file; the fetch service writes them first.
  if (SIDECAR_RE.test(file)) return { verdict: 'sidecar', key: job.key, durationMs: Date.now() - t0 };
  const channel = channels.find((c) => c.name === channelName);
  const body = await store.get(job.bucket, job.key);
  const at = new Date().toISOString();
  let v: Verdict;
  if (!body) v = { verdict: 'quarantined', reason: 'the object no longer exists in the inbound bucket', channel: channelName, kind: channel?.kind ?? 'unknown', file, sha256: '', bytes: 0 };
  else if (!channel || !job.key.startsWith(INBOUND_PREFIX) || !file || file.includes('/')) {
    v = { verdict: 'quarantined', reason: channel ? `not a file directly under updates/${channelName}/` : `unknown channel "${channelName}" (not in updates.channels)`, channel: channelName, kind: channel?.kind ?? 'unknown', file, sha256: '', bytes: body.length };
  } else {
    const index = await readIndex(store, targets.updatesBucket, channel.name);
    const signature = channel.kind === 'openpgp' ? ((await store.get(job.bucket, `${job.key}.asc`)) ?? (await store.get(job.bucket, `${job.key}.sig`))) : undefined;
    v = await verifyArtefact({ channel, file, body, signature, published: index.artefacts });
    if (v.verdict === 'published') {
      const name = path.posix.basename(file);
      await store.put(targets.updatesBucket, `${channel.name}/${name}`, body, 'application/octet-stream');
      if (signature) await store.put(targets.updatesBucket, `${channel.name}/${name}.sig`, signature, 'application/pgp-signature');
      // The index follows the artefact: a client that sees an entry finds its file.
      const fresh = await readIndex(store, targets.updatesBucket, channel.name);
      const artefacts = { ...fresh.artefacts, [v.line!]: { file: name, version: v.version!, sha256: v.sha256, bytes: v.bytes, signer: v.signer!, publishedAt: at } };
      await store.put(targets.updatesBucket, `${channel.name}/index.json`, Buffer.from(JSON.stringify({ channel: channel.name, updatedAt: at, artefacts }, null, 2)), 'application/json');
    }
  }
  if (v.verdict === 'quarantined' && body) await store.put(targets.quarantineBucket, job.key, body);
  const record = { ...v, bucket: job.bucket, key: job.key, delivery: job.deliveries, at, engine: { name: 'three-tier-updates', version: '1.0.0' } };
  const day = at.slice(0, 10);
  await store.put(targets.auditBucket, `${targets.auditPrefix}${day}/${v.sha256 || 'missing'}-${randomUUID()}.json`, Buffer.from(JSON.stringify(record)), 'application/json');
  return { ...v, key: job.key, durationMs: Date.now() - t0 };
}
