import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { ThreeTierIsolationChecks } from '../lib/isolation/pack';
import { pilot } from '../config/pilot';
import { CfnTemplate, synth, synthShipped } from './helpers/synth';
import { check, freshAssembly, summary } from './helpers/assembly';
import { SCREEN_HEALTH_PORT } from '../lib/crossings/screen-transfer';

/**
 * Crossings X1 (screen transfer), X5 (特定通信), X6 (patching), terminal
 * landing and the lab's probes and simulated LGWAN network. Each rule is an
 * oracle over the synthesized templates, and each has a broken variant.
 */
type Templates = Map<string, CfnTemplate>;
const of = (t: CfnTemplate, type: string): [string, any][] => Object.entries(t.Resources).filter(([, r]) => r.Type === type).map(([id, r]) => [id, r.Properties ?? {}]);
const stackOf = (ts: Templates, suffix: string): CfnTemplate => [...ts.entries()].find(([n]) => n.endsWith(suffix))![1];
const tag = (p: any, k: string) => (p?.Tags ?? []).find((x: any) => x.Key === k)?.Value;
const ports = (rules: any[] | undefined) => (rules ?? []).map((r) => `${r.IpProtocol}/${r.FromPort}-${r.ToPort}`);

/** X1 over PrivateLink: the one port everywhere, and DCV's permissions disable every transfer toward lgwan. */
function screenTransferViolations(ts: Templates, port: number): string[] {
  const out: string[] = [];
  const inet = stackOf(ts, '-Internet');
  const lgwan = stackOf(ts, '-Lgwan');
  // The internet mail relay's own NLB (SMTP, crossing X3) is not part of X1.
  const listeners = of(inet, 'AWS::ElasticLoadBalancingV2::Listener').filter(([id]) => !id.startsWith('MailRelay')).map(([, p]) => Number(p.Port));
  if (JSON.stringify(listeners) !== JSON.stringify([port])) out.push(`X1 NLB listens on ${listeners.join(', ')}, not only ${port}`);
  if (of(inet, 'AWS::EC2::VPCEndpointService').length !== 1) out.push('X1: no endpoint service in internet');
  if (of(lgwan, 'AWS::EC2::VPCEndpointService').length > 0) out.push('X1: an endpoint service (provider) in lgwan');
  const hostSg = of(inet, 'AWS::EC2::SecurityGroup').find(([, p]) => /Screen-transfer hosts/.test(p.GroupDescription));
  // The screen port, and the NLB's health check of the host service (from the internet zone itself).
  const health = `tcp/${SCREEN_HEALTH_PORT}-${SCREEN_HEALTH_PORT}`;
  if (!hostSg || JSON.stringify(ports(hostSg[1].SecurityGroupIngress).sort()) !== JSON.stringify([`tcp/${port}-${port}`, health].sort())) out.push(`X1 hosts admit ${JSON.stringify(ports(hostSg?.[1].SecurityGroupIngress))}`);
  const epSg = of(lgwan, 'AWS::EC2::SecurityGroup').find(([, p]) => /Screen-transfer endpoint/.test(p.GroupDescription));
  if (!epSg || !ports(epSg[1].SecurityGroupIngress).every((x) => x === `tcp/${port}-${port}`)) out.push(`X1 endpoint admits ${JSON.stringify(ports(epSg?.[1].SecurityGroupIngress))}`);
  const lt = JSON.stringify(of(inet, 'AWS::EC2::LaunchTemplate').map(([, p]) => p.LaunchTemplateData?.UserData));
  if (!lt.includes('disallow clipboard-copy file-download file-upload printer')) out.push('X1: DCV permissions do not disable clipboard copy, file transfer and printing');
  return out;
}

