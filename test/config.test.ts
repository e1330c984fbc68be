import { test, describe } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ConfigError, loadConfig, SHIPPED_CONFIGS, ThreeTierConfigInput, validateConfig } from '../config';
import { lgCheckDigit, lgCodeProblem } from '../config/codes';
import { pilot } from '../config/pilot';
import { municipalityBlock, syntheticBlock, syntheticConfig } from '../config/layout';
import { collapseCidrs } from '../config/cidr';

const ROOT = path.resolve(__dirname, '..');

/** A deep copy of the pilot with one change applied. */
function pilotWith(change: (c: any) => void): ThreeTierConfigInput {
  const c = structuredClone(pilot) as any;
  change(c);
  return c;
}

function problemsOf(input: unknown): string[] {
  try {
    validateConfig(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('config was accepted but should have been rejected');
}

describe('全国地方公共団体コード check digit', () => {
  test('known real codes validate', () => {
    for (const code of ['131016', '011002', '141003', '271004', '261009', '472018']) {
      assert.equal(lgCodeProblem(code), undefined, code);
    }
  });
  test('remainders 0 and 1 give check digits 1 and 0', () => {
    assert.equal(lgCheckDigit('11000'), 1); // 6+5 = 11, remainder 0 → 11 → 1
    assert.equal(lgCheckDigit('00006'), 0); // 6*2 = 12, remainder 1 → 10 → 0
    assert.equal(lgCheckDigit('00005'), 1); // 5*2 = 10, remainder 10 → 1
  });
});

describe('shipped configs', () => {
  for (const name of Object.keys(SHIPPED_CONFIGS)) {
    test(`${name} validates`, () => {
      const cfg = loadConfig(name);
      assert.equal(cfg.name, name);
      assert.ok(cfg.availabilityZones.length >= 2);
    });
  }
  test('pilot is model α with one municipality in ap-northeast-1', () => {
    const cfg = loadConfig('pilot');
    assert.equal(cfg.model, 'alpha');
    assert.equal(cfg.region, 'ap-northeast-1');
    assert.equal(cfg.municipalities.length, 1);
  });
  test('prefecture shares one security cloud among at least 10 municipalities', () => {
    assert.ok(loadConfig('prefecture').municipalities.length >= 10);
  });
  test('lab keeps the shape of the pilot at cheaper sizes', () => {
    const lab = loadConfig('lab');
    const p = loadConfig('pilot');
    assert.equal(lab.municipalities.length, p.municipalities.length);
    assert.ok(lab.sizing.interfaceEndpointAzs < p.sizing.interfaceEndpointAzs);
    assert.equal(lab.logArchive.objectLockMode, 'GOVERNANCE');
  });
  test('defaults: retention 365 days in COMPLIANCE mode', () => {
    const c = structuredClone(pilot) as any;
    delete c.logArchive;
    const cfg = validateConfig(c);
    assert.equal(cfg.logArchive.retentionDays, 365);
    assert.equal(cfg.logArchive.objectLockMode, 'COMPLIANCE');
  });
  test('synthetic configs of 1, 50 and 1,741 municipalities (every municipality of Japan) validate: distinct codes, CIDRs and domains', () => {
    for (const n of [1, 50, 1741]) assert.equal(validateConfig(syntheticConfig(n)).municipalities.length, n);
    assert.equal(loadConfig('synthetic-1741').municipalities.length, 1741);
    assert.throws(() => loadConfig('synthetic-1742'), /synthetic configs take 1-1741 municipalities \(Japan has 1741\), got 1742/);
  });
  test('the address plans refuse indexes they cannot hold', () => {
    assert.throws(() => municipalityBlock(1023), /outside the address plan/);
    assert.throws(() => syntheticBlock(1741), /outside the address plan \(0-1740\)/);
    assert.deepEqual(syntheticBlock(1740), { mynumber: '10.217.192.0/21', lgwan: '10.217.200.0/21', internet: '10.217.208.0/21', transfer: '10.217.216.0/21' });
  });
  test('multi-account is expressible: a municipality in its own account', () => {
    const cfg = validateConfig(
      pilotWith((c) => {
        c.account = '111111111111';
        c.municipalities[0].account = '222222222222';
      }),
    );
    assert.equal(cfg.municipalities[0].account, '222222222222');
  });
});

/** Each invalid config must produce its own specific message on the named field. */
const INVALID: [string, (c: any) => void, RegExp][] = [
  ['wrong check digit', (c) => (c.municipalities[0].code = '131017'), /^municipalities\[0\]\.code: "131017" check digit is 7 but must be 6 .*did you mean "131016"/],
  ['code with 5 digits', (c) => (c.municipalities[0].code = '13101'), /^municipalities\[0\]\.code: "13101" must be exactly 6 digits/],
  ['prefecture 48', (c) => (c.municipalities[0].code = '481001'), /^municipalities\[0\]\.code: "481001" prefecture part "48" must be 01-47/],
  ['duplicate codes', (c) => c.municipalities.push({ ...structuredClone(c.municipalities[0]), lgwanMailDomains: ['city.other.lg.jp'], cidrs: municipalityBlock(40) }), /^municipalities\[1\]\.code: "131016" is also used by municipalities\[0\]/],
  ['zones of one municipality overlap', (c) => (c.municipalities[0].cidrs.lgwan = '10.1.8.0/21'), /^municipalities\[0\]\.cidrs\.lgwan: "10\.1\.8\.0\/21" overlaps municipalities\[0\]\.cidrs\.mynumber/],
  ['municipalities overlap', (c) => c.municipalities.push({ code: '011002', name: '札幌市', cidrs: { ...municipalityBlock(41), transfer: '10.1.48.0/22' }, lgwanMailDomains: ['city.sapporo.lg.jp'] }), /transfer: "10\.1\.48\.0\/22" overlaps municipalities\[0\]\.cidrs\.transfer/],
  ['overlaps the security cloud', (c) => (c.municipalities[0].cidrs.internet = '10.0.128.0/20'), /^municipalities\[0\]\.cidrs\.internet: "10\.0\.128\.0\/20" overlaps securityCloud\.cidr/],
  ['host bits set', (c) => (c.municipalities[0].cidrs.mynumber = '10.1.0.1/20'), /^municipalities\[0\]\.cidrs\.mynumber: "10\.1\.0\.1\/20" host bits are set; the network address for \/20 is 10\.1\.0\.0\/20/],
  ['not a CIDR', (c) => (c.securityCloud.cidr = '10.0.0.0'), /^securityCloud\.cidr: "10\.0\.0\.0" must be an IPv4 CIDR/],
  ['public range', (c) => (c.municipalities[0].cidrs.internet = '8.8.0.0/20'), /not private address space; use a range inside 10\.0\.0\.0\/8/],
  ['VPC too large', (c) => (c.municipalities[0].cidrs.lgwan = '10.128.0.0/9'), /is a \/9; a VPC CIDR here must be between \/16 and \/24/],
  ['malformed domain', (c) => (c.municipalities[0].lgwanMailDomains = ['city_chiyoda.lg.jp']), /^municipalities\[0\]\.lgwanMailDomains\[0\]: "city_chiyoda\.lg\.jp" is not a valid lower-case domain name/],
  ['upper-case domain', (c) => (c.municipalities[0].lgwanMailDomains = ['City.Chiyoda.lg.jp']), /"City\.Chiyoda\.lg\.jp" is not a valid lower-case domain name/],
  ['no mail domain', (c) => (c.municipalities[0].lgwanMailDomains = []), /^municipalities\[0\]\.lgwanMailDomains: must list at least one LGWAN mail domain/],
  ['domain owned twice', (c) => c.municipalities.push({ code: '011002', name: '札幌市', cidrs: municipalityBlock(41), lgwanMailDomains: ['city.chiyoda.lg.jp'] }), /^municipalities\[1\]\.lgwanMailDomains\[0\]: "city\.chiyoda\.lg\.jp" is already listed by municipalities\[0\]/],
  ['one AZ', (c) => (c.availabilityZones = ['ap-northeast-1a']), /^availabilityZones: lists 1 availability zone\(s\) but at least 2 are required/],
  ['AZ of another region', (c) => (c.availabilityZones = ['ap-northeast-1a', 'us-east-1a']), /^availabilityZones\[1\]: "us-east-1a" is not an availability zone of ap-northeast-1/],
  ['AZ listed twice', (c) => (c.availabilityZones = ['ap-northeast-1a', 'ap-northeast-1a']), /^availabilityZones\[1\]: "ap-northeast-1a" is listed twice/],
  ['bad account id', (c) => (c.account = '1234'), /^account: must be a 12-digit AWS account id/],
  ['account as a number', (c) => (c.account = 123456789012), /^account: must be a 12-digit AWS account id in quotes/],
  ['municipality account without archive account', (c) => (c.municipalities[0].account = '222222222222'), /^municipalities\[0\]\.account: is "222222222222" but the top-level "account" .* is not set/],
  ['other region without AZs', (c) => (c.municipalities[0].region = 'ap-northeast-3'), /^municipalities\[0\]\.availabilityZones: is required because region "ap-northeast-3" differs/],
  ['bad region', (c) => (c.region = 'tokyo'), /^region: must be an AWS region name such as "ap-northeast-1"/],
  ['retention of zero days', (c) => (c.logArchive.retentionDays = 0), /^logArchive\.retentionDays: must be at least 1 day/],
  ['retention fractional', (c) => (c.logArchive.retentionDays = 1.5), /^logArchive\.retentionDays: must be a whole number of days/],
  ['unknown lock mode', (c) => (c.logArchive.objectLockMode = 'NONE'), /^logArchive\.objectLockMode: must be "COMPLIANCE" .* or "GOVERNANCE"/],
  ['unknown model', (c) => (c.model = 'gamma'), /^model: must be "alpha" \(α, the default/],
  ['unknown municipality model', (c) => (c.municipalities[0].model = 'beta2'), /^municipalities\[0\]\.model: must be "alpha" \(α, the default/],
  ['β without its section', (c) => (c.model = 'beta'), /^municipalities\[0\]\.beta: is required for model "beta": give \{ screenSystems, edr \}/],
  ['β′ without the moved systems', (c) => { c.municipalities[0].model = 'beta-prime'; c.municipalities[0].beta = { screenSystems: [{ name: 'records', address: '10.1.16.40', port: 3389 }], edr: { product: 'EDR', agent: 'agent 1' } }; }, /^municipalities\[0\]\.betaPrime: is required for model "beta-prime": give \{ movedSystems \}/],
  ['α′ section under α', (c) => (c.municipalities[0].alphaPrime = { allowedDomains: ['docs.example-saas.jp'], caSecretId: 'x/ca' }), /^municipalities\[0\]\.alphaPrime: is only for model "alpha-prime", but this municipality's model is "alpha"; remove it or set model: "alpha-prime"/],
  ['α′ without the CA', (c) => { c.municipalities[0].model = 'alpha-prime'; c.municipalities[0].alphaPrime = { allowedDomains: ['docs.example-saas.jp'] }; }, /^municipalities\[0\]\.alphaPrime\.caSecretId: is missing; add it \(it must be the name or ARN of a Secrets Manager secret/],
  ['α′ "*" in the allowlist', (c) => { c.municipalities[0].model = 'alpha-prime'; c.municipalities[0].alphaPrime = { allowedDomains: ['*.example-saas.jp'], caSecretId: 'x/ca' }; }, /^municipalities\[0\]\.alphaPrime\.allowedDomains\[0\]: "\*\.example-saas\.jp" uses "\*"; write "\.example-saas\.jp"/],
  ['α′ Microsoft sign-in without the tenant', (c) => { c.municipalities[0].model = 'alpha-prime'; c.municipalities[0].alphaPrime = { allowedDomains: ['login.microsoftonline.com'], caSecretId: 'x/ca' }; }, /^municipalities\[0\]\.alphaPrime\.tenantRestrictions\.microsoft: is required: allowedDomains lets terminals reach login\.microsoftonline\.com/],
  ['β screen system outside lgwan', (c) => { c.municipalities[0].model = 'beta'; c.municipalities[0].beta = { screenSystems: [{ name: 'records', address: '10.1.32.40', port: 3389 }], edr: { product: 'EDR', agent: 'agent 1' } }; }, /^municipalities\[0\]\.beta\.screenSystems\[0\]\.address: "10\.1\.32\.40" is not inside the lgwan zone "10\.1\.16\.0\/20"/],
  ['β without internet-tier terminals', (c) => { c.municipalities[0].model = 'beta'; c.municipalities[0].beta = { screenSystems: [{ name: 'records', address: '10.1.16.40', port: 3389 }], edr: { product: 'EDR', agent: 'agent 1' } }; delete c.municipalities[0].terminals.internet; }, /^municipalities\[0\]\.terminals\.internet: is required for model "beta": the staff terminals sit in the internet tier/],
  ['β without EDR', (c) => { c.municipalities[0].model = 'beta'; c.municipalities[0].beta = { screenSystems: [{ name: 'records', address: '10.1.16.40', port: 3389 }] }; }, /^municipalities\[0\]\.beta\.edr: is missing; add it \(it must be \{ product, agent \}: under β the internet-tier terminals must run EDR/],
  ['typo in a field name', (c) => (c.municipalities[0].lgwanMailDomain = ['x.lg.jp']), /^municipalities\[0\]: has unknown field\(s\) "lgwanMailDomain"; remove them or check the spelling/],
  ['missing name', (c) => delete c.name, /^name: is missing; add it/],
  ['empty municipality list', (c) => (c.municipalities = []), /^municipalities: must list at least one municipality/],
  ['endpoint AZs beyond the AZ list', (c) => (c.sizing.interfaceEndpointAzs = 3), /^sizing\.interfaceEndpointAzs: is 3 but only 2 availability zones are configured/],
  ['config name with capitals', (c) => (c.name = 'Pilot'), /^name: must be 2-20 characters of a-z/],
  ['security cloud name lower-case', (c) => (c.securityCloud.name = 'tokyo'), /^securityCloud\.name: must be a PascalCase name/],
  ['zone too small for its AZs (found by the property test)', (c) => { c.availabilityZones = ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d', 'ap-northeast-1b']; c.municipalities[0].cidrs.internet = '10.1.32.0/24'; }, /^municipalities\[0\]\.cidrs\.internet: "10\.1\.32\.0\/24" is too small for 4 availability zones .* use a \/23 or larger, or fewer AZs/],
  ['security cloud: mail gateway min above max', (c) => (c.securityCloud.mailGateway = { minHosts: 3, maxHosts: 2 }), /^securityCloud\.mailGateway\.minHosts: is 3 but maxHosts is 2/],
  ['sanitizer: min above max', (c) => (c.sanitizer = { minHosts: 5, maxHosts: 2 }), /^sanitizer\.minHosts: is 5 but maxHosts is 2; minHosts must not exceed maxHosts/],
  ['sanitizer: one instance type', (c) => (c.sanitizer = { instanceTypes: ['c6i.large'] }), /^sanitizer\.instanceTypes: must list at least 2 instance types/],
  ['sanitizer: zero quarantine retention', (c) => (c.sanitizer = { quarantineRetentionDays: 0 }), /^sanitizer\.quarantineRetentionDays: /],
  ['security cloud: one gateway instance type', (c) => (c.securityCloud.mailGateway = { instanceTypes: ['c6i.large'] }), /^securityCloud\.mailGateway\.instanceTypes: must list at least 2 instance types/],
  ['security cloud: firewall domain malformed', (c) => (c.securityCloud.firewall = { domains: ['bad domain'] }), /^securityCloud\.firewall\.domains\[0\]: "bad domain" is not a domain/],
  ['security cloud: unknown managed threat group', (c) => (c.securityCloud.firewall = { managedThreatGroups: ['ThreatSignaturesBotnet'] }), /must be one of the AWS managed strict-order rule groups/],
  ['security cloud: unknown DNS managed list', (c) => (c.securityCloud.dns = { managedDomainLists: ['Malware'] }), /^securityCloud\.dns\.managedDomainLists\[0\]: must be one of AWSManagedDomainsMalwareDomainList/],
  ['security cloud: SOC address malformed', (c) => (c.securityCloud.soc = { alarmEmails: ['soc-at-example'] }), /^securityCloud\.soc\.alarmEmails\[0\]: must be an e-mail address/],
  ['municipality in another region than the hub', (c) => { c.municipalities[0].region = 'ap-northeast-3'; c.municipalities[0].availabilityZones = ['ap-northeast-3a', 'ap-northeast-3b']; }, /^municipalities\[0\]\.region: is "ap-northeast-3" but the security cloud's Transit Gateway is in "ap-northeast-1"/],
  ['an attachment id (the old multi-account procedure)', (c) => (c.municipalities[0].transitGatewayAttachmentId = 'tgw-attach-0123456789abcdef0'), /transitGatewayAttachmentId: is no longer used: the hub accepts attachments from the accounts it is shared with/],
  ['a copied Transit Gateway id (the old multi-account procedure)', (c) => (c.securityCloud.transitGatewayId = 'tgw-0123456789abcdef0'), /securityCloud\.transitGatewayId: is no longer used: municipalities in other accounts read the hub's ids from its SSM parameters/],
  ['missing zone CIDR', (c) => delete c.municipalities[0].cidrs.transfer, /^municipalities\[0\]\.cidrs\.transfer: is missing; add it/],
  ['mail: LGWAN mail server outside the lgwan zone', (c) => (c.municipalities[0].mail.lgwanMailServer = '10.1.32.25'), /^municipalities\[0\]\.mail\.lgwanMailServer: "10\.1\.32\.25" is not inside the lgwan zone "10\.1\.16\.0\/20"; give the address of the LGWAN mail server in that zone/],
  ['mail: no internet domain', (c) => (c.municipalities[0].mail.domains = []), /^municipalities\[0\]\.mail\.domains: must list at least one internet mail domain the MX accepts/],
  ['mail: without an LGWAN mail peer', (c) => delete c.municipalities[0].specificCommunications.mailPeer, /^municipalities\[0\]\.mail: needs specificCommunications\.mailPeer \(the LGWAN mail peer\)/],
  ['mail: a domain of two municipalities', (c) => c.municipalities.push({ code: '011002', name: '札幌市', cidrs: municipalityBlock(41), lgwanMailDomains: ['city.sapporo.lg.jp'], mail: { domains: ['city.chiyoda.example.jp'], lgwanMailServer: '10.10.144.25', dkim: { selector: 'tt2026', privateKeySecretId: 'three-tier/011002/dkim' } }, specificCommunications: { ...c.municipalities[0].specificCommunications } }), /^municipalities\[1\]\.mail\.domains\[0\]: "city\.chiyoda\.example\.jp" is already an internet mail domain of municipalities\[0\]/],
  ['mail: message limit too small', (c) => (c.mail = { maxMessageBytes: 1000 }), /^mail\.maxMessageBytes: must be at least 1048576 \(1 MiB\)/],
  ['mail: retry for a month', (c) => (c.mail = { retryDays: 30 }), /^mail\.retryDays: must be at most 14 days/],
  ['mail: no DKIM key for outbound mail', (c) => delete c.municipalities[0].mail.dkim, /^municipalities\[0\]\.mail\.dkim: .*must be \{ selector, privateKeySecretId \}: outbound mail for the municipal domains is DKIM-signed with a key kept in Secrets Manager/],
  ['mail: a DKIM private key pasted instead of the secret\'s name', (c) => (c.municipalities[0].mail.dkim.privateKeySecretId = '-----BEGIN PRIVATE KEY-----'), /^municipalities\[0\]\.mail\.dkim\.privateKeySecretId: must be the name or ARN of a Secrets Manager secret .*never put the secret itself in the config/],
  ['mail: an unknown DMARC reject action', (c) => (c.mail = { dmarcRejectAction: 'drop' }), /^mail\.dmarcRejectAction: must be "reject" \(550 at SMTP time\) or "quarantine"/],
  ['pickup: an identity provider on the internet', (c) => (c.municipalities[0].pickup.identity.idpAddresses = ['203.0.113.9']), /^municipalities\[0\]\.pickup\.identity\.idpAddresses\[0\]: "203\.0\.113\.9" is not inside the lgwan zone .* must be an lgwan-side address/],
  ['DNS allowlist: a bare "*" in mynumber', (c) => (c.municipalities[0].dnsAllow = { mynumber: ['*'] }), /^municipalities\[0\]\.dnsAllow\.mynumber\[0\]: "\*" would allow every name and reopen DNS as a channel to the internet; list the names the zone needs/],
  ['DNS allowlist: a top-level domain alone', (c) => (c.municipalities[0].dnsAllow = { lgwan: ['city.chiyoda.lg.jp', 'jp'] }), /^municipalities\[0\]\.dnsAllow\.lgwan\[1\]: "jp" is a top-level domain alone, which would allow every name under it/],
  ['DNS allowlist: every name under a top-level domain', (c) => (c.municipalities[0].dnsAllow = { transfer: ['*.jp'] }), /^municipalities\[0\]\.dnsAllow\.transfer\[0\]: "\*\.jp" is a top-level domain alone/],
  ['DNS allowlist: a wildcard inside a name', (c) => (c.municipalities[0].dnsAllow = { lgwan: ['a.*.lg.jp'] }), /^municipalities\[0\]\.dnsAllow\.lgwan\[0\]: "a\.\*\.lg\.jp" is not a lower-case domain name; use "name\.example\.jp" or "\*\.name\.example\.jp"/],
  ['DNS allowlist: the internet zone has no allowlist', (c) => (c.municipalities[0].dnsAllow = { internet: ['example.com'] }), /^municipalities\[0\]\.dnsAllow: has unknown field\(s\) "internet"/],
];

describe('invalid configs name the field and the fix', () => {
  for (const [label, change, expected] of INVALID) {
    test(label, () => {
      const problems = problemsOf(pilotWith(change));
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${expected}\n got:\n  ${problems.join('\n  ')}`,
      );
    });
  }
  test('at least 15 distinct invalid configs are covered', () => {
    assert.ok(INVALID.length >= 15);
  });
  test('an unknown config name lists the ones that exist', () => {
    assert.throws(() => loadConfig('nope'), /there is no config named "nope"; use one of pilot, lab, prefecture, alpha-prime, beta, beta-prime, national, synthetic-<N>/);
  });
  test('every problem is reported at once, not only the first', () => {
    const problems = problemsOf(
      pilotWith((c) => {
        c.municipalities[0].code = '131017';
        c.availabilityZones = ['ap-northeast-1a'];
        c.municipalities[0].lgwanMailDomains = ['bad_domain'];
      }),
    );
    assert.ok(problems.length >= 3, problems.join('\n'));
  });
});

describe('the CDK app on bad config', () => {
  function runApp(context: Record<string, string>) {
    return spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: path.join(ROOT, 'test', '.tmp', 'bad-config') },
      encoding: 'utf8',
    });
  }
  test('prints every problem without a stack trace and exits non-zero', () => {
    const r = runApp({ config: 'synthetic-0' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Invalid config "synthetic-0":\n  - config: synthetic configs take 1-1741 municipalities \(Japan has 1741\), got 0/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace lines');
  });
  test('names the configs that exist when the name is unknown', () => {
    const r = runApp({ config: 'pilott' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /there is no config named "pilott"/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});

describe('collapseCidrs', () => {
  test('merges aligned halves and drops contained blocks, never widening', () => {
    assert.deepEqual(collapseCidrs(['10.0.0.0/24', '10.0.1.0/24', '10.0.0.128/25']), ['10.0.0.0/23']);
    assert.deepEqual(collapseCidrs(['10.0.1.0/24', '10.0.2.0/24']), ['10.0.1.0/24', '10.0.2.0/24']);
    assert.deepEqual(collapseCidrs(['10.0.0.0/22', '10.0.4.0/22', '10.0.8.0/21']), ['10.0.0.0/20']);
    assert.deepEqual(collapseCidrs(['10.1.208.0/21', '10.1.240.0/21']), ['10.1.208.0/21', '10.1.240.0/21']);
  });
});
