#!/usr/bin/env node
import * as fs from 'fs';
import * as https from 'https';
import { S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '../lib/sanitizer/aws';
import { pickupServer } from '../lib/sanitizer/pickup';
import { FsStore } from '../lib/sanitizer/worker';

/**
 * The pickup page service (systemd unit `three-tier-pickup` on the lgwan
 * hosts): PICKUP_BUCKET (the sanitized bucket), PICKUP_USER_HEADER (set by the
 * authenticating front), PICKUP_PORT, and PICKUP_TLS_CERT / PICKUP_TLS_KEY for
 * HTTPS. Locally: `--fs DIR` serves DIR/buckets/sanitized on 127.0.0.1.
 */
function main(argv: string[]): number {
  const fsRoot = argv[0] === '--fs' ? argv[1] : undefined;
  const bucket = fsRoot ? 'sanitized' : process.env.PICKUP_BUCKET;
  if (!bucket) {
    process.stderr.write('pickup: set PICKUP_BUCKET (the systemd unit does), or use --fs DIR locally\n');
    return 2;
  }
  const store = fsRoot ? new FsStore(`${fsRoot}/buckets`) : new S3Store(new S3Client({}));
  const plain = pickupServer({ store, bucket, userHeader: process.env.PICKUP_USER_HEADER });
  const port = Number(process.env.PICKUP_PORT ?? (fsRoot ? 8080 : 443));
  const host = fsRoot ? '127.0.0.1' : '0.0.0.0';
  const cert = process.env.PICKUP_TLS_CERT;
  const key = process.env.PICKUP_TLS_KEY;
  const server = cert && key ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), minVersion: 'TLSv1.2' }, (req, res) => plain.emit('request', req, res)) : plain;
  server.listen(port, host, () => process.stdout.write(`pickup: serving ${bucket} on ${cert ? 'https' : 'http'}://${host}:${port}\n`));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