/** 特定通信: pinned to address and port. */
function specificViolations(ts: Templates, dests: { address: string; port: number }[]): string[] {
  const out: string[] = [];
  const my = stackOf(ts, '-Mynumber');
  const sg = of(my, 'AWS::EC2::SecurityGroup').find(([, p]) => tag(p, 'ThreeTier:Role') === 'specific-communications');
  if (!sg) return ['X5: no specific-communications security group'];
  const egress = (sg[1].SecurityGroupEgress ?? []).filter((e: any) => e.CidrIp.endsWith('/32'));
  const want = dests.map((d) => `${d.address}/32:${d.port}`).sort();
  const have = egress.map((e: any) => `${e.CidrIp}:${e.FromPort}${e.FromPort === e.ToPort ? '' : `-${e.ToPort}`}`).sort();
  if (JSON.stringify(have) !== JSON.stringify(want)) out.push(`X5 egress ${JSON.stringify(have)} != ${JSON.stringify(want)}`);
  for (const e of sg[1].SecurityGroupEgress ?? []) if (!String(e.CidrIp).endsWith('/32') && !(e.FromPort === 443 && e.ToPort === 443)) out.push(`X5 egress wider than an address: ${e.CidrIp}`);
  const lgwanRoutes = of(my, 'AWS::EC2::Route').filter(([, p]) => p.GatewayId || p.VpcPeeringConnectionId).map(([, p]) => p.DestinationCidrBlock);
  for (const d of dests) if (!lgwanRoutes.includes(`${d.address}/32`)) out.push(`X5: no /32 route to ${d.address}`);
  return out;
}

/** X6: every isolated zone has a baseline, a window, a target by patch group, and every host carries the group. */
function patchingViolations(ts: Templates): string[] {
  const out: string[] = [];
  for (const [name, t] of ts) {
    const zoneVpc = of(t, 'AWS::EC2::VPC').find(([, p]) => ['mynumber', 'lgwan', 'transfer'].includes(tag(p, 'ThreeTier:Zone')));
    if (!zoneVpc || !tag(zoneVpc[1], 'ThreeTier:Municipality')) continue;
    const baselines = of(t, 'AWS::SSM::PatchBaseline');
    if (baselines.length !== 1) {
      out.push(`${name}: no patch baseline`);
      continue;
    }
    const group = baselines[0][1].PatchGroups?.[0];
    if (!of(t, 'AWS::SSM::MaintenanceWindowTarget').some(([, p]) => JSON.stringify(p.Targets).includes(`"tag:PatchGroup"`) && JSON.stringify(p.Targets).includes(group))) out.push(`${name}: the window does not target ${group}`);
    if (!of(t, 'AWS::SSM::MaintenanceWindowTask').some(([, p]) => p.TaskArn === 'AWS-RunPatchBaseline')) out.push(`${name}: no AWS-RunPatchBaseline task`);
    for (const type of ['AWS::EC2::Instance', 'AWS::AutoScaling::AutoScalingGroup']) {
      for (const [id, p] of of(t, type)) if (tag(p, 'PatchGroup') !== group) out.push(`${name}: ${type} ${id} is not in patch group ${group}`);
    }
  }
  return out;
}

