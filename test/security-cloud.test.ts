import { writeShapes } from '../lib/scale/assembly';
import { describe, test, afterAll, beforeAll } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkAssembly } from '../lib/isolation/check';
import { syntheticConfig } from '../config/layout';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import { ListFirewallDomainListsCommand, Route53ResolverClient } from '@aws-sdk/client-route53resolver';
import { SHIPPED_CONFIGS } from '../config';
import { ipsRules, portPolicyRules } from '../lib/security-cloud/firewall';
import { allTemplates, CfnTemplate, synth, synthShipped, Synthesized, tmpDir as tmpDirFor } from './helpers/synth';
import { hubTemplate, securityCloudViolations } from './helpers/security-cloud-rules';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dnsHandler = require('../lib/security-cloud/dns-handler/index.js') as { handler: (e: any, c: any, d?: any) => Promise<void>; resolveIds: (...a: any[]) => Promise<Record<string, string>> };

for (const name of Object.keys(SHIPPED_CONFIGS)) {
  describe(`security cloud of "${name}"`, () => {
    const s = synthShipped(name);
    test('every rule holds: default routes to the TGW, blackholes, firewall both ways, default drop, DNS firewall, logs in the archive, size', () => {
      assert.deepEqual(securityCloudViolations(allTemplates(s), s.config), []);
    });
    test('the firewall runs in every configured AZ', () => {
      const [, hub] = hubTemplate(s.templates);
      const fw = Object.values(hub.Resources).find((r) => r.Type === 'AWS::NetworkFirewall::Firewall')!;
      assert.deepEqual(fw.Properties!.AvailabilityZoneMappings.map((m: any) => m.AvailabilityZone), s.config.availabilityZones);
    });
    test('the domain rules and managed threat groups come from the config', () => {
      const [, hub] = hubTemplate(s.templates);
      const groups = Object.values(hub.Resources).filter((r) => r.Type === 'AWS::NetworkFirewall::RuleGroup');
      const domains = groups.find((g) => g.Properties!.RuleGroup.RulesSource.RulesSourceList)!;
      const list = domains.Properties!.RuleGroup.RulesSource.RulesSourceList;
      assert.deepEqual(list.Targets, s.config.securityCloud.firewall.domains);
      assert.equal(list.GeneratedRulesType, s.config.securityCloud.firewall.domainMode === 'denylist' ? 'DENYLIST' : 'ALLOWLIST');
      assert.deepEqual(list.TargetTypes, ['TLS_SNI', 'HTTP_HOST']);
      const policy = Object.values(hub.Resources).find((r) => r.Type === 'AWS::NetworkFirewall::FirewallPolicy')!;
      const refs = JSON.stringify(policy.Properties!.FirewallPolicy.StatefulRuleGroupReferences);
      for (const g of s.config.securityCloud.firewall.managedThreatGroups) assert.ok(refs.includes(`aws-managed:stateful-rulegroup/${g}`), g);
      const ips = groups.find((g) => String(g.Properties!.RuleGroup.RulesSource.RulesString ?? '').includes('sid:2100001'));
      assert.ok(ips, 'the Suricata IPS file is loaded');
    });
  });
}

