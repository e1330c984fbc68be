import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { yamlParse } from 'yaml-cfn';
import { checkAssembly, IsolationReport } from '../lib/isolation/check';
import { AssemblyResolver, isUnresolved, resolveTemplate } from '../lib/isolation/cfn/resolve';
import { tmpDir } from './helpers/synth';

/**
 * The peer test set: public inspection templates written outside this
 * project (aws-samples, MIT-0), only tagged with ThreeTier zones, each with
 * an intent and its expected verdict; and variants that break each one.
 * The analyzer must report exactly the true reaches: no unverifiable path
 * where the template resolves, no broken crossing that holds, every
 * forbidden reach, and a bypass in any one AZ.
 */

const ROOT = path.resolve(__dirname, '..');
const PEER = path.join(ROOT, 'test', 'fixtures', 'peer');
const CENTRAL = 'centralized-egress-east-west-2az';
const DISTRIBUTED = 'distributed-1az-single-firewall';
const TGW = 'tgw-native-attach-firewall';

function run(template: string, intent: string): IsolationReport {
  return checkAssembly([template], { intent }).report;
}
const original = (name: string) => run(path.join(PEER, `${name}.yaml`), path.join(PEER, `${name}.intent.json`));
const analyzer = (r: IsolationReport) => r.analyzer.findings.map((f) => `${f.kind}: ${f.message.replace(/ \(\d+ paths; the first is shown\)$/, '')}`).sort();
/** The distinct routed reaches, `from -> to` with `inspected` or `UNINSPECTED`. */
const routes = (r: IsolationReport) => [...new Set(r.analyzer.reaches.filter((x) => x.mechanism === 'route').map((x) => `${x.from} -> ${x.to} ${x.inspected ? 'inspected' : 'UNINSPECTED'}`))].sort();

/** A private copy of a peer template as JSON (parsed from its YAML), edited, with its intent (also edited) and an optional parameter file. */
function variant(name: string, edit: (t: any) => void, editIntent: (i: any) => void = () => {}, parameters?: Record<string, string>): { template: string; intent: string } {
  const dir = tmpDir(`peer-${name}`);
  const t = yamlParse(fs.readFileSync(path.join(PEER, `${name}.yaml`), 'utf8'));
  edit(t);
  const template = path.join(dir, `${name}.json`);
  fs.writeFileSync(template, JSON.stringify(t, null, 1));
  const i = JSON.parse(fs.readFileSync(path.join(PEER, `${name}.intent.json`), 'utf8'));
  editIntent(i);
  const intent = path.join(dir, 'intent.json');
  fs.writeFileSync(intent, JSON.stringify(i, null, 1));
  if (parameters) fs.writeFileSync(path.join(dir, `${name}.parameters.json`), JSON.stringify({ Parameters: parameters }));
  return { template, intent };
}
const retag = (t: any, vpc: string, zone: string) => {
  t.Resources[vpc].Properties.Tags.find((x: any) => x.Key === 'ThreeTier:Zone').Value = zone;
};
/** The intent after a spoke became an lgwan zone: its zone entry changes, it keeps its endpoints (X6) and loses its internet crossing (X7). */
const lgwanIntent = (code: string) => (i: any) => {
  i.zones.find((z: any) => z.municipality === code).zone = 'lgwan';
  i.crossings = i.crossings.filter((c: any) => !(c.municipality === code && c.id === 'X7'));
  for (const c of i.crossings) if (c.municipality === code) c.from = 'lgwan';
};

const TENANTS_MEET = [
  'forbidden-reach: internet@131016 admits traffic from internet@271004 via security-group (icmp), which no crossing permits',
  'forbidden-reach: internet@131016 admits traffic from security-cloud via security-group (icmp), which no crossing permits',
  'forbidden-reach: internet@131016 reaches internet@271004 via route, which no crossing permits',
  'forbidden-reach: internet@131016 reaches security-cloud via route, which no crossing permits',
  'forbidden-reach: internet@271004 admits traffic from internet@131016 via security-group (icmp), which no crossing permits',
  'forbidden-reach: internet@271004 admits traffic from security-cloud via security-group (icmp), which no crossing permits',
  'forbidden-reach: internet@271004 reaches internet@131016 via route, which no crossing permits',
  'forbidden-reach: internet@271004 reaches security-cloud via route, which no crossing permits',
];

