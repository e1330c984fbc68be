import { afterEach, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { expect } from 'expect';
import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { CancelCommandCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadConfig, ThreeTierConfig } from '../config';
import { securityCloudStackName, zoneStackName } from '../lib/core/naming';
import { buildIntent } from '../lib/isolation/intent';
import { DEFAULT_PUBLIC_DOMAIN, dnsScript, parseDnsOutput } from '../lib/verify/dns';
import { formatVerifyTable, verify, verifyMarkdown } from '../lib/verify/verify';
import { fakeAccount, FakeAccountOptions, recordingSleep } from './helpers/fake-account';

const lab = loadConfig('lab');
const intentOf = (cfg: ThreeTierConfig) => buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));

interface SsmBehaviour {
  /** Zones (by probe instance id suffix) whose resolver answers public names. */
  readonly leaky?: string[];
  /** Zones whose allowlisted name does not resolve. */
  readonly brokenAllowlist?: string[];
  /** Zones whose command never finishes. */
  readonly hanging?: string[];
  /** CancelCommand fails. */
  readonly cancelFails?: boolean;
}

/** An SSM Run Command stand-in: runs the DNS script "on" the probe by reading its names from the command. */
function fakeSsm(b: SsmBehaviour = {}) {
  const mock = mockClient(SSMClient);
  const commands = new Map<string, { instance: string; names: string[] }>();
  let n = 0;
  mock.on(SendCommandCommand).callsFake((input) => {
    const id = `cmd-${++n}`;
    const names = (input.Parameters?.commands ?? []).map((line: string) => /getent ahosts (\S+)/.exec(line)![1]);
    commands.set(id, { instance: input.InstanceIds![0], names });
    return { Command: { CommandId: id, Status: 'Pending' } };
  });
  let polls = 0;
  mock.on(GetCommandInvocationCommand).callsFake((input) => {
    const c = commands.get(input.CommandId!)!;
    const zone = c.instance.replace(/^i-probe-\d+-/, '');
    if (b.hanging?.includes(zone)) return { CommandId: input.CommandId, InstanceId: c.instance, Status: 'InProgress' };
    // The first poll after sending does not find the invocation yet (as in the real service).
    if (polls++ === 0) throw Object.assign(new Error('invocation does not exist'), { name: 'InvocationDoesNotExist' });
    const out = c.names.map((name, i) => {
      const publicName = i === 0;
      const resolves = publicName ? !!b.leaky?.includes(zone) : !b.brokenAllowlist?.includes(zone);
      return `DNSCHECK ${name} ${resolves ? 'resolved' : 'refused'}`;
    });
    return { CommandId: input.CommandId, InstanceId: c.instance, Status: 'Success', StandardOutputContent: `${out.join('\n')}\n` };
  });
  mock.on(CancelCommandCommand).callsFake(() => {
    if (b.cancelFails) throw Object.assign(new Error('command already gone'), { name: 'InvalidCommandId' });
    return {};
  });
  return { mock, client: new SSMClient({ region: 'ap-northeast-1' }), commands };
}

async function run(b: SsmBehaviour = {}, o: FakeAccountOptions = {}) {
  const account = fakeAccount(lab, o);
  const ssm = fakeSsm(b);
  const clock = recordingSleep();
  const report = await verify({ intent: intentOf(lab), region: lab.region, client: account.client, ssm: ssm.client, probes: true, sleep: clock.sleep });
  return { report, ssm, account };
}

afterEach(() => {
  mockClient(SSMClient).restore();
});

