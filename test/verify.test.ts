import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'expect';
import 'aws-sdk-client-mock-jest';
import {
  CreateNetworkInsightsAccessScopeCommand,
  CreateNetworkInsightsPathCommand,
  DeleteNetworkInsightsAccessScopeCommand,
  DeleteNetworkInsightsPathCommand,
  DescribeInstancesCommand,
  DescribeVpcsCommand,
  GetNetworkInsightsAccessScopeAnalysisFindingsCommand,
  StartNetworkInsightsAnalysisCommand,
} from '@aws-sdk/client-ec2';
import { loadConfig, ThreeTierConfig } from '../config';
import { securityCloudStackName, zoneStackName } from '../lib/core/naming';
import { buildIntent, IsolationIntent } from '../lib/isolation/intent';
import { Ec2Caller } from '../lib/verify/aws';
import { discover } from '../lib/verify/inventory';
import { planChecks } from '../lib/verify/plan';
import { formatVerifyTable, verify, verifyMarkdown, VerifyReport } from '../lib/verify/verify';
import { main } from '../bin/verify';
import { fakeAccount, FakeAccountOptions, recordingSleep } from './helpers/fake-account';
import { captured } from './helpers/streams';

const lab = loadConfig('lab');
const intentOf = (cfg: ThreeTierConfig): IsolationIntent => buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));

async function run(cfg: ThreeTierConfig, o: FakeAccountOptions = {}, extra: Partial<Parameters<typeof verify>[0]> = {}) {
  const account = fakeAccount(cfg, o);
  const clock = recordingSleep();
  const report = await verify({ intent: intentOf(cfg), region: cfg.region, client: account.client, probes: cfg.probes, sleep: clock.sleep, ...extra });
  return { report, account, ...account, waits: clock.waits };
}

const result = (r: VerifyReport, id: string) => {
  const x = r.results.find((y) => y.check.id === id);
  assert.ok(x, `no check ${id}; checks: ${r.results.map((y) => y.check.id).join(', ')}`);
  return x;
};

/** Everything created was deleted (the fake account refuses to delete a scope or path before its analysis). */
function assertCleanedUp(account: { live: Set<string>; mock: ReturnType<typeof fakeAccount>['mock'] }): void {
  assert.deepEqual([...account.live], [], 'scopes, paths or analyses left behind');
  expect(account.mock).toHaveReceivedCommand(DeleteNetworkInsightsAccessScopeCommand);
}

