import { afterEach, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sdkStreamMixin } from '@smithy/util-stream';
import { S3Store, SqsQueue } from '../lib/sanitizer/aws';
import { FsQueue, FsStore, runWorker } from '../lib/sanitizer/worker';
import * as fx from './helpers/sanitizer-fixtures';

const ROOT = path.resolve(__dirname, '..');
const targets = { sanitizedBucket: 'sanitized', quarantineBucket: 'quarantine', auditBucket: 'log-archive', auditPrefix: 'sanitizer-audit/' };
const event = (bucket: string, key: string) => JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+') } } }] });

/** Run after each test whatever happened, so no worker outlives its test. */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function lab(): { root: string; queue: FsQueue; store: FsStore } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-'));
  return { root, queue: new FsQueue(path.join(root, 'queue'), 2), store: new FsStore(path.join(root, 'buckets')) };
}

function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).sort();
}

describe('sanitizer service (queue → sanitize → buckets), filesystem stand-ins', () => {
  test('each object-created event ends in the sanitized bucket (with its audit record) or in quarantine, and in the log archive', async () => {
    const { root, queue, store } = lab();
    const files: Record<string, Buffer> = {
      'users/tanaka/form.docm': fx.corpusFile('oletools/test-data/oleform/oleform-PR314.docm'),
      'users/tanaka/お知らせ 2026.csv': fx.corpusFile('oletools/test-data/msodde/dde-in-csv.csv'),
      'users/sato/secret.docx': fx.corpusFile('oletools/test-data/encrypted/encrypted.docx'),
      'users/sato/plain.docx': fx.corpusFile('oletools/test-data/msodde/harmless-clean.docx'),
    };
    for (const [k, b] of Object.entries(files)) {
      await store.put('inbound', k, b);
      queue.send(event('inbound', k));
    }
    queue.send(JSON.stringify({ Event: 's3:TestEvent' }));
    const lines: string[] = [];
    const r = await runWorker({ queue, store, targets, untilEmpty: true, log: (l) => lines.push(l) });
    assert.equal(r.processed, 4, lines.join('\n'));
    assert.deepEqual(queue.pending(), { ready: 0, leased: 0 });
    const sanitized = tree(path.join(root, 'buckets', 'sanitized'));
    assert.deepEqual(sanitized, [
      'users/sato/plain.docx',
      'users/sato/plain.docx.audit.json',
      'users/sato/secret.docx.audit.json',
      'users/tanaka/form.docx',
      'users/tanaka/form.docx.audit.json',
      'users/tanaka/お知らせ 2026.csv',
      'users/tanaka/お知らせ 2026.csv.audit.json',
    ]);
    assert.deepEqual(tree(path.join(root, 'buckets', 'quarantine')), ['users/sato/secret.docx']);
    const audit = JSON.parse(fs.readFileSync(path.join(root, 'buckets', 'sanitized', 'users/sato/secret.docx.audit.json'), 'utf8'));
    assert.equal(audit.verdict, 'quarantined');
    assert.match(audit.reason, /encrypted/);
    assert.equal(tree(path.join(root, 'buckets', 'log-archive')).length, 4);
    assert.ok(fs.readFileSync(path.join(root, 'buckets', 'sanitized', 'users/sato/plain.docx')).equals(files['users/sato/plain.docx']));
  });

  test('a worker killed with SIGKILL in the middle of a file leaves its message; the next worker processes it after the lease, exactly one output', async () => {
    const { root, queue, store } = lab();
    // The first file is a named pipe: the worker blocks in the middle of reading it, deterministically,
    // until the test kills it. Afterwards the pipe is replaced by the real file.
    const bigKey = 'users/kato/big.rtf';
    const bigPath = path.join(root, 'buckets', 'inbound', bigKey);
    fs.mkdirSync(path.dirname(bigPath), { recursive: true });
    execFileSync('mkfifo', [bigPath]);
    await store.put('inbound', 'users/kato/small.csv', fx.corpusFile('oletools/test-data/msodde/dde-in-csv.csv'));
    queue.send(event('inbound', bigKey));
    queue.send(event('inbound', 'users/kato/small.csv'));
    const start = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'bin/sanitizer-worker.ts', '--fs', root, '--visibility', '2', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const first = start([]);
    const children = [first];
    // Whatever happens, no worker outlives the test (one blocked on the pipe would keep the runner alive).
    cleanups.push(() => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      if (fs.existsSync(bigPath) && fs.statSync(bigPath).isFIFO()) fs.rmSync(bigPath);
    });
    // Wait until it holds the big file's message, then kill it hard.
    const deadline = Date.now() + 30_000;
    while (queue.pending().leased === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(queue.pending().leased, 1, 'the worker took the first message');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(queue.pending(), { ready: 1, leased: 1 }, 'still stuck in the middle of the first file');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    fs.rmSync(bigPath);
    fs.writeFileSync(bigPath, fx.RTF_WITH_OBJECTS);
    assert.equal(fs.existsSync(path.join(root, 'buckets', 'sanitized', 'users/kato/big.rtf')), false, 'killed before it finished');
    assert.deepEqual(queue.pending(), { ready: 1, leased: 1 }, 'nothing lost: one message leased by the dead worker, one waiting');
    // A new worker: takes the small one at once, the big one once the dead worker's lease runs out.
    const second = start(['--until-empty']);
    children.push(second);
    let out = '';
    second.stdout.on('data', (d) => (out += d));
    second.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    let waited = 0;
    // --until-empty may stop while the lease is still running; run again until the queue is empty.
    while ((queue.pending().ready || queue.pending().leased) && waited < 10) {
      await new Promise((r) => setTimeout(r, 1000));
      const again = start(['--until-empty']);
      children.push(again);
      again.stdout.on('data', (d) => (out += d));
      await new Promise((r) => again.once('exit', r));
      waited++;
    }
    assert.equal(code, 0, out);
    assert.deepEqual(queue.pending(), { ready: 0, leased: 0 }, out);
    const audit = JSON.parse(fs.readFileSync(path.join(root, 'buckets', 'sanitized', 'users/kato/big.rtf.audit.json'), 'utf8'));
    assert.equal(audit.verdict, 'sanitized');
    assert.equal(audit.delivery, 2, 'delivered a second time after the kill');
    assert.ok(fs.existsSync(path.join(root, 'buckets', 'sanitized', 'users/kato/small.csv')));
    const records = tree(path.join(root, 'buckets', 'log-archive')).map((f) => JSON.parse(fs.readFileSync(path.join(root, 'buckets', 'log-archive', f), 'utf8')));
    assert.equal(records.filter((x) => x.key === 'users/kato/big.rtf').length, 1, 'exactly one audit record: the killed attempt wrote nothing');
  });
});