describe('each security-cloud rule catches a deliberately broken template', () => {
  const s = synthShipped('pilot');
  const hubName = hubTemplate(s.templates)[0];
  const internetName = [...s.templates.keys()].find((n) => n.endsWith('-Internet'))!;
  function broken(edit: (hub: CfnTemplate, inet: CfnTemplate) => void): string[] {
    const copy = new Map([...s.templates.entries()].map(([k, v]) => [k, structuredClone(v)]));
    edit(copy.get(hubName)!, copy.get(internetName)!);
    return securityCloudViolations(copy, s.config);
  }
  const find = (t: CfnTemplate, type: string, pred: (p: any) => boolean = () => true) => Object.entries(t.Resources).filter(([, r]) => r.Type === type && pred(r.Properties ?? {}));
  const cases: [string, (hub: CfnTemplate, inet: CfnTemplate) => void, RegExp][] = [
    ['internet-zone default route removed', (_h, i) => { for (const [id, r] of Object.entries(i.Resources)) if (r.Type === 'AWS::EC2::Route' && r.Properties!.DestinationCidrBlock === '0.0.0.0/0') delete i.Resources[id]; }, /has no default route to the Transit Gateway/],
    ['internet-zone default route to a NAT instead', (_h, i) => { for (const [, r] of find(i, 'AWS::EC2::Route')) { delete r.Properties!.TransitGatewayId; r.Properties!.NatGatewayId = 'nat-1'; } }, /has no default route to the Transit Gateway/],
    ['a blackhole removed from the tenants table', (h) => { const [id] = find(h, 'AWS::EC2::TransitGatewayRoute', (p) => p.Blackhole && p.DestinationCidrBlock === '172.16.0.0/12')[0]; delete h.Resources[id]; }, /tenants table: no blackhole for 172\.16\.0\.0\/12/],
    ['tenants default route straight to egress', (h) => { const [, r] = find(h, 'AWS::EC2::TransitGatewayRoute', (p) => p.DestinationCidrBlock === '0.0.0.0/0' && JSON.stringify(p).includes('TransitGatewayAttachmentId') && JSON.stringify(p).includes('Firewall'))[0]; r.Properties!.TransitGatewayAttachmentId = { Ref: 'EgressAttachment' }; }, /tenants table: 0\.0\.0\.0\/0 does not go to the firewall/],
    ['return traffic bypasses the firewall', (h) => { for (const [, r] of find(h, 'AWS::EC2::TransitGatewayRoute', (p) => p.DestinationCidrBlock === '10.0.0.0/8' && !p.Blackhole)) r.Properties!.TransitGatewayAttachmentId = { Ref: 'EgressAttachment' }; }, /egress table: return traffic to 10\.0\.0\.0\/8 does not cross the firewall/],
    ['firewall moved into a VPC without TGW attachment', (h) => { const [, f] = find(h, 'AWS::NetworkFirewall::Firewall')[0]; delete f.Properties!.TransitGatewayId; }, /firewall: not attached to the Transit Gateway/],
    ['firewall in one AZ', (h) => { const [, f] = find(h, 'AWS::NetworkFirewall::Firewall')[0]; f.Properties!.AvailabilityZoneMappings = [f.Properties!.AvailabilityZoneMappings[0]]; }, /firewall: fewer than 2 AZs/],
    ['policy default pass', (h) => { const [, p] = find(h, 'AWS::NetworkFirewall::FirewallPolicy')[0]; p.Properties!.FirewallPolicy.StatefulDefaultActions = ['aws:alert_established']; }, /policy: stateful default does not drop/],
    ['policy stateless pass', (h) => { const [, p] = find(h, 'AWS::NetworkFirewall::FirewallPolicy')[0]; p.Properties!.FirewallPolicy.StatelessDefaultActions = ['aws:pass']; }, /policy: stateless default passes traffic/],
    ['policy in default order', (h) => { const [, p] = find(h, 'AWS::NetworkFirewall::FirewallPolicy')[0]; delete p.Properties!.FirewallPolicy.StatefulEngineOptions; }, /policy: not strict order/],
    ['TGW default propagation on', (h) => { const [, t] = find(h, 'AWS::EC2::TransitGateway')[0]; t.Properties!.DefaultRouteTablePropagation = 'enable'; }, /default association or propagation enabled/],
    ['DNS firewall not associated with the tenant', (_h, i) => { for (const [id] of find(i, 'AWS::Route53Resolver::FirewallRuleGroupAssociation')) delete i.Resources[id]; }, /dns firewall not associated with the internet zone/],
    ['DNS firewall not associated with the hub VPC', (h) => { for (const [id] of find(h, 'AWS::Route53Resolver::FirewallRuleGroupAssociation')) delete h.Resources[id]; }, /dns firewall: not associated with the security cloud VPC/],
    ['firewall alert logs elsewhere', (h) => { const [, l] = find(h, 'AWS::NetworkFirewall::LoggingConfiguration')[0]; l.Properties!.LoggingConfiguration.LogDestinationConfigs[0].LogDestination = { bucketName: 'someone-else' }; }, /firewall ALERT logs do not reach the log archive/],
    ['tenant DNS query logs elsewhere', (_h, i) => { const [, q] = find(i, 'AWS::Route53Resolver::ResolverQueryLoggingConfig')[0]; q.Properties!.DestinationArn = 'arn:aws:s3:::elsewhere'; }, /DNS query logs do not reach the archive under its prefix/],
    ['an IGW in the internet zone', (_h, i) => { i.Resources.Igw = { Type: 'AWS::EC2::InternetGateway', Properties: {} }; }, /IGW or NAT outside the security cloud/],
    ['one NAT for all AZs', (h) => { const [id] = find(h, 'AWS::EC2::NatGateway')[0]; delete h.Resources[id]; }, /egress: fewer NAT gateways than AZs/],
    ['a template over the resource limit', (h) => { for (let i = 0; i < 400; i++) h.Resources[`Pad${i}`] = { Type: 'AWS::SNS::Topic', Properties: {} }; }, /resources \(limit 450\)/],
  ];
  for (const [label, edit, expected] of cases) {
    test(label, () => {
      const v = broken(edit);
      assert.ok(v.some((x) => expected.test(x)), `expected ${expected}, got:\n  ${v.join('\n  ')}`);
    });
  }
});