describe('live verification plan (intent → Network Access Analyzer scopes and Reachability Analyzer paths)', () => {
  test('the lab plan has a scope per forbidden reach and a path per permitted network crossing', async () => {
    const { client } = fakeAccount(lab);
    const inv = await discover(new Ec2Caller(client), 'lab', lab.region);
    const plan = planChecks(intentOf(lab), inv, { probes: true });
    const ids = plan.checks.map((c) => c.id);
    for (const zone of ['mynumber', 'lgwan', 'transfer']) assert.ok(ids.includes(`forbidden:131016/${zone}:igw`), zone);
    assert.ok(!ids.includes('forbidden:131016/internet:igw'), 'internet may reach the internet (through the firewall)');
    assert.ok(ids.includes('forbidden:131016/internet:bypass'));
    assert.ok(ids.includes('forbidden:igw:isolated'));
    assert.deepEqual(plan.missingZones, []);
    // X1: lgwan → internet is excluded on the screen-transfer port only.
    const lgwanZones = plan.checks.find((c) => c.id === 'forbidden:131016/lgwan:zones')!;
    const x1 = lgwanZones.scope!.excludePaths.find((p) => p.Destination?.ResourceStatement?.Resources?.includes('vpc-131016-internet'));
    assert.deepEqual(x1?.Destination?.PacketHeaderStatement?.DestinationPorts, ['8443']);
    // X5: mynumber → the simulated LGWAN network only to the 特定通信 /32 on its port.
    const mnZones = plan.checks.find((c) => c.id === 'forbidden:131016/mynumber:zones')!;
    const x5 = mnZones.scope!.excludePaths.find((p) => p.Destination?.ResourceStatement?.Resources?.includes('vpc-lgwan-network'));
    assert.deepEqual(x5?.Destination?.PacketHeaderStatement?.DestinationAddresses, ['10.250.0.10/32']);
    assert.deepEqual(x5?.Destination?.PacketHeaderStatement?.DestinationPorts, ['443']);
    // transfer has no crossing to another zone: nothing excluded.
    assert.deepEqual(plan.checks.find((c) => c.id === 'forbidden:131016/transfer:zones')!.scope!.excludePaths, []);
    // The firewall bypass scope excludes exactly the paths through the firewall's TGW attachment.
    const bypass = plan.checks.find((c) => c.id === 'forbidden:131016/internet:bypass')!;
    assert.deepEqual(bypass.scope!.excludePaths[0].ThroughResources, [{ ResourceStatement: { Resources: ['tgw-attach-firewall'] } }]);
    // Permitted: X1 on 8443 to the PrivateLink endpoint, X6 per interface service, X5 and X4 to the simulated hosts, MX from the IGW.
    const paths = plan.checks.filter((c) => c.path).map((c) => `${c.crossing} ${c.path!.source} → ${c.path!.destination}:${c.path!.port ?? '*'}`);
    assert.ok(paths.includes('X1 i-probe-131016-lgwan → vpce-131016-lgwan-sbc:8443'), paths.join('\n'));
    assert.ok(paths.includes('X6 i-probe-131016-mynumber → vpce-131016-mynumber-ssm:443'));
    assert.ok(paths.includes('X5 i-probe-131016-mynumber → i-lgwan-10.250.0.10:443'));
    // X3: the MX host connects to the municipality's internet relay on 25; its answer (X7 to the security cloud) is that same path.
    assert.ok(paths.includes('X3 i-mx-1 → i-relay-131016:25'), paths.join('\n'));
    assert.match(plan.checks.find((c) => c.crossing === 'X7' && /internet relay → MX gateway/.test(c.title))!.skipped!, /return traffic of X3/);
    assert.ok(paths.includes('X4 i-probe-131016-lgwan → i-lgwan-10.250.0.20:25'));
    assert.ok(paths.includes('X7 i-probe-131016-internet → igw-hub:443'));
    assert.ok(paths.includes('X7 igw-hub → i-mx-1:25'));
    // S3 gateway endpoints cannot be a Reachability Analyzer destination: listed as skipped with the reason.
    assert.match(plan.checks.find((c) => c.id === 'permitted:X2:131016/internet->aws-apis')!.skipped!, /gateway endpoint/);
  });

  test('two municipalities get tenant → tenant scopes; without probes the permitted crossings are skipped with the reason', async () => {
    const cfg = loadConfig('synthetic-2');
    const { client } = fakeAccount(cfg);
    const plan = planChecks(intentOf(cfg), await discover(new Ec2Caller(client), cfg.name, cfg.region), { probes: cfg.probes });
    const [a, b] = cfg.municipalities.map((m) => m.code);
    const tenants = plan.checks.find((c) => c.id === `forbidden:${a}/internet:tenants`)!;
    assert.deepEqual(tenants.scope!.matchPaths[0].Destination!.ResourceStatement!.Resources!.sort(), ['internet', 'lgwan', 'mynumber', 'transfer'].map((z) => `vpc-${b}-${z}`).sort());
    assert.equal(cfg.probes, false);
    const permitted = plan.checks.filter((c) => c.kind === 'permitted' && c.crossing !== 'X7');
    assert.ok(permitted.length > 0);
    for (const c of permitted) assert.ok(c.skipped, c.id);
    assert.match(permitted.find((c) => c.crossing === 'X1')!.skipped!, /probes: true/);
  });
});

