import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { channelSchema, UpdateChannel } from '../config/updates';
import { FsQueue } from '../lib/sanitizer/worker';
import { runWorker } from '../lib/sanitizer/worker';
import { parseCvdHeader } from '../lib/updates/clamav';
import { fetchOnce } from '../lib/updates/fetch';
import { NotifyingStore } from '../lib/updates/local';
import { createMirrorServer, FsMirrorSource } from '../lib/updates/mirror';
import { ChannelIndex, publishJob } from '../lib/updates/publisher';
import { freshclamConf } from '../lib/updates/client-config';
import { corpusFile } from './helpers/sanitizer-fixtures';
import { tmpDir } from './helpers/synth';
import { fetchTrusting, localTls, makeCodeSigningCa, makeCvd, makeCvdKey, makePgpKey, minimalPe, pgpDetachedSign, signPe } from './helpers/updates';

/**
 * The whole feed on 127.0.0.1: a fake vendor (HTTPS) serves test-signed
 * artefacts of every kind; the fetch service writes them into the inbound
 * bucket (folders), whose events reach the verifier's queue; the verifier
 * publishes or quarantines; the mirror serves the updates bucket over HTTPS;
 * Debian's freshclam updates from the mirror in PrivateMirror mode.
 *
 * ClamAV: freshclam accepts only CVDs signed with the key compiled into
 * libclamav, so a test-key CVD can never load into it. The clamav channel
 * therefore carries ClamAV's own signed test databases (test-3.cvd,
 * test-6.cvd from ClamAV's freshclam tests), verified by the feed with the
 * real published key pinned in config; a second channel pinned to a key made
 * here exercises tampering, other keys and downgrades on CVDs.
 */

const root = tmpDir('updates-e2e');
const INBOUND = 'inbound';
const targets = { updatesBucket: 'updates', quarantineBucket: 'quarantine', auditBucket: 'log-archive', auditPrefix: 'updates-audit/131016/' };
const vendorFiles = new Map<string, Buffer>();
let vendor: https.Server;
let mirror: https.Server;
let vendorBase = '';
let mirrorBase = '';
let tls: { cert: string; key: string };
let channels: UpdateChannel[] = [];
let queue: FsQueue;
let store: NotifyingStore;
const stateFile = path.join(root, 'fetch-state.json');
const log: string[] = [];

function listen(s: https.Server): Promise<string> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

async function feed(): Promise<void> {
  await fetchOnce({ channels, store, inboundBucket: INBOUND, stateFile, fetchImpl: fetchTrusting(tls.cert), log: (l) => log.push(l) });
  await runWorker({ queue, untilEmpty: true, log: (l) => log.push(l), handle: (job) => publishJob(job, store, targets, channels) as never });
}

function audits(): { at: string; file: string; channel: string; verdict: string; reason?: string; version?: string; signer?: string; sha256: string }[] {
  const dir = path.join(root, 'buckets', targets.auditBucket, targets.auditPrefix);
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
    .sort((x, y) => String(x.at).localeCompare(String(y.at)));
}

const auditFor = (channel: string, file: string) => audits().filter((a) => a.channel === channel && a.file === file);

function index(channel: string): ChannelIndex {
  return JSON.parse(fs.readFileSync(path.join(root, 'buckets', 'updates', channel, 'index.json'), 'utf8'));
}

