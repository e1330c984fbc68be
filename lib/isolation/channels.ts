import type { Finding, Hop } from './analyzer';
import { Door, DoorKind, IsolationIntent } from './intent';
import { domainMatches, flattenResolved, isOpenEntry } from './dns-names';
import { CloudModel, Json, ResourceRef, asList, keyOf } from './model';
import { ZoneIndex, ZoneName, ZoneVpc } from './zones';

/**
 * Every channel out of a zone that is not a packet route (DESIGN section 3,
 * "every channel counts"): what the zone's resolver answers (DNS), and the
 * AWS-managed doors (Instance Connect endpoints, Client VPN, VPC Lattice,
 * Verified Access, Gateway Load Balancer endpoints, resolver forwarding,
 * IPv6 egress, routes to instances or interfaces). Reads the templates only
 * through the model's accessors (refTo / literal / resolve), like the path
 * analyzer, and reports findings in the analyzer's format.
 */

/** A name no allowlist should contain: stands for "any public name an attacker runs a server for". */
export const DNS_PROBE_NAME = 'x7f3q9-exfil.attacker-controlled.example';

export type DnsReachLevel = 'none' | 'allowlist' | 'anything';

export interface DnsReach {
  readonly zone: ZoneName;
  readonly municipality?: string;
  readonly vpc: string;
  readonly reach: DnsReachLevel;
  /** Why the zone can resolve public names (empty unless `anything`). */
  readonly reasons: string[];
  /** The names the firewall allows (flattened), when the reach is an allowlist. */
  readonly allowed: string[];
  /** Forwarding rules: names sent to resolvers outside the VPC. */
  readonly forwarded: string[];
  readonly hops: Hop[];
}

function hop(r: ResourceRef, note: string): Hop {
  return { resource: keyOf(r), type: r.type, note };
}

function label(z: { zone: ZoneName; municipality?: string }): string {
  return z.municipality ? `${z.zone}@${z.municipality}` : z.zone;
}

const isFalse = (v: Json): boolean => v === false || v === 'false';

interface FirewallRule {
  readonly action: string;
  readonly priority: number;
  readonly domains?: string[];
  readonly qtype?: string;
  readonly redirection?: string;
  readonly group: ResourceRef;
}

/** The rule groups associated with a VPC, in evaluation order, with their enabled rules in order. */
function firewallRules(model: CloudModel, vpc: ResourceRef): { associations: ResourceRef[]; unresolved: ResourceRef[]; rules: FirewallRule[] } {
  const associations = model
    .ofType('AWS::Route53Resolver::FirewallRuleGroupAssociation')
    .filter((a) => model.refTo(a.stack, a.props.VpcId) === vpc)
    .sort((a, b) => Number(a.props.Priority ?? 0) - Number(b.props.Priority ?? 0));
  const unresolved: ResourceRef[] = [];
  const rules: FirewallRule[] = [];
  for (const a of associations) {
    const group = model.refTo(a.stack, a.props.FirewallRuleGroupId);
    if (!group || group.type !== 'AWS::Route53Resolver::FirewallRuleGroup') {
      unresolved.push(a);
      continue;
    }
    const mine = asList(group.props.FirewallRules)
      .filter((r: Json) => r && String(r.Status ?? 'ENABLED').toUpperCase() !== 'DISABLED')
      .map((r: Json): FirewallRule => {
        const list = r.FirewallDomainListId !== undefined ? model.refTo(group.stack, r.FirewallDomainListId) : undefined;
        const domains = list?.type === 'AWS::Route53Resolver::FirewallDomainList' && Array.isArray(list.props.Domains) ? list.props.Domains.map((d: Json) => flattenResolved(d, (x) => model.value(list.stack, x))) : undefined;
        return { action: String(r.Action ?? '').toUpperCase(), priority: Number(r.Priority ?? 0), domains, qtype: r.Qtype, redirection: r.FirewallDomainRedirectionAction, group };
      })
      .sort((x, y) => x.priority - y.priority);
    rules.push(...mine);
  }
  return { associations, unresolved, rules };
}

function failOpen(model: CloudModel, vpc: ResourceRef): ResourceRef | undefined {
  return model.ofType('AWS::Route53Resolver::FirewallConfig').find((c) => model.refTo(c.stack, c.props.ResourceId) === vpc && String(c.props.FirewallFailOpen ?? 'DISABLED').toUpperCase() !== 'DISABLED');
}