describe('sanitizer service on AWS (SQS + S3 through aws-sdk-client-mock)', () => {
  const body = (b: Buffer) => sdkStreamMixin(Readable.from([b]));
  test('the message is deleted only after every write succeeded; a failed write leaves it for the retry', async () => {
    const sqs = mockClient(SQSClient);
    const s3 = mockClient(S3Client);
    const msg = { MessageId: 'm1', ReceiptHandle: 'h1', Body: event('inbound-bucket', 'users/ito/a b.docm'), Attributes: { ApproximateReceiveCount: '1' } };
    sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [msg, { MessageId: 't', ReceiptHandle: 'ht', Body: JSON.stringify({ Event: 's3:TestEvent' }) }, { MessageId: 'x', ReceiptHandle: 'hx', Body: 'not json' }] }).resolves({ Messages: [] });
    s3.on(GetObjectCommand, { Bucket: 'inbound-bucket', Key: 'users/ito/a b.docm' }).callsFake(() => ({ Body: body(fx.corpusFile('oletools/test-data/oleform/oleform-PR314.docm')) }));
    s3.on(PutObjectCommand).resolves({});
    sqs.on(DeleteMessageCommand).resolves({});
    const queue = new SqsQueue(new SQSClient({ region: 'ap-northeast-1' }), 'https://sqs.ap-northeast-1.amazonaws.com/111111111111/q', 0);
    const store = new S3Store(new S3Client({ region: 'ap-northeast-1' }));
    const lines: string[] = [];
    const r = await runWorker({ queue, store, targets: { ...targets, sanitizedBucket: 'sanitized-bucket' }, untilEmpty: true, log: (l) => lines.push(l) });
    assert.equal(r.processed, 1);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => `${c.args[0].input.Bucket}/${c.args[0].input.Key}`);
    assert.deepEqual(puts.slice(0, 2), ['sanitized-bucket/users/ito/a b.docx', 'sanitized-bucket/users/ito/a b.docx.audit.json']);
    assert.match(puts[2], /^log-archive\/sanitizer-audit\/\d{4}-\d{2}-\d{2}\/[0-9a-f]{64}-/);
    assert.ok(s3.commandCalls(PutObjectCommand).every((c) => c.args[0].input.ServerSideEncryption === 'aws:kms'));
    const deleted = sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle);
    assert.deepEqual(deleted.sort(), ['h1', 'ht'], 'the unreadable message is left for the dead-letter queue');
    assert.ok(lines.some((l) => /unreadable message left for the dead-letter queue/.test(l)));

    // Storage fails: no delete, so SQS redelivers after the visibility timeout.
    sqs.reset();
    s3.reset();
    sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [msg] }).resolves({ Messages: [] });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body(fx.corpusFile('oletools/test-data/oleform/oleform-PR314.docm')) }));
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }));
    const r2 = await runWorker({ queue, store, targets, untilEmpty: true, log: (l) => lines.push(l) });
    assert.equal(r2.processed, 0);
    assert.equal(sqs.commandCalls(DeleteMessageCommand).length, 0);
    assert.ok(lines.some((l) => /will be retried: Service Unavailable/.test(l)));
  });
});