describe('scale: one security cloud for 200 municipalities', () => {
  test('synthesizes as shapes, every template stays under 450 resources, and the hub does not grow with tenants', () => {
    // synthetic-N builds with rollout.method "shapes": the first and last municipality are built, the
    // other 198 are parameter files of the same four shapes (test/shapes.test.ts compares them with a
    // full build). aws-cdk-lib's built-in validation and tree.json are left out of this synth only: what
    // it checks is size and shape, and synthetic-1 right below is synthesized with validation on.
    const big = synth('synthetic-200', { builtinValidation: false, treeMetadata: false });
    const small = synth('synthetic-1');
    const sizes = [...big.templates.values()].map((t) => Object.keys(t.Resources).length);
    assert.equal(big.templates.size, 2 * 4 + 2);
    const { index } = writeShapes(big.outdir, big.config);
    assert.equal(index.classes.length, 4);
    assert.equal(index.classes.reduce((a, c) => a + c.members.length, 0), 200 * 4);
    assert.ok(Math.max(...sizes) <= 450, `largest template has ${Math.max(...sizes)} resources`);
    const hubSize = (x: typeof big) => Object.keys(hubTemplate(x.templates)[1].Resources).length;
    assert.equal(hubSize(big), hubSize(small), 'tenant-specific resources live in the tenants\' own stacks; the hub stays the same size');
  });
});

