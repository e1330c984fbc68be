#!/usr/bin/env node
import * as fs from 'fs';
import * as https from 'https';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { S3Store } from '../lib/sanitizer/aws';
import { pickupServer } from '../lib/sanitizer/pickup';
import { PickupConfigError, authenticatorFromEnv, secretThroughSsm } from '../lib/sanitizer/pickup-env';
import { FsStore } from '../lib/sanitizer/worker';

/**
 * The pickup page service (systemd unit `three-tier-pickup` on the lgwan
 * hosts): PICKUP_BUCKET (the sanitized bucket), PICKUP_IDENTITY and its
 * settings (lib/sanitizer/pickup-env.ts, docs/pickup-identity.en.md),
 * PICKUP_PORT, and PICKUP_TLS_CERT / PICKUP_TLS_KEY for HTTPS.
 * Locally: `--fs DIR` serves DIR/buckets/sanitized on 127.0.0.1.
 */
async function main(argv: string[]): Promise<number> {
  const fsRoot = argv[0] === '--fs' ? argv[1] : undefined;
  const bucket = fsRoot ? 'sanitized' : process.env.PICKUP_BUCKET;
  if (!bucket) {
    process.stderr.write('pickup: set PICKUP_BUCKET (the systemd unit does), or use --fs DIR locally\n');
    return 2;
  }
  let auth;
  try {
    const ssm = new SSMClient({});
    auth = await authenticatorFromEnv(process.env, (id) => secretThroughSsm(ssm, id));
  } catch (e) {
    if (!(e instanceof PickupConfigError)) throw e;
    process.stderr.write(`pickup: ${e.message}\n`);
    return 2;
  }
  const store = fsRoot ? new FsStore(`${fsRoot}/buckets`) : new S3Store(new S3Client({}));
  const plain = pickupServer({ store, bucket, auth });
  const port = Number(process.env.PICKUP_PORT ?? (fsRoot ? 8080 : 443));
  const host = fsRoot ? '127.0.0.1' : '0.0.0.0';
  const cert = process.env.PICKUP_TLS_CERT;
  const key = process.env.PICKUP_TLS_KEY;
  const server = cert && key ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), minVersion: 'TLSv1.2' }, (req, res) => plain.emit('request', req, res)) : plain;
  server.listen(port, host, () => process.stdout.write(`pickup: serving ${bucket} on ${cert ? 'https' : 'http'}://${host}:${port}, identity: ${auth.mode}\n`));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exit(code);
  },
  (e) => {
    process.stderr.write(`pickup: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
