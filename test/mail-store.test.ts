import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mockClient } from 'aws-sdk-client-mock';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { S3BlobStore } from '../lib/mail/store';
import { decodeStored } from '../lib/mail/envelope';
import { mxRoute, smarthost, startInternetRelay } from '../lib/mail/roles';
import { ConfigError, startService } from '../lib/mail/service';
import { buildMail } from '../lib/mail/samples';
import { FsBlobStore } from '../lib/mail/store';
import { send, tmpdir } from './helpers/mail';

const body = (b: Buffer) => sdkStreamMixin(Readable.from([b]));

describe('storage: the S3 implementation (aws-sdk-client-mock)', () => {
  test('put encrypts with the bucket key; get of a missing key is undefined; list pages; delete deletes', async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    s3.on(GetObjectCommand, { Key: 'mail/a.eml' }).resolves({ Body: body(Buffer.from('A')) as never });
    s3.on(GetObjectCommand, { Key: 'mail/none.eml' }).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({ Contents: [{ Key: 'mail/b' }, { Key: 'mail/a' }], IsTruncated: true, NextContinuationToken: 't1' });
    s3.on(ListObjectsV2Command, { ContinuationToken: 't1' }).resolves({ Contents: [{ Key: 'mail/c' }], IsTruncated: false });
    s3.on(DeleteObjectCommand).resolves({});
    const store = new S3BlobStore(new S3Client({ region: 'ap-northeast-1' }), 'pilot-131016-inbound');
    await store.put('mail/a.eml', Buffer.from('A'));
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    assert.equal(put.Bucket, 'pilot-131016-inbound');
    assert.equal(put.ServerSideEncryption, 'aws:kms');
    assert.equal(put.IfNoneMatch, undefined);
    assert.equal((await store.get('mail/a.eml'))!.toString(), 'A');
    assert.equal(await store.get('mail/none.eml'), undefined);
    assert.deepEqual(await store.list('mail/'), ['mail/a', 'mail/b', 'mail/c']);
    assert.equal(s3.commandCalls(ListObjectsV2Command).length, 2);
    await store.delete('mail/a.eml');
    assert.equal(s3.commandCalls(DeleteObjectCommand)[0].args[0].input.Key, 'mail/a.eml');
    s3.restore();
  });

  test('putIfAbsent is an S3 conditional write: If-None-Match *, false when S3 answers 412', async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand, { Key: 'ledger/new' }).resolves({});
    s3.on(PutObjectCommand, { Key: 'ledger/old' }).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' }));
    s3.on(PutObjectCommand, { Key: 'ledger/denied' }).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    const store = new S3BlobStore(new S3Client({ region: 'ap-northeast-1' }), 'state');
    assert.equal(await store.putIfAbsent('ledger/new', Buffer.from('1')), true);
    assert.equal(await store.putIfAbsent('ledger/old', Buffer.from('1')), false);
    await assert.rejects(store.putIfAbsent('ledger/denied', Buffer.from('1')), /Access Denied/);
    for (const c of s3.commandCalls(PutObjectCommand)) assert.equal(c.args[0].input.IfNoneMatch, '*');
    s3.restore();
  });

  test('the internet relay answers 250 only after S3 stored the message; when S3 fails the sender gets 451 and retries', async () => {
    const s3 = mockClient(S3Client);
    let fail = true;
    s3.on(PutObjectCommand).callsFake(async () => {
      if (fail) throw new S3ServiceException({ name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
      return {};
    });
    const client = new S3Client({ region: 'ap-northeast-1' });
    const relay = await startInternetRelay(
      { hostname: 'relay.test', maxBytes: 1 << 20, domains: ['city.example.jp'], inbound: new S3BlobStore(client, 'inbound'), outbound: new FsBlobStore(tmpdir('out-')), state: new FsBlobStore(tmpdir('state-')), internet: smarthost({ host: '127.0.0.1', port: 9 }), pollMs: 60_000 },
      0,
    );
    try {
      const raw = buildMail({ from: 'a@example.com', to: ['b@city.example.jp'], subject: 's3', messageId: '<s3@example.com>', text: 'x', charset: 'UTF-8' });
      await assert.rejects(send(relay.port, 'a@example.com', ['b@city.example.jp'], raw), (e: Error & { responseCode?: number }) => e.responseCode === 451);
      fail = false;
      const ok = await send(relay.port, 'a@example.com', ['b@city.example.jp'], raw);
      assert.match(ok.response, /^250 .*stored as mail\/[0-9a-f]{40}-[0-9a-f]{12}\.eml/);
      const put = s3.commandCalls(PutObjectCommand).at(-1)!.args[0].input;
      assert.equal(put.Bucket, 'inbound');
      assert.match(put.Key!, /^mail\//);
      const stored = decodeStored(Buffer.from(put.Body as Uint8Array));
      assert.deepEqual(stored.meta.to, ['b@city.example.jp']);
      assert.equal(stored.meta.from, 'a@example.com');
      assert.ok(stored.raw.includes(raw));
    } finally {
      await relay.close();
      s3.restore();
    }
  });
});

describe('internet delivery: MX lookup (RFC 5321 section 5.1)', () => {
  const dnsError = (code: string) => Object.assign(new Error(`queryMx ${code}`), { code });
  test('MX hosts by preference; no MX record → the domain itself; no such domain or a null MX → no target (bounce); a DNS failure → retry later', async () => {
    const answers: Record<string, () => Promise<{ exchange: string; priority: number }[]>> = {
      'example.jp': async () => [{ exchange: 'mx2.example.jp', priority: 20 }, { exchange: 'mx1.example.jp', priority: 10 }],
      'nomx.example': async () => Promise.reject(dnsError('ENODATA')),
      'nxdomain.example': async () => Promise.reject(dnsError('ENOTFOUND')),
      'nullmx.example': async () => [{ exchange: '', priority: 0 }],
      'broken.example': async () => Promise.reject(dnsError('ESERVFAIL')),
    };
    const route = mxRoute(25, (d) => answers[d]());
    assert.deepEqual(await route('example.jp'), [{ host: 'mx1.example.jp', port: 25 }, { host: 'mx2.example.jp', port: 25 }]);
    assert.deepEqual(await route('nomx.example'), [{ host: 'nomx.example', port: 25 }]);
    assert.deepEqual(await route('nxdomain.example'), []);
    assert.deepEqual(await route('nullmx.example'), []);
    await assert.rejects(route('broken.example'), /MX lookup of broken\.example failed: ESERVFAIL/);
  });
});

describe('mail service settings', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{}, /MAIL_ROLE is "": set it to one of gateway, internet-relay, mail-sanitizer, lgwan-ingester/],
    [{ MAIL_ROLE: 'gateway', MAIL_FS_ROOT: '/tmp/x' }, /MAIL_ROUTES is not set: the municipal domains and their internet relays/],
    [{ MAIL_ROLE: 'gateway', MAIL_FS_ROOT: '/tmp/x', MAIL_ROUTES: '{bad' }, /MAIL_ROUTES is not JSON/],
    [{ MAIL_ROLE: 'gateway', MAIL_FS_ROOT: '/tmp/x', MAIL_ROUTES: '{"city.example.jp":"10.0.0.1:99999"}' }, /MAIL_ROUTES\["city.example.jp"\]: port 99999/],
    [{ MAIL_ROLE: 'internet-relay', MAIL_FS_ROOT: '/tmp/x', MAIL_PORT: '0' }, /MAIL_DOMAINS is not set/],
    [{ MAIL_ROLE: 'lgwan-ingester', MAIL_FS_ROOT: '/tmp/x', MAIL_MAX_BYTES: 'lots' }, /MAIL_MAX_BYTES is "lots": give a whole number \(bytes\) from 1024 to 104857600/],
    [{ MAIL_ROLE: 'lgwan-ingester', MAIL_FS_ROOT: '/tmp/x', MAIL_CONCURRENCY: '0' }, /MAIL_CONCURRENCY is "0": give a whole number \(parallel deliveries\) from 1 to 1000/],
    [{ MAIL_ROLE: 'internet-relay', MAIL_FS_ROOT: '/tmp/x', MAIL_POLL_MS: 'soon' }, /MAIL_POLL_MS is "soon": give a whole number \(milliseconds\)/],
    [{ MAIL_ROLE: 'gateway', MAIL_FS_ROOT: '/tmp/x', MAIL_PORT: '70000' }, /MAIL_PORT is "70000": give a whole number \(the TCP port; 0 picks a free one\) from 0 to 65535/],
  ];
  for (const [env, msg] of bad) {
    test(`refused with the variable named: ${msg.source.slice(0, 40)}`, async () => {
      await assert.rejects(startService(env, () => undefined), (e: Error) => e instanceof ConfigError && msg.test(e.message));
    });
  }
});