describe('Suricata rules kept in the repo', () => {
  const RULE = /^(pass|drop|alert|reject) (tcp|udp|icmp|ip|tls|http|dns|smtp) (\S+) (\S+) (->|<>) (\S+) (\S+) \((.+)\)$/;
  for (const [label, rules] of [['IPS file', ipsRules()], ['port policy', portPolicyRules()]] as const) {
    test(`${label}: every rule parses, has msg, sid and rev, and uses only known variables`, () => {
      assert.ok(rules.length >= 4);
      const sids = new Set<string>();
      for (const r of rules) {
        const m = RULE.exec(r);
        assert.ok(m, `not a Suricata rule: ${r}`);
        const opts = m![8];
        assert.match(opts, /msg:"[^"]+";/);
        const sid = /sid:(\d+);/.exec(opts)?.[1];
        assert.ok(sid, `no sid: ${r}`);
        assert.ok(!sids.has(sid!), `duplicate sid ${sid}`);
        sids.add(sid!);
        assert.match(opts, /rev:\d+;/);
        for (const v of r.match(/\$[A-Z_]+/g) ?? []) assert.ok(['$TENANTS', '$EXTERNAL_NET', '$MAIL_GATEWAY', '$HOME_NET'].includes(v), `unknown variable ${v}`);
      }
    });
  }
  test('the port policy lets out only web and mail-relay ports, and in only SMTP from the MX gateway', () => {
    const rules = portPolicyRules();
    const outbound = rules.filter((r) => r.includes('$TENANTS any -> $EXTERNAL_NET')).map((r) => r.split(' ')[6]);
    assert.deepEqual(outbound, ['[80,443]', '[25,587]', '123']);
    const inbound = rules.filter((r) => r.includes('-> $TENANTS'));
    assert.deepEqual(inbound.map((r) => r.split(' ').slice(2, 7).join(' ')), ['$MAIL_GATEWAY any -> $TENANTS 25']);
  });
});