describe('npm run verify proves DNS (SSM Run Command on each isolated probe)', () => {
  test('each isolated zone refuses a random public name and resolves an allowlisted one', async () => {
    const { report, ssm } = await run();
    const dns = report.results.filter((r) => r.check.id.startsWith('dns:'));
    assert.deepEqual(dns.map((r) => r.check.id).sort(), ['dns:131016/lgwan', 'dns:131016/mynumber', 'dns:131016/transfer']);
    assert.ok(dns.every((r) => r.status === 'pass'), JSON.stringify(dns.map((r) => r.detail)));
    assert.equal(report.verdict, 'match');
    // One command per probe, with a fresh random name under the public domain and the zone's SSM endpoint name.
    const sent = [...ssm.commands.values()];
    assert.equal(sent.length, 3);
    const randoms = sent.map((c) => c.names[0]);
    assert.equal(new Set(randoms).size, 3, 'a different random name per probe');
    for (const r of randoms) assert.match(r, new RegExp(`^three-tier-dns-[0-9a-f]{16}\\.${DEFAULT_PUBLIC_DOMAIN.replace(/\./g, '\\.')}$`));
    assert.ok(sent.every((c) => c.names[1] === 'ssm.ap-northeast-1.amazonaws.com'));
    expect(ssm.mock).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-probe-131016-mynumber'] });
    // Nothing left running: completed commands need no cancel.
    expect(ssm.mock).not.toHaveReceivedCommand(CancelCommandCommand);
    assert.deepEqual(report.leftovers, []);
  });
  test('a zone whose resolver answers public names fails with the name it resolved', async () => {
    const { report } = await run({ leaky: ['mynumber'] });
    const r = report.results.find((x) => x.check.id === 'dns:131016/mynumber')!;
    assert.equal(r.status, 'finding');
    assert.match(r.detail, /three-tier-dns-[0-9a-f]+\.s3\.amazonaws\.com RESOLVED: the zone can resolve public names \(DNS is an open channel\)/);
    assert.equal(report.verdict, 'mismatch');
    assert.equal(report.exitCode, 1);
    assert.match(formatVerifyTable(report), /FAIL +131016\/mynumber resolves only its allowlist \(DNS\)/);
  });
  test('a broken allowlist (the endpoint name does not resolve) is a finding too', async () => {
    const { report } = await run({ brokenAllowlist: ['transfer'] });
    const r = report.results.find((x) => x.check.id === 'dns:131016/transfer')!;
    assert.equal(r.status, 'finding');
    assert.match(r.detail, /the allowlisted ssm\.ap-northeast-1\.amazonaws\.com did not resolve: the allowlist is broken/);
  });
  test('a command that never finishes is cancelled; one that cannot be cancelled is a listed leftover', async () => {
    const a = await run({ hanging: ['lgwan'] });
    const r = a.report.results.find((x) => x.check.id === 'dns:131016/lgwan')!;
    assert.equal(r.status, 'error');
    assert.match(r.detail, /did not answer within 30 polls \(command cmd-\d+\)/);
    expect(a.ssm.mock).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
    assert.deepEqual(a.report.leftovers, []);
    a.ssm.mock.restore();
    const b = await run({ hanging: ['lgwan'], cancelFails: true });
    assert.deepEqual(b.report.leftovers.map((l) => l.type), ['ssm-command']);
    assert.match(verifyMarkdown(b.report), /ssm-command `cmd-\d+`: command already gone/);
  });
  test('a zone without its probe is missing, not passed', async () => {
    const { report } = await run({}, { skipProbes: ['131016/transfer'] });
    const r = report.results.find((x) => x.check.id === 'dns:131016/transfer')!;
    assert.equal(r.status, 'missing');
    assert.match(r.detail, /probe instance in 131016\/transfer/);
  });
  test('the report says that Network Access Analyzer cannot see DNS', async () => {
    const { report } = await run();
    assert.match(formatVerifyTable(report), /note: Network Access Analyzer does not model DNS resolution/);
    assert.match(verifyMarkdown(report), /Network Access Analyzer は名前解決（DNS）を見ません/);
  });
  test('the probe script only ever contains DNS names, and its output is parsed line by line', () => {
    assert.throws(() => dnsScript(['x; rm -rf /']), /refusing to put/);
    assert.deepEqual([...parseDnsOutput('noise\nDNSCHECK a.example.com refused\nDNSCHECK b.example.com resolved\n')], [['a.example.com', 'refused'], ['b.example.com', 'resolved']]);
  });
});