describe('live verification plan of the other models: the model crossings are read from the intent', () => {
  test('α′: the proxy VPC is the municipality\'s own security-cloud zone, never mistaken for the hub; lgwan is excluded only to it on the proxy port', async () => {
    const cfg = loadConfig('alpha-prime');
    const { client } = fakeAccount(cfg);
    const plan = planChecks(intentOf(cfg), await discover(new Ec2Caller(client), cfg.name, cfg.region), { probes: cfg.probes });
    assert.deepEqual(plan.missingZones, []);
    const proxy = plan.checks.find((c) => c.id === 'forbidden:131016/security-cloud:zones')!;
    assert.deepEqual(proxy.scope!.matchPaths[0].Source, { ResourceStatement: { Resources: ['vpc-131016-proxy'] } });
    assert.ok(proxy.scope!.matchPaths[0].Destination!.ResourceStatement!.Resources!.includes('vpc-131016-lgwan'), 'the proxy must not reach the tiers');
    const lgwan = plan.checks.find((c) => c.id === 'forbidden:131016/lgwan:zones')!;
    const a1 = lgwan.scope!.excludePaths.filter((p) => p.Destination?.ResourceStatement?.Resources?.includes('vpc-131016-proxy'));
    assert.equal(a1.length, 1);
    assert.deepEqual(a1[0].Destination!.PacketHeaderStatement!.DestinationPorts, ['3128']);
    // The hub is still found as the hub (the VPC without a municipality): the internet zone's X7 exclusion targets it.
    const internet = plan.checks.find((c) => c.id === 'forbidden:131016/internet:zones')!;
    assert.ok(internet.scope!.excludePaths.some((p) => p.Destination?.ResourceStatement?.Resources?.includes('vpc-hub')));
    assert.ok(plan.checks.find((c) => c.crossing === 'X7' && c.path?.destination === 'igw-hub') || cfg.probes === false);
    // The other municipalities' proxies are other tenants (synthetic configs have none: the tenant scope is checked in the α test above).
    assert.ok(plan.checks.some((c) => c.crossing === 'A1' && c.kind === 'permitted'));
  });
  test('β and β′: internet is excluded toward lgwan only on the screen-transfer port (B1); the moved systems\' office path is a permitted check (B2)', async () => {
    for (const name of ['beta', 'beta-prime']) {
      const cfg = loadConfig(name);
      const { client } = fakeAccount(cfg);
      const plan = planChecks(intentOf(cfg), await discover(new Ec2Caller(client), cfg.name, cfg.region), { probes: cfg.probes });
      const internet = plan.checks.find((c) => c.id === 'forbidden:131016/internet:zones')!;
      const b1 = internet.scope!.excludePaths.filter((p) => p.Destination?.ResourceStatement?.Resources?.includes('vpc-131016-lgwan'));
      const ports = cfg.municipalities[0].beta!.screenSystems.map((x) => [String(x.port)]);
      assert.deepEqual(b1.map((p) => p.Destination!.PacketHeaderStatement!.DestinationPorts).sort(), ports.sort(), name);
      assert.ok(plan.checks.some((c) => c.crossing === 'B1' && c.kind === 'permitted' && /PrivateLink endpoint :3389 \(B1\)/.test(c.title)), name);
      const b2 = plan.checks.filter((c) => c.crossing === 'B2');
      assert.equal(b2.length > 0, name === 'beta-prime', `${name}: B2 only under β′`);
      for (const c of b2) assert.match(c.title, /office VPN\/Direct Connect → probe \(B2\)/);
    }
  });
});