describe('DNS Firewall managed-list resolver (custom resource handler)', () => {
  const mock = mockClient(Route53ResolverClient);
  const received: { body: any }[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      received.push({ body: JSON.parse(data) });
      res.writeHead(200);
      res.end();
    });
  });
  let url = '';
  const ready = new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => {
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?sig=1`;
    resolve();
  }));
  afterAll(() => {
    server.close();
  });
  const event = (type: string, names: string[] = ['AWSManagedDomainsMalwareDomainList', 'AWSManagedDomainsBotnetCommandandControl']) => ({ RequestType: type, ResponseURL: url, StackId: 'arn:stack', RequestId: 'r1', LogicalResourceId: 'ManagedLists', ResourceProperties: { ListNames: names } });
  const client = new Route53ResolverClient({ region: 'ap-northeast-1' });
  const deps = { client, sdk: { ListFirewallDomainListsCommand } };

  test('resolves names to ids across pages and answers SUCCESS with one attribute per name', async () => {
    await ready;
    mock.reset();
    mock.on(ListFirewallDomainListsCommand, { NextToken: undefined, MaxResults: 100 }).resolves({ FirewallDomainLists: [{ Name: 'AWSManagedDomainsMalwareDomainList', Id: 'rslvr-fdl-malware', ManagedOwnerName: 'Route 53 Resolver DNS Firewall' }], NextToken: 'p2' });
    mock.on(ListFirewallDomainListsCommand, { NextToken: 'p2', MaxResults: 100 }).resolves({ FirewallDomainLists: [{ Name: 'AWSManagedDomainsBotnetCommandandControl', Id: 'rslvr-fdl-botnet', ManagedOwnerName: 'Route 53 Resolver DNS Firewall' }, { Name: 'mine', Id: 'rslvr-fdl-mine' }] });
    received.length = 0;
    await dnsHandler.handler(event('Create'), {}, deps);
    assert.equal(received.length, 1);
    assert.equal(received[0].body.Status, 'SUCCESS');
    assert.deepEqual(received[0].body.Data, { AWSManagedDomainsMalwareDomainList: 'rslvr-fdl-malware', AWSManagedDomainsBotnetCommandandControl: 'rslvr-fdl-botnet' });
    assert.equal(mock.commandCalls(ListFirewallDomainListsCommand).length, 2);
  });
  test('a list that does not exist in the region fails the resource with its name', async () => {
    await ready;
    mock.reset();
    mock.on(ListFirewallDomainListsCommand).resolves({ FirewallDomainLists: [{ Name: 'AWSManagedDomainsMalwareDomainList', Id: 'rslvr-fdl-malware' }] });
    received.length = 0;
    await dnsHandler.handler(event('Update', ['AWSManagedDomainsMalwareDomainList', 'AWSManagedDomainsAggregateThreatList']), {}, deps);
    assert.equal(received[0].body.Status, 'FAILED');
    assert.match(received[0].body.Reason, /not found in this region: AWSManagedDomainsAggregateThreatList/);
  });
  test('API errors (throttling, permissions) fail the resource with the message, not a hang', async () => {
    await ready;
    mock.reset();
    mock.on(ListFirewallDomainListsCommand).rejects(new Error('AccessDeniedException: not authorized to perform route53resolver:ListFirewallDomainLists'));
    received.length = 0;
    await dnsHandler.handler(event('Create'), {}, deps);
    assert.equal(received[0].body.Status, 'FAILED');
    assert.match(received[0].body.Reason, /AccessDenied/);
  });
  test('delete succeeds without calling the API', async () => {
    await ready;
    mock.reset();
    received.length = 0;
    await dnsHandler.handler({ ...event('Delete'), PhysicalResourceId: 'managed-domain-lists-ManagedLists' }, {}, deps);
    assert.equal(received[0].body.Status, 'SUCCESS');
    assert.equal(received[0].body.PhysicalResourceId, 'managed-domain-lists-ManagedLists');
    assert.equal(mock.commandCalls(ListFirewallDomainListsCommand).length, 0);
  });
});

describe('multi-account without StackSets: no id is copied, one cdk deploy', () => {
  const base = structuredClone(SHIPPED_CONFIGS.pilot) as any;
  base.account = '111111111111';
  base.municipalities[0].account = '222222222222';
  let s: Synthesized;
  beforeAll(() => {
    s = synth(base);
  });
  test('the hub shares its Transit Gateway, DNS rule group and two advanced SSM parameters with the municipality account, and takes its attachment by default tables', () => {
    const [, hub] = hubTemplate(s.templates);
    const share = Object.values(hub.Resources).find((r) => r.Type === 'AWS::RAM::ResourceShare')!;
    assert.deepEqual(share.Properties!.Principals, ['222222222222']);
    assert.equal(share.Properties!.AllowExternalPrincipals, false);
    const arns = JSON.stringify(share.Properties!.ResourceArns);
    assert.match(arns, /transit-gateway\//);
    const params = Object.entries(hub.Resources).filter(([, r]) => r.Type === 'AWS::SSM::Parameter');
    assert.deepEqual(params.map(([, r]) => r.Properties!.Name).sort(), ['/pilot/hub/dns-firewall-rule-group-id', '/pilot/hub/transit-gateway-id']);
    for (const [, r] of params) assert.equal(r.Properties!.Tier, 'Advanced');
    for (const [id] of params) assert.ok(arns.includes(id), `${id} is shared`);
    assert.equal(Object.values(hub.Resources).filter((r) => r.Type === 'Custom::TransitGatewayTenantDefaults').length, 1);
    assert.equal(Object.values(hub.Resources).find((r) => r.Type === 'AWS::EC2::TransitGateway')!.Properties!.AutoAcceptSharedAttachments, 'enable');
  });
  test("the municipality's internet zone reads the hub's ids from the shared parameters by ARN, and deploys after the hub", () => {
    const inet = s.templates.get('Pilot-131016-Internet') as any;
    assert.deepEqual(inet.Parameters.HubTransitGatewayId, { Type: 'AWS::SSM::Parameter::Value<String>', Default: 'arn:aws:ssm:ap-northeast-1:111111111111:parameter/pilot/hub/transit-gateway-id', Description: inet.Parameters.HubTransitGatewayId.Description });
    assert.equal(inet.Parameters.HubDnsFirewallRuleGroupId.Default, 'arn:aws:ssm:ap-northeast-1:111111111111:parameter/pilot/hub/dns-firewall-rule-group-id');
    const att = Object.values(inet.Resources as Record<string, any>).find((r) => r.Type === 'AWS::EC2::TransitGatewayVpcAttachment')!;
    assert.deepEqual(att.Properties.TransitGatewayId, { Ref: 'HubTransitGatewayId' });
    const manifest = JSON.parse(fs.readFileSync(path.join(s.outdir, 'manifest.json'), 'utf8'));
    assert.ok(manifest.artifacts['Pilot-131016-Internet'].dependencies.includes('Pilot-SecurityCloud-Tokyo'));
  });
  test('with the default tables set, a tenant in the hub\'s own account is not associated explicitly (it would fail: "already associated"), and both tenants reach the internet through the firewall', () => {
    const two = syntheticConfig(2, 'mixed') as any;
    two.rollout = { method: 'stacks' };
    two.account = '111111111111';
    two.municipalities[1].account = '222222222222';
    const m = synth(two);
    for (const code of two.municipalities.map((x: any) => x.code)) {
      const inet = m.templates.get(`Mixed-${code}-Internet`)!;
      assert.deepEqual(Object.values(inet.Resources).filter((r) => r.Type === 'AWS::EC2::TransitGatewayRouteTableAssociation' || r.Type === 'AWS::EC2::TransitGatewayRouteTablePropagation'), []);
    }
    const r = checkAssembly(m.outdir).report;
    assert.deepEqual(r.analyzer.findings, []);
    assert.equal(r.matrix.filter((row: any) => /^internet@/.test(row.zone) && /X7/.test(JSON.stringify(row))).length, 2);
  });
  test('check-isolation: the municipality in the other account reaches the internet through the firewall (X7), as in one account', () => {
    const r = checkAssembly(s.outdir).report;
    assert.deepEqual(r.analyzer.findings, []);
    assert.equal(r.verdict, 'match');
  });
  test('the binding is checked against the shared SSM parameter: another value in it, or a default naming another parameter, leaves the Transit Gateway unresolved', () => {
    const mutants: [string, (hub: any, inet: any) => void, RegExp][] = [
      ['the hub parameter holds another id', (hub) => {
        const p = Object.values(hub.Resources as Record<string, any>).find((r) => r.Type === 'AWS::SSM::Parameter' && r.Properties.Name === '/pilot/hub/transit-gateway-id')!;
        p.Properties.Value = 'tgw-0123456789abcdef0';
      }, /the SSM parameter \/pilot\/hub\/transit-gateway-id holds "tgw-0123456789abcdef0", not that resource's id/],
      ['the zone reads another parameter', (_hub, inet) => {
        inet.Parameters.HubTransitGatewayId.Default = 'arn:aws:ssm:ap-northeast-1:111111111111:parameter/pilot/hub/other';
      }, /Pilot-SecurityCloud-Tokyo has 0 SSM parameters named \/pilot\/hub\/other, not one/],
      ['the zone reads a parameter by name, not a shared ARN', (_hub, inet) => {
        inet.Parameters.HubTransitGatewayId.Default = '/pilot/hub/transit-gateway-id';
      }, /is not the ARN of a shared SSM parameter/],
    ];
    for (const [label, edit, expected] of mutants) {
      const dir = tmpDirFor('mutant');
      fs.cpSync(s.outdir, dir, { recursive: true });
      const hubFile = path.join(dir, 'Pilot-SecurityCloud-Tokyo.template.json');
      const inetFile = path.join(dir, 'Pilot-131016-Internet.template.json');
      const hub = JSON.parse(fs.readFileSync(hubFile, 'utf8'));
      const inet = JSON.parse(fs.readFileSync(inetFile, 'utf8'));
      edit(hub, inet);
      fs.writeFileSync(hubFile, JSON.stringify(hub));
      fs.writeFileSync(inetFile, JSON.stringify(inet));
      const r = checkAssembly(dir).report;
      assert.equal(r.verdict, 'mismatch', label);
      assert.ok(r.analyzer.findings.some((f) => f.kind === 'unverifiable-path' && expected.test(f.message)), `${label}: ${r.analyzer.findings.map((f) => f.message).join('\n')}`);
    }
  });
});

