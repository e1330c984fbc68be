import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { SHIPPED_CONFIGS, validateConfig } from '../config';
import { ConfigError } from '../config/errors';
import { movedSystemCidrs } from '../config/subnet-plan';
import { DESIGN_RULES, readIntent } from '../lib/isolation/intent';
import { checkIsolationCli } from '../lib/isolation/cli';
import { check, editIntent, editTemplate, freshAssembly, importOf, readTemplate, resourcesOf, stackNames, summary, vpcId, zoneStack } from './helpers/assembly';
import { synthShipped } from './helpers/synth';

/**
 * Models β and β′ (issue #18): crossing B1 (internet-tier terminals → the LGWAN systems'
 * screen-transfer port, PrivateLink with the provider in lgwan) and B2 (business systems
 * moved into the internet tier). The shipped `beta` and `beta-prime` configs are
 * synthesized once (shared cache); every mutation edits a private copy.
 */

const CODE = '131016';
const LGWAN_CIDR = '10.1.16.0/20';
const OFFICE = '192.168.30.0/24';

const screenStack = (d: string): string => stackNames(d).find((s) => s.endsWith(`-${CODE}-InternetScreen`))!;
const of = (t: any, type: string): [string, any][] => resourcesOf(t, type);
/** The B1 provider parts in the lgwan template: load balancers, listeners, target groups, endpoint services, permissions. */
function provider(t: any) {
  return {
    nlbs: of(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer').filter(([id]) => id.startsWith('BetaScreen')),
    listeners: of(t, 'AWS::ElasticLoadBalancingV2::Listener').filter(([id]) => id.startsWith('BetaScreen')),
    groups: of(t, 'AWS::ElasticLoadBalancingV2::TargetGroup').filter(([id]) => id.startsWith('BetaScreen')),
    services: of(t, 'AWS::EC2::VPCEndpointService'),
    permissions: of(t, 'AWS::EC2::VPCEndpointServicePermissions'),
  };
}

function cli(dir: string): { status: number; out: string } {
  let out = '';
  const status = checkIsolationCli([dir], { out: (x) => (out += x), err: (x) => (out += x) });
  return { status, out };
}

function expectCaught(d: string, rules: string[], analyzer: RegExp[] = [], messages: RegExp[] = []): void {
  const r = check(d);
  const s = summary(r);
  assert.equal(r.verdict, 'mismatch');
  for (const rule of rules) assert.ok(s.rules.includes(rule), `pack rule ${rule} fires; got ${s.rules.join(', ') || 'none'}`);
  for (const re of analyzer) assert.ok(s.analyzer.some((f) => re.test(f)), `analyzer finds ${re}; got:\n  ${s.analyzer.join('\n  ') || 'nothing'}`);
  const texts = r.pack.findings.map((f) => `${f.rule} ${f.stack}/${f.logicalId}: ${f.message}`);
  for (const re of messages) assert.ok(texts.some((x) => re.test(x)), `a pack finding says ${re}; got:\n  ${texts.join('\n  ') || 'nothing'}`);
  assert.equal(cli(d).status, 1, 'check-isolation exits 1');
}

describe('β: crossing B1, screen transfer from the internet tier into lgwan', () => {
  const s = synthShipped('beta');
  const intent = readIntent(s.outdir);
  const lgwan = readTemplate(s.outdir, zoneStack(s.outdir, CODE, 'lgwan'));
  const screen = readTemplate(s.outdir, screenStack(s.outdir));
  const systems = SHIPPED_CONFIGS.beta.municipalities[0].beta!.screenSystems;

  test('the intent lists B1 per system (internet → lgwan, privatelink, that system\'s port) with its enforcing resources by logical id', () => {
    const b1 = intent.crossings.filter((c) => c.id === 'B1');
    assert.equal(b1.length, systems.length);
    assert.deepEqual(b1.map((c) => [c.municipality, c.from, c.to, c.mechanism, c.ports]), systems.map((x) => [CODE, 'internet', 'lgwan', 'privatelink', [x.port]]));
    for (const c of b1) {
      // The internet endpoint and its security group, the lgwan endpoint service and its NLB.
      assert.equal(c.enforcedBy.length, 4);
      const types = c.enforcedBy.map((e) => readTemplate(s.outdir, e.stack).Resources[e.logicalId!]?.Type).sort();
      assert.deepEqual(types, ['AWS::EC2::SecurityGroup', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::VPCEndpointService', 'AWS::ElasticLoadBalancingV2::LoadBalancer']);
    }
    assert.ok(DESIGN_RULES.some((r) => /into mynumber or lgwan .* except the privatelink crossings the intent lists/.test(r)));
    assert.equal(intent.crossings.filter((x) => x.id === 'B2').length, 0, 'β moves no system');
  });

  test('lgwan: one internal NLB per system, one listener on its port, the system\'s host as the only IP target; the service admits this account only', () => {
    const p = provider(lgwan);
    assert.equal(p.nlbs.length, systems.length);
    for (const [, nlb] of p.nlbs) assert.equal(nlb.Properties.Scheme, 'internal');
    assert.deepEqual(p.listeners.map(([, l]) => l.Properties.Port), systems.map((x) => x.port));
    assert.deepEqual(
      p.groups.map(([, g]) => [g.Properties.TargetType, g.Properties.Targets]),
      systems.map((x) => ['ip', [{ Id: x.address, Port: x.port }]]),
    );
    assert.equal(p.services.length, systems.length);
    for (const [, perm] of p.permissions) {
      assert.deepEqual(perm.Properties.AllowedPrincipals, [{ 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] }]);
    }
  });

  test('internet (its own stack, tagged internet): an endpoint per service, admitting only the internet-tier office segments on the port', () => {
    const eps = of(screen, 'AWS::EC2::VPCEndpoint');
    assert.equal(eps.length, systems.length);
    for (const [, ep] of eps) assert.ok(JSON.stringify(ep.Properties.ServiceName).includes('com.amazonaws.vpce'));
    const sgs = of(screen, 'AWS::EC2::SecurityGroup');
    assert.deepEqual(
      sgs.map(([, g]) => g.Properties.SecurityGroupIngress.map((e: any) => [e.CidrIp, e.IpProtocol, e.FromPort, e.ToPort])),
      systems.map((x) => [[OFFICE, 'tcp', x.port, x.port]]),
    );
    for (const [, r] of [...eps, ...sgs]) assert.ok(r.Properties.Tags.some((t: any) => t.Key === 'ThreeTier:Zone' && t.Value === 'internet'));
  });

  test('the unmodified assembly checks clean (exit 0) and B1 permits internet → lgwan on the systems\' ports only', () => {
    const d = freshAssembly('beta');
    const r = check(d);
    assert.deepEqual(summary(r), { rules: [], analyzer: [] });
    const into = r.analyzer.reaches.filter((x) => x.from === `internet@${CODE}` && x.to === `lgwan@${CODE}`);
    assert.equal(into.length, systems.length);
    assert.deepEqual(into.map((x) => [x.mechanism, x.ports, x.permittedBy]).sort(), systems.map((x) => ['privatelink', [x.port], 'B1']).sort());
    assert.equal(cli(d).status, 0);
  });

  test('(a′) a system\'s NLB moved to another system\'s port: each service is held to its own system\'s crossing', () => {
    const [rdp, dcv] = systems;
    assert.notEqual(rdp.port, dcv.port, 'the shipped β config has systems on two ports');
    const d = freshAssembly('beta');
    editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      const [, l] = provider(t).listeners.find(([, x]) => x.Properties.Port === dcv.port)!;
      l.Properties.Port = rdp.port;
    });
    // The analyzer alone would accept it (another B1 allows that port); PL1 ties the service to its crossing.
    expectCaught(d, ['ThreeTier-PL1'], [], [new RegExp(`PL1 .*listens on ${rdp.port} .*which crossing B1 into lgwan does not list \\(its ports: ${dcv.port}\\)`)]);
  });

  test('(a) an extra NLB listener on 445: internet reaches lgwan on a port B1 does not list', () => {
    const d = freshAssembly('beta');
    editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      const [id, l] = provider(t).listeners[0];
      t.Resources[`${id}Smb`] = { ...structuredClone(l), Properties: { ...structuredClone(l.Properties), Port: 445 } };
    });
    expectCaught(d, ['ThreeTier-PL1'], [/forbidden-reach: internet@131016 reaches lgwan@131016 via privatelink \(ports 3389, 445\), which no crossing permits/], [/PL1 .*listens on 445 .*which crossing B1 into lgwan does not list \(its ports: 3389\)/]);
  });

  test('(b) an endpoint service in lgwan that the intent does not list', () => {
    const d = freshAssembly('beta');
    editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      const [sid, svc] = provider(t).services[0];
      t.Resources.UnlistedService = structuredClone(svc);
      const [pid, perm] = provider(t).permissions.find(([, x]) => x.Properties.ServiceId.Ref === sid)!;
      t.Resources[`${pid}Unlisted`] = { ...structuredClone(perm), Properties: { ...structuredClone(perm.Properties), ServiceId: { Ref: 'UnlistedService' } } };
    });
    expectCaught(d, ['ThreeTier-PL1'], [], [/PL1 \S+\/UnlistedService: endpoint service provided from the lgwan zone of 131016, which no privatelink crossing of the intent lists/]);
  });

  test('(b\') the same template with B1 taken out of the intent: the pack and the analyzer both refuse the services', () => {
    const d = freshAssembly('beta');
    editIntent(d, (i) => {
      i.crossings = i.crossings.filter((c) => c.id !== 'B1');
    });
    expectCaught(d, ['ThreeTier-PL1'], [/forbidden-reach: internet@131016 reaches lgwan@131016 via privatelink \(ports 3389\), which no crossing permits/]);
  });

  test('(c) the lgwan endpoint service allows every principal ("*")', () => {
    const d = freshAssembly('beta');
    editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      provider(t).permissions[0][1].Properties.AllowedPrincipals = ['*'];
    });
    expectCaught(d, ['ThreeTier-PL1'], [], [/PL1 .*allowed principals of the endpoint service into lgwan include "\*"/]);
  });

  test('(c\') the lgwan NLB forwards past lgwan: its IP target moved to an LGWAN-network address (the mail peer, reachable over the zone\'s VPN)', () => {
    const d = freshAssembly('beta');
    editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      provider(t).groups[0][1].Properties.Targets = [{ Id: '172.20.2.25', Port: 3389, AvailabilityZone: 'all' }];
    });
    expectCaught(d, ['ThreeTier-PL1'], [], [/PL1 .*target group \S+ sends the crossing to 172\.20\.2\.25, outside the lgwan zone \(10\.1\.16\.0\/20\)/]);
  });

  test('(a) on pilot (model α, no B1): the same NLB in lgwan with a listener on 445 and an endpoint to it from internet is caught', () => {
    const beta = freshAssembly('beta');
    const source = readTemplate(beta, zoneStack(beta, CODE, 'lgwan'));
    const p = provider(source);
    const d = freshAssembly('pilot');
    const lgwanStack = zoneStack(d, CODE, 'lgwan');
    const [nlbId] = p.nlbs[0];
    const [listenerId, listener] = p.listeners[0];
    const [groupId] = p.groups[0];
    const [serviceId] = p.services.find(([, x]) => x.Properties.NetworkLoadBalancerArns[0].Ref === nlbId)!;
    editTemplate(d, lgwanStack, (t) => {
      // Same subnets (the zone VPC's logical ids do not depend on the config).
      for (const id of [nlbId, groupId, serviceId]) t.Resources[id] = structuredClone(source.Resources[id]);
      t.Resources[listenerId] = { ...structuredClone(listener), Properties: { ...structuredClone(listener.Properties), Port: 445 } };
    });
    const svc = importOf(d, lgwanStack, serviceId);
    const internetStack = zoneStack(d, CODE, 'internet');
    editTemplate(d, internetStack, (t) => {
      const subnet = of(t, 'AWS::EC2::Subnet')[0][0];
      t.Resources.SmbEndpoint = { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Interface', VpcId: { Ref: vpcId(t) }, SubnetIds: [{ Ref: subnet }], ServiceName: { 'Fn::Join': ['.', ['com.amazonaws.vpce', { Ref: 'AWS::Region' }, svc]] } } };
    });
    expectCaught(d, ['ThreeTier-PL1'], [/forbidden-reach: internet@131016 reaches lgwan@131016 via privatelink \(ports 445\), which no crossing permits/], [/PL1 .*endpoint service provided from the lgwan zone of 131016, which no privatelink crossing of the intent lists/]);
  });
});

