import { FsQueue, FsStore } from '../sanitizer/worker';
import { INBOUND_PREFIX } from './publisher';

/**
 * The local stand-in for the inbound bucket's S3 event notification (demo
 * and tests): a write under `updates/` of the inbound bucket sends the same
 * object-created event S3 sends to the updates queue. Signature sidecars get
 * their event too; the verifier skips them, as on AWS.
 */
export class NotifyingStore extends FsStore {
  constructor(
    root: string,
    readonly inboundBucket: string,
    readonly queue: FsQueue,
  ) {
    super(root);
  }

  override async put(bucket: string, key: string, body: Buffer): Promise<void> {
    await super.put(bucket, key, body);
    if (bucket === this.inboundBucket && key.startsWith(INBOUND_PREFIX)) {
      this.queue.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key) } } }] }));
    }
  }
}
