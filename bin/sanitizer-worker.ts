#!/usr/bin/env node
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Store, SqsQueue } from '../lib/sanitizer/aws';
import { FsQueue, FsStore, JobQueue, ObjectStore, runWorker, Targets } from '../lib/sanitizer/worker';

/**
 * The sanitizer service (systemd unit `three-tier-sanitizer` on the transfer
 * hosts). On AWS it reads its settings from the environment the unit sets:
 * SANITIZER_QUEUE_URL, SANITIZER_SANITIZED_BUCKET, SANITIZER_QUARANTINE_BUCKET,
 * SANITIZER_AUDIT_BUCKET, SANITIZER_AUDIT_PREFIX, AWS_REGION. Locally:
 * `--fs <dir>` uses <dir>/queue and <dir>/buckets (demo and tests).
 */
async function main(argv: string[]): Promise<number> {
  let fsRoot: string | undefined;
  let untilEmpty = false;
  let visibility = Number(process.env.SANITIZER_VISIBILITY_SECONDS ?? 300);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--fs') fsRoot = argv[++i];
    else if (argv[i] === '--until-empty') untilEmpty = true;
    else if (argv[i] === '--visibility') visibility = Number(argv[++i]);
    else {
      process.stderr.write(`unknown argument ${argv[i]}\nusage: sanitizer-worker [--fs DIR] [--until-empty] [--visibility SECONDS]\n`);
      return 2;
    }
  }
  let queue: JobQueue;
  let store: ObjectStore;
  let targets: Targets;
  if (fsRoot) {
    queue = new FsQueue(`${fsRoot}/queue`, visibility);
    store = new FsStore(`${fsRoot}/buckets`);
    targets = { sanitizedBucket: 'sanitized', quarantineBucket: 'quarantine', auditBucket: 'log-archive', auditPrefix: 'sanitizer-audit/' };
  } else {
    const need = ['SANITIZER_QUEUE_URL', 'SANITIZER_SANITIZED_BUCKET', 'SANITIZER_QUARANTINE_BUCKET', 'SANITIZER_AUDIT_BUCKET'].filter((k) => !process.env[k]);
    if (need.length) {
      process.stderr.write(`sanitizer-worker: set ${need.join(', ')} (the systemd unit does), or use --fs DIR locally\n`);
      return 2;
    }
    queue = new SqsQueue(new SQSClient({}), process.env.SANITIZER_QUEUE_URL!);
    store = new S3Store(new S3Client({}));
    targets = { sanitizedBucket: process.env.SANITIZER_SANITIZED_BUCKET!, quarantineBucket: process.env.SANITIZER_QUARANTINE_BUCKET!, auditBucket: process.env.SANITIZER_AUDIT_BUCKET!, auditPrefix: process.env.SANITIZER_AUDIT_PREFIX ?? 'sanitizer-audit/' };
  }
  let stop = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => (stop = true));
  const r = await runWorker({ queue, store, targets, untilEmpty, visibilitySeconds: visibility, stopped: () => stop, idleSleepMs: fsRoot ? 200 : 0 });
  process.stdout.write(`sanitizer-worker: ${r.processed} processed, stopping\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`sanitizer-worker: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