/** Forwarding rules associated with a VPC: names its resolver sends to resolvers outside the VPC. */
function forwardingRules(model: CloudModel, vpc: ResourceRef): { assoc: ResourceRef; rule?: ResourceRef; domain: string }[] {
  return model
    .ofType('AWS::Route53Resolver::ResolverRuleAssociation')
    .filter((a) => model.refTo(a.stack, a.props.VPCId) === vpc)
    .map((assoc) => {
      const rule = model.refTo(assoc.stack, assoc.props.ResolverRuleId);
      const domain = rule ? model.literal(rule.stack, rule.props.DomainName) ?? '?' : '?';
      return { assoc, rule, domain };
    })
    .filter((x) => !x.rule || String(x.rule.props.RuleType ?? 'FORWARD').toUpperCase() !== 'SYSTEM');
}

/** What the Amazon-provided resolver of one VPC answers, judged for a name an attacker runs. */
export function dnsReachOf(model: CloudModel, zv: ZoneVpc): DnsReach {
  const vpc = zv.vpc;
  const base = { zone: zv.zone, municipality: zv.municipality, vpc: keyOf(vpc) };
  const forwards = forwardingRules(model, vpc);
  const forwarded = forwards.map((f) => f.domain);
  const forwardHops = forwards.flatMap((f) => [hop(f.assoc, 'resolver rule association'), ...(f.rule ? [hop(f.rule, `forwards ${f.domain} to resolvers outside the VPC`)] : [])]);
  if (isFalse(vpc.props.EnableDnsSupport)) {
    return { ...base, reach: 'none', reasons: [], allowed: [], forwarded: [], hops: [hop(vpc, 'EnableDnsSupport false: no resolver')] };
  }
  const { associations, unresolved, rules } = firewallRules(model, vpc);
  const reasons: string[] = [];
  const hops: Hop[] = associations.map((a) => hop(a, `DNS Firewall association (priority ${a.props.Priority ?? '?'})`));
  if (associations.length === 0) reasons.push('no DNS Firewall rule group is associated with its VPC');
  for (const u of unresolved) reasons.push(`association ${keyOf(u)} names a rule group outside the assembly (its rules cannot be checked)`);
  const open = failOpen(model, vpc);
  if (open) {
    reasons.push(`the DNS Firewall fails open (FirewallFailOpen ${open.props.FirewallFailOpen})`);
    hops.push(hop(open, `FirewallFailOpen ${open.props.FirewallFailOpen}`));
  }
  // Walk the rules for a name the attacker runs: the first rule that matches decides.
  let decided = false;
  const allowed: string[] = [];
  for (const r of rules) {
    if (r.action === 'ALLOW' || r.action === 'ALERT') {
      if (r.domains === undefined) {
        reasons.push(`${r.action} rule ${r.priority} in ${keyOf(r.group)} uses a domain list the analyzer cannot read`);
        decided = true;
        break;
      }
      allowed.push(...r.domains);
      const openEntry = r.domains.find((d) => isOpenEntry(d));
      if (openEntry !== undefined || r.domains.some((d) => domainMatches(d, DNS_PROBE_NAME))) {
        reasons.push(`${r.action} rule ${r.priority} in ${keyOf(r.group)} allows "${openEntry ?? '*'}"`);
        hops.push(hop(r.group, `${r.action} ${openEntry ?? '*'}`));
        decided = true;
        break;
      }
      continue;
    }
    if (r.action === 'BLOCK' && r.domains?.some((d) => domainMatches(d, DNS_PROBE_NAME))) {
      if (r.qtype) continue; // blocks one query type only: TXT, NULL and others still resolve
      hops.push(hop(r.group, `BLOCK ${r.domains.find((d) => domainMatches(d, DNS_PROBE_NAME))} (priority ${r.priority})`));
      decided = true;
      break;
    }
  }
  if (!decided && associations.length > 0 && unresolved.length === 0) reasons.push('no rule blocks "*" for every query type after the allowlist');
  for (const f of forwards) {
    if (isOpenEntry(f.domain) || f.domain === '.' || f.domain === '?') reasons.push(`resolver rule forwards "${f.domain}" to resolvers outside the VPC`);
  }
  hops.push(...forwardHops);
  return { ...base, reach: reasons.length ? 'anything' : 'allowlist', reasons, allowed: [...new Set(allowed)].sort(), forwarded, hops };
}

