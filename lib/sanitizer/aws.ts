import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Job, JobQueue, ObjectStore, parseS3Event } from './worker';

/** The queue of S3 object-created events (SQS, long polling). */
export class SqsQueue implements JobQueue {
  constructor(
    readonly client: SQSClient,
    readonly queueUrl: string,
    readonly waitSeconds = 20,
  ) {}

  async receive(max: number) {
    const r = await this.client.send(new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: Math.min(10, max), WaitTimeSeconds: this.waitSeconds, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    const jobs: Job[] = [];
    const unreadable: { handle: string; why: string }[] = [];
    const ignorable: string[] = [];
    for (const m of r.Messages ?? []) {
      const handle = m.ReceiptHandle!;
      const deliveries = Number(m.Attributes?.ApproximateReceiveCount ?? 1);
      try {
        const ev = parseS3Event(m.Body ?? '');
        if (ev.test) ignorable.push(handle);
        for (const rec of ev.records) jobs.push({ id: m.MessageId ?? handle, handle, bucket: rec.bucket, key: rec.key, deliveries });
      } catch (e) {
        unreadable.push({ handle, why: `${m.MessageId}: ${(e as Error).message}` });
      }
    }
    return { jobs, unreadable, ignorable };
  }

  async done(handle: string): Promise<void> {
    await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle }));
  }

  async extend(handle: string, seconds: number): Promise<void> {
    await this.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle, VisibilityTimeout: seconds }));
  }
}

/** Buckets in S3, encrypted with the bucket's default key, through the zone's S3 endpoint. */
export class S3Store implements ObjectStore {
  constructor(readonly client: S3Client) {}

  async get(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      if (e instanceof NoSuchKey || (e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType ?? 'application/octet-stream', ServerSideEncryption: 'aws:kms' }));
  }
}