describe('X1 screen transfer over PrivateLink (pilot)', () => {
  const s = synthShipped('pilot');
  test('the screen-transfer port is the only one, the provider is in internet, and DCV disables data transfer toward lgwan', () => {
    assert.deepEqual(screenTransferViolations(s.templates, 8443), []);
  });
  test('the analyzer sees lgwan → internet by PrivateLink on 8443, permitted by X1', () => {
    const r = check(s.outdir);
    const x1 = r.analyzer.reaches.filter((x) => x.mechanism === 'privatelink');
    assert.deepEqual(x1.map((x) => `${x.from} → ${x.to} ${x.ports} ${x.permittedBy}`), ['lgwan@131016 → internet@131016 8443 X1']);
  });
  test('pre-warmed capacity and timeouts come from the config', () => {
    const inet = stackOf(s.templates, '-Internet');
    const group = of(inet, 'AWS::AutoScaling::AutoScalingGroup').find(([id]) => id.startsWith('ScreenTransfer'))![1];
    assert.equal(group.MinSize, String(s.config.screenTransfer.prewarmed));
    assert.equal(group.MaxSize, String(s.config.screenTransfer.maxHosts));
    assert.match(JSON.stringify(of(inet, 'AWS::EC2::LaunchTemplate')), new RegExp(`idle-timeout=${s.config.screenTransfer.idleTimeoutMinutes}`));
  });
  const broken: [string, (ts: Templates) => void, RegExp][] = [
    ['a second listener', (ts) => { const inet = stackOf(ts, '-Internet'); inet.Resources.X = { Type: 'AWS::ElasticLoadBalancingV2::Listener', Properties: { Port: 3389 } }; }, /NLB listens on 8443, 3389/],
    ['hosts open to another port', (ts) => { const [, p] = of(stackOf(ts, '-Internet'), 'AWS::EC2::SecurityGroup').find(([, q]) => /Screen-transfer hosts/.test(q.GroupDescription))!; p.SecurityGroupIngress.push({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: '10.1.32.0/20' }); }, /X1 hosts admit/],
    ['clipboard allowed in DCV', (ts) => { for (const [, p] of of(stackOf(ts, '-Internet'), 'AWS::EC2::LaunchTemplate')) p.LaunchTemplateData.UserData = JSON.parse(JSON.stringify(p.LaunchTemplateData.UserData).replace(/disallow clipboard-copy /g, 'disallow ')); }, /DCV permissions do not disable/],
    ['provider moved into lgwan', (ts) => { stackOf(ts, '-Lgwan').Resources.Svc = { Type: 'AWS::EC2::VPCEndpointService', Properties: {} }; }, /endpoint service \(provider\) in lgwan/],
  ];
  for (const [label, edit, expected] of broken) {
    test(`broken: ${label}`, () => {
      const ts = new Map([...s.templates.entries()].map(([k, v]) => [k, structuredClone(v)]));
      edit(ts);
      const v = screenTransferViolations(ts, 8443);
      assert.ok(v.some((x) => expected.test(x)), v.join('\n'));
    });
  }
});

describe('X1 with AppStream 2.0, and the mynumber streaming option', () => {
  const cfg = structuredClone(pilot) as any;
  cfg.screenTransfer = { implementation: 'appstream', appstreamImageName: 'browser-image-2026', prewarmed: 3, maxHosts: 3, idleTimeoutMinutes: 45, disconnectTimeoutMinutes: 20 };
  cfg.municipalities[0].terminals.mynumber.streaming = { imageName: 'mynumber-apps-2026' };
  const s = synth(cfg, { rulebooks: true }); // every rulebook passes
  test('the pack and the analyzer accept it: lgwan streams through its private endpoint', () => {
    assert.equal(new ThreeTierIsolationChecks(s.app).validateScope(s.app).violations.length, 0);
    const r = check(s.outdir);
    assert.deepEqual(summary(r), { rules: [], analyzer: [] });
    assert.ok(r.analyzer.reaches.some((x) => x.from === 'lgwan@131016' && x.to === 'aws-api:appstream.streaming' && x.permittedBy === 'X1'));
    assert.ok(r.analyzer.reaches.some((x) => x.from === 'mynumber@131016' && x.to === 'aws-api:appstream.streaming' && x.permittedBy === 'TL'));
  });
  test('the virtual browser disables copy to local, file transfer and printing; pre-warm and timeouts from config', () => {
    const inet = stackOf(s.templates, '-Internet');
    const st = of(inet, 'AWS::AppStream::Stack')[0][1];
    const settings = Object.fromEntries(st.UserSettings.map((u: any) => [u.Action, u.Permission]));
    for (const a of ['CLIPBOARD_COPY_TO_LOCAL_DEVICE', 'FILE_UPLOAD', 'FILE_DOWNLOAD', 'PRINTING_TO_LOCAL_DEVICE']) assert.equal(settings[a], 'DISABLED', a);
    assert.equal(st.AccessEndpoints[0].EndpointType, 'STREAMING');
    const fleet = of(inet, 'AWS::AppStream::Fleet')[0][1];
    assert.equal(fleet.ComputeCapacity.DesiredInstances, 3);
    assert.equal(fleet.FleetType, 'ALWAYS_ON');
    assert.equal(fleet.IdleDisconnectTimeoutInSeconds, 45 * 60);
    assert.equal(fleet.DisconnectTimeoutInSeconds, 20 * 60);
    assert.equal(fleet.EnableDefaultInternetAccess, false);
  });
  test('the mynumber streaming stack disables every data transfer', () => {
    const my = stackOf(s.templates, '-Mynumber');
    const st = of(my, 'AWS::AppStream::Stack')[0][1];
    assert.ok(st.UserSettings.length >= 5);
    assert.ok(st.UserSettings.every((u: any) => u.Permission === 'DISABLED'), JSON.stringify(st.UserSettings));
  });
  test('broken: enabling file download fails the pack (ThreeTier-ST1)', () => {
    const d = freshAssembly(cfg);
    const file = require('node:path').join(d, 'Pilot-131016-Internet.template.json');
    const fs = require('node:fs');
    const t = JSON.parse(fs.readFileSync(file, 'utf8'));
    const st = Object.values<any>(t.Resources).find((r) => r.Type === 'AWS::AppStream::Stack');
    st.Properties.UserSettings.find((u: any) => u.Action === 'FILE_DOWNLOAD').Permission = 'ENABLED';
    fs.writeFileSync(file, JSON.stringify(t));
    assert.ok(summary(check(d)).rules.includes('ThreeTier-ST1'));
  });
});