/** freshclam runs as a child process (asynchronously: the mirror answers from this process). */
async function freshclam(): Promise<{ code: number; out: string }> {
  const conf = path.join(root, 'freshclam.conf');
  fs.writeFileSync(conf, freshclamConf({ mirrors: [`${mirrorBase}/clamav`], databaseDirectory: path.join(root, 'clamdb'), databaseOwner: os.userInfo().username, extraDatabases: ['test'] }));
  fs.mkdirSync(path.join(root, 'clamdb'), { recursive: true });
  return new Promise((resolve) => {
    execFile('freshclam', ['--no-dns', `--config-file=${conf}`, '--update-db=test'], { env: { ...process.env, CURL_CA_BUNDLE: path.join(root, 'tls', 'mirror.crt') }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
}

let keys: Awaited<ReturnType<typeof setup>>;
async function setup() {
  const cvdKey = makeCvdKey();
  const otherCvdKey = makeCvdKey();
  const ca = makeCodeSigningCa(path.join(root, 'pki'), 'Vendor');
  const otherCa = makeCodeSigningCa(path.join(root, 'pki'), 'Intruder');
  const pgp = await makePgpKey('Tool Vendor');
  const otherPgp = await makePgpKey('Someone Else');
  return { cvdKey, otherCvdKey, ca, otherCa, pgp, otherPgp };
}

beforeAll(async () => {
  keys = await setup();
  tls = localTls(path.join(root, 'tls'), 'vendor');
  fs.writeFileSync(path.join(root, 'tls', 'mirror.crt'), tls.cert);
  vendor = https.createServer({ cert: tls.cert, key: tls.key }, (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = vendorFiles.get(decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname));
    res.writeHead(body ? 200 : 404, body ? { 'content-length': body.length } : {});
    res.end(body ?? 'not found');
  });
  vendorBase = await listen(vendor);
  const u = (p: string) => `${vendorBase}${p}`;
  channels = [
    { name: 'clamav', kind: 'clamav', urls: [u('/clamav/test.cvd')] },
    { name: 'clamav-lab', kind: 'clamav', urls: [u('/lab/daily.cvd'), u('/lab/main.cvd')], trust: { clamavKey: { modulus: keys.cvdKey.modulus, exponent: keys.cvdKey.exponent } } },
    { name: 'viewer', kind: 'authenticode', urls: ['1.2.0', '1.3.0', '1.4.0', '1.5.0', '1.1.0'].map((v) => u(`/viewer/ViewerSetup-${v}.exe`)), trust: { certificates: [keys.ca.caPem] }, versionPattern: '-(\\d+(?:\\.\\d+)+)\\.exe$' },
    { name: 'tools', kind: 'openpgp', urls: ['2.0.1', '2.1.0', '2.2.0', '2.3.0', '1.9.0'].map((v) => u(`/tools/tool-${v}.tar.gz`)), trust: { publicKeys: [keys.pgp.publicKey] } },
  ].map((c) => channelSchema.parse(c));
  queue = new FsQueue(path.join(root, 'queue'), 30);
  store = new NotifyingStore(path.join(root, 'buckets'), INBOUND, queue);
  mirror = createMirrorServer(new FsMirrorSource(path.join(root, 'buckets', 'updates')), tls);
  mirrorBase = await listen(mirror);
}, 60_000);

afterAll(async () => {
  await new Promise((r) => vendor?.close(r));
  await new Promise((r) => mirror?.close(r));
});

describe('updates feed on 127.0.0.1: vendor → fetch → verify → mirror → freshclam', () => {
  test('round 1: good artefacts of every kind are published with an audit record', async () => {
    vendorFiles.set('/clamav/test.cvd', corpusFile('clamav/freshclam/test-3.cvd'));
    vendorFiles.set('/lab/daily.cvd', makeCvd({ name: 'daily', version: 100, key: keys.cvdKey }));
    vendorFiles.set('/viewer/ViewerSetup-1.2.0.exe', signPe(keys.ca, minimalPe(1), 'Viewer'));
    const tool = Buffer.from('tool 2.0.1 tarball stand-in\n');
    vendorFiles.set('/tools/tool-2.0.1.tar.gz', tool);
    vendorFiles.set('/tools/tool-2.0.1.tar.gz.asc', await pgpDetachedSign(keys.pgp, tool));
    await feed();
    for (const [channel, file, version] of [['clamav', 'test.cvd', '3'], ['clamav-lab', 'daily.cvd', '100'], ['viewer', 'ViewerSetup-1.2.0.exe', '1.2.0'], ['tools', 'tool-2.0.1.tar.gz', '2.0.1']]) {
      const a = auditFor(channel, file);
      expect({ channel, verdicts: a.map((x) => x.verdict), version: a[0]?.version }).toEqual({ channel, verdicts: ['published'], version });
      expect(a[0].sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(a[0].signer?.length).toBeGreaterThan(5);
      expect(fs.existsSync(path.join(root, 'buckets', 'updates', channel, file))).toBe(true);
    }
    expect(auditFor('clamav', 'test.cvd')[0].signer).toMatch(/published, libclamav\/dsig\.c/);
    expect(auditFor('viewer', 'ViewerSetup-1.2.0.exe')[0].signer).toMatch(/CN=Vendor Code Signing/);
    expect(auditFor('tools', 'tool-2.0.1.tar.gz')[0].signer).toMatch(/Tool Vendor/);
    expect(index('viewer').artefacts['ViewerSetup-*.exe'].version).toBe('1.2.0');
    expect(fs.existsSync(path.join(root, 'buckets', 'updates', 'tools', 'tool-2.0.1.tar.gz.sig'))).toBe(true);
  }, 60_000);

  test('a real freshclam (Debian clamav-freshclam) updates from the HTTPS mirror and its database verifies', async () => {
    const r = await freshclam();
    expect({ code: r.code, updated: /test\.cvd updated \(version: 3/.test(r.out) }).toEqual({ code: 0, updated: true });
    const db = path.join(root, 'clamdb', 'test.cvd');
    expect(parseCvdHeader(fs.readFileSync(db)).version).toBe(3);
    const info = execFileSync('sigtool', ['--info', db], { encoding: 'utf8' });
    expect(info).toMatch(/Verification OK/);
  }, 90_000);

  test('round 2: tampered, unsigned, other-key and downgraded artefacts are quarantined, each with its reason', async () => {
    // ClamAV (test key): a tampered body, a CVD signed by another key, and a downgrade below daily 100.
    const tampered = makeCvd({ name: 'main', version: 7, key: keys.cvdKey });
    tampered[tampered.length - 3] ^= 0xff;
    vendorFiles.set('/lab/main.cvd', tampered);
    vendorFiles.set('/lab/daily.cvd', makeCvd({ name: 'daily', version: 101, key: keys.otherCvdKey }));
    // Authenticode: tampered after signing, unsigned, signed by another CA, and an older version.
    const t = signPe(keys.ca, minimalPe(2), 'Viewer');
    t[0x202] ^= 0xff;
    vendorFiles.set('/viewer/ViewerSetup-1.3.0.exe', t);
    vendorFiles.set('/viewer/ViewerSetup-1.4.0.exe', minimalPe(3));
    vendorFiles.set('/viewer/ViewerSetup-1.5.0.exe', signPe(keys.otherCa, minimalPe(4), 'Viewer'));
    vendorFiles.set('/viewer/ViewerSetup-1.1.0.exe', signPe(keys.ca, minimalPe(5), 'Viewer'));
    // OpenPGP: tampered, unsigned, another key, and an older version.
    const a = Buffer.from('tool 2.1.0\n');
    vendorFiles.set('/tools/tool-2.1.0.tar.gz', Buffer.from('tool 2.1.0 with a backdoor\n'));
    vendorFiles.set('/tools/tool-2.1.0.tar.gz.asc', await pgpDetachedSign(keys.pgp, a));
    vendorFiles.set('/tools/tool-2.2.0.tar.gz', Buffer.from('tool 2.2.0\n'));
    const b = Buffer.from('tool 2.3.0\n');
    vendorFiles.set('/tools/tool-2.3.0.tar.gz', b);
    vendorFiles.set('/tools/tool-2.3.0.tar.gz.asc', await pgpDetachedSign(keys.otherPgp, b));
    const old = Buffer.from('tool 1.9.0\n');
    vendorFiles.set('/tools/tool-1.9.0.tar.gz', old);
    vendorFiles.set('/tools/tool-1.9.0.tar.gz.asc', await pgpDetachedSign(keys.pgp, old));
    await feed();
    const reason = (channel: string, file: string) => {
      const a2 = auditFor(channel, file);
      expect({ file, verdicts: a2.map((x) => x.verdict) }).toEqual({ file, verdicts: ['quarantined'] });
      expect(fs.existsSync(path.join(root, 'buckets', 'quarantine', 'updates', channel, file))).toBe(true);
      return a2[0].reason ?? '';
    };
    expect(reason('clamav-lab', 'main.cvd')).toMatch(/^tampered: the body's MD5/);
    expect(reason('viewer', 'ViewerSetup-1.3.0.exe')).toMatch(/^tampered/);
    expect(reason('tools', 'tool-2.1.0.tar.gz')).toMatch(/^tampered/);
    expect(reason('viewer', 'ViewerSetup-1.4.0.exe')).toMatch(/^unsigned/);
    expect(reason('tools', 'tool-2.2.0.tar.gz')).toMatch(/^unsigned/);
    expect(reason('viewer', 'ViewerSetup-1.5.0.exe')).toMatch(/^signed by another key/);
    expect(reason('tools', 'tool-2.3.0.tar.gz')).toMatch(/^signed by another key/);
    expect(auditFor('clamav-lab', 'daily.cvd').find((x) => x.version === '101')?.reason).toMatch(/^signed by another key/);
    expect(reason('viewer', 'ViewerSetup-1.1.0.exe')).toMatch(/^downgrade: version 1\.1\.0 is older than the published 1\.2\.0/);
    expect(reason('tools', 'tool-1.9.0.tar.gz')).toMatch(/^downgrade: version 1\.9\.0 is older than the published 2\.0\.1/);
    // Nothing of this reached the mirror: the published files are still the good ones.
    expect(index('clamav-lab').artefacts.daily.version).toBe('100');
    expect(Object.keys(index('viewer').artefacts)).toEqual(['ViewerSetup-*.exe']);
    expect(fs.readdirSync(path.join(root, 'buckets', 'updates', 'viewer')).sort()).toEqual(['ViewerSetup-1.2.0.exe', 'index.json']);
  }, 90_000);

  test('round 3: ClamAV publishes v6, freshclam gets it from the mirror; serving v3 again is a downgrade (time vendor → mirror measured)', async () => {
    const t0 = Date.now();
    vendorFiles.set('/clamav/test.cvd', corpusFile('clamav/freshclam/test-6.cvd'));
    await feed();
    const served = await new Promise<Buffer>((resolve, reject) => https.get(`${mirrorBase}/clamav/test.cvd`, { ca: tls.cert, headers: { range: 'bytes=0-511' } }, (res) => {
      const c: Buffer[] = [];
      res.on('data', (d: Buffer) => c.push(d));
      res.on('end', () => resolve(Buffer.concat(c)));
    }).on('error', reject));
    const ms = Date.now() - t0;
    expect(served.toString('latin1')).toMatch(/^ClamAV-VDB:[^:]+:6:/);
    process.stdout.write(`updates e2e: vendor publishes test.cvd v6 → mirror serves it: ${ms} ms (one fetch pass + one verify pass, no polling wait)\n`);
    expect(ms).toBeLessThan(30_000);
    const r = await freshclam();
    expect(r.out).toMatch(/test\.cvd updated \(version: 6/);
    expect(execFileSync('sigtool', ['--info', path.join(root, 'clamdb', 'test.cvd')], { encoding: 'utf8' })).toMatch(/Version: 6[\s\S]*Verification OK/);
    vendorFiles.set('/clamav/test.cvd', corpusFile('clamav/freshclam/test-3.cvd'));
    await feed();
    expect(auditFor('clamav', 'test.cvd').map((a) => `${a.verdict} ${a.version} ${a.reason ?? ''}`.trim())).toEqual(['published 3', 'published 6', 'quarantined 3 downgrade: version 3 is older than the published 6 of test']);
    expect(index('clamav').artefacts.test.version).toBe('6');
  }, 90_000);

  test('nothing is lost: every inbound artefact ended as exactly one of published / quarantined, and the queue is empty', () => {
    expect(queue.pending()).toEqual({ ready: 0, leased: 0 });
    const inbound = fs.readdirSync(path.join(root, 'buckets', INBOUND, 'updates'), { recursive: true }).map(String).filter((f) => /\.(cvd|exe|gz)$/.test(f));
    const decided = new Set(audits().map((a) => `${a.channel}/${a.file}`));
    expect(inbound.filter((f) => !decided.has(f))).toEqual([]);
  });
});