describe('β′: crossing B2, business systems moved into the internet tier', () => {
  const s = synthShipped('beta-prime');
  const intent = readIntent(s.outdir);
  const internetName = zoneStack(s.outdir, CODE, 'internet');
  const internet = readTemplate(s.outdir, internetName);
  const moved = SHIPPED_CONFIGS['beta-prime'].municipalities[0].betaPrime!.movedSystems;
  const azs = SHIPPED_CONFIGS['beta-prime'].availabilityZones;
  const b2 = intent.crossings.filter((c) => c.id === 'B2');
  const listed = (type: string, name: string): string[] => b2.find((c) => c.description.includes(` ${name},`))!.enforcedBy.map((e) => e.logicalId!).filter((id) => internet.Resources[id]?.Type === type);

  test('the intent lists B2 per moved system (internet → its office segments, its ports) and keeps B1 for the remaining LGWAN system', () => {
    assert.equal(b2.length, moved.length);
    for (const c of b2) {
      assert.deepEqual([c.municipality, c.from, c.to, c.mechanism, c.ports, c.destinations], [CODE, 'internet', 'office', 'vpn', [443], [OFFICE]]);
      assert.equal(c.enforcedBy.length, 1 + 2 * azs.length);
    }
    assert.equal(intent.crossings.filter((c) => c.id === 'B1').length, 1);
  });

  test('each moved system: a /26 per AZ after the plan\'s subnets, its own security group and flow logs, routes only to the security cloud and the office', () => {
    const plan = movedSystemCidrs('10.1.32.0/20', azs.length, moved.length);
    assert.deepEqual(plan.cidrs, [['10.1.42.64/26', '10.1.42.128/26'], ['10.1.42.192/26', '10.1.43.0/26']]);
    moved.forEach((sys, k) => {
      const subnets = listed('AWS::EC2::Subnet', sys.name);
      assert.deepEqual(subnets.map((id) => internet.Resources[id].Properties!.CidrBlock), plan.cidrs[k]);
      for (const id of subnets) {
        const rt = of(internet, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === id)![1].Properties.RouteTableId.Ref;
        const routes = of(internet, 'AWS::EC2::Route').filter(([, r]) => r.Properties.RouteTableId.Ref === rt).map(([, r]) => [r.Properties.DestinationCidrBlock, Object.keys(r.Properties).find((x) => x.endsWith('Id') && x !== 'RouteTableId')]);
        assert.deepEqual(routes.sort(), [['0.0.0.0/0', 'TransitGatewayId'], [OFFICE, 'GatewayId']]);
        const logs = of(internet, 'AWS::EC2::FlowLog').filter(([, f]) => f.Properties.ResourceId.Ref === id);
        assert.deepEqual(logs.map(([, f]) => [f.Properties.ResourceType, f.Properties.TrafficType]), [['Subnet', 'ALL']]);
      }
      const [sg] = listed('AWS::EC2::SecurityGroup', sys.name);
      assert.deepEqual(internet.Resources[sg].Properties!.SecurityGroupIngress.map((e: any) => [e.CidrIp, e.FromPort, e.ToPort]), sys.ports.map((p) => [OFFICE, p, p]));
    });
  });

  test('the moved systems\' subnets lie inside the internet CIDR and overlap none of the VPC\'s other subnets (as the VPC allocated them)', () => {
    const range = (c: string): [number, number] => {
      const [ip, bits] = c.split('/');
      const start = ip.split('.').reduce((a, x) => a * 256 + Number(x), 0);
      return [start, start + 2 ** (32 - Number(bits)) - 1];
    };
    const cidrs = of(internet, 'AWS::EC2::Subnet').map(([id, r]) => [id, range(r.Properties.CidrBlock)] as const);
    const [vpcStart, vpcEnd] = range('10.1.32.0/20');
    for (const [id, [a, b]] of cidrs) {
      assert.ok(a >= vpcStart && b <= vpcEnd, id);
      for (const [other, [c, d]] of cidrs) if (other !== id) assert.ok(b < c || d < a, `${id} overlaps ${other}`);
    }
    assert.equal(cidrs.length, 3 * azs.length + moved.length * azs.length);
  });

  test('the unmodified assembly checks clean (exit 0); mynumber has nothing of the moved systems', () => {
    const d = freshAssembly('beta-prime');
    assert.deepEqual(summary(check(d)), { rules: [], analyzer: [] });
    assert.equal(cli(d).status, 0);
    const mynumber = JSON.stringify(readTemplate(d, zoneStack(d, CODE, 'mynumber')));
    assert.ok(!/MovedSystems|BetaScreen/.test(mynumber));
  });

  test('(d) a moved system\'s subnet routed to lgwan (through the Transit Gateway, which the hub would drop: the pack still refuses the route)', () => {
    const d = freshAssembly('beta-prime');
    editTemplate(d, internetName, (t) => {
      const subnet = listed('AWS::EC2::Subnet', moved[0].name)[0];
      const rt = of(t, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === subnet)![1].Properties.RouteTableId.Ref;
      const [, def] = of(t, 'AWS::EC2::Route').find(([, r]) => r.Properties.RouteTableId.Ref === rt && r.Properties.DestinationCidrBlock === '0.0.0.0/0')!;
      t.Resources.MovedToLgwan = { ...structuredClone(def), Properties: { ...structuredClone(def.Properties), DestinationCidrBlock: LGWAN_CIDR } };
    });
    expectCaught(d, ['ThreeTier-CX1'], [], [/CX1 \S+: route MovedToLgwan sends 10\.1\.16\.0\/20 \(the lgwan zone of 131016\) from a subnet of crossing B2: no route to another zone/]);
  });

  test('(d\') the same route through the office VPN gateway: the pack and the analyzer both refuse it', () => {
    const d = freshAssembly('beta-prime');
    editTemplate(d, internetName, (t) => {
      const subnet = listed('AWS::EC2::Subnet', moved[1].name)[1];
      const rt = of(t, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === subnet)![1].Properties.RouteTableId.Ref;
      const [, office] = of(t, 'AWS::EC2::Route').find(([, r]) => r.Properties.RouteTableId.Ref === rt && r.Properties.DestinationCidrBlock === OFFICE)!;
      t.Resources.MovedToLgwanByVpn = { ...structuredClone(office), Properties: { ...structuredClone(office.Properties), DestinationCidrBlock: LGWAN_CIDR } };
    });
    expectCaught(d, ['ThreeTier-CX1'], [/forbidden-reach: internet@131016 reaches external:vgw:terminal-landing via route/]);
  });

  test('(e) a moved system\'s security group open to 0.0.0.0/0', () => {
    const d = freshAssembly('beta-prime');
    editTemplate(d, internetName, (t) => {
      const [sg] = listed('AWS::EC2::SecurityGroup', moved[0].name);
      t.Resources[sg].Properties!.SecurityGroupIngress.push({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
    });
    expectCaught(d, ['ThreeTier-CX2'], [/forbidden-reach: internet@131016 admits traffic from 0\.0\.0\.0\/0 \(anywhere\) via security-group \(ports 443\)/], [/CX2 .*admits tcp 443 from 0\.0\.0\.0\/0; crossing B2 admits only the office segments 192\.168\.30\.0\/24/]);
  });

  test('(e\') a moved system\'s security group admits the office on a port its crossing does not list', () => {
    const d = freshAssembly('beta-prime');
    editTemplate(d, internetName, (t) => {
      t.Resources.PayrollRdp = { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: { 'Fn::GetAtt': [listed('AWS::EC2::SecurityGroup', moved[0].name)[0], 'GroupId'] }, CidrIp: OFFICE, IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389 } };
    });
    expectCaught(d, ['ThreeTier-CX2'], [], [/CX2 \S+\/PayrollRdp: admits tcp 3389 from 192\.168\.30\.0\/24; crossing B2 admits only tcp 443/]);
  });

  test('(e\'\') a moved system\'s flow log removed', () => {
    const d = freshAssembly('beta-prime');
    editTemplate(d, internetName, (t) => {
      const subnet = listed('AWS::EC2::Subnet', moved[1].name)[0];
      for (const [id, f] of of(t, 'AWS::EC2::FlowLog')) if (f.Properties.ResourceId.Ref === subnet) delete t.Resources[id];
    });
    expectCaught(d, ['ThreeTier-CX1'], [], [/CX1 \S+: subnet of crossing B2 has no flow log of ALL traffic of its own/]);
  });
});

describe('β′ config: the moved systems must fit the internet CIDR', () => {
  test('a /22 too small for three moved systems is refused with the field and the fix', () => {
    const base = SHIPPED_CONFIGS['beta-prime'];
    const m = base.municipalities[0];
    const cfg = {
      ...base,
      municipalities: [{ ...m, cidrs: { ...m.cidrs, internet: '10.1.32.0/22' }, betaPrime: { movedSystems: [{ name: 'payroll', ports: [443] }, { name: 'finance', ports: [443] }, { name: 'documents', ports: [443] }] } }],
    };
    assert.throws(
      () => validateConfig(cfg, 'beta-prime'),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => /^municipalities\[0\]\.cidrs\.internet: "10\.1\.32\.0\/22" is too small for the 3 systems in betaPrime\.movedSystems .*use a \/21 or larger, or move fewer systems$/.test(p)),
    );
    // Two fit.
    validateConfig({ ...cfg, municipalities: [{ ...cfg.municipalities[0], betaPrime: { movedSystems: cfg.municipalities[0].betaPrime.movedSystems.slice(0, 2) } }] }, 'beta-prime');
  });
});