describe('terminal landing and 特定通信 (pilot)', () => {
  const s = synthShipped('pilot');
  const m = s.config.municipalities[0];
  test('each tier has its own VPN to its own office segment, routing exactly that segment', () => {
    const cgws = new Set<string>();
    for (const [suffix, tier] of [['-Mynumber', 'mynumber'], ['-Lgwan', 'lgwan'], ['-Internet', 'internet']] as const) {
      const t = stackOf(s.templates, suffix);
      const office = m.terminals[tier]!;
      const vpnRoutes = of(t, 'AWS::EC2::VPNConnectionRoute').map(([, p]) => p.DestinationCidrBlock);
      for (const c of office.officeCidrs) assert.ok(vpnRoutes.includes(c), `${tier} routes ${c}`);
      for (const [, p] of of(t, 'AWS::EC2::CustomerGateway')) cgws.add(p.IpAddress);
      assert.equal(of(t, 'AWS::EC2::VPNGateway').length, 1, `${tier}: one gateway`);
    }
    assert.equal(cgws.size, 4, 'three office VPNs and the LGWAN VPN, each with its own customer gateway');
  });
  test('特定通信 are pinned to address and port', () => {
    assert.deepEqual(specificViolations(s.templates, m.specificCommunications!.destinations), []);
  });
  test('broken: a wider egress or a missing /32 route is caught', () => {
    const ts = new Map([...s.templates.entries()].map(([k, v]) => [k, structuredClone(v)]));
    const [, sg] = of(stackOf(ts, '-Mynumber'), 'AWS::EC2::SecurityGroup').find(([, p]) => tag(p, 'ThreeTier:Role') === 'specific-communications')!;
    sg.SecurityGroupEgress.push({ IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, CidrIp: '172.20.0.0/16' });
    const my = stackOf(ts, '-Mynumber');
    for (const [id, p] of of(my, 'AWS::EC2::Route')) if (p.DestinationCidrBlock === '172.20.1.10/32') delete my.Resources[id];
    const v = specificViolations(ts, m.specificCommunications!.destinations);
    assert.ok(v.some((x) => /wider than an address: 172\.20\.0\.0\/16/.test(x)), v.join('\n'));
    assert.ok(v.some((x) => /no \/32 route to 172\.20\.1\.10/.test(x)), v.join('\n'));
  });
});