// --- AWS-managed doors ---------------------------------------------------------

export interface DoorHit {
  readonly kind: DoorKind;
  readonly zone: ZoneName;
  readonly municipality?: string;
  readonly what: string;
  readonly service?: string;
  readonly hops: Hop[];
}

/** The first zone VPC among the references of a resource (subnets, security groups, VPCs, interfaces). */
function zoneOfRefs(model: CloudModel, zones: ZoneIndex, r: ResourceRef, values: Json[]): ZoneVpc | undefined {
  for (const v of values) {
    const t = model.refTo(r.stack, v);
    const z = t && zones.vpcZone(zones.vpcOf(t));
    if (z) return z;
  }
  return zones.vpcZone(zones.vpcOf(r));
}

function isIpv6Default(model: CloudModel, r: ResourceRef): boolean {
  const d = model.literal(r.stack, r.props.DestinationIpv6CidrBlock);
  return d === '::/0' || d === '::0/0';
}

/** Every AWS-managed door in the assembly, with the zone it opens. */
export function findDoors(model: CloudModel, zones: ZoneIndex): DoorHit[] {
  const out: DoorHit[] = [];
  const add = (kind: DoorKind, z: ZoneVpc | undefined, what: string, hops: Hop[], service?: string) => {
    if (z && z.zone !== 'security-cloud' && z.zone !== 'lgwan-network') out.push({ kind, zone: z.zone, municipality: z.municipality, what, hops, service });
  };
  const isolated = (z: ZoneVpc | undefined) => !!z && zones.isIsolated(z.vpc);
  for (const r of model.ofType('AWS::EC2::InstanceConnectEndpoint')) {
    add('instance-connect-endpoint', zoneOfRefs(model, zones, r, [r.props.SubnetId, ...asList(r.props.SecurityGroupIds)]), 'an EC2 Instance Connect endpoint (SSH/RDP into the zone from the AWS API)', [hop(r, 'EC2 Instance Connect endpoint')]);
  }
  for (const r of model.ofType('AWS::EC2::ClientVpnEndpoint')) {
    add('client-vpn', zoneOfRefs(model, zones, r, [r.props.VpcId, ...asList(r.props.SecurityGroupIds)]), 'a Client VPN endpoint (remote users land in the zone)', [hop(r, 'Client VPN endpoint')]);
  }
  for (const r of model.ofType('AWS::EC2::ClientVpnTargetNetworkAssociation')) {
    const ep = model.refTo(r.stack, r.props.ClientVpnEndpointId);
    add('client-vpn', zoneOfRefs(model, zones, r, [r.props.SubnetId]), 'a Client VPN target-network association (remote users reach the zone\'s subnet)', [hop(r, 'Client VPN target network association'), ...(ep ? [hop(ep, 'Client VPN endpoint')] : [])]);
  }
  const latticeVpcs = model.ofType('AWS::VpcLattice::ServiceNetworkVpcAssociation');
  for (const r of latticeVpcs) {
    add('vpc-lattice', zoneOfRefs(model, zones, r, [r.props.VpcIdentifier, ...asList(r.props.SecurityGroupIds)]), 'a VPC Lattice service-network association (the zone reaches every service of the network)', [hop(r, 'VPC Lattice service network VPC association')]);
  }
  for (const r of model.ofType('AWS::VpcLattice::ServiceNetworkServiceAssociation')) {
    // The service is reachable from every VPC associated with the same service network; its targets sit in their own VPC.
    const network = model.refTo(r.stack, r.props.ServiceNetworkIdentifier);
    const service = model.refTo(r.stack, r.props.ServiceIdentifier);
    const consumers = latticeVpcs.filter((a) => network !== undefined && model.refTo(a.stack, a.props.ServiceNetworkIdentifier) === network).map((a) => zoneOfRefs(model, zones, a, [a.props.VpcIdentifier]));
    const targets = model
      .ofType('AWS::VpcLattice::TargetGroup')
      .filter((tg) => service !== undefined && model.ofType('AWS::VpcLattice::Listener', 'AWS::VpcLattice::Rule').some((l) => model.refTo(l.stack, l.props.ServiceIdentifier) === service && JSON.stringify(l.props).includes(tg.logicalId)))
      .map((tg) => zoneOfRefs(model, zones, tg, [tg.props.Config?.VpcIdentifier]));
    const hops = [hop(r, 'VPC Lattice service association'), ...(service ? [hop(service, 'VPC Lattice service')] : [])];
    const all = [...consumers, ...targets].filter((z): z is ZoneVpc => !!z);
    if (all.length === 0) add('vpc-lattice', zones.vpcZone(zones.vpcOf(r)), 'a VPC Lattice service association', hops);
    for (const z of new Set(all)) add('vpc-lattice', z, 'a VPC Lattice service association (a service shared through the service network)', hops);
  }
  for (const r of model.ofType('AWS::EC2::VerifiedAccessEndpoint')) {
    const p = r.props;
    const refs = [p.NetworkInterfaceOptions?.NetworkInterfaceId, ...asList(p.LoadBalancerOptions?.SubnetIds), ...asList(p.CidrOptions?.SubnetIds), ...asList(p.RdsOptions?.SubnetIds), ...asList(p.SecurityGroupIds)];
    add('verified-access', zoneOfRefs(model, zones, r, refs), 'a Verified Access endpoint (users reach the zone through AWS without a VPN)', [hop(r, 'Verified Access endpoint')]);
  }
  const gwlbEndpoints = model.ofType('AWS::EC2::VPCEndpoint').filter((e) => e.props.VpcEndpointType === 'GatewayLoadBalancer');
  for (const r of gwlbEndpoints) add('gateway-load-balancer-endpoint', zones.vpcZone(zones.vpcOf(r)), 'a Gateway Load Balancer endpoint (traffic leaves to an appliance outside the zone)', [hop(r, 'Gateway Load Balancer endpoint')]);
  for (const r of model.ofType('AWS::EC2::Route')) {
    const z = zones.vpcZone(zones.vpcOf(r));
    const p = r.props;
    const dest = model.literal(r.stack, p.DestinationCidrBlock) ?? model.literal(r.stack, p.DestinationIpv6CidrBlock) ?? '?';
    if (p.VpcEndpointId !== undefined) {
      const ep = model.refTo(r.stack, p.VpcEndpointId);
      // Network Firewall endpoints resolve to the firewall; a GWLB endpoint, or an endpoint id outside the assembly, is a door.
      if (ep ? gwlbEndpoints.includes(ep) : true) {
        add('gateway-load-balancer-endpoint', z, `a route (${dest}) to ${ep ? 'a Gateway Load Balancer endpoint' : `the endpoint ${JSON.stringify(p.VpcEndpointId)} outside the assembly`}`, [hop(r, `route ${dest}`), ...(ep ? [hop(ep, 'Gateway Load Balancer endpoint')] : [])]);
      }
    }
    const target = model.refTo(r.stack, p.GatewayId ?? p.EgressOnlyInternetGatewayId);
    if (p.DestinationIpv6CidrBlock !== undefined && (isIpv6Default(model, r) || p.EgressOnlyInternetGatewayId !== undefined || target?.type === 'AWS::EC2::InternetGateway')) {
      add('ipv6-egress', z, `an IPv6 route ${dest} to ${p.EgressOnlyInternetGatewayId !== undefined ? 'an egress-only internet gateway' : JSON.stringify(p.GatewayId ?? p.TransitGatewayId ?? p.NetworkInterfaceId ?? '?')}`, [hop(r, `route ${dest}`)]);
    }
    if ((p.NetworkInterfaceId !== undefined || p.InstanceId !== undefined) && isolated(z)) {
      add('route-to-instance', z, `a route (${dest}) to ${p.InstanceId !== undefined ? 'an instance' : 'a network interface'} (an appliance the checks cannot see through)`, [hop(r, `route ${dest}`)]);
    }
  }
  for (const r of model.ofType('AWS::EC2::EgressOnlyInternetGateway')) {
    add('ipv6-egress', zones.vpcZone(model.refTo(r.stack, r.props.VpcId)), 'an egress-only internet gateway (IPv6 to the internet, around the security cloud)', [hop(r, 'egress-only internet gateway')]);
  }
  for (const r of model.ofType('AWS::Route53Resolver::ResolverEndpoint')) {
    if (String(r.props.Direction ?? '').toUpperCase() !== 'OUTBOUND') continue;
    const z = zoneOfRefs(model, zones, r, [...asList(r.props.IpAddresses).map((a: Json) => a?.SubnetId), ...asList(r.props.SecurityGroupIds)]);
    if (isolated(z)) add('resolver-forwarding', z, 'a Route 53 Resolver outbound endpoint (DNS queries leave the zone)', [hop(r, 'Resolver outbound endpoint')]);
  }
  for (const zv of zones.zoneVpcs()) {
    if (!isolated(zv)) continue;
    for (const f of forwardingRules(model, zv.vpc)) {
      add('resolver-forwarding', zv, `a Route 53 Resolver rule association forwarding "${f.domain}" to resolvers outside the VPC`, [hop(f.assoc, 'resolver rule association'), ...(f.rule ? [hop(f.rule, `FORWARD ${f.domain}`)] : [])]);
    }
  }
  return out;
}

