import { describe, expect, test, afterAll } from '@jest/globals';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { App, Stack, aws_sns as sns } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pilot } from '../config/pilot';
import { ConfigError, validateConfig } from '../config/load';
import { CLAMAV_PUBLISHED_KEY, channelHosts, channelSchema, updatesSchema } from '../config/updates';
import { FsQueue, FsStore } from '../lib/sanitizer/worker';
import { InspectionFirewall } from '../lib/security-cloud/firewall';
import { decodeDsig, parseCvdHeader, verifyCvd } from '../lib/updates/clamav';
import { freshclamConf } from '../lib/updates/client-config';
import { fetchOnce } from '../lib/updates/fetch';
import { FsMirrorSource, mirrorHandler } from '../lib/updates/mirror';
import { publishJob } from '../lib/updates/publisher';
import { compareVersions, versionFromName } from '../lib/updates/verify';
import { corpusFile } from './helpers/sanitizer-fixtures';
import { tmpDir } from './helpers/synth';
import { makeCvd, makeCvdKey } from './helpers/updates';

const clamav = { name: 'clamav', kind: 'clamav', urls: ['https://database.clamav.net/daily.cvd'] };

function problems(input: unknown): string[] {
  try {
    validateConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const withChannels = (channels: unknown[], extra: Record<string, unknown> = {}) => ({ ...pilot, ...extra, updates: { channels } });

describe('config: updates.channels', () => {
  test('the pilot carries the ClamAV channel; its hosts are what the fetch service needs', () => {
    const cfg = validateConfig(pilot);
    expect(cfg.updates.channels.map((c) => `${c.name}:${c.kind}`)).toEqual(['clamav:clamav']);
    expect(channelHosts(cfg.updates)).toEqual(['database.clamav.net']);
    expect(cfg.updates.channels[0].maxBytes).toBe(512 * 1024 ** 2);
  });

  const cases: [string, unknown, RegExp][] = [
    ['unknown kind', { ...clamav, kind: 'msi' }, /updates\.channels\[0\]\.kind: must be one of clamav, authenticode, openpgp/],
    ['bad name', { ...clamav, name: 'Clam AV' }, /updates\.channels\[0\]\.name: must be 2-40 characters of a-z/],
    ['no URL', { ...clamav, urls: [] }, /updates\.channels\[0\]\.urls: must list at least one URL/],
    ['ftp URL', { ...clamav, urls: ['ftp://example.com/daily.cvd'] }, /updates\.channels\[0\]\.urls\[0\]: must be an http\(s\) URL/],
    ['ClamAV URL that is not a CVD', { ...clamav, urls: ['https://database.clamav.net/daily-27000.cdiff'] }, /urls\[0\]: must name a \.cvd file/],
    ['bad schedule', { ...clamav, schedule: 'every hour' }, /schedule: must be an EventBridge rate such as "rate\(1 hour\)"/],
    ['tiny size limit', { ...clamav, maxBytes: 10 }, /maxBytes: must be at least 1024 bytes/],
    ['ClamAV key not decimal', { ...clamav, trust: { clamavKey: { modulus: '0xabc', exponent: '65537' } } }, /trust\.clamavKey\.modulus: must be a positive decimal integer/],
    ['authenticode without certificates', { name: 'viewer', kind: 'authenticode', urls: ['https://vendor.example.com/Setup-1.0.exe'] }, /trust\.certificates: is required for an authenticode channel: pin the publisher's CA/],
    ['authenticode with a broken certificate', { name: 'viewer', kind: 'authenticode', urls: ['https://vendor.example.com/Setup-1.0.exe'], trust: { certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] } }, /trust\.certificates\[0\]: is not a readable X\.509 certificate .*export it again in PEM/],
    ['authenticode over plain http', { name: 'viewer', kind: 'authenticode', urls: ['http://vendor.example.com/Setup-1.0.exe'], trust: { certificates: ['x'] } }, /urls: must all be https:\/\/ for a authenticode channel/],
    ['openpgp without keys', { name: 'tools', kind: 'openpgp', urls: ['https://vendor.example.com/tool-1.0.tar.gz'] }, /trust\.publicKeys: is required for an openpgp channel/],
    ['openpgp key not armored', { name: 'tools', kind: 'openpgp', urls: ['https://vendor.example.com/tool-1.0.tar.gz'], trust: { publicKeys: ['mQINBF...'] } }, /trust\.publicKeys\[0\]: is not an ASCII-armored public key; export it with "gpg --armor --export/],
    ['version pattern without a group', { name: 'tools', kind: 'openpgp', urls: ['https://vendor.example.com/tool-1.0.tar.gz'], versionPattern: '\\d+', trust: { publicKeys: ['-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----'] } }, /versionPattern: must have exactly one capture group/],
    ['a key of the wrong kind', { ...clamav, trust: { publicKeys: ['x'] } }, /trust\.publicKeys: is for openpgp channels; a clamav channel pins clamavKey/],
    ['unknown field', { ...clamav, mirror: 'x' }, /updates\.channels\[0\]: has unknown field\(s\) "mirror"/],
  ];
  for (const [label, channel, re] of cases) {
    test(`rejects ${label}, naming the field and the fix`, () => {
      const p = problems(withChannels([channel]));
      expect(p.some((x) => re.test(x))).toBe(true);
    });
  }

  test('rejects two channels of the same name', () => {
    expect(problems(withChannels([clamav, clamav]))).toEqual(['updates.channels[1].name: "clamav" is already the name of channels[0]; channel names must be unique (they are folders)']);
  });

  test('rejects a channel whose host the firewall denylist blocks', () => {
    const p = problems({ ...withChannels([clamav]), securityCloud: { ...pilot.securityCloud, firewall: { domainMode: 'denylist', domains: ['.clamav.net'] } } });
    expect(p).toEqual(['updates.channels: fetch host "database.clamav.net" is denied by securityCloud.firewall.domains (".clamav.net"); remove the channel or the deny entry']);
  });

  test('an empty feed is valid (no channels, no fetch, no mirrors)', () => {
    expect(updatesSchema.parse({}).channels).toEqual([]);
  });
});

describe('firewall: the allowlist gains exactly the channels\' hosts', () => {
  const firewallTargets = (domainMode: 'allowlist' | 'denylist') => {
    const cfg = validateConfig({ ...pilot, securityCloud: { ...pilot.securityCloud, firewall: { domainMode, domains: ['.lg.jp'] } }, updates: { channels: [clamav, { ...clamav, name: 'clamav-mirror2', urls: ['https://mirror.example.org/main.cvd', 'https://database.clamav.net/main.cvd'] }] } });
    const stack = new Stack(new App(), 'Fw', { env: { region: 'ap-northeast-1' } });
    new InspectionFirewall(stack, 'Inspection', { config: cfg, transitGatewayId: 'tgw-0123456789abcdef0', tenantCidrs: ['10.1.32.0/20'], mailGatewayCidrs: ['10.0.0.0/24'], logArchiveBucketName: 'logs', alarmTopic: new sns.Topic(stack, 'Topic') });
    const groups = Template.fromStack(stack).findResources('AWS::NetworkFirewall::RuleGroup');
    const domains = Object.values(groups).find((g: any) => g.Properties.RuleGroupName.endsWith('-domains')) as any;
    return domains.Properties.RuleGroup.RulesSource.RulesSourceList;
  };
  test('allowlist: the configured domains plus each channel host once', () => {
    const r = firewallTargets('allowlist');
    expect(r.GeneratedRulesType).toBe('ALLOWLIST');
    expect(r.Targets).toEqual(['.lg.jp', 'database.clamav.net', 'mirror.example.org']);
  });
  test('denylist: unchanged (the channel hosts pass; the config check keeps them off the list)', () => {
    expect(firewallTargets('denylist').Targets).toEqual(['.lg.jp']);
  });
});

describe('ClamAV CVD verification (libclamav/dsig.c, implemented in TypeScript)', () => {
  const real = corpusFile('clamav/freshclam/test-3.cvd');
  test('ClamAV\'s own signed test database verifies with the published key', () => {
    const r = verifyCvd(real, CLAMAV_PUBLISHED_KEY);
    expect(r.ok).toBe(true);
    const h = parseCvdHeader(real);
    expect({ version: h.version, sigs: h.sigs, flevel: h.flevel, builder: h.builder }).toEqual({ version: 3, sigs: 11, flevel: 81, builder: 'raynman' });
    expect(decodeDsig(h.dsig, CLAMAV_PUBLISHED_KEY)).toBe(h.md5);
  });
  test('a key made here signs CVDs the same way; the published key rejects them and vice versa', () => {
    const key = makeCvdKey();
    const cvd = makeCvd({ name: 'daily', version: 9, key });
    expect(verifyCvd(cvd, key)).toMatchObject({ ok: true });
    expect(verifyCvd(cvd, CLAMAV_PUBLISHED_KEY)).toMatchObject({ ok: false, reason: expect.stringMatching(/^signed by another key/) });
    expect(verifyCvd(real, key)).toMatchObject({ ok: false, reason: expect.stringMatching(/^signed by another key/) });
  });
  test('tampered body, broken header and truncation are refused with the reason', () => {
    const t = Buffer.from(real);
    t[700] ^= 1;
    expect(verifyCvd(t, CLAMAV_PUBLISHED_KEY)).toMatchObject({ ok: false, reason: expect.stringMatching(/^tampered: the body's MD5/) });
    expect(verifyCvd(Buffer.from('MZ not a cvd'), CLAMAV_PUBLISHED_KEY)).toMatchObject({ ok: false, reason: expect.stringMatching(/^unsigned or not a CVD: .*shorter than the 512-byte header/) });
    const h = Buffer.from(real);
    h.write('ClamAV-VDB:x:y:z'.padEnd(512, ' '), 0, 'latin1');
    expect(verifyCvd(h, CLAMAV_PUBLISHED_KEY)).toMatchObject({ ok: false, reason: 'unsigned or not a CVD: not a CVD: the header has 4 fields, expected at least 8' });
  });
});

describe('versions', () => {
  test('dotted numeric comparison', () => {
    expect([compareVersions('128.10', '128.3.1'), compareVersions('1.0', '1.0.0'), compareVersions('2', '10')]).toEqual([1, 0, -1]);
  });
  test('version and product line from the file name', () => {
    expect(versionFromName('Firefox Setup 128.3.1esr.msi')).toEqual({ version: '128.3.1', line: 'Firefox Setup *esr.msi' });
    expect(versionFromName('ViewerSetup-1.2.0.exe', '-(\\d+(?:\\.\\d+)+)\\.exe$')).toEqual({ version: '1.2.0', line: 'ViewerSetup-*.exe' });
    expect(versionFromName('setup.exe')).toBeUndefined();
  });
});

describe('publisher edge cases', () => {
  const root = tmpDir('updates-unit');
  const store = new FsStore(path.join(root, 'buckets'));
  const targets = { updatesBucket: 'updates', quarantineBucket: 'quarantine', auditBucket: 'log-archive', auditPrefix: 'updates-audit/' };
  const channels = [channelSchema.parse(clamav)];
  test('an unknown channel is quarantined with the reason and audited', async () => {
    await store.put('inbound', 'updates/nope/daily.cvd', Buffer.from('x'));
    const r = await publishJob({ bucket: 'inbound', key: 'updates/nope/daily.cvd', deliveries: 1 }, store, targets, channels);
    expect(r).toMatchObject({ verdict: 'quarantined', reason: 'unknown channel "nope" (not in updates.channels)' });
    expect(fs.existsSync(path.join(root, 'buckets', 'quarantine', 'updates', 'nope', 'daily.cvd'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'buckets', 'log-archive', 'updates-audit'), { recursive: true }).length).toBeGreaterThan(0);
  });
  test('a detached signature is not an artefact: its event is consumed without a verdict', async () => {
    await expect(publishJob({ bucket: 'inbound', key: 'updates/clamav/x.tar.gz.asc', deliveries: 1 }, store, targets, channels)).resolves.toMatchObject({ verdict: 'sidecar' });
  });
  test('over the size limit: quarantined before any signature work', async () => {
    const small = [channelSchema.parse({ ...clamav, maxBytes: 1024 })];
    await store.put('inbound', 'updates/clamav/daily.cvd', Buffer.alloc(4096));
    await expect(publishJob({ bucket: 'inbound', key: 'updates/clamav/daily.cvd', deliveries: 1 }, store, targets, small)).resolves.toMatchObject({ verdict: 'quarantined', reason: expect.stringMatching(/^too large: 4096 bytes, the channel's limit is 1024/) });
  });
});

describe('fetch service', () => {
  const root = tmpDir('updates-fetch');
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    if (req.url === '/big.cvd') {
      res.writeHead(200, { 'content-length': 5000 });
      return res.end(Buffer.alloc(5000));
    }
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304);
      return res.end();
    }
    res.writeHead(200, { etag: '"v1"' });
    return res.end(Buffer.from('cvd bytes'));
  });
  afterAll(() => new Promise((r) => server.close(r)));
  test('writes new files under updates/<channel>/, then sends validators and skips unchanged ones; refuses oversize', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const channels = [channelSchema.parse({ ...clamav, urls: [`${base}/daily.cvd`, `${base}/big.cvd`], maxBytes: 1024 })];
    const store = new FsStore(path.join(root, 'buckets'));
    const o = { channels, store, inboundBucket: 'inbound', stateFile: path.join(root, 'state.json'), log: () => undefined };
    const first = await fetchOnce(o);
    expect(first.map((x) => `${x.result} ${x.key ?? x.detail}`)).toEqual(['new updates/clamav/daily.cvd', 'error announces 5000 bytes, over the channel\'s limit of 1024']);
    expect(fs.readFileSync(path.join(root, 'buckets', 'inbound', 'updates', 'clamav', 'daily.cvd'), 'utf8')).toBe('cvd bytes');
    const second = await fetchOnce(o);
    expect(second[0]).toMatchObject({ result: 'unchanged', detail: 'not modified' });
    expect(fs.existsSync(path.join(root, 'buckets', 'inbound', 'updates', 'clamav', 'big.cvd'))).toBe(false);
    expect(hits).toBe(4);
    // The local queue is unrelated to the fetcher itself: nothing else was written.
    expect(new FsQueue(path.join(root, 'queue')).pending()).toEqual({ ready: 0, leased: 0 });
  });
});

describe('mirror', () => {
  const root = tmpDir('updates-mirror');
  fs.mkdirSync(path.join(root, 'clamav'), { recursive: true });
  fs.writeFileSync(path.join(root, 'clamav', 'daily.cvd'), Buffer.from('0123456789'));
  fs.writeFileSync(path.join(root, 'secret.txt'), 'outside any channel');
  const server = http.createServer(mirrorHandler(new FsMirrorSource(root)));
  afterAll(() => new Promise((r) => server.close(r)));
  const req = (p: string, o: http.RequestOptions = {}) =>
    new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      http.request({ host: '127.0.0.1', port, path: p, ...o }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      }).on('error', reject).end();
    });
  test('serves published files with ranges and validators, nothing else, read only', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const full = await req('/clamav/daily.cvd');
    expect([full.status, full.body]).toEqual([200, '0123456789']);
    expect((await req('/clamav/daily.cvd', { headers: { range: 'bytes=0-3' } })).body).toBe('0123');
    expect((await req('/clamav/daily.cvd', { headers: { 'if-modified-since': full.headers['last-modified']! } })).status).toBe(304);
    expect((await req('/clamav/daily.cld')).status).toBe(404);
    expect((await req('/secret.txt')).status).toBe(404);
    expect((await req('/clamav/..%2Fsecret.txt')).status).toBe(404);
    expect((await req('/clamav/daily.cvd', { method: 'PUT' })).status).toBe(405);
  });
});

describe('client settings', () => {
  test('freshclam.conf points at the tier\'s mirror only, whole CVDs, no DNS', () => {
    const c = freshclamConf({ mirrors: ['https://updates.lgwan.example.lg.jp/clamav/'] });
    expect(c).toMatch(/^PrivateMirror https:\/\/updates\.lgwan\.example\.lg\.jp\/clamav$/m);
    expect(c).toMatch(/^DNSDatabaseInfo no$/m);
    expect(c).toMatch(/^ScriptedUpdates no$/m);
    expect(c).not.toMatch(/DatabaseMirror|database\.clamav\.net/);
    expect(() => freshclamConf({ mirrors: ['http://plain'] })).toThrow(/must be an https:\/\/ URL/);
  });
  test('the shipped file matches the generator', () => {
    const shipped = fs.readFileSync(path.join(__dirname, '..', 'docs', 'clients', 'freshclam.conf'), 'utf8');
    expect(shipped).toBe(freshclamConf({ mirrors: ['https://updates-mirror.lgwan.example.lg.jp/clamav'] }));
  });
});