describe('X6 patching and the lab', () => {
  const lab = synthShipped('lab');
  test('patch baselines and windows cover every isolated host (lab, with probes)', () => {
    assert.deepEqual(patchingViolations(lab.templates), []);
    const probes = [...lab.templates.entries()].filter(([n]) => /-131016-/.test(n)).map(([, t]) => of(t, 'AWS::EC2::Instance').length);
    assert.deepEqual(probes, [1, 1, 1, 1], 'one probe per zone');
  });
  test('pilot: every isolated zone has its baseline and window', () => {
    assert.deepEqual(patchingViolations(synthShipped('pilot').templates), []);
  });
  test('broken: a host outside its patch group is caught', () => {
    const ts = new Map([...lab.templates.entries()].map(([k, v]) => [k, structuredClone(v)]));
    const [, p] = of(stackOf(ts, '-Transfer'), 'AWS::EC2::Instance')[0];
    p.Tags = p.Tags.filter((x: any) => x.Key !== 'PatchGroup');
    assert.ok(patchingViolations(ts).some((x) => /is not in patch group lab-131016-transfer/.test(x)));
  });
  test('the simulated LGWAN network stands in at the configured addresses, reached by /32 only', () => {
    const sim = stackOf(lab.templates, '-LgwanNetwork-Simulated');
    const addresses = of(sim, 'AWS::EC2::Instance').map(([, p]) => p.PrivateIpAddress ?? p.NetworkInterfaces?.[0]?.PrivateIpAddress).sort();
    assert.deepEqual(addresses, ['10.250.0.10', '10.250.0.20']);
    assert.deepEqual(specificViolations(lab.templates, lab.config.municipalities[0].specificCommunications!.destinations), []);
    const r = check(lab.outdir);
    assert.ok(r.analyzer.reaches.some((x) => x.from === 'mynumber@131016' && x.to === 'lgwan-network' && x.permittedBy === 'X5'));
    assert.ok(r.analyzer.reaches.some((x) => x.from === 'lgwan@131016' && x.to === 'lgwan-network' && x.permittedBy === 'X4'));
  });
});

describe('X6 distribution bucket for sanitized application updates', () => {
  const s = synthShipped('pilot');
  const transfer = stackOf(s.templates, '-Transfer');
  const [bucketId] = of(transfer, 'AWS::S3::Bucket').find(([, p]) => tag(p, 'ThreeTier:Role') === 'updates')!;
  const policy = () => of(transfer, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket.Ref === bucketId)![1].PolicyDocument.Statement;
  test('is reachable only through the isolated zones\' S3 endpoints and writable only from transfer', () => {
    const only = policy().find((st: any) => st.Sid === 'OnlyThroughTheZonesEndpoints');
    assert.equal(only.Effect, 'Deny');
    assert.equal(only.Condition.StringNotEquals['aws:SourceVpce'].length, 3);
    const writes = policy().find((st: any) => st.Sid === 'WritesOnlyFromTransfer');
    assert.equal(writes.Effect, 'Deny');
    assert.ok(JSON.stringify(writes.Condition.StringNotEquals['aws:SourceVpce']).includes('ZoneVpcS3'), 'pinned to the transfer zone\'s own S3 endpoint');
  });
  test('broken: without its endpoint pinning the pack flags it (ThreeTier-S3P1)', () => {
    const d = freshAssembly('pilot');
    const fs = require('node:fs');
    const file = require('node:path').join(d, 'Pilot-131016-Transfer.template.json');
    const t = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const [id, r] of Object.entries<any>(t.Resources)) if (r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucketId) delete t.Resources[id];
    fs.writeFileSync(file, JSON.stringify(t));
    assert.ok(summary(check(d)).rules.includes('ThreeTier-S3P1'));
  });
});
