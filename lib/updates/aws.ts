import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { MirrorObject, MirrorSource } from './mirror';

/** The updates bucket read through the tier's S3 gateway endpoint (the mirror hosts' only source). */
export class S3MirrorSource implements MirrorSource {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async get(key: string): Promise<MirrorObject | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { body: Buffer.from(await r.Body!.transformToByteArray()), lastModified: r.LastModified ?? new Date(0), etag: r.ETag };
    } catch (e) {
      // Without s3:ListBucket (the mirror role has none), S3 answers a missing key with AccessDenied: both are "not found" to clients.
      if (e instanceof NoSuchKey || (e as Error).name === 'NoSuchKey' || (e as Error).name === 'AccessDenied') return undefined;
      throw e;
    }
  }
}
