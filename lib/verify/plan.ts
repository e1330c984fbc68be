import { AccessScopePathRequest } from '@aws-sdk/client-ec2';
import { INTERFACE_ENDPOINT_SERVICES, Crossing, CrossingId, IsolationIntent } from '../isolation/intent';
import { ISOLATED, ZoneName } from '../isolation/zones';
import { DeployedInstance, DeployedVpc, Inventory } from './inventory';

/**
 * The live checks of one intent against what is deployed: every forbidden
 * reach becomes a Network Access Analyzer scope that must have no findings,
 * every permitted network crossing a Reachability Analyzer path that must be
 * reachable. Pure: it only reads the intent and the inventory.
 */

export interface ScopeSpec {
  readonly matchPaths: AccessScopePathRequest[];
  readonly excludePaths: AccessScopePathRequest[];
}

export interface PathSpec {
  readonly source: string;
  readonly destination: string;
  readonly destinationIp?: string;
  readonly port?: number;
  readonly protocol: 'tcp';
}

export interface Check {
  /** Stable id for reports, e.g. `forbidden:131016/mynumber:igw`. */
  readonly id: string;
  readonly kind: 'forbidden' | 'permitted';
  readonly title: string;
  readonly municipality?: string;
  /** Permitted checks: the crossing of the intent they prove. */
  readonly crossing?: CrossingId;
  /** The DESIGN rule a forbidden check enforces. */
  readonly rule?: string;
  readonly scope?: ScopeSpec;
  readonly path?: PathSpec;
  /** Resources the check needs that are not deployed. */
  readonly missing?: string[];
  /** Why the check cannot be analysed live (listed, does not fail the run). */
  readonly skipped?: string;
}

export interface Plan {
  readonly checks: Check[];
  /** Intent zones with no deployed VPC, as `<municipality>/<zone>`. */
  readonly missingZones: string[];
}

const IGW = 'AWS::EC2::InternetGateway';
const VGW = 'AWS::EC2::VPNGateway';

const res = (ids: string[]) => ({ ResourceStatement: { Resources: ids } });
const types = (t: string[]) => ({ ResourceStatement: { ResourceTypes: t } });

function label(v: { zone: ZoneName; municipality?: string }): string {
  return v.municipality ? `${v.municipality}/${v.zone}` : v.zone;
}

/** The exclusions of a source VPC: the intent's crossings from its zone, as packet headers to their targets. */
function exclusionsFrom(src: DeployedVpc, crossings: Crossing[], inv: Inventory): AccessScopePathRequest[] {
  const out: AccessScopePathRequest[] = [];
  for (const c of crossings) {
    if (c.from !== src.zone || (c.municipality && c.municipality !== src.municipality)) continue;
    const ports = c.ports.map(String);
    const header = {
      ...(c.destinations?.length ? { DestinationAddresses: c.destinations } : {}),
      ...(ports.length ? { DestinationPorts: ports } : {}),
      Protocols: ['tcp' as const],
    };
    let targets: string[] = [];
    if (c.to === 'lgwan-network') {
      targets = inv.vpcs.filter((v) => v.zone === 'lgwan-network').map((v) => v.id);
      const vgws = inv.vpnGateways.filter((g) => g.vpcId === src.id).map((g) => g.id);
      if (vgws.length) out.push({ Source: res([src.id]), Destination: { ...res(vgws), PacketHeaderStatement: header } });
    } else if (c.to === 'office') {
      const vgws = inv.vpnGateways.filter((g) => g.vpcId === src.id).map((g) => g.id);
      if (vgws.length) out.push({ Source: res([src.id]), Destination: { ...res(vgws), PacketHeaderStatement: header } });
      continue;
    } else if (c.to !== 'aws-apis' && c.to !== 'public-internet') {
      // The crossing's target zone of the same municipality; in the security cloud, the hub (no municipality) or the municipality's own VPC there (the α′ proxy).
      targets = inv.vpcs.filter((v) => v.zone === c.to && (v.municipality === src.municipality || (v.zone === 'security-cloud' && !v.municipality))).map((v) => v.id);
    }
    if (targets.length) out.push({ Source: res([src.id]), Destination: { ...res(targets), PacketHeaderStatement: header } });
  }
  return out;
}