describe('npm run verify against a mocked account (aws-sdk-client-mock)', () => {
  test('success: every scope without findings, every path reachable → match, exit 0, everything deleted', async () => {
    const { report, mock, account } = await run(lab);
    assert.equal(report.verdict, 'match', formatVerifyTable(report));
    assert.equal(report.exitCode, 0);
    assert.equal(report.counts.finding + report.counts.missing + report.counts.error, 0);
    assert.ok(report.counts.pass >= 20, `${report.counts.pass} checks passed`);
    expect(mock).toHaveReceivedCommandWith(DescribeVpcsCommand, { Filters: [{ Name: 'tag:ThreeTier:Config', Values: ['lab'] }] });
    expect(mock).toHaveReceivedCommandWith(CreateNetworkInsightsAccessScopeCommand, {
      MatchPaths: [{ Source: { ResourceStatement: { Resources: ['vpc-131016-mynumber'] } }, Destination: { ResourceStatement: { ResourceTypes: ['AWS::EC2::InternetGateway'] } } }],
    });
    expect(mock).toHaveReceivedCommandWith(CreateNetworkInsightsPathCommand, { Source: 'i-probe-131016-lgwan', Destination: 'vpce-131016-lgwan-sbc', DestinationPort: 8443, Protocol: 'tcp' });
    // What it creates is tagged so leftovers can be found.
    expect(mock).toHaveReceivedCommandWith(CreateNetworkInsightsPathCommand, { TagSpecifications: [expect.objectContaining({ ResourceType: 'network-insights-path', Tags: expect.arrayContaining([{ Key: 'ThreeTier:Config', Value: 'lab' }]) })] });
    assertCleanedUp(account);
    assert.deepEqual(report.leftovers, []);
    const table = formatVerifyTable(report);
    assert.match(table, /live verification of "lab" in ap-northeast-1: MATCH \(exit 0\)/);
    assert.match(table, /PASS\s+131016\/mynumber → any internet gateway/);
    assert.match(table, /SKIPPED/);
  });

  test('findings: a forbidden path (paged findings, hop by hop) and an unreachable crossing → mismatch, exit 1', async () => {
    const { report, mock, account } = await run(lab, {
      findings: {
        'forbidden:131016/mynumber:igw': [
          ['eni-probe', 'rtb-mynumber', 'tgw-hub', 'igw-hub'],
          ['eni-other', 'rtb-mynumber', 'igw-hub'],
          ['eni-third', 'igw-hub'],
        ],
      },
      findingsPageSize: 2,
      unreachable: { 'permitted:X1:131016/lgwan->internet': 'ENI_SG_RULES_MISMATCH' },
    });
    assert.equal(report.verdict, 'mismatch');
    assert.equal(report.exitCode, 1);
    const igw = result(report, 'forbidden:131016/mynumber:igw');
    assert.equal(igw.status, 'finding');
    assert.equal(igw.paths.length, 3, 'all pages of findings are read');
    const analysed = report.results.filter((r) => r.check.scope && (r.status === 'pass' || r.status === 'finding')).length;
    expect(mock).toHaveReceivedCommandTimes(GetNetworkInsightsAccessScopeAnalysisFindingsCommand, analysed + 1);
    assert.deepEqual(igw.paths[0].map((h) => h.id), ['eni-probe', 'rtb-mynumber', 'tgw-hub', 'igw-hub']);
    assert.match(igw.paths[0][1].note, /route 0\.0\.0\.0\/0 → igw-hub/);
    const x1 = result(report, 'permitted:X1:131016/lgwan->internet');
    assert.equal(x1.status, 'finding');
    assert.match(x1.detail, /ENI_SG_RULES_MISMATCH/);
    const table = formatVerifyTable(report);
    assert.match(table, /MISMATCH \(exit 1\)/);
    assert.match(table, /FAIL 131016\/mynumber → any internet gateway\n  path 1:\n    1\. eni-probe/);
    const md = verifyMarkdown(report);
    assert.match(md, /`eni-probe` → `rtb-mynumber` \(route 0\.0\.0\.0\/0 → igw-hub\) → `tgw-hub` → `igw-hub`/);
    assertCleanedUp(account);
  });

  test('throttling: throttled calls are retried with growing, jittered waits and the run still matches', async () => {
    const account = fakeAccount(lab);
    const throttle = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
    // DescribeVpcs and StartNetworkInsightsAnalysis each throttle before answering.
    const vpcs = (await account.client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:ThreeTier:Config', Values: ['lab'] }] }))).Vpcs;
    account.mock.resetHistory();
    account.mock.on(DescribeVpcsCommand).rejectsOnce(throttle).rejectsOnce(throttle).resolves({ Vpcs: vpcs });
    let starts = 0;
    account.mock.on(StartNetworkInsightsAnalysisCommand).callsFake((input) => {
      if (starts++ === 0) throw throttle;
      account.live.add(`nia-${input.NetworkInsightsPathId}`);
      account.checkOf.set(`nia-${input.NetworkInsightsPathId}`, account.checkOf.get(input.NetworkInsightsPathId!)!);
      return { NetworkInsightsAnalysis: { NetworkInsightsAnalysisId: `nia-${input.NetworkInsightsPathId}`, Status: 'running' } };
    });
    const clock = recordingSleep();
    const report = await verify({ intent: intentOf(lab), region: lab.region, client: account.client, probes: true, sleep: clock.sleep, retry: { sleep: clock.sleep, random: () => 1 } });
    assert.equal(report.exitCode, 0, formatVerifyTable(report));
    assert.equal(report.throttledRetries, 3);
    // Backoff: 500 ms then 1000 ms (full jitter at its top), before any poll.
    assert.deepEqual(clock.waits.slice(0, 2), [500, 1000]);
    assertCleanedUp(account);
  });

  test('throttling that never ends is an error after the last attempt, not a hang', async () => {
    const account = fakeAccount(lab);
    account.mock.on(DescribeVpcsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const clock = recordingSleep();
    const report = await verify({ intent: intentOf(lab), region: lab.region, client: account.client, probes: true, sleep: clock.sleep, retry: { sleep: clock.sleep, maxAttempts: 4 } });
    assert.equal(report.exitCode, 2);
    assert.match(report.error!, /still throttled after 4 attempts/);
    expect(account.mock).toHaveReceivedCommandTimes(DescribeVpcsCommand, 4);
  });

  test('pagination: VPCs and instances over many pages are all found', async () => {
    const { report, mock } = await run(lab, { pageSize: 2 });
    assert.equal(report.exitCode, 0, formatVerifyTable(report));
    assert.equal(report.inventory!.vpcs.length, 6);
    assert.equal(report.inventory!.instances.filter((i) => i.role === 'probe').length, 4);
    expect(mock).toHaveReceivedCommandTimes(DescribeVpcsCommand, 3);
    expect(mock).toHaveReceivedCommandWith(DescribeVpcsCommand, { NextToken: 'page-4' });
    expect(mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { NextToken: 'page-2' });
  });

  test('polling: a running analysis is polled with a growing interval until it is done', async () => {
    const { report, waits } = await run(lab, { runningPolls: 4 }, { concurrency: 1 });
    assert.equal(report.exitCode, 0);
    assert.deepEqual(waits.slice(0, 5), [2000, 3000, 4500, 6750, 10125]);
    assert.ok(Math.max(...waits) <= 15_000);
  });

  test('failed analyses: the check is an error (exit 2) with the service message, and its scope is still deleted', async () => {
    const { report, account } = await run(lab, { failed: { 'forbidden:131016/lgwan:igw': 'InternalError: the analysis could not complete' } });
    assert.equal(report.verdict, 'error');
    assert.equal(report.exitCode, 2);
    const r = result(report, 'forbidden:131016/lgwan:igw');
    assert.equal(r.status, 'error');
    assert.match(r.detail, /failed \(InternalError: the analysis could not complete\)/);
    assertCleanedUp(account);
    assert.match(formatVerifyTable(report), /ERROR\s+131016\/lgwan → any internet gateway/);
  });

  test('partial deployment: missing zones, probes and firewall attachment are named, exit 1', async () => {
    const { report } = await run(lab, { skipZones: ['131016/transfer'], skipProbes: ['131016/lgwan'], skipFirewallAttachment: true });
    assert.equal(report.verdict, 'mismatch');
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.missingZones, ['131016/transfer']);
    assert.equal(result(report, 'forbidden:131016/transfer:all').status, 'missing');
    assert.match(result(report, 'forbidden:131016/transfer:all').detail, /VPC of 131016\/transfer \(tags ThreeTier:Zone=transfer/);
    assert.match(result(report, 'permitted:X1:131016/lgwan->internet').detail, /probe instance in 131016\/lgwan/);
    assert.match(result(report, 'forbidden:131016/internet:bypass').detail, /network-function/);
    assert.match(formatVerifyTable(report), /missing zones: 131016\/transfer/);
  });

  test('nothing deployed: a clear error naming the tag, region and fix, exit 2', async () => {
    const account = fakeAccount(lab);
    account.mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    const report = await verify({ intent: intentOf(lab), region: 'eu-west-1', client: account.client, probes: true, sleep: async () => {} });
    assert.equal(report.exitCode, 2);
    assert.match(report.error!, /nothing of config "lab" is deployed in eu-west-1: no VPC is tagged ThreeTier:Config=lab/);
    assert.match(report.error!, /--region/);
    expect(account.mock).not.toHaveReceivedCommand(CreateNetworkInsightsAccessScopeCommand);
  });

  test('missing permissions: exit 2 with the IAM actions it needs, and what was created is deleted', async () => {
    const account = fakeAccount(lab);
    const denied = Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' });
    account.mock.on(CreateNetworkInsightsPathCommand).rejects(denied);
    const report = await verify({ intent: intentOf(lab), region: lab.region, client: account.client, probes: true, sleep: async () => {}, concurrency: 2 });
    assert.equal(report.exitCode, 2);
    assert.match(report.error!, /not allowed to call ec2:CreateNetworkInsightsPath/);
    for (const action of ['ec2:CreateNetworkInsightsAccessScope', 'ec2:StartNetworkInsightsAnalysis', 'ec2:DeleteNetworkInsightsPath', 'tiros:CreateQuery']) assert.ok(report.error!.includes(action), action);
    assert.match(report.error!, /AmazonVPCReachabilityAnalyzerFullAccessPolicy/);
    assertCleanedUp(account);
    // Describe permissions missing: the same help, before anything is created.
    const second = fakeAccount(lab);
    second.mock.on(DescribeInstancesCommand).rejects(denied);
    const early = await verify({ intent: intentOf(lab), region: lab.region, client: second.client, probes: true, sleep: async () => {} });
    assert.equal(early.exitCode, 2);
    assert.match(early.error!, /not allowed to call ec2:DescribeInstances/);
    expect(second.mock).not.toHaveReceivedCommand(CreateNetworkInsightsAccessScopeCommand);
  });

  test('a failed delete is reported as a leftover with its id, not hidden', async () => {
    const account = fakeAccount(lab);
    account.mock.on(DeleteNetworkInsightsPathCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    const report = await verify({ intent: intentOf(lab), region: lab.region, client: account.client, probes: true, sleep: async () => {} });
    assert.equal(report.exitCode, 0);
    assert.ok(report.leftovers.length > 0);
    assert.ok(report.leftovers.every((l) => l.type === 'network-insights-path' && /^nip-/.test(l.id)));
    assert.match(formatVerifyTable(report), /could not delete \(delete by hand\):\n  network-insights-path nip-/);
  });

  test('aborting (Ctrl-C) stops polling and deletes everything created so far', async () => {
    const account = fakeAccount(lab, { runningPolls: 1000 });
    let polls = 0;
    const report = await verify({ intent: intentOf(lab), region: lab.region, client: account.client, probes: true, sleep: async () => void polls++, aborted: () => polls > 5 });
    assert.equal(report.exitCode, 2);
    assert.match(report.error!, /stopped: aborted by the user/);
    assertCleanedUp(account);
  });
});

describe('bin/verify (the command line)', () => {
  const cli = async (argv: string[], o: FakeAccountOptions = {}) => {
    const account = fakeAccount(lab, o);
    const io = captured();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-'));
    const code = await main([...argv, '--out', dir], { client: account.client, stdout: io.stdout, stderr: io.stderr, sleep: async () => {} });
    return { code, out: io.out(), err: io.err(), dir };
  };

  test('prints the verdict table, writes JSON and Markdown reports, exits 0 on a match', async () => {
    const { code, out, err, dir } = await cli(['-c', 'config=lab', '--region', 'ap-northeast-1']);
    assert.equal(code, 0, out + err);
    assert.match(out, /MATCH \(exit 0\)/);
    assert.match(out, /#\s+kind\s+crossing\s+result\s+check\s+detail/);
    assert.match(err, /\[\s*\d+\/\d+\] NAA 131016\/mynumber → any internet gateway: pass/);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'verify-report.json'), 'utf8'));
    assert.equal(json.schema, 'three-tier-live-verification/1');
    assert.equal(json.exitCode, 0);
    assert.match(fs.readFileSync(path.join(dir, 'verify-report.md'), 'utf8'), /^# ライブ検証レポート \/ Live verification report: lab/);
  });

  test('exit 1 on findings, with the path hop by hop', async () => {
    const { code, out } = await cli(['-c', 'config=lab'], { findings: { 'forbidden:131016/lgwan:zones': [['eni-a', 'pcx-1', 'eni-b']] } });
    assert.equal(code, 1);
    assert.match(out, /FAIL 131016\/lgwan → other zones/);
    assert.match(out, /1\. eni-a\n    2\. pcx-1\n    3\. eni-b/);
  });

  test('usage and config errors exit 2 before any AWS call', async () => {
    assert.equal((await cli(['--bogus'])).code, 2);
    assert.match((await cli(['--concurrency', '0'])).err, /--concurrency takes a whole number from 1 to 20/);
    const unknown = await cli(['-c', 'config=nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /there is no config named "nope"/);
  });
});
