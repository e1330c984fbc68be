import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readIntent } from '../lib/isolation/intent';
import { blastRadiusOfAssembly, ZoneBlast } from '../lib/isolation/blast-radius';
import { analyzeChannels } from '../lib/isolation/channels';
import { CloudModel } from '../lib/isolation/model';
import { check, editIntent, editTemplate, freshAssembly, readTemplate, resourcesOf, stackNames, subnetIds, vpcId, zoneStack } from './helpers/assembly';

const ROOT = path.resolve(__dirname, '..');
const CODE = '131016';

function run(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } });
}

/** Today's hole: the mynumber VPC without its DNS Firewall (association, rule group, lists, fail-closed setting). */
function withoutDnsFirewall(dir: string): void {
  editTemplate(dir, zoneStack(dir, CODE, 'mynumber'), (t) => {
    for (const [id, r] of Object.entries(t.Resources)) if (r.Type.startsWith('AWS::Route53Resolver::Firewall')) delete t.Resources[id];
  });
}

const zoneOf = (zones: ZoneBlast[], zone: string): ZoneBlast => zones.find((z) => z.zone === zone && z.municipality === CODE)!;

describe('blast radius of a compromised host, per zone (computed from the assembly and the intent)', () => {
  const dir = freshAssembly('pilot');
  const { radius } = blastRadiusOfAssembly(dir);

  test('one row per zone of the municipality', () => {
    assert.deepEqual(radius.zones.map((z) => `${z.zone}@${z.municipality}`).sort(), ['internet@131016', 'lgwan@131016', 'mynumber@131016', 'transfer@131016']);
  });
  test('network reach: mynumber only its office and the 特定通信 /32 on its port; transfer nothing; internet the firewall path', () => {
    const mn = zoneOf(radius.zones, 'mynumber');
    assert.deepEqual(mn.network.map((n) => `${n.category} ${n.destinations.join(',')} ${n.ports.join(',')} ${n.permittedBy}`).sort(), ['LGWAN network 172.20.1.10/32 443 X5', 'office 192.168.10.0/24  TL']);
    assert.deepEqual(zoneOf(radius.zones, 'transfer').network, []);
    const inet = zoneOf(radius.zones, 'internet').network.find((n) => n.category === 'internet')!;
    assert.equal(inet.permittedBy, 'X7');
    assert.ok(inet.inspected);
  });
  test('DNS reach: the isolated zones resolve an allowlist, the internet zone public names', () => {
    for (const zone of ['mynumber', 'lgwan', 'transfer']) {
      const z = zoneOf(radius.zones, zone);
      assert.equal(z.dns.reach, 'allowlist', zone);
      assert.ok(z.dns.names > 20, `${zone} allows ${z.dns.names} names`);
    }
    assert.equal(zoneOf(radius.zones, 'internet').dns.policy, 'public');
  });
  test('AWS data through the endpoints: who reads, writes and deletes each crossing bucket and queue', () => {
    const access = (zone: string, role: string) => zoneOf(radius.zones, zone).resources.filter((r) => r.role === role).flatMap((r) => r.access);
    assert.deepEqual(access('internet', 'inbound'), ['write']);
    assert.deepEqual(access('transfer', 'inbound'), ['read']);
    assert.deepEqual(access('lgwan', 'inbound'), [], 'lgwan never touches the inbound bucket');
    assert.ok(access('transfer', 'sanitized').includes('write'));
    assert.ok(!access('lgwan', 'sanitized').includes('write'), 'lgwan reads sanitized files, never writes them');
    assert.ok(access('lgwan', 'sanitized').includes('read'));
    assert.deepEqual(access('internet', 'sanitized'), []);
    // No endpoint policy allows s3:DeleteObject: nothing is deleted through an endpoint.
    assert.ok(radius.zones.every((z) => z.resources.filter((r) => r.kind === 'bucket').every((r) => !r.access.includes('delete'))));
    // The sanitizer queues: transfer receives and deletes messages through its SQS endpoint; nobody else has one.
    const queues = zoneOf(radius.zones, 'transfer').resources.filter((r) => r.kind === 'queue');
    assert.ok(queues.length >= 2 && queues.every((q) => q.access.join() === 'read,delete'), JSON.stringify(queues));
    assert.ok(['mynumber', 'lgwan', 'internet'].every((z) => zoneOf(radius.zones, z).resources.every((r) => r.kind === 'bucket')));
  });
  test('crossings it can feed: the internet zone reaches lgwan only after sanitizing', () => {
    assert.ok(zoneOf(radius.zones, 'internet').feeds.some((f) => /^inbound \(X2\) → transfer → sanitized \(X2\) → lgwan \(reaches lgwan only after sanitizing\)$/.test(f)), zoneOf(radius.zones, 'internet').feeds.join('\n'));
    assert.ok(zoneOf(radius.zones, 'lgwan').feeds.some((f) => /^outbound \(X4\) → internet$/.test(f)));
    assert.deepEqual(zoneOf(radius.zones, 'mynumber').feeds, []);
    assert.ok(radius.zones.every((z) => z.forbidden.length === 0), 'nothing forbidden in the pilot');
  });
  test('npm run blast-radius on the pilot prints the per-zone table', () => {
    const r = run('bin/blast-radius.ts', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /blast radius of a compromised host, per zone \(config "pilot"\)/);
    assert.match(r.stdout, /mynumber@131016\n {2}network reach \(ports\) +\| office 192\.168\.10\.0\/24 \[TL\]; LGWAN network 172\.20\.1\.10\/32 :443 \[X5\]\n {2}DNS reach +\| allowlist \(\d+ names\)/);
    assert.match(r.stdout, /crossings it can feed +\| inbound \(X2\) → transfer → sanitized \(X2\) → lgwan \(reaches lgwan only after sanitizing\)/);
    assert.match(r.stdout, /buckets and queues \(r read \/ w write \/ d delete\) +\| .*pilot-131016-inbound w/);
  });
  test('on an assembly without the mynumber DNS Firewall it shows mynumber reaching the internet via DNS, and check-isolation exits 1', () => {
    const broken = freshAssembly('pilot');
    withoutDnsFirewall(broken);
    const { radius: b } = blastRadiusOfAssembly(broken);
    const mn = zoneOf(b.zones, 'mynumber');
    assert.equal(mn.dns.reach, 'anything');
    assert.ok(mn.forbidden.includes('public-internet via dns'));
    const r = run('bin/blast-radius.ts', broken);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /mynumber@131016\n(?: {2}.*\n)*? {2}DNS reach +\| ANYTHING: no DNS Firewall rule group is associated with its VPC\n(?: {2}.*\n)*? {2}not permitted +\| public-internet via dns/);
    const c = run('bin/check-isolation.ts', broken);
    assert.equal(c.status, 1);
    assert.match(c.stdout, /FORBIDDEN-REACH mynumber@131016 reaches public-internet via dns \(no DNS Firewall rule group is associated with its VPC\)/);
    assert.match(c.stdout, /ERROR ThreeTier-DNS1 Pilot-131016-Mynumber\//);
  });
  test('usage errors exit 2 with a clear message', () => {
    const a = run('bin/blast-radius.ts', '/nonexistent/cdk.out');
    assert.equal(a.status, 2);
    assert.match(a.stderr, /no such directory; pass the cdk\.out directory/);
    const b = run('bin/blast-radius.ts', '-c', 'config=nope');
    assert.equal(b.status, 2);
    assert.match(b.stderr, /there is no config named "nope"/);
  });
});

