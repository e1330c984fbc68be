import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * The one storage interface of the mail relay: a bucket (or a folder standing
 * in for one). Every role keeps what it has accepted here before it answers
 * SMTP 250, so a write must be durable when `put` resolves: S3 acknowledges
 * only stored objects; the filesystem implementation writes a temporary
 * file, fsyncs it, renames it into place and fsyncs the folder.
 */
export interface BlobStore {
  /** Human-readable location for logs, e.g. `s3://bucket` or a path. */
  readonly where: string;
  get(key: string): Promise<Buffer | undefined>;
  put(key: string, body: Buffer): Promise<void>;
  /** Writes only when the key does not exist yet; false when it did (the ledger of delivered mail). */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>;
  /** Keys under `prefix`, sorted, at most `max`. */
  list(prefix: string, max?: number): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/**
 * A folder as a bucket. `announce` stands in for S3 event notifications in
 * the local demo and the tests: it is called once the object's bytes are
 * on disk and just before they appear under their key, so a process killed
 * in between leaves an announcement of a missing object (which the
 * consumer retries, then records as missing), never an object nobody hears of.
 */
export class FsBlobStore implements BlobStore {
  readonly where: string;

  constructor(
    readonly root: string,
    readonly announce?: (key: string) => void,
  ) {
    fs.mkdirSync(root, { recursive: true });
    this.where = root;
  }

  private file(key: string): string {
    if (!key || key.includes('\0')) throw new Error(`invalid key ${JSON.stringify(key)}`);
    const p = path.resolve(this.root, key);
    if (!p.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`key ${key} escapes ${this.root}`);
    return p;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private async durableWrite(key: string, body: Buffer, exclusive: boolean): Promise<boolean> {
    const f = this.file(key);
    await fs.promises.mkdir(path.dirname(f), { recursive: true });
    const tmp = path.join(path.dirname(f), `.${path.basename(f)}.${randomUUID()}.tmp`);
    const h = await fs.promises.open(tmp, 'wx');
    try {
      await h.writeFile(body);
      await h.sync();
    } finally {
      await h.close();
    }
    this.announce?.(key);
    if (exclusive) {
      // link() fails when the target exists: an atomic "create if absent".
      try {
        await fs.promises.link(tmp, f);
      } catch (e) {
        await fs.promises.rm(tmp, { force: true });
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
      await fs.promises.rm(tmp, { force: true });
    } else {
      await fs.promises.rename(tmp, f);
    }
    const dir = await fs.promises.open(path.dirname(f), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return true;
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.durableWrite(key, body, false);
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    return this.durableWrite(key, body, true);
  }

  async list(prefix: string, max = Infinity): Promise<string[]> {
    const root = path.resolve(this.root);
    // Only the folder that can hold the prefix is walked.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = path.join(root, dirPart);
    if (!fs.existsSync(start)) return [];
    const out: string[] = [];
    for (const e of await fs.promises.readdir(start, { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || e.name.startsWith('.')) continue;
      const key = path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/');
      if (key.startsWith(prefix)) out.push(key);
    }
    return out.sort().slice(0, max);
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.file(key), { force: true });
  }
}

/** A bucket in S3, reached through the zone's S3 endpoint; objects encrypted with the bucket's KMS key. */
export class S3BlobStore implements BlobStore {
  readonly where: string;

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {
    this.where = `s3://${bucket}`;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      if (e instanceof NoSuchKey || (e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/octet-stream', ServerSideEncryption: 'aws:kms' }));
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    try {
      // S3 conditional write: refused with 412 when the key exists.
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, IfNoneMatch: '*', ContentType: 'application/octet-stream', ServerSideEncryption: 'aws:kms' }));
      return true;
    } catch (e) {
      const err = e as Error & { $metadata?: { httpStatusCode?: number } };
      if (err.name === 'PreconditionFailed' || err.$metadata?.httpStatusCode === 412) return false;
      throw e;
    }
  }

  async list(prefix: string, max = Infinity): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: Number.isFinite(max) ? Math.min(1000, max - keys.length) : 1000 }));
      for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = r.IsTruncated && keys.length < max ? r.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