export function planChecks(intent: IsolationIntent, inv: Inventory, opts: { probes: boolean }): Plan {
  const checks: Check[] = [];
  const missingZones: string[] = [];
  // A zone's VPC: the hub is the security-cloud VPC without a municipality; a municipality's own VPC in the security cloud (the α′ proxy) carries its code.
  const zoneVpc = (municipality: string | undefined, zone: ZoneName): DeployedVpc | undefined => inv.vpcs.find((v) => v.zone === zone && v.municipality === municipality);
  for (const z of intent.zones) if (!zoneVpc(z.municipality, z.zone)) missingZones.push(label(z));

  const tenantVpcs = inv.vpcs.filter((v) => v.municipality && v.zone !== 'lgwan-network');
  const hubVpcs = inv.vpcs.filter((v) => v.zone === 'security-cloud');
  const lgwanNetworkVpcs = inv.vpcs.filter((v) => v.zone === 'lgwan-network');

  // Forbidden reaches, per deployed zone VPC of the intent.
  for (const z of intent.zones) {
    if (!z.municipality) continue;
    const v = zoneVpc(z.municipality, z.zone);
    const name = label(z);
    if (!v) {
      checks.push({ id: `forbidden:${name}:all`, kind: 'forbidden', municipality: z.municipality, title: `${name}: every forbidden reach`, rule: 'Anything not listed in crossings is forbidden.', missing: [`VPC of ${name} (tags ThreeTier:Zone=${z.zone}, ThreeTier:Municipality=${z.municipality})`] });
      continue;
    }
    const isolated = ISOLATED.includes(z.zone);
    if (isolated) {
      checks.push({
        id: `forbidden:${name}:igw`,
        kind: 'forbidden',
        municipality: z.municipality,
        title: `${name} → any internet gateway`,
        rule: 'Isolated zones never reach the internet.',
        scope: { matchPaths: [{ Source: res([v.id]), Destination: types([IGW]) }], excludePaths: [] },
      });
    }
    const siblings = tenantVpcs.filter((o) => o.municipality === z.municipality && o.id !== v.id).map((o) => o.id);
    const targets = [...new Set([...siblings, ...hubVpcs.map((h) => h.id), ...lgwanNetworkVpcs.map((l) => l.id)])];
    const matchPaths: AccessScopePathRequest[] = [{ Source: res([v.id]), Destination: res(targets) }];
    const vgws = inv.vpnGateways.filter((g) => g.vpcId === v.id).map((g) => g.id);
    if (vgws.length) matchPaths.push({ Source: res([v.id]), Destination: types([VGW]) });
    if (targets.length || vgws.length) {
      checks.push({
        id: `forbidden:${name}:zones`,
        kind: 'forbidden',
        municipality: z.municipality,
        title: `${name} → other zones, the security cloud and outside networks, except its crossings`,
        rule: 'No route between zone VPCs; only the listed crossings, on their ports and addresses.',
        scope: { matchPaths, excludePaths: exclusionsFrom(v, intent.crossings, inv) },
      });
    }
    const others = tenantVpcs.filter((o) => o.municipality !== z.municipality).map((o) => o.id);
    if (others.length) {
      checks.push({
        id: `forbidden:${name}:tenants`,
        kind: 'forbidden',
        municipality: z.municipality,
        title: `${name} → other municipalities (tenant → tenant)`,
        rule: 'Tenants of a security cloud cannot reach each other.',
        scope: { matchPaths: [{ Source: res([v.id]), Destination: res(others) }], excludePaths: [] },
      });
    }
    if (z.zone === 'internet') {
      const firewall = inv.firewallAttachments;
      checks.push({
        id: `forbidden:${name}:bypass`,
        kind: 'forbidden',
        municipality: z.municipality,
        title: `${name} → internet gateway without crossing the Network Firewall`,
        rule: 'Every byte between a municipality and the internet crosses the firewall.',
        ...(firewall.length
          ? { scope: { matchPaths: [{ Source: res([v.id]), Destination: types([IGW]) }], excludePaths: [{ Source: res([v.id]), Destination: types([IGW]), ThroughResources: [res(firewall)] }] } }
          : { missing: ['Transit Gateway attachment of the Network Firewall (resource type network-function) on the hub tagged ThreeTier:Config'] }),
      });
    }
  }
  const isolatedVpcs = inv.vpcs.filter((v) => ISOLATED.includes(v.zone) && v.municipality);
  if (isolatedVpcs.length) {
    checks.push({
      id: 'forbidden:igw:isolated',
      kind: 'forbidden',
      title: 'any internet gateway → isolated zones',
      rule: 'No connection is ever initiated into mynumber or lgwan from the internet.',
      scope: { matchPaths: [{ Source: types([IGW]), Destination: res(isolatedVpcs.map((v) => v.id)) }], excludePaths: [] },
    });
  }

  // Permitted crossings, as paths that must be reachable.
  const probe = (code: string | undefined, zone: ZoneName): DeployedInstance | undefined => inv.instances.find((i) => i.role === 'probe' && i.zone === zone && i.municipality === code);
  for (const c of intent.crossings) checks.push(...permittedChecks(c, inv, opts.probes, probe, zoneVpc));
  return { checks, missingZones };
}