describe('channels: DNS and AWS-managed doors against the intent', () => {
  test('the intent lists each zone\'s resolver policy and allowlist, with the config\'s names and the project\'s buckets', () => {
    const intent = readIntent(freshAssembly('pilot'));
    const lgwan = intent.zones.find((z) => z.zone === 'lgwan')!;
    assert.equal(lgwan.dns?.policy, 'allowlist');
    for (const n of ['ssm.ap-northeast-1.amazonaws.com', 's3.ap-northeast-1.amazonaws.com', 'al2023-repos-ap-northeast-1-de612dc2.s3.ap-northeast-1.amazonaws.com', '*.city.chiyoda.lg.jp', 'pilot-131016-sanitized-${AWS::AccountId}-ap-northeast-1.s3.ap-northeast-1.amazonaws.com', '*.ap-northeast-1.vpce.amazonaws.com']) {
      assert.ok(lgwan.dns?.names?.includes(n), `lgwan allows ${n}`);
    }
    const transfer = intent.zones.find((z) => z.zone === 'transfer')!;
    assert.ok(transfer.dns?.names?.includes('sqs.ap-northeast-1.amazonaws.com'), 'transfer resolves its SQS endpoint');
    assert.ok(!transfer.dns?.names?.some((n) => n.includes('vpce.amazonaws.com')), 'transfer consumes no PrivateLink service');
    assert.equal(intent.zones.find((z) => z.zone === 'internet')!.dns?.policy, 'public');
    assert.deepEqual(intent.doors, []);
  });
  test('every zone logs its DNS queries to the archive under dns-query-logs/<code>/<zone>/, and the isolated zones fail closed', () => {
    const d = freshAssembly('pilot');
    for (const zone of ['mynumber', 'lgwan', 'internet', 'transfer']) {
      const t = readTemplate(d, zoneStack(d, CODE, zone));
      const [id, q] = resourcesOf(t, 'AWS::Route53Resolver::ResolverQueryLoggingConfig')[0];
      const dest = JSON.stringify(q.Properties.DestinationArn);
      assert.match(dest, /:s3:::pilot-log-archive-/, zone);
      assert.ok(dest.includes(`/dns-query-logs/${CODE}/${zone}/`), `${zone}: ${dest}`);
      const assoc = resourcesOf(t, 'AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation').find(([, a]) => a.Properties.ResolverQueryLogConfigId['Fn::GetAtt'][0] === id)!;
      assert.equal(assoc[1].Properties.ResourceId.Ref, vpcId(t));
      const failClosed = resourcesOf(t, 'AWS::Route53Resolver::FirewallConfig');
      if (zone === 'internet') assert.equal(failClosed.length, 0);
      else assert.deepEqual(failClosed.map(([, c]) => [c.Properties.FirewallFailOpen, c.Properties.ResourceId.Ref]), [['DISABLED', vpcId(t)]]);
    }
    // The archive lets log delivery write that prefix.
    const archive = stackNames(d).map((s) => readTemplate(d, s)).flatMap((t) => resourcesOf(t, 'AWS::S3::BucketPolicy')).find(([, p]) => JSON.stringify(p).includes('AWSLogDeliveryWrite'))!;
    assert.match(JSON.stringify(archive[1]), /dns-query-logs\/\*/);
  });
  test('a VPC without DNS support resolves nothing', () => {
    const d = freshAssembly('pilot');
    editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      t.Resources[vpcId(t)].Properties!.EnableDnsSupport = false;
      t.Resources[vpcId(t)].Properties!.EnableDnsHostnames = false;
      for (const [id, r] of Object.entries(t.Resources)) if (r.Type.startsWith('AWS::Route53Resolver::Firewall')) delete t.Resources[id];
    });
    const model = CloudModel.fromAssembly(d);
    const ch = analyzeChannels(model, readIntent(d));
    assert.equal(ch.dns.find((x) => x.zone === 'transfer')!.reach, 'none');
    assert.deepEqual(ch.findings, []);
  });
  test('a door the intent lists is accepted by the analyzer (the pack still wants a per-resource acknowledgement)', () => {
    const d = freshAssembly('pilot');
    editIntent(d, (i) => {
      (i as any).doors = [{ kind: 'instance-connect-endpoint', municipality: CODE, zone: 'mynumber', description: 'break-glass maintenance access, approved by the CISO (test)' }];
    });
    editTemplate(d, zoneStack(d, CODE, 'mynumber'), (t) => {
      t.Resources.Eice = { Type: 'AWS::EC2::InstanceConnectEndpoint', Properties: { SubnetId: { Ref: subnetIds(t, 'workload')[0] } } };
    });
    const r = check(d);
    assert.deepEqual(r.analyzer.findings, []);
    assert.deepEqual(r.pack.findings.map((f) => f.rule), ['ThreeTier-DR1']);
    const { radius } = blastRadiusOfAssembly(d);
    assert.deepEqual(zoneOf(radius.zones, 'mynumber').forbidden, []);
  });
  test('an endpoint service the intent names as a door is accepted; an unnamed one is not', () => {
    const d = freshAssembly('pilot');
    const svc = 'com.amazonaws.vpce.ap-northeast-1.vpce-svc-0fedcba9876543210';
    editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      t.Resources.Partner = { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcId: { Ref: vpcId(t) }, VpcEndpointType: 'Interface', ServiceName: svc, SubnetIds: [{ Ref: subnetIds(t, 'endpoints')[0] }] } };
    });
    assert.ok(check(d).analyzer.findings.some((f) => f.message.includes(svc)));
    editIntent(d, (i) => {
      (i as any).doors = [{ kind: 'endpoint-service', municipality: CODE, zone: 'transfer', service: svc, description: 'virus-definition mirror of the vendor (test)' }];
    });
    assert.deepEqual(check(d).analyzer.findings, []);
    assert.ok(resourcesOf(JSON.parse(fs.readFileSync(path.join(d, 'Pilot-131016-Transfer.template.json'), 'utf8')), 'AWS::EC2::VPCEndpoint').length > 0);
  });
});