function doorListed(doors: Door[], hit: { kind: DoorKind; zone: ZoneName; municipality?: string; service?: string }): Door | undefined {
  return doors.find((d) => d.kind === hit.kind && d.zone === hit.zone && (!d.municipality || d.municipality === hit.municipality) && (d.service === undefined || d.service === hit.service));
}

/** Whether the intent lists an interface endpoint to a named endpoint service (hook for the path analyzer). */
export function endpointServiceListed(intent: IsolationIntent, from: { zone: ZoneName; municipality?: string }, what: string): boolean {
  const service = what.replace(/^endpoint service /, '');
  return !!doorListed(intent.doors ?? [], { kind: 'endpoint-service', zone: from.zone, municipality: from.municipality, service });
}

export interface ChannelAnalysis {
  readonly dns: DnsReach[];
  readonly doors: (DoorHit & { permittedBy?: string })[];
  readonly findings: Finding[];
}

/** DNS reach of every zone and every door, compared with the intent. */
export function analyzeChannels(model: CloudModel, intent: IsolationIntent, zones: ZoneIndex = new ZoneIndex(model)): ChannelAnalysis {
  const findings: Finding[] = [];
  const dns: DnsReach[] = [];
  for (const zv of zones.zoneVpcs()) {
    if (zv.zone === 'lgwan-network') continue;
    const reach = dnsReachOf(model, zv);
    dns.push(reach);
    const iz = intent.zones.find((z) => z.zone === zv.zone && (z.municipality ?? undefined) === (zv.municipality ?? undefined));
    // Isolated zones resolve an allowlist unless the intent says otherwise; intents written before DNS was modelled have no `dns`.
    const policy = iz?.dns?.policy ?? (iz?.isolated ? 'allowlist' : 'public');
    if (policy === 'public') continue;
    const who = label(zv);
    if (policy === 'none' && reach.reach !== 'none') {
      findings.push({ kind: 'forbidden-reach', zone: zv.zone, municipality: zv.municipality, message: `${who} reaches public-internet via dns (${reach.reach === 'anything' ? reach.reasons.join('; ') : `resolves ${reach.allowed.length} names`}) but its intent says it resolves nothing`, hops: reach.hops });
      continue;
    }
    if (reach.reach === 'anything') {
      findings.push({ kind: 'forbidden-reach', zone: zv.zone, municipality: zv.municipality, message: `${who} reaches public-internet via dns (${reach.reasons.join('; ')}), which no crossing permits`, hops: reach.hops });
      continue;
    }
    const listed = iz?.dns?.names;
    if (listed && reach.reach === 'allowlist') {
      const extra = reach.allowed.filter((n) => !listed.includes(n));
      if (extra.length) findings.push({ kind: 'forbidden-reach', zone: zv.zone, municipality: zv.municipality, message: `${who} resolves names its intent does not list via dns: ${extra.join(', ')}`, hops: reach.hops });
    }
    for (const f of reach.forwarded.filter((d) => !isOpenEntry(d) && d !== '.' && d !== '?')) {
      findings.push({ kind: 'forbidden-reach', zone: zv.zone, municipality: zv.municipality, message: `${who} forwards "${f}" to resolvers outside the VPC via dns, which no crossing permits`, hops: reach.hops });
    }
  }
  const doors = findDoors(model, zones).map((d) => ({ ...d, permittedBy: doorListed(intent.doors ?? [], d)?.description }));
  for (const d of doors) {
    if (d.permittedBy !== undefined) continue;
    findings.push({ kind: 'forbidden-reach', zone: d.zone, municipality: d.municipality, message: `${label(d)} has ${d.what} (door ${d.kind}), which the intent does not list`, hops: d.hops });
  }
  return { dns, doors, findings };
}