function permittedChecks(
  c: Crossing,
  inv: Inventory,
  probes: boolean,
  probe: (code: string | undefined, zone: ZoneName) => DeployedInstance | undefined,
  zoneVpc: (code: string | undefined, zone: ZoneName) => DeployedVpc | undefined,
): Check[] {
  const where = c.municipality ? `${c.municipality}/` : '';
  const base = { kind: 'permitted' as const, crossing: c.id, municipality: c.municipality };
  const noProbes = 'this config deploys no probes; set probes: true (the lab config does) to prove permitted crossings live';
  const out: Check[] = [];
  const needProbe = (zone: ZoneName, id: string, title: string, build: (p: DeployedInstance) => Check | undefined): void => {
    if (!probes) {
      out.push({ ...base, id, title, skipped: noProbes });
      return;
    }
    const p = probe(c.municipality, zone);
    if (!p) {
      out.push({ ...base, id, title, missing: [`probe instance in ${where}${zone} (tag ThreeTier:Role=probe)`] });
      return;
    }
    const check = build(p);
    if (check) out.push(check);
  };
  const endpoint = (zone: ZoneName, match: (serviceName: string) => boolean) => {
    const vpc = zoneVpc(c.municipality, zone);
    return vpc ? inv.endpoints.find((e) => e.vpcId === vpc.id && match(e.serviceName)) : undefined;
  };
  const endpointCheck = (id: string, title: string, zone: ZoneName, what: string, match: (s: string) => boolean, port: number) =>
    needProbe(zone, id, title, (p) => {
      const e = endpoint(zone, match);
      return e ? { ...base, id, title, path: { source: p.id, destination: e.id, port, protocol: 'tcp' } } : { ...base, id, title, missing: [`${what} in ${where}${zone}`] };
    });

  if (c.mechanism === 'vpc-endpoint' && c.to === 'aws-apis') {
    for (const svc of c.services ?? []) {
      const id = `permitted:${c.id}:${where}${c.from}:${svc}`;
      const title = `${where}${c.from} probe → ${svc} endpoint :443 (${c.id})`;
      if (svc === 's3') {
        out.push({ ...base, id, title, skipped: 'S3 is reached through a gateway endpoint (a route, not an ENI): Reachability Analyzer cannot target it; the endpoint policy is checked statically (ThreeTier S3P rules)' });
      } else if ((INTERFACE_ENDPOINT_SERVICES as readonly string[]).includes(svc) || svc === 'appstream.streaming' || svc === 'sqs') {
        endpointCheck(id, title, c.from, `${svc} interface endpoint`, (s) => s.endsWith(`.${svc}`), c.ports[0] ?? 443);
      }
    }
    return out;
  }
  const id = `permitted:${c.id}:${where}${c.from}->${c.to}`;
  if (c.mechanism === 'privatelink') {
    const port = c.ports[0];
    endpointCheck(id, `${where}${c.from} probe → PrivateLink endpoint :${port} (${c.id})`, c.from, `PrivateLink endpoint of ${c.id} (com.amazonaws.vpce.*)`, (s) => s.startsWith('com.amazonaws.vpce.'), port);
  } else if (c.mechanism === 's3-gateway-endpoint' || c.mechanism === 's3-objects') {
    out.push({ ...base, id, title: `${where}${c.from} → S3 (${c.id})`, skipped: 'objects through an S3 gateway endpoint, not a network path between ENIs: checked statically (endpoint and bucket policies, ThreeTier S3P rules)' });
  } else if (c.id === 'X7' && c.from === 'internet' && c.to === 'public-internet') {
    const title = `${where}internet probe → internet gateway of the security cloud :443 (X7)`;
    needProbe('internet', id, title, (p) => {
      const hub = zoneVpc(undefined, 'security-cloud');
      const igw = hub && inv.internetGateways.find((g) => g.vpcId === hub.id);
      return igw ? { ...base, id, title, path: { source: p.id, destination: igw.id, port: 443, protocol: 'tcp' } } : { ...base, id, title, missing: ['internet gateway of the security cloud VPC'] };
    });
  } else if (c.id === 'X7' && c.from === 'public-internet') {
    const title = 'internet gateway → MX host in the security cloud :25 (X7, inbound mail)';
    const hub = zoneVpc(undefined, 'security-cloud');
    const igw = hub && inv.internetGateways.find((g) => g.vpcId === hub.id);
    const mx = inv.instances.find((i) => i.role === 'mail-gateway');
    const missing = [...(igw ? [] : ['internet gateway of the security cloud VPC']), ...(mx ? [] : ['MX host (tag ThreeTier:Role=mail-gateway; is the auto-scaling group at zero?)'])];
    out.push(missing.length ? { ...base, id, title, missing } : { ...base, id, title, path: { source: igw!.id, destination: mx!.id, port: 25, protocol: 'tcp' } });
  } else if (c.id === 'X7' && c.to === 'security-cloud') {
    out.push({ ...base, id, title: `${where}internet relay → MX gateway :25 (X7)`, skipped: 'return traffic of X3 (the MX gateway connects to the internet relay): proven by the X3 path from the MX host to the relay host' });
  } else if (c.id === 'X3' && c.from === 'security-cloud' && c.to === 'internet') {
    const title = `MX host in the security cloud → ${where}internet relay host :25 (X3)`;
    const mx = inv.instances.find((i) => i.role === 'mail-gateway');
    const relay = inv.instances.find((i) => i.role === 'internet-relay' && i.municipality === c.municipality);
    const missing = [...(mx ? [] : ['MX host (tag ThreeTier:Role=mail-gateway; is the auto-scaling group at zero?)']), ...(relay ? [] : [`internet relay host of ${c.municipality} (tag ThreeTier:Role=internet-relay)`])];
    out.push(missing.length ? { ...base, id, title, missing } : { ...base, id, title, path: { source: mx!.id, destination: relay!.id, port: 25, protocol: 'tcp' } });
  } else if (c.to === 'lgwan-network') {
    for (const [i, dest] of (c.destinations ?? []).entries()) {
      const address = dest.replace(/\/32$/, '');
      const port = c.ports.length === 1 ? c.ports[0] : c.ports[i];
      const title = `${where}${c.from} probe → LGWAN ${address}:${port} (${c.id})`;
      needProbe(c.from, `${id}:${address}`, title, (p) => {
        if (c.mechanism === 'peering') {
          const host = inv.instances.find((h) => h.role === 'lgwan-host' && h.privateIp === address);
          return host ? { ...base, id: `${id}:${address}`, title, path: { source: p.id, destination: host.id, port, protocol: 'tcp' } } : { ...base, id: `${id}:${address}`, title, missing: [`simulated LGWAN host at ${address} (tag ThreeTier:Role=lgwan-host)`] };
        }
        const vgw = inv.vpnGateways.find((g) => g.vpcId === p.vpcId);
        return vgw ? { ...base, id: `${id}:${address}`, title, path: { source: p.id, destination: vgw.id, destinationIp: address, port, protocol: 'tcp' } } : { ...base, id: `${id}:${address}`, title, missing: [`virtual private gateway of ${where}${c.from}`] };
      });
    }
  } else if (c.to === 'office') {
    const title = `${where}${c.from}: office VPN/Direct Connect → probe (${c.id})`;
    needProbe(c.from, id, title, (p) => {
      const vgw = inv.vpnGateways.find((g) => g.vpcId === p.vpcId);
      return vgw ? { ...base, id, title, path: { source: vgw.id, destination: p.id, protocol: 'tcp' } } : { ...base, id, title, missing: [`virtual private gateway of ${where}${c.from}`] };
    });
  } else {
    out.push({ ...base, id, title: `${where}${c.from} → ${c.to} (${c.id})`, skipped: `no live path check is defined for mechanism ${c.mechanism}` });
  }
  return out;
}
