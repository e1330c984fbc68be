#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { channelSchema, UpdateChannel } from '../config/updates';
import { S3Store, SqsQueue } from '../lib/sanitizer/aws';
import { FsQueue, FsStore, JobQueue, ObjectStore, runWorker } from '../lib/sanitizer/worker';
import { S3MirrorSource } from '../lib/updates/aws';
import { fetchOnce, runFetcher } from '../lib/updates/fetch';
import { NotifyingStore } from '../lib/updates/local';
import { createMirrorServer, FsMirrorSource, MirrorSource } from '../lib/updates/mirror';
import { publishJob, UpdatesTargets } from '../lib/updates/publisher';

/**
 * The updates feed's three services, one bundle:
 *   updates fetch    (internet; systemd unit three-tier-updates-fetch)
 *   updates publish  (transfer; three-tier-updates-publish)
 *   updates mirror   (lgwan, mynumber; three-tier-updates-mirror)
 * On AWS each reads its settings from the environment its unit sets
 * (UPDATES_*, MIRROR_*). Locally `--fs DIR` uses DIR/buckets and DIR/queue:
 * the fetcher's writes under inbound/updates/ are queued for the publisher,
 * and the mirror serves DIR/buckets/updates.
 */

const USAGE = 'usage: updates fetch|publish|mirror [--fs DIR] [--channels FILE] [--once | --until-empty] [--port N] [--tls-cert F --tls-key F]';

function channelsFrom(file: string | undefined): UpdateChannel[] {
  if (!file) throw new Error('set UPDATES_CHANNELS_FILE or --channels FILE (the JSON list of updates.channels)');
  const parsed = z.array(channelSchema).safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const opt: Record<string, string | boolean> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--once' || a === '--until-empty') opt[a.slice(2)] = true;
    else if (['--fs', '--channels', '--port', '--tls-cert', '--tls-key'].includes(a)) opt[a.slice(2)] = rest[++i];
    else {
      process.stderr.write(`unknown argument ${a}\n${USAGE}\n`);
      return 2;
    }
  }
  const env = process.env;
  const fsRoot = opt.fs as string | undefined;
  let stop = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => (stop = true));
  const localQueue = fsRoot ? new FsQueue(path.join(fsRoot, 'queue'), 60) : undefined;

  if (cmd === 'fetch') {
    const channels = channelsFrom((opt.channels as string) ?? env.UPDATES_CHANNELS_FILE);
    const store: ObjectStore = fsRoot ? new NotifyingStore(path.join(fsRoot, 'buckets'), 'inbound', localQueue!) : new S3Store(new S3Client({}));
    const inboundBucket = fsRoot ? 'inbound' : env.UPDATES_INBOUND_BUCKET;
    if (!inboundBucket) throw new Error('set UPDATES_INBOUND_BUCKET');
    const o = { channels, store, inboundBucket, stateFile: env.UPDATES_STATE_FILE ?? (fsRoot ? path.join(fsRoot, 'fetch-state.json') : '/var/lib/three-tier-updates-fetch/state.json') };
    if (opt.once) await fetchOnce(o);
    else await runFetcher({ ...o, stopped: () => stop });
    return 0;
  }
  if (cmd === 'publish') {
    const channels = channelsFrom((opt.channels as string) ?? env.UPDATES_CHANNELS_FILE);
    let queue: JobQueue;
    let store: ObjectStore;
    let targets: UpdatesTargets;
    if (fsRoot) {
      queue = localQueue!;
      store = new FsStore(path.join(fsRoot, 'buckets'));
      targets = { updatesBucket: 'updates', quarantineBucket: 'quarantine', auditBucket: 'log-archive', auditPrefix: 'updates-audit/' };
    } else {
      const need = ['UPDATES_QUEUE_URL', 'UPDATES_BUCKET', 'UPDATES_QUARANTINE_BUCKET', 'UPDATES_AUDIT_BUCKET'].filter((k) => !env[k]);
      if (need.length) throw new Error(`set ${need.join(', ')} (the systemd unit does), or use --fs DIR locally`);
      queue = new SqsQueue(new SQSClient({}), env.UPDATES_QUEUE_URL!);
      store = new S3Store(new S3Client({}));
      targets = { updatesBucket: env.UPDATES_BUCKET!, quarantineBucket: env.UPDATES_QUARANTINE_BUCKET!, auditBucket: env.UPDATES_AUDIT_BUCKET!, auditPrefix: env.UPDATES_AUDIT_PREFIX ?? 'updates-audit/' };
    }
    const r = await runWorker({ queue, untilEmpty: !!opt['until-empty'], stopped: () => stop, idleSleepMs: fsRoot ? 200 : 0, handle: (job) => publishJob(job, store, targets, channels) as never });
    process.stdout.write(`updates publish: ${r.processed} processed, stopping\n`);
    return 0;
  }
  if (cmd === 'mirror') {
    const source: MirrorSource = fsRoot ? new FsMirrorSource(path.join(fsRoot, 'buckets', 'updates')) : new S3MirrorSource(new S3Client({}), env.MIRROR_BUCKET ?? '');
    if (!fsRoot && !env.MIRROR_BUCKET) throw new Error('set MIRROR_BUCKET');
    const cert = (opt['tls-cert'] as string) ?? env.MIRROR_TLS_CERT;
    const key = (opt['tls-key'] as string) ?? env.MIRROR_TLS_KEY;
    if (!cert || !key) throw new Error('set MIRROR_TLS_CERT and MIRROR_TLS_KEY (or --tls-cert/--tls-key): the mirror serves HTTPS only');
    const port = Number(opt.port ?? env.MIRROR_PORT ?? 443);
    const server = createMirrorServer(source, { cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (l) => process.stdout.write(`${l}\n`));
    await new Promise<void>((resolve) => server.listen(port, env.MIRROR_HOST ?? '0.0.0.0', resolve));
    process.stdout.write(`updates mirror: https on port ${port}\n`);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (stop) {
          clearInterval(t);
          server.close(() => resolve());
        }
      }, 500);
    });
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`updates: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