describe('peer templates: expected verdicts', () => {
  test('the manifest names every peer file with its source, commit and license, and the license travels with them', () => {
    const rows = fs.readFileSync(path.join(PEER, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    const files = fs.readdirSync(PEER).filter((f) => f.endsWith('.yaml') || f.startsWith('LICENSE'));
    expect(rows.map((r) => r[0]).sort()).toEqual(files.sort());
    for (const [, repo, , commit, license] of rows) {
      expect(repo).toBe('aws-samples/aws-networkfirewall-cfn-templates');
      expect(commit).toMatch(/^[0-9a-f]{40}$/);
      expect(license).toMatch(/MIT-0/);
    }
    expect(fs.readFileSync(path.join(PEER, 'LICENSE.aws-networkfirewall-cfn-templates'), 'utf8')).toMatch(/Permission is hereby granted/);
  });

  test('distributed (firewall and IGW in the VPC): the internet exit is inspected, the SSM endpoints understood, nothing else', () => {
    const r = original(DISTRIBUTED);
    expect(analyzer(r)).toEqual([]);
    expect(routes(r)).toEqual(['internet@131016 -> internet inspected']);
    expect(r.matrix).toEqual([expect.objectContaining({ zone: 'internet@131016', reaches: expect.objectContaining({ internet: 'ok X7', 'aws-apis': 'ok X6', 'admits from': '-' }) })]);
  });

  test('centralized (inspection VPC, EndpointIds picked with Select/Split): both exits inspected; the tenants reach each other through the firewall, which the three-tier model forbids', () => {
    const r = original(CENTRAL);
    expect(analyzer(r)).toEqual(TENANTS_MEET);
    expect(routes(r)).toEqual([
      'internet@131016 -> internet inspected',
      'internet@131016 -> internet@271004 inspected',
      'internet@131016 -> security-cloud UNINSPECTED',
      'internet@271004 -> internet inspected',
      'internet@271004 -> internet@131016 inspected',
      'internet@271004 -> security-cloud UNINSPECTED',
      'security-cloud -> internet UNINSPECTED',
      'security-cloud -> internet inspected',
      // The firewall's own subnets are the inspection point: their return routes count as inspected.
      'security-cloud -> internet@131016 inspected',
      'security-cloud -> internet@271004 inspected',
    ]);
    expect(r.analyzer.findings.some((f) => f.kind === 'unverifiable-path' || f.kind === 'broken-crossing' || f.kind === 'uninspected-path')).toBe(false);
    const spokeA = r.matrix.find((m) => m.zone === 'internet@131016')!;
    expect(spokeA.reaches['admits from']).toBe('FORBIDDEN internet@271004 icmp; security-cloud icmp');
  });

  test('TGW-attached firewall (GetAtt Firewall.TransitGatewayAttachmentId): both exits inspected, same tenant reaches', () => {
    const r = original(TGW);
    expect(analyzer(r)).toEqual(TENANTS_MEET);
    expect(routes(r)).toEqual(expect.arrayContaining(['internet@131016 -> internet inspected', 'internet@271004 -> internet inspected', 'security-cloud -> internet@131016 inspected']));
    expect(routes(r).filter((x) => x.startsWith('internet@') && x.includes('-> internet '))).toEqual(['internet@131016 -> internet inspected', 'internet@271004 -> internet inspected']);
  });
});

describe('peer templates: variants that break them', () => {
  test('an lgwan spoke routed to the internet through the Transit Gateway is a forbidden reach (centralized and TGW-attached)', () => {
    for (const name of [CENTRAL, TGW]) {
      const v = variant(name, (t) => retag(t, 'SpokeVPCB', 'lgwan'), lgwanIntent('271004'));
      const f = analyzer(run(v.template, v.intent));
      expect(f).toContain('forbidden-reach: lgwan@271004 reaches internet via route, which no crossing permits');
      expect(f.filter((x) => /unverifiable|broken-crossing/.test(x))).toEqual([]);
    }
  });

  test('an lgwan-tagged distributed VPC with its own firewall and IGW is a forbidden reach', () => {
    const v = variant(DISTRIBUTED, (t) => retag(t, 'SpokeVPCB', 'lgwan'), lgwanIntent('131016'));
    expect(analyzer(run(v.template, v.intent))).toEqual(['forbidden-reach: lgwan@131016 reaches internet via route, which no crossing permits']);
  });

  test.each([
    ['second', 'SubnetCTGWDefaultRoute2', 'SubnetCNATGateway2'],
    ['first', 'SubnetCTGWDefaultRoute1', 'SubnetCNATGateway1'],
  ])('a firewall bypass in the %s AZ of the inspection VPC (TGW subnet straight to NAT) is caught for both tenants', (_az, route, nat) => {
    const v = variant(CENTRAL, (t) => {
      delete t.Resources[route].Properties.VpcEndpointId;
      t.Resources[route].Properties.NatGatewayId = { Ref: nat };
    });
    const r = run(v.template, v.intent);
    const f = analyzer(r);
    expect(f).toEqual(expect.arrayContaining(['uninspected-path: internet@131016 reaches the internet without crossing the firewall', 'uninspected-path: internet@271004 reaches the internet without crossing the firewall']));
    expect(f.filter((x) => !TENANTS_MEET.includes(x) && !x.startsWith('uninspected-path: internet@'))).toEqual([]);
    const bypass = r.analyzer.findings.find((x) => x.kind === 'uninspected-path')!;
    expect(bypass.hops.map((h) => h.resource)).toContain(`${CENTRAL}/${nat}`);
  });

  test('a bypass in the distributed design (public subnet straight to the IGW) is caught', () => {
    const v = variant(DISTRIBUTED, (t) => {
      const p = t.Resources.PublicSubnetDefaultRoute.Properties;
      delete p.VpcEndpointId;
      p.GatewayId = { Ref: 'InternetGatewayVPCB' };
    });
    expect(analyzer(run(v.template, v.intent))).toEqual(['uninspected-path: internet@131016 reaches the internet without crossing the firewall']);
  });

  test('a route whose destination is a parameter with a default is resolved: the forbidden reach it makes is found', () => {
    const v = variant(CENTRAL, (t) => {
      retag(t, 'SpokeVPCB', 'lgwan');
      t.Parameters.SpokeBEgress = { Type: 'String', Default: '0.0.0.0/0' };
      t.Resources.SubnetBWorkloadInternalRoute1.Properties.DestinationCidrBlock = { Ref: 'SpokeBEgress' };
      t.Resources.SubnetBWorkloadInternalRoute2.Properties.DestinationCidrBlock = { Ref: 'SpokeBEgress' };
    }, lgwanIntent('271004'));
    const f = analyzer(run(v.template, v.intent));
    expect(f).toContain('forbidden-reach: lgwan@271004 reaches internet via route, which no crossing permits');
    expect(f.filter((x) => x.startsWith('unverifiable'))).toEqual([]);
  });

  test('the value in the stack\'s parameter file wins over the default', () => {
    const v = variant(CENTRAL, (t) => {
      retag(t, 'SpokeVPCB', 'lgwan');
      t.Parameters.SpokeBEgress = { Type: 'String', Default: '0.0.0.0/0' };
      t.Resources.SubnetBWorkloadInternalRoute1.Properties.DestinationCidrBlock = { Ref: 'SpokeBEgress' };
      t.Resources.SubnetBWorkloadInternalRoute2.Properties.DestinationCidrBlock = { Ref: 'SpokeBEgress' };
    }, lgwanIntent('271004'), { SpokeBEgress: '10.1.0.0/16' });
    const f = analyzer(run(v.template, v.intent));
    expect(f).not.toContain('forbidden-reach: lgwan@271004 reaches internet via route, which no crossing permits');
    expect(f).toContain('forbidden-reach: lgwan@271004 reaches internet@131016 via route, which no crossing permits');
  });

  test('a parameter without default or value makes the route unverifiable, reported and never dropped', () => {
    const v = variant(CENTRAL, (t) => {
      t.Parameters.SpokeBEgress = { Type: 'String' };
      t.Resources.SubnetBWorkloadInternalRoute1.Properties.DestinationCidrBlock = { Ref: 'SpokeBEgress' };
    });
    const r = run(v.template, v.intent);
    const u = r.analyzer.findings.filter((f) => f.kind === 'unverifiable-path');
    expect(u.map((f) => f.message)).toEqual([`${CENTRAL}/SubnetBWorkloadInternalRoute1 (AWS::EC2::Route) DestinationCidrBlock cannot be resolved offline: parameter SpokeBEgress has no default and no value; supply it in the stack's parameter file`]);
    expect(u[0].zone).toBe('internet');
    expect(r.verdict).toBe('mismatch');
  });

  test('a conditional route (Fn::If on a Condition, AWS::NoValue) follows the parameter: inspected by default, a bypass when switched', () => {
    const edit = (t: any) => {
      t.Parameters.InspectEgress = { Type: 'String', Default: 'yes', AllowedValues: ['yes', 'no'] };
      t.Conditions = { Inspect: { 'Fn::Equals': [{ Ref: 'InspectEgress' }, 'yes'] }, Bypass: { 'Fn::Not': [{ Condition: 'Inspect' }] } };
      const p = t.Resources.SubnetCTGWDefaultRoute2.Properties;
      p.VpcEndpointId = { 'Fn::If': ['Inspect', p.VpcEndpointId, { Ref: 'AWS::NoValue' }] };
      p.NatGatewayId = { 'Fn::If': ['Bypass', { Ref: 'SubnetCNATGateway2' }, { Ref: 'AWS::NoValue' }] };
    };
    const inspected = variant(CENTRAL, edit);
    expect(analyzer(run(inspected.template, inspected.intent))).toEqual(TENANTS_MEET);
    const bypass = variant(CENTRAL, edit, () => {}, { InspectEgress: 'no' });
    expect(analyzer(run(bypass.template, bypass.intent))).toEqual(expect.arrayContaining(['uninspected-path: internet@131016 reaches the internet without crossing the firewall']));
  });

  test('a resource-level Condition: the bypass route exists only when its condition holds', () => {
    const edit = (t: any) => {
      t.Parameters.Debug = { Type: 'String', Default: 'off' };
      t.Conditions = { DebugOn: { 'Fn::Equals': [{ Ref: 'Debug' }, 'on'] } };
      t.Resources.DebugBypass = { Type: 'AWS::EC2::Route', Condition: 'DebugOn', Properties: { RouteTableId: { Ref: 'SubnetCTGWRouteTable1' }, DestinationCidrBlock: '8.8.8.0/24', NatGatewayId: { Ref: 'SubnetCNATGateway1' } } };
    };
    const off = variant(CENTRAL, edit);
    expect(analyzer(run(off.template, off.intent))).toEqual(TENANTS_MEET);
    const on = variant(CENTRAL, edit, () => {}, { Debug: 'on' });
    const f = run(on.template, on.intent).analyzer.findings.filter((x) => x.kind === 'uninspected-path');
    expect(f.length).toBeGreaterThan(0);
    expect(f[0].hops.map((h) => h.resource)).toContain(`${CENTRAL}/DebugBypass`);
  });
});

describe('the offline resolver', () => {
  test('resolves the usual idioms: Sub (both forms), Join, Select/Split, Cidr, GetAZs, FindInMap, If, pseudo parameters', () => {
    const t = {
      Parameters: { Env: { Type: 'String', Default: 'prod' }, Subnets: { Type: 'CommaDelimitedList', Default: 'a,b' }, Ami: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/x/y' } },
      Mappings: { Cidrs: { prod: { Vpc: '10.9.0.0/16' } } },
      Conditions: { Prod: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] }, Both: { 'Fn::And': [{ Condition: 'Prod' }, { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }] }] } },
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: { 'Fn::FindInMap': ['Cidrs', { Ref: 'Env' }, 'Vpc'] } } },
        Sn: {
          Type: 'AWS::EC2::Subnet',
          Properties: {
            VpcId: { Ref: 'Vpc' },
            CidrBlock: { 'Fn::Select': [1, { 'Fn::Cidr': [{ 'Fn::GetAtt': ['Vpc', 'CidrBlock'] }, 4, 8] }] },
            AvailabilityZone: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
            Tags: [{ Key: 'a', Value: { 'Fn::Sub': '${AWS::StackName}-${Env}-${AWS::Region}' } }, { Key: 'b', Value: { 'Fn::Sub': ['${X}.${AWS::URLSuffix}', { X: { 'Fn::Join': ['-', { Ref: 'Subnets' }] } }] } }, { Key: 'c', Value: { 'Fn::If': ['Both', 'yes', 'no'] } }, { Key: 'd', Value: { 'Fn::If': ['Prod', { Ref: 'AWS::NoValue' }, 'x'] } }],
          },
        },
        Inst: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'Ami' } } },
      },
    };
    const r = resolveTemplate(t, { stack: 'S', region: 'ap-northeast-1' });
    expect(r.resources.Vpc.Properties.CidrBlock).toBe('10.9.0.0/16');
    const sn = r.resources.Sn.Properties;
    expect(sn.VpcId).toMatch(/^vpc-3t[0-9a-f]{15}$/);
    expect(sn.CidrBlock).toBe('10.9.1.0/24');
    expect(sn.AvailabilityZone).toBe('ap-northeast-1a');
    expect(sn.Tags).toEqual([{ Key: 'a', Value: 'S-prod-ap-northeast-1' }, { Key: 'b', Value: 'a-b.amazonaws.com' }, { Key: 'c', Value: 'yes' }, { Key: 'd' }]);
    expect(isUnresolved(r.resources.Inst.Properties.ImageId)).toBe(true);
    expect(r.unresolved).toEqual([{ path: 'Resources.Inst.Properties.ImageId', reason: expect.stringMatching(/parameter Ami is read from SSM/) }]);
  });

  test('firewall EndpointIds are "az:vpce-id" per subnet; a positional pick stands for any endpoint (the order is not defined)', () => {
    const t = {
      Resources: {
        A: { Type: 'AWS::EC2::Subnet', Properties: { AvailabilityZone: 'ap-northeast-1a' } },
        B: { Type: 'AWS::EC2::Subnet', Properties: { AvailabilityZone: 'ap-northeast-1c' } },
        Fw: { Type: 'AWS::NetworkFirewall::Firewall', Properties: { SubnetMappings: [{ SubnetId: { Ref: 'A' } }, { SubnetId: { Ref: 'B' } }] } },
        R: { Type: 'AWS::EC2::Route', Properties: { VpcEndpointId: { 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::Select': [0, { 'Fn::GetAtt': ['Fw', 'EndpointIds'] }] }] }] } } },
      },
      Outputs: { Ids: { Value: { 'Fn::Join': [',', { 'Fn::GetAtt': ['Fw', 'EndpointIds'] }] } } },
    };
    const a = new AssemblyResolver([{ name: 'S', template: t }]);
    const ids = String(a.stack('S')!.value(t.Outputs.Ids.Value)).split(',');
    expect(ids.map((x) => x.split(':')[0])).toEqual(['ap-northeast-1a', 'ap-northeast-1c']);
    expect(ids.map((x) => a.ids.lookup(x.split(':')[1]))).toEqual([{ stack: 'S', logicalId: 'Fw', attribute: 'EndpointIds', index: 0 }, { stack: 'S', logicalId: 'Fw', attribute: 'EndpointIds', index: 1 }]);
    const picked = a.stack('S')!.value(t.Resources.R.Properties.VpcEndpointId);
    expect(a.ids.lookup(picked)).toEqual({ stack: 'S', logicalId: 'Fw', attribute: 'EndpointIds', index: 'any' });
  });

  test('Fn::ImportValue across stacks (export names built with Fn::Sub), and what cannot be known stays marked', () => {
    const hub = { Resources: { Tgw: { Type: 'AWS::EC2::TransitGateway' } }, Outputs: { T: { Value: { Ref: 'Tgw' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-tgw' } } } } };
    const spoke = { Resources: { C: { Type: 'Custom::Thing' }, X: { Type: 'AWS::EC2::Route', Properties: { TransitGatewayId: { 'Fn::ImportValue': 'Hub-tgw' }, GatewayId: { 'Fn::GetAtt': ['C', 'Id'] }, Other: { 'Fn::ImportValue': 'nope' } } } } };
    const a = new AssemblyResolver([{ name: 'Hub', template: hub }, { name: 'Spoke', template: spoke }]);
    const p = a.stack('Spoke')!.value(spoke.Resources.X.Properties);
    expect(a.ids.lookup(p.TransitGatewayId)).toEqual({ stack: 'Hub', logicalId: 'Tgw' });
    expect(p.GatewayId['Fn::Unresolved']).toMatch(/custom resource C/);
    expect(p.Other['Fn::Unresolved']).toMatch(/no stack of this assembly exports it/);
  });
});

describe('malformed input exits 2 naming the file and the field; only findings exit 1', () => {
  function cli(...args: string[]) {
    return spawnSync(process.execPath, ['--import', 'tsx', 'bin/check-isolation.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  }
  const intentWith = (edit: (i: any) => void): string => {
    const i = JSON.parse(fs.readFileSync(path.join(PEER, `${DISTRIBUTED}.intent.json`), 'utf8'));
    edit(i);
    const f = path.join(tmpDir('intent'), 'intent.json');
    fs.writeFileSync(f, JSON.stringify(i));
    return f;
  };
  const tpl = path.join(PEER, `${DISTRIBUTED}.yaml`);
  const thrown = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return `${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
    return 'no error';
  };

  test('the CLI: exit 1 on findings, 2 on an intent without enforcedBy, bad JSON, a missing template', () => {
    const ok = cli(tpl, '--intent', path.join(PEER, `${DISTRIBUTED}.intent.json`), '--report', path.join(tmpDir('r'), 'r.json'));
    expect(ok.status).toBe(1); // the pack's per-resource rules (endpoint policies, flow logs) find things in a foreign template
    const noEnforced = cli(tpl, '--intent', intentWith((i) => delete i.crossings[0].enforcedBy));
    expect(noEnforced.status).toBe(2);
    expect(noEnforced.stderr).toMatch(/intent\.json: the isolation intent is malformed: crossings\[0\]\.enforcedBy: required/);
    const missing = cli('/nonexistent/t.yaml', '--intent', path.join(PEER, `${DISTRIBUTED}.intent.json`));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/t\.yaml: no such directory/);
    const bad = path.join(tmpDir('bad'), 'intent.json');
    fs.writeFileSync(bad, '{ "schema": ');
    expect(thrown(() => checkAssembly([tpl], { intent: bad }))).toMatch(/IntentError: .*intent\.json: the isolation intent is not valid JSON/);
    expect(thrown(() => checkAssembly([tpl]))).toMatch(/IntentError: no isolation intent: pass --intent FILE/);
  }, 120_000);

  test('an unknown zone, in the intent or in a template tag, names the field', () => {
    expect(thrown(() => checkAssembly([tpl], { intent: intentWith((i) => (i.zones[0].zone = 'lgwann')) }))).toMatch(/IntentError: .*intent\.json: the isolation intent is malformed: zones\[0\]\.zone: unknown zone "lgwann"/);
    expect(thrown(() => checkAssembly([tpl], { intent: intentWith((i) => (i.crossings[1].to = 'moon')) }))).toMatch(/crossings\[1\]\.to: unknown destination "moon"/);
    const v = variant(DISTRIBUTED, (t) => retag(t, 'SpokeVPCB', 'lgwann'));
    expect(thrown(() => run(v.template, v.intent))).toMatch(/AssemblyError: .*\.json: Resources\.SpokeVPCB\.Properties\.Tags: ThreeTier:Zone "lgwann" is not a zone/);
  });

  test('a resource without Type, an undeclared Condition, a parameter file naming an unknown parameter or a value outside AllowedValues', () => {
    expect(thrown(() => run(variant(DISTRIBUTED, (t) => delete t.Resources.PublicSubnet.Type).template, path.join(PEER, `${DISTRIBUTED}.intent.json`)))).toMatch(/AssemblyError: .*Resources\.PublicSubnet\.Type: missing/);
    expect(thrown(() => run(variant(DISTRIBUTED, (t) => (t.Resources.PublicSubnet.Condition = 'Nope')).template, path.join(PEER, `${DISTRIBUTED}.intent.json`)))).toMatch(/Resources\.PublicSubnet\.Condition: "Nope" is not declared in Conditions/);
    const unknown = variant(DISTRIBUTED, () => {}, () => {}, { Nope: 'x' });
    expect(thrown(() => run(unknown.template, unknown.intent))).toMatch(/AssemblyError: .*parameters\.json: Parameters\.Nope: a value is supplied but the template declares no such parameter/);
    const notAllowed = variant(DISTRIBUTED, (t) => (t.Parameters.Mode = { Type: 'String', Default: 'a', AllowedValues: ['a', 'b'] }), () => {}, { Mode: 'c' });
    expect(thrown(() => run(notAllowed.template, notAllowed.intent))).toMatch(/Parameters\.Mode: value "c" is not one of its AllowedValues \(a, b\)/);
    const dir = path.dirname(unknown.template);
    fs.writeFileSync(path.join(dir, `${DISTRIBUTED}.parameters.json`), '[{"ParameterKey": "X"}]');
    expect(thrown(() => run(unknown.template, unknown.intent))).toMatch(/parameters\.json: \[0\]\.ParameterValue: missing for X/);
  });
});
