import { Cidr, formatIpv4, parseCidr } from '../../config/cidr';
import { Crossing, IsolationIntent } from './intent';
import { ROLE_TAG } from '../core/tags';
import { CloudModel, Json, ResourceRef, asList, keyOf, tagsOf } from './model';
import { isUnresolved, unresolvedIn } from './cfn/resolve';
import { ISOLATED, ZoneIndex, ZoneName, ZoneVpc } from './zones';
import { analyzeChannels, ChannelAnalysis, endpointServiceListed } from './channels';

/**
 * The static path analyzer (DESIGN section 4, "per path"). It builds the
 * forwarding graph of an assembly — subnets and route tables, routes and
 * their targets, Transit Gateway attachments, route tables, associations,
 * propagations, static and blackhole routes, NAT, internet gateways,
 * peering, firewalls, VPC endpoints and endpoint services, security groups
 * and network ACLs — walks a probe packet from every zone to every
 * destination, and compares what each zone reaches with the intent.
 */

export interface Hop {
  readonly resource: string; // stack/logicalId
  readonly type: string;
  readonly note: string;
}

export type Target =
  | { kind: 'internet' }
  | { kind: 'zone'; zone: ZoneName; municipality?: string; vpc: string }
  | { kind: 'aws-api'; service: string }
  | { kind: 'external'; what: string }
  | { kind: 'unknown-vpc'; vpc: string };

export interface Reach {
  readonly from: { zone: ZoneName; municipality?: string; vpc: string };
  readonly to: Target;
  readonly mechanism: 'route' | 'privatelink' | 'vpc-endpoint' | 'security-group' | 'network-acl';
  /** Single ports a crossing can be matched against (empty for all traffic, ICMP or wide ranges). */
  readonly ports?: number[];
  /** What the opening admits, protocol-aware: `tcp 443`, `tcp 1024-65535`, `icmp`, `all`. */
  readonly portText?: string;
  /** True when the path crosses a Network Firewall. */
  readonly inspected: boolean;
  readonly hops: Hop[];
  /** For routed reaches: the destination CIDR of the route taken in the source's route table. */
  readonly routeDest?: string;
}

export interface Finding {
  readonly kind: 'forbidden-reach' | 'broken-crossing' | 'uninspected-path' | 'unverifiable-path';
  readonly municipality?: string;
  /** The zone the finding is about; 'unknown' when an unresolvable value hides even that. */
  readonly zone: ZoneName | 'unknown';
  readonly message: string;
  readonly hops: Hop[];
  readonly crossing?: string;
}

export interface AnalysisResult {
  readonly reaches: Reach[];
  /** Each reach with the crossing that permits it (undefined: forbidden). */
  readonly verdicts: { reach: Reach; permittedBy?: string }[];
  readonly findings: Finding[];
  readonly zones: ZoneVpc[];
  /** DNS reach and AWS-managed doors of every zone (channels.ts). */
  readonly channels?: ChannelAnalysis;
}

export function targetLabel(t: Target): string {
  switch (t.kind) {
    case 'internet':
      return 'internet';
    case 'zone':
      return t.municipality ? `${t.zone}@${t.municipality}` : t.zone;
    case 'aws-api':
      return `aws-api:${t.service}`;
    case 'external':
      return `external:${t.what}`;
    case 'unknown-vpc':
      return `untagged-vpc:${t.vpc}`;
  }
}

const PUBLIC_PROBE = parseCidr('8.8.8.8/32') as Cidr; // any public address stands for "the internet"

interface TgwEntry {
  readonly dest: Cidr;
  readonly attachment?: ResourceRef;
  readonly blackhole: boolean;
  readonly via: ResourceRef | undefined;
}

interface RouteEntry {
  readonly dest: Cidr;
  readonly route: ResourceRef | 'local';
}

/** The resource type of the hub's default-route-table setter (lib/security-cloud/tenant-defaults.ts). */
export const TENANT_DEFAULTS_TYPE = 'Custom::TransitGatewayTenantDefaults';

class Graph {
  readonly zones: ZoneIndex;
  private readonly routesByTable = new Map<string, ResourceRef[]>();
  private readonly tableBySubnet = new Map<string, ResourceRef>();
  private readonly subnetsByVpc = new Map<string, ResourceRef[]>();
  private readonly tgwAttachments: ResourceRef[];
  private readonly firewalls: ResourceRef[];
  /** Subnets where a firewall has its endpoints: traffic leaving them has been inspected. */
  private readonly firewallSubnets = new Set<string>();

  constructor(readonly model: CloudModel) {
    this.zones = new ZoneIndex(model);
    for (const r of model.ofType('AWS::EC2::Route')) {
      const rt = model.refTo(r.stack, r.props.RouteTableId);
      if (!rt) continue;
      const list = this.routesByTable.get(keyOf(rt)) ?? [];
      list.push(r);
      this.routesByTable.set(keyOf(rt), list);
    }
    for (const a of model.ofType('AWS::EC2::SubnetRouteTableAssociation')) {
      const subnet = model.refTo(a.stack, a.props.SubnetId);
      const rt = model.refTo(a.stack, a.props.RouteTableId);
      if (subnet && rt) this.tableBySubnet.set(keyOf(subnet), rt);
    }
    for (const s of model.ofType('AWS::EC2::Subnet')) {
      const vpc = model.refTo(s.stack, s.props.VpcId);
      if (!vpc) continue;
      const list = this.subnetsByVpc.get(keyOf(vpc)) ?? [];
      list.push(s);
      this.subnetsByVpc.set(keyOf(vpc), list);
    }
    this.tgwAttachments = model.ofType('AWS::EC2::TransitGatewayAttachment', 'AWS::EC2::TransitGatewayVpcAttachment');
    this.firewalls = model.ofType('AWS::NetworkFirewall::Firewall');
    for (const fw of this.firewalls) for (const s of this.firewallSubnetsOf(fw, 'any')) this.firewallSubnets.add(keyOf(s));
  }

  /** A firewall's subnets: the one of endpoint `index`, or all of them ('any': the endpoint's position is not defined). */
  firewallSubnetsOf(fw: ResourceRef, index: number | 'any' | undefined): ResourceRef[] {
    const mappings = asList(fw.resolved.SubnetMappings);
    const picked = typeof index === 'number' ? mappings.slice(index, index + 1) : mappings;
    return picked.map((m) => this.model.refTo(fw.stack, m?.SubnetId)).filter((x): x is ResourceRef => !!x);
  }

  isFirewallSubnet(subnet: ResourceRef): boolean {
    return this.firewallSubnets.has(keyOf(subnet));
  }

  /** The distinct route tables of a list of subnets (an attachment's, a firewall's), each with one subnet that uses it. */
  tablesOfSubnets(subnets: ResourceRef[]): { rt: ResourceRef | undefined; subnet: ResourceRef }[] {
    const seen = new Map<string, { rt: ResourceRef | undefined; subnet: ResourceRef }>();
    for (const s of subnets) {
      const rt = this.tableOf(s);
      const k = rt ? keyOf(rt) : 'main';
      if (!seen.has(k)) seen.set(k, { rt, subnet: s });
    }
    return [...seen.values()];
  }

  private readonly byVpc = new Map<string, Map<string, ResourceRef[]>>();
  /** Resources of a type that belong to a VPC (through VpcId, GroupId, NetworkAclId, ...). */
  inVpc(type: string, vpc: ResourceRef): ResourceRef[] {
    let index = this.byVpc.get(type);
    if (!index) {
      index = new Map();
      for (const r of this.model.ofType(type)) {
        const v = this.zones.vpcOf(r);
        if (!v) continue;
        const list = index.get(keyOf(v)) ?? [];
        list.push(r);
        index.set(keyOf(v), list);
      }
      this.byVpc.set(type, index);
    }
    return index.get(keyOf(vpc)) ?? [];
  }

  tableOf(subnet: ResourceRef | undefined): ResourceRef | undefined {
    return subnet ? this.tableBySubnet.get(keyOf(subnet)) : undefined;
  }

  subnets(vpc: ResourceRef): ResourceRef[] {
    return this.subnetsByVpc.get(keyOf(vpc)) ?? [];
  }

  /**
   * Route tables in use by a VPC's subnets (subnets without association use
   * the main table: local only), each with whether traffic leaving it has
   * already been inspected (the firewall's own subnets are the inspection point).
   */
  tables(vpc: ResourceRef): { rt: ResourceRef | undefined; inspected: boolean }[] {
    const seen = new Map<string, { rt: ResourceRef | undefined; inspected: boolean }>();
    for (const s of this.subnets(vpc)) {
      const rt = this.tableBySubnet.get(keyOf(s));
      const inspected = this.isFirewallSubnet(s);
      seen.set(`${rt ? keyOf(rt) : 'main'}|${inspected}`, { rt, inspected });
    }
    if (seen.size === 0) seen.set('main', { rt: undefined, inspected: false });
    return [...seen.values()];
  }

  vpcCidrs(vpc: ResourceRef): Cidr[] {
    const z = this.zones.vpcZone(vpc);
    const texts = z ? z.cidrs : [this.model.literal(vpc.stack, vpc.resolved.CidrBlock)].filter((c): c is string => !!c);
    return texts.map((t) => parseCidr(t)).filter((c): c is Cidr => typeof c !== 'string');
  }

  private cidrOf(stack: string, v: Json): Cidr | undefined {
    const text = this.model.literal(stack, v);
    if (!text) return undefined;
    const c = parseCidr(text);
    return typeof c === 'string' ? undefined : c;
  }

  private readonly entryCache = new Map<string, RouteEntry[]>();
  entries(vpc: ResourceRef, rt: ResourceRef | undefined): RouteEntry[] {
    const key = `${keyOf(vpc)}|${rt ? keyOf(rt) : 'main'}`;
    let cached = this.entryCache.get(key);
    if (!cached) {
      cached = this.computeEntries(vpc, rt);
      this.entryCache.set(key, cached);
    }
    return cached;
  }

  private computeEntries(vpc: ResourceRef, rt: ResourceRef | undefined): RouteEntry[] {
    const out: RouteEntry[] = this.vpcCidrs(vpc).map((dest) => ({ dest, route: 'local' as const }));
    for (const r of rt ? this.routesByTable.get(keyOf(rt)) ?? [] : []) {
      const dest = this.cidrOf(r.stack, r.props.DestinationCidrBlock);
      if (dest) out.push({ dest, route: r });
    }
    return out;
  }

  static match<T extends { dest: Cidr }>(entries: T[], ip: number): T | undefined {
    let best: T | undefined;
    for (const e of entries) if (ip >= e.dest.start && ip <= e.dest.end && (!best || e.dest.prefix > best.dest.prefix)) best = e;
    return best;
  }

  private readonly attachmentCache = new Map<string, ResourceRef | undefined>();
  attachmentOf(vpc: ResourceRef, tgw: ResourceRef | undefined): ResourceRef | undefined {
    const key = `${keyOf(vpc)}|${tgw ? keyOf(tgw) : '?'}`;
    if (!this.attachmentCache.has(key)) this.attachmentCache.set(key, this.findAttachment(vpc, tgw));
    return this.attachmentCache.get(key);
  }

  private findAttachment(vpc: ResourceRef, tgw: ResourceRef | undefined): ResourceRef | undefined {
    return this.tgwAttachments.find((a) => this.model.refTo(a.stack, a.props.VpcId) === vpc && (!tgw || this.model.refTo(a.stack, a.props.TransitGatewayId) === tgw));
  }

  private associations?: Map<string, ResourceRef | undefined>;
  /** The TGW route table an attachment (or a firewall's own attachment) is associated with. */
  associatedTable(attachment: ResourceRef): ResourceRef | 'default' | undefined {
    if (!this.associations) {
      this.associations = new Map();
      for (const a of this.model.ofType('AWS::EC2::TransitGatewayRouteTableAssociation')) {
        const target = this.model.resolve(a.stack, a.props.TransitGatewayAttachmentId);
        if (target.kind === 'resource') this.associations.set(keyOf(target.ref), this.model.refTo(a.stack, a.props.TransitGatewayRouteTableId));
      }
    }
    if (this.associations.has(keyOf(attachment))) return this.associations.get(keyOf(attachment));
    const tgw = this.model.refTo(attachment.stack, attachment.props.TransitGatewayId);
    const defaults = tgw && this.tenantDefaults().get(keyOf(tgw));
    if (defaults && attachment.type !== 'AWS::NetworkFirewall::Firewall') return defaults.association;
    if (tgw && tgw.resolved.DefaultRouteTableAssociation !== 'disable') return 'default';
    return undefined;
  }

  private defaultsByTgw?: Map<string, { association: ResourceRef; propagation: ResourceRef; by: ResourceRef }>;
  /**
   * Default route tables set on a Transit Gateway after its creation by a
   * `Custom::TransitGatewayTenantDefaults` resource (lib/security-cloud/tenant-defaults.ts):
   * an attachment not explicitly associated is associated with the first
   * table and propagates into the second. Its `Create` call is read like
   * CloudFormation would send it; what cannot be read fails the analysis.
   */
  tenantDefaults(): Map<string, { association: ResourceRef; propagation: ResourceRef; by: ResourceRef }> {
    if (this.defaultsByTgw) return this.defaultsByTgw;
    const out = new Map<string, { association: ResourceRef; propagation: ResourceRef; by: ResourceRef }>();
    // Any other deploy-time call that modifies a Transit Gateway would change what the analyzer assumes: refused.
    for (const r of this.model.all()) {
      if (r.type === TENANT_DEFAULTS_TYPE || !(r.type.startsWith('Custom::') || r.type === 'AWS::CloudFormation::CustomResource')) continue;
      if (/modifytransitgateway/i.test(JSON.stringify(r.props))) {
        throw new Error(`${keyOf(r)} (${r.type}): a deploy-time call modifies a Transit Gateway; only ${TENANT_DEFAULTS_TYPE} may, so the analyzer knows which route tables attachments get`);
      }
    }
    for (const r of this.model.ofType(TENANT_DEFAULTS_TYPE)) {
      const ref = (id: string | undefined): ResourceRef | undefined => (id ? this.model.refTo(r.stack, id) : undefined);
      // Create and Update (AwsCustomResource's onCreate / onUpdate) must set the same tables: either is what the Transit Gateway has.
      const calls = (['Create', 'Update'] as const).filter((k) => r.props[k] !== undefined).map((k) => {
        const text = this.model.value(r.stack, r.props[k]);
        let call: { action?: string; parameters?: { TransitGatewayId?: string; Options?: Record<string, string> } };
        try {
          if (typeof text !== 'string') throw new Error(`its ${k} call cannot be evaluated offline`);
          call = JSON.parse(text);
        } catch (e) {
          throw new Error(`${keyOf(r)} (${TENANT_DEFAULTS_TYPE}): ${(e as Error).message}; the analyzer cannot tell which route tables new attachments get`);
        }
        const o = call.parameters?.Options ?? {};
        const tgw = ref(call.parameters?.TransitGatewayId);
        const association = o.DefaultRouteTableAssociation === 'enable' ? ref(o.AssociationDefaultRouteTableId) : undefined;
        const propagation = o.DefaultRouteTablePropagation === 'enable' ? ref(o.PropagationDefaultRouteTableId) : undefined;
        if (call.action !== 'modifyTransitGateway' || !tgw || !association || !propagation) {
          throw new Error(`${keyOf(r)} (${TENANT_DEFAULTS_TYPE}): expected its ${k} call to be modifyTransitGateway enabling default association and propagation with route tables of this assembly, got ${JSON.stringify(call)}`);
        }
        return { tgw, association, propagation };
      });
      if (calls.length === 0) throw new Error(`${keyOf(r)} (${TENANT_DEFAULTS_TYPE}): no Create call`);
      const [first, ...rest] = calls;
      if (rest.some((c) => c.tgw !== first.tgw || c.association !== first.association || c.propagation !== first.propagation)) {
        throw new Error(`${keyOf(r)} (${TENANT_DEFAULTS_TYPE}): its Create and Update calls set different default tables`);
      }
      const known = out.get(keyOf(first.tgw));
      if (known) throw new Error(`${keyOf(r)} and ${keyOf(known.by)} (${TENANT_DEFAULTS_TYPE}) both set the default tables of ${keyOf(first.tgw)}`);
      out.set(keyOf(first.tgw), { association: first.association, propagation: first.propagation, by: r });
    }
    this.defaultsByTgw = out;
    return out;
  }

  private readonly tgwCache = new Map<string, TgwEntry[]>();
  /** Routes of a TGW route table: static routes and propagations (attachment VPC CIDRs). */
  tgwEntries(table: ResourceRef | 'default', tgw: ResourceRef | undefined): TgwEntry[] {
    const key = table === 'default' ? `default|${tgw ? keyOf(tgw) : '?'}` : keyOf(table);
    let cached = this.tgwCache.get(key);
    if (!cached) {
      cached = this.computeTgwEntries(table, tgw);
      this.tgwCache.set(key, cached);
    }
    return cached;
  }

  private computeTgwEntries(table: ResourceRef | 'default', tgw: ResourceRef | undefined): TgwEntry[] {
    const out: TgwEntry[] = [];
    const propagate = (att: ResourceRef, via: ResourceRef | undefined): void => {
      const vpc = this.model.refTo(att.stack, att.props.VpcId);
      if (vpc) for (const dest of this.vpcCidrs(vpc)) out.push({ dest, attachment: att, blackhole: false, via });
    };
    if (table === 'default') {
      for (const att of this.tgwAttachments) {
        const t = this.model.refTo(att.stack, att.props.TransitGatewayId);
        if (t === tgw && tgw?.resolved.DefaultRouteTablePropagation !== 'disable') propagate(att, undefined);
      }
      return out;
    }
    for (const r of this.model.ofType('AWS::EC2::TransitGatewayRoute')) {
      if (this.model.refTo(r.stack, r.props.TransitGatewayRouteTableId) !== table) continue;
      const dest = this.cidrOf(r.stack, r.props.DestinationCidrBlock);
      if (!dest) continue;
      const blackhole = r.resolved.Blackhole === true || r.resolved.Blackhole === 'true';
      const att = r.props.TransitGatewayAttachmentId !== undefined ? this.model.refTo(r.stack, r.props.TransitGatewayAttachmentId) : undefined;
      out.push({ dest, attachment: att, blackhole, via: r });
    }
    for (const p of this.model.ofType('AWS::EC2::TransitGatewayRouteTablePropagation')) {
      if (this.model.refTo(p.stack, p.props.TransitGatewayRouteTableId) !== table) continue;
      const att = this.model.refTo(p.stack, p.props.TransitGatewayAttachmentId);
      if (att && att.type !== 'AWS::NetworkFirewall::Firewall') propagate(att, p);
    }
    // Attachments that take the Transit Gateway's default tables propagate into the default propagation table.
    for (const [tgwKey, d] of this.tenantDefaults()) {
      if (d.propagation !== table) continue;
      for (const att of this.tgwAttachments) {
        const t = this.model.refTo(att.stack, att.props.TransitGatewayId);
        if (t && keyOf(t) === tgwKey && this.associatedTable(att) === d.association && !this.associations!.has(keyOf(att))) propagate(att, d.by);
      }
    }
    return out;
  }

  firewallByEndpoint(ref: ResourceRef | undefined): ResourceRef | undefined {
    return ref && this.firewalls.includes(ref) ? ref : undefined;
  }
}

interface TraceResult {
  readonly outcome: Target | { kind: 'drop'; why: string } | { kind: 'appliance'; what: string };
  readonly hops: Hop[];
  readonly inspected: boolean;
  readonly firstDest?: string;
}

function hop(r: ResourceRef, note: string): Hop {
  return { resource: keyOf(r), type: r.type, note };
}

interface WalkState {
  vpc: ResourceRef;
  rt: ResourceRef | undefined;
  inspected: boolean;
  hops: Hop[];
  firstDest?: string;
  seen: Set<string>;
}

/** At most this many outcomes per probe: enough for every AZ of every hop of real designs. */
const MAX_BRANCHES = 256;

/**
 * Forwards one probe packet from a VPC route table until it arrives, leaves
 * or drops. Where the packet may continue in several subnets (a Transit
 * Gateway attachment spans AZs, a firewall endpoint picked by position may
 * be in any AZ), the walk forks and follows every one: a bypass in any one
 * AZ shows as its own outcome.
 */
function trace(g: Graph, vpc: ResourceRef, rt: ResourceRef | undefined, ip: number, startHops: Hop[], inspected = false): TraceResult[] {
  const out: TraceResult[] = [];
  walk(g, { vpc, rt, inspected, hops: [...startHops], seen: new Set() }, ip, out);
  return out;
}

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr(c) as Cidr);

function walk(g: Graph, s: WalkState, ip: number, out: TraceResult[]): void {
  const end = (outcome: TraceResult['outcome']): void => {
    if (out.length < MAX_BRANCHES) out.push({ outcome, hops: s.hops, inspected: s.inspected, firstDest: s.firstDest });
  };
  const fork = (branches: { vpc: ResourceRef; rt: ResourceRef | undefined; hops: Hop[] }[]): void => {
    if (out.length >= MAX_BRANCHES) return end({ kind: 'appliance', what: 'more paths than the analyzer follows' });
    for (const b of branches) walk(g, { ...s, vpc: b.vpc, rt: b.rt, hops: [...s.hops, ...b.hops], seen: new Set(s.seen) }, ip, out);
  };
  for (let step = 0; step < 32; step++) {
    const stateKey = `${keyOf(s.vpc)}|${s.rt ? keyOf(s.rt) : 'main'}`;
    if (s.seen.has(stateKey)) return end({ kind: 'drop', why: 'routing loop' });
    s.seen.add(stateKey);
    const e = Graph.match(g.entries(s.vpc, s.rt), ip);
    if (!e) return end({ kind: 'drop', why: 'no route' });
    if (e.route === 'local') {
      const z = g.zones.vpcZone(s.vpc);
      return end(z ? { kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(s.vpc) } : { kind: 'unknown-vpc', vpc: keyOf(s.vpc) });
    }
    const route = e.route;
    const p = route.props;
    const rp = route.resolved;
    s.firstDest ??= e.dest.text;
    s.hops = [...s.hops, hop(route, `route ${e.dest.text}${s.rt ? ` in ${keyOf(s.rt)}` : ''}`)];
    const targetKeys = ['GatewayId', 'NatGatewayId', 'TransitGatewayId', 'VpcPeeringConnectionId', 'VpcEndpointId', 'NetworkInterfaceId', 'InstanceId', 'EgressOnlyInternetGatewayId', 'CarrierGatewayId', 'LocalGatewayId', 'CoreNetworkArn'];
    const key = targetKeys.find((k) => rp[k] !== undefined); // resolved: Fn::If may have removed a target (AWS::NoValue)
    if (!key) return end({ kind: 'appliance', what: `route ${keyOf(route)} without a target` });
    if (isUnresolved(rp[key])) return end({ kind: 'appliance', what: `route target ${key} that cannot be resolved offline (${rp[key]['Fn::Unresolved']})` });
    const resolvedTarget = g.model.resolve(route.stack, p[key]);
    const target = resolvedTarget.kind === 'resource' ? resolvedTarget.ref : undefined;
    if (key === 'GatewayId') {
      if (target?.type === 'AWS::EC2::VPNGateway') {
        const role = tagsOf(target.resolved)[ROLE_TAG];
        s.hops.push(hop(target, `virtual private gateway${role ? ` (${role})` : ''}`));
        return end({ kind: 'external', what: role ? `vgw:${role}` : `vpn:${keyOf(target)}` });
      }
      const lit = g.model.literal(route.stack, p.GatewayId);
      if (target?.type === 'AWS::EC2::InternetGateway' || lit?.startsWith('igw-')) {
        if (target) s.hops.push(hop(target, 'internet gateway'));
        if (PRIVATE.some((x) => ip >= x.start && ip <= x.end)) return end({ kind: 'drop', why: 'internet gateway does not route private addresses' });
        return end({ kind: 'internet' });
      }
      if (lit === 'local') return end({ kind: 'drop', why: 'local route' });
      if (lit?.startsWith('vgw-')) return end({ kind: 'external', what: `vpn:${lit}` });
      return end({ kind: 'appliance', what: `gateway ${JSON.stringify(rp.GatewayId)}` });
    }
    if (key === 'EgressOnlyInternetGatewayId') return end({ kind: 'internet' });
    if (key === 'NatGatewayId') {
      if (!target) return end({ kind: 'appliance', what: 'NAT gateway outside the model' });
      s.hops.push(hop(target, 'NAT gateway'));
      const subnet = g.model.refTo(target.stack, target.props.SubnetId);
      const natVpc = subnet && g.model.refTo(subnet.stack, subnet.props.VpcId);
      if (!subnet || !natVpc) return end({ kind: 'appliance', what: `NAT gateway ${keyOf(target)} whose subnet cannot be resolved` });
      s.vpc = natVpc;
      s.rt = g.tableOf(subnet);
      continue;
    }
    if (key === 'VpcPeeringConnectionId') {
      if (!target) return end({ kind: 'external', what: 'peering outside the model' });
      s.hops.push(hop(target, 'VPC peering'));
      const a = g.model.refTo(target.stack, target.props.VpcId);
      const b = g.model.refTo(target.stack, target.props.PeerVpcId);
      const other = a === s.vpc ? b : a;
      if (!other) return end({ kind: 'external', what: `peer VPC ${JSON.stringify(target.resolved.PeerVpcId)}` });
      const inOther = g.vpcCidrs(other).some((c) => ip >= c.start && ip <= c.end);
      if (!inOther) return end({ kind: 'drop', why: 'peering is not transitive' });
      const z = g.zones.vpcZone(other);
      return end(z ? { kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(other) } : { kind: 'unknown-vpc', vpc: keyOf(other) });
    }
    if (key === 'TransitGatewayId') {
      const att = g.attachmentOf(s.vpc, target);
      if (!att) return end({ kind: 'drop', why: 'VPC not attached to that Transit Gateway' });
      s.hops.push(hop(att, 'Transit Gateway attachment'));
      let table = g.associatedTable(att);
      for (let tgwStep = 0; tgwStep < 8; tgwStep++) {
        if (!table) return end({ kind: 'drop', why: 'attachment has no route table association' });
        if (table !== 'default') s.hops.push(hop(table, 'Transit Gateway route table'));
        else s.hops.push({ resource: `${target ? keyOf(target) : '?'}#default`, type: 'AWS::EC2::TransitGatewayRouteTable', note: 'default route table (association enabled)' });
        const te = Graph.match(g.tgwEntries(table, target), ip);
        if (!te) return end({ kind: 'drop', why: 'no Transit Gateway route' });
        if (te.via) s.hops.push(hop(te.via, te.blackhole ? `blackhole ${te.dest.text}` : `TGW route ${te.dest.text}`));
        if (te.blackhole || !te.attachment) return end({ kind: 'drop', why: 'blackhole' });
        if (te.attachment.type === 'AWS::NetworkFirewall::Firewall') {
          s.inspected = true;
          s.hops.push(hop(te.attachment, 'Network Firewall (inspection)'));
          table = g.associatedTable(te.attachment);
          continue;
        }
        const nextVpc = g.model.refTo(te.attachment.stack, te.attachment.props.VpcId);
        if (!nextVpc) return end({ kind: 'external', what: `attachment ${keyOf(te.attachment)}` });
        s.hops.push(hop(te.attachment, 'Transit Gateway attachment (egress)'));
        // The attachment has an interface in every one of its subnets (one per AZ): follow each.
        const ids = te.attachment.resolved.SubnetIds;
        if (!Array.isArray(ids)) return end({ kind: 'appliance', what: `attachment ${keyOf(te.attachment)} whose subnets cannot be resolved` });
        const subnets = ids.map((x) => g.model.refTo(te.attachment!.stack, x));
        if (subnets.some((x) => !x)) return end({ kind: 'appliance', what: `attachment ${keyOf(te.attachment)} with a subnet outside the model` });
        return fork(g.tablesOfSubnets(subnets as ResourceRef[]).map(({ rt, subnet }) => ({ vpc: nextVpc, rt, hops: [hop(subnet, `attachment subnet${subnet.resolved.AvailabilityZone && typeof subnet.resolved.AvailabilityZone === 'string' ? ` in ${subnet.resolved.AvailabilityZone}` : ''}`)] })));
      }
      return end({ kind: 'drop', why: 'too many Transit Gateway hops' });
    }
    if (key === 'VpcEndpointId') {
      if (target?.type === 'AWS::NetworkFirewall::Firewall' && resolvedTarget.kind === 'resource') {
        s.inspected = true;
        s.hops.push(hop(target, 'Network Firewall endpoint (inspection)'));
        const subnets = g.firewallSubnetsOf(target, resolvedTarget.index ?? 'any');
        if (subnets.length === 0) return end({ kind: 'appliance', what: `firewall ${keyOf(target)} whose subnets cannot be resolved` });
        return fork(g.tablesOfSubnets(subnets).map(({ rt, subnet }) => ({ vpc: s.vpc, rt, hops: [hop(subnet, `firewall subnet${typeof subnet.resolved.AvailabilityZone === 'string' ? ` in ${subnet.resolved.AvailabilityZone}` : ''}`)] })));
      }
      return end({ kind: 'appliance', what: `VPC endpoint ${JSON.stringify(rp.VpcEndpointId)}${target ? ` (${target.type})` : ''}` });
    }
    return end({ kind: 'appliance', what: `route target ${key} ${JSON.stringify(rp[key])}` });
  }
  return end({ kind: 'drop', why: 'too many hops' });
}

/** What an endpoint's service name names: an AWS service, an endpoint service of the model (PrivateLink), something else, or nothing knowable offline. */
function serviceOfEndpoint(model: CloudModel, ep: ResourceRef): { aws?: string; provider?: ResourceRef; literal?: string; unresolved?: string } {
  const name = ep.resolved.ServiceName;
  if (isUnresolved(name)) return { unresolved: name['Fn::Unresolved'] };
  if (typeof name !== 'string') return { unresolved: `ServiceName is not a string (${JSON.stringify(name)})` };
  // com.amazonaws.vpce.<region>.vpce-svc-…: an endpoint service; if it is one of the model's, PrivateLink to its zone.
  const svcId = name.split('.').pop() ?? '';
  const t = model.target(svcId);
  const svc = t && model.get(t.stack, t.logicalId);
  if (svc?.type === 'AWS::EC2::VPCEndpointService') return { provider: svc };
  if (name.startsWith('com.amazonaws.vpce.')) return { literal: name };
  const m = /^(?:com\.amazonaws|aws\.api)\.[^.]+\.(.+)$/.exec(name);
  if (m) return { aws: m[1] };
  return { literal: name };
}

/** Reaches through VPC endpoints: AWS APIs, and PrivateLink to the provider's zone. */
function endpointReaches(g: Graph, zv: ZoneVpc, unverifiable: Finding[]): Reach[] {
  const out: Reach[] = [];
  const from = { zone: zv.zone, municipality: zv.municipality, vpc: keyOf(zv.vpc) };
  for (const ep of g.inVpc('AWS::EC2::VPCEndpoint', zv.vpc)) {
    const s = serviceOfEndpoint(g.model, ep);
    if (s.unresolved) {
      unverifiable.push({ kind: 'unverifiable-path', zone: zv.zone, municipality: zv.municipality, message: `${label(zv)} has an endpoint whose service cannot be resolved offline (${s.unresolved})`, hops: [hop(ep, 'VPC endpoint')] });
    } else if (s.aws) {
      out.push({ from, to: { kind: 'aws-api', service: s.aws }, mechanism: 'vpc-endpoint', ports: [443], portText: 'tcp 443', inspected: false, hops: [hop(ep, `${ep.resolved.VpcEndpointType ?? 'Gateway'} endpoint for ${s.aws}`)] });
    } else if (s.provider) {
      const provider = s.provider;
      const lbs = [...asList(provider.resolved.NetworkLoadBalancerArns), ...asList(provider.resolved.GatewayLoadBalancerArns)].map((a) => g.model.refTo(provider.stack, a)).filter((r): r is ResourceRef => !!r);
      const ports = g.model
        .ofType('AWS::ElasticLoadBalancingV2::Listener')
        .filter((l) => lbs.includes(g.model.refTo(l.stack, l.props.LoadBalancerArn) as ResourceRef))
        .map((l) => Number(l.resolved.Port));
      for (const lb of lbs) {
        // The load balancer's nodes sit in every one of its subnets: each subnet's VPC is reached.
        const subnets = [...asList(lb.resolved.Subnets), ...asList(lb.resolved.SubnetMappings).map((m) => m?.SubnetId)].map((x) => g.model.refTo(lb.stack, x));
        const vpcs = new Map<string, ResourceRef | undefined>();
        for (const subnet of subnets) {
          const vpc = subnet && g.model.refTo(subnet.stack, subnet.props.VpcId);
          vpcs.set(vpc ? keyOf(vpc) : '?', vpc);
        }
        for (const vpc of vpcs.values()) {
          const z = g.zones.vpcZone(vpc);
          const to: Target = z ? { kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(z.vpc) } : { kind: 'unknown-vpc', vpc: vpc ? keyOf(vpc) : '?' };
          out.push({ from, to, mechanism: 'privatelink', ports, portText: ports.map((x) => `tcp ${x}`).join(', '), inspected: false, hops: [hop(ep, 'interface endpoint (consumer)'), hop(provider, 'endpoint service (provider)'), hop(lb, 'load balancer')] });
        }
      }
    } else {
      out.push({ from, to: { kind: 'external', what: `endpoint service ${s.literal}` }, mechanism: 'privatelink', inspected: false, hops: [hop(ep, 'interface endpoint to a service outside the model')] });
    }
  }
  return out;
}

function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.start <= b.end && b.start <= a.end;
}

const PROTOCOLS: Record<string, string> = { '-1': 'all', '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: 'all' };

/** A protocol-aware description of what a rule admits, and the single ports a crossing can be matched against. */
export function portsOf(protocol: Json, from: Json, to: Json): { text: string; ports: number[] } {
  const proto = PROTOCOLS[String(protocol).toLowerCase()] ?? String(protocol).toLowerCase();
  if (proto === 'all') return { text: 'all', ports: [] };
  if (proto === 'icmp' || proto === 'icmpv6') return { text: proto, ports: [] };
  const a = Number(from);
  const b = Number(to ?? from);
  if (!Number.isFinite(a) || a < 0 || !Number.isFinite(b) || b < 0 || (a === 0 && b === 65535)) return { text: `${proto} all ports`, ports: [] };
  if (a === b) return { text: `${proto} ${a}`, ports: [a] };
  // A range matches a crossing only if every port in it is a crossing port: list short ranges, refuse wide ones.
  return { text: `${proto} ${a}-${b}`, ports: b - a < 16 ? Array.from({ length: b - a + 1 }, (_, i) => a + i) : [] };
}

/** Security-group and NACL openings into a zone from other zones' ranges or from anywhere. */
function filterReaches(g: Graph, zv: ZoneVpc, all: ZoneVpc[]): Reach[] {
  const out: Reach[] = [];
  const zoneCidrs = all.flatMap((z) => z.cidrs.map((c) => ({ z, c: parseCidr(c) as Cidr })).filter(({ c }) => typeof c !== 'string'));
  const sources = (cidrText: string | undefined): Target[] => {
    if (!cidrText) return [];
    const c = parseCidr(cidrText);
    if (typeof c === 'string') return [];
    if (c.prefix === 0) return [{ kind: 'internet' }];
    return zoneCidrs.filter(({ z, c: zc }) => z !== zv && cidrsOverlap(c, zc)).map(({ z }) => ({ kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(z.vpc) }) as Target);
  };
  const to = { zone: zv.zone, municipality: zv.municipality, vpc: keyOf(zv.vpc) };
  const ingressOf = (sg: ResourceRef): { r: ResourceRef; rule: Json }[] => [
    ...asList(sg.resolved.SecurityGroupIngress).map((rule) => ({ r: sg, rule })),
    ...g.inVpc('AWS::EC2::SecurityGroupIngress', zv.vpc).filter((i) => g.model.refTo(i.stack, i.props.GroupId) === sg).map((i) => ({ r: i, rule: i.resolved })),
  ];
  for (const sg of g.inVpc('AWS::EC2::SecurityGroup', zv.vpc)) {
    for (const { r, rule } of ingressOf(sg)) {
      const text = typeof rule?.CidrIp === 'string' ? rule.CidrIp : undefined;
      for (const src of sources(text)) {
        const from = src.kind === 'zone' ? { zone: src.zone, municipality: src.municipality, vpc: src.vpc } : { zone: 'public-internet' as ZoneName, vpc: 'internet' };
        const p = portsOf(rule.IpProtocol, rule.FromPort, rule.ToPort);
        out.push({ from, to: { kind: 'zone', ...to }, mechanism: 'security-group', ports: p.ports, portText: p.text, inspected: false, hops: [hop(r, `ingress from ${text} ${p.text}`)] });
      }
    }
  }
  for (const entry of g.inVpc('AWS::EC2::NetworkAclEntry', zv.vpc)) {
    const e = entry.resolved;
    if (e.Egress === true || e.Egress === 'true' || String(e.RuleAction).toLowerCase() !== 'allow') continue;
    const text = typeof e.CidrBlock === 'string' ? e.CidrBlock : undefined;
    for (const src of sources(text)) {
      const from = src.kind === 'zone' ? { zone: src.zone, municipality: src.municipality, vpc: src.vpc } : { zone: 'public-internet' as ZoneName, vpc: 'internet' };
      const p = String(e.Protocol) === '1' ? { text: 'icmp', ports: [] } : portsOf(e.Protocol, e.PortRange?.From, e.PortRange?.To);
      out.push({ from, to: { kind: 'zone', ...to }, mechanism: 'network-acl', ports: [], portText: p.text, inspected: false, hops: [hop(entry, `NACL allows ${text} ${p.text}`)] });
    }
  }
  return out;
}

function label(z: { zone: string; municipality?: string }): string {
  return z.municipality ? `${z.zone}@${z.municipality}` : z.zone;
}

/**
 * Properties the forwarding graph depends on, by resource type. A value among
 * them that cannot be resolved offline (or a resource whose Condition cannot
 * be evaluated) makes every path through it unverifiable: it is reported,
 * never dropped.
 */
const PATH_FIELDS: Record<string, string[]> = {
  'AWS::EC2::VPC': ['CidrBlock', 'Tags'],
  'AWS::EC2::VPCCidrBlock': ['VpcId', 'CidrBlock'],
  'AWS::EC2::Subnet': ['VpcId'],
  'AWS::EC2::SubnetRouteTableAssociation': ['SubnetId', 'RouteTableId'],
  'AWS::EC2::RouteTable': ['VpcId'],
  'AWS::EC2::Route': ['RouteTableId', 'DestinationCidrBlock', 'DestinationIpv6CidrBlock', 'DestinationPrefixListId', 'GatewayId', 'NatGatewayId', 'TransitGatewayId', 'VpcPeeringConnectionId', 'VpcEndpointId', 'NetworkInterfaceId', 'InstanceId', 'EgressOnlyInternetGatewayId'],
  'AWS::EC2::TransitGateway': ['DefaultRouteTableAssociation', 'DefaultRouteTablePropagation'],
  'AWS::EC2::TransitGatewayAttachment': ['VpcId', 'SubnetIds', 'TransitGatewayId'],
  'AWS::EC2::TransitGatewayVpcAttachment': ['VpcId', 'SubnetIds', 'TransitGatewayId'],
  'AWS::EC2::TransitGatewayRoute': ['TransitGatewayRouteTableId', 'DestinationCidrBlock', 'TransitGatewayAttachmentId', 'Blackhole'],
  'AWS::EC2::TransitGatewayRouteTableAssociation': ['TransitGatewayAttachmentId', 'TransitGatewayRouteTableId'],
  'AWS::EC2::TransitGatewayRouteTablePropagation': ['TransitGatewayAttachmentId', 'TransitGatewayRouteTableId'],
  'AWS::EC2::NatGateway': ['SubnetId'],
  'AWS::EC2::VPCPeeringConnection': ['VpcId', 'PeerVpcId'],
  'AWS::NetworkFirewall::Firewall': ['VpcId', 'SubnetMappings', 'TransitGatewayId'],
  'AWS::EC2::VPCEndpoint': ['VpcId', 'ServiceName', 'SubnetIds', 'RouteTableIds', 'VpcEndpointType'],
  'AWS::EC2::VPCEndpointService': ['NetworkLoadBalancerArns', 'GatewayLoadBalancerArns'],
  'AWS::EC2::SecurityGroup': ['VpcId', 'SecurityGroupIngress'],
  'AWS::EC2::SecurityGroupIngress': ['GroupId', 'CidrIp', 'IpProtocol', 'FromPort', 'ToPort'],
  'AWS::EC2::NetworkAclEntry': ['NetworkAclId', 'CidrBlock', 'RuleAction', 'Egress', 'Protocol', 'PortRange'],
  'AWS::EC2::SubnetNetworkAclAssociation': ['SubnetId', 'NetworkAclId'],
  'AWS::EC2::VPCGatewayAttachment': ['VpcId', 'InternetGatewayId', 'VpnGatewayId'],
  'AWS::ElasticLoadBalancingV2::LoadBalancer': ['Subnets', 'SubnetMappings'],
  'AWS::ElasticLoadBalancingV2::Listener': ['LoadBalancerArn', 'Port'],
};

/** Every path-relevant value that cannot be resolved offline, as unverifiable findings naming the resource, the field and the reason. */
function unresolvedPathValues(g: Graph): Finding[] {
  const out: Finding[] = [];
  for (const [type, fields] of Object.entries(PATH_FIELDS)) {
    for (const r of g.model.ofType(type)) {
      const z = g.zones.zoneOf(r);
      const where = { zone: (z.zone ?? 'unknown') as ZoneName | 'unknown', municipality: z.municipality };
      if (r.exists !== true) {
        out.push({ kind: 'unverifiable-path', ...where, message: `${keyOf(r)} (${type}) exists only if ${r.exists}: paths through it cannot be verified offline`, hops: [hop(r, 'conditional resource')] });
        continue;
      }
      for (const f of fields) {
        let v = r.resolved[f];
        if (f === 'Tags') v = asList(v).filter((t) => typeof t?.Key === 'string' && t.Key.startsWith('ThreeTier:'));
        for (const u of unresolvedIn(v)) {
          out.push({ kind: 'unverifiable-path', ...where, message: `${keyOf(r)} (${type}) ${f}${u.path === '.' ? '' : u.path.startsWith('[') ? u.path : `.${u.path}`} cannot be resolved offline: ${u.reason}`, hops: [hop(r, `unresolved ${f}`)] });
        }
      }
      if (type === 'AWS::EC2::Route' && (r.resolved.DestinationIpv6CidrBlock !== undefined || r.resolved.DestinationPrefixListId !== undefined) && g.zones.vpcOf(r)) {
        out.push({ kind: 'unverifiable-path', ...where, message: `${keyOf(r)} routes ${r.resolved.DestinationIpv6CidrBlock ? `IPv6 ${r.resolved.DestinationIpv6CidrBlock}` : `prefix list ${r.resolved.DestinationPrefixListId}`}, which the analyzer does not walk`, hops: [hop(r, 'route')] });
      }
    }
  }
  return out;
}

/** Computes every reach of every zone of the assembly. */
export function computeReaches(model: CloudModel): { reaches: Reach[]; zones: ZoneVpc[]; unverifiable: Finding[] } {
  const g = new Graph(model);
  const zones = g.zones.zoneVpcs();
  const reaches: Reach[] = [];
  const unverifiable: Finding[] = unresolvedPathValues(g);
  const probes: { ip: number; label: string }[] = [{ ip: PUBLIC_PROBE.start, label: 'internet' }];
  for (const z of zones) for (const c of z.cidrs) {
    const parsed = parseCidr(c);
    if (typeof parsed !== 'string') probes.push({ ip: parsed.start + Math.min(16, parsed.end - parsed.start), label: `${z.zone}@${z.municipality ?? ''} ${formatIpv4(parsed.start)}` });
  }
  // One probe inside every other routed destination, so no route goes untested.
  const probeIps = new Set(probes.map((p) => p.ip));
  for (const r of model.ofType('AWS::EC2::Route', 'AWS::EC2::TransitGatewayRoute')) {
    const text = model.literal(r.stack, r.props.DestinationCidrBlock);
    const c = text ? parseCidr(text) : undefined;
    if (!c || typeof c === 'string' || c.prefix === 0) continue;
    const ip = c.start + Math.min(1, c.end - c.start);
    if (!probeIps.has(ip)) {
      probeIps.add(ip);
      probes.push({ ip, label: text! });
    }
  }
  for (const zv of zones) {
    const from = { zone: zv.zone, municipality: zv.municipality, vpc: keyOf(zv.vpc) };
    for (const { rt, inspected } of g.tables(zv.vpc)) {
      const entries = g.entries(zv.vpc, rt);
      for (const probe of probes) {
        // Probes that stay local or match no route cannot leave: skip the walk.
        const first = Graph.match(entries, probe.ip);
        if (!first || first.route === 'local') continue;
        const start = rt ? [hop(rt, inspected ? 'route table of the firewall subnets (traffic leaving them is inspected)' : 'subnet route table')] : [];
        for (const res of trace(g, zv.vpc, rt, probe.ip, start, inspected)) {
          const o = res.outcome;
          if (o.kind === 'drop') continue;
          if (o.kind === 'appliance') {
            unverifiable.push({ kind: 'unverifiable-path', zone: zv.zone, municipality: zv.municipality, message: `traffic from ${label(zv)} toward ${probe.label} goes to ${o.what}, which the analyzer cannot follow`, hops: res.hops });
            continue;
          }
          if (o.kind === 'zone' && o.vpc === keyOf(zv.vpc)) continue; // own VPC
          reaches.push({ from, to: o, mechanism: 'route', inspected: res.inspected, hops: res.hops, routeDest: res.firstDest });
        }
      }
    }
    reaches.push(...endpointReaches(g, zv, unverifiable));
    reaches.push(...filterReaches(g, zv, zones));
  }
  return { reaches: dedupe(reaches), zones, unverifiable: dedupeFindings(unverifiable) };
}

function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.kind}|${f.message}|${f.hops.map((h) => h.resource).join('>')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function dedupe(reaches: Reach[]): Reach[] {
  const seen = new Map<string, Reach>();
  for (const r of reaches) {
    const k = `${r.from.vpc}|${r.from.zone}|${targetLabel(r.to)}|${r.mechanism}|${(r.ports ?? []).join(',')}|${r.hops.map((h) => `${h.resource}:${h.note}`).join('>')}`;
    if (!seen.has(k)) seen.set(k, r);
  }
  return [...seen.values()];
}

function portLabel(r: Reach): string {
  if (r.portText && /-|all|icmp|udp/.test(r.portText)) return ` (${r.portText})`;
  return r.ports?.length ? ` (ports ${r.ports.join(', ')})` : r.portText ? ` (${r.portText})` : '';
}

/** Sources shared by every municipality: a crossing's municipality then names its target, not its source. */
const SHARED_SOURCES: readonly string[] = ['public-internet', 'security-cloud'];

function permits(c: Crossing, r: Reach): boolean {
  if (c.from !== r.from.zone || (c.municipality && !SHARED_SOURCES.includes(r.from.zone) && c.municipality !== r.from.municipality)) return false;
  if (c.to === 'aws-apis') return r.to.kind === 'aws-api' && (c.services ?? []).includes(r.to.service);
  if (c.to === 'public-internet') return r.to.kind === 'internet' && r.mechanism === 'route';
  const exact = r.mechanism === 'route' && r.routeDest !== undefined && (c.destinations ?? []).includes(r.routeDest);
  if (c.to === 'office') return r.to.kind === 'external' && r.to.what.startsWith('vgw:') && r.to.what.includes('terminal-landing') && exact;
  if (c.to === 'lgwan-network' && r.mechanism === 'route') {
    const viaVgw = r.to.kind === 'external' && r.to.what.startsWith('vgw:') && r.to.what.includes('lgwan-network');
    const viaPeering = r.to.kind === 'zone' && r.to.zone === 'lgwan-network';
    return (viaVgw || viaPeering) && exact;
  }
  if (r.to.kind !== 'zone' || r.to.zone !== c.to) return false;
  const municipalTarget = !['security-cloud', 'lgwan-network', 'public-internet'].includes(c.to);
  if (municipalTarget && c.municipality && r.to.municipality !== c.municipality) return false;
  const portsOk = (r.ports ?? []).length > 0 && (r.ports ?? []).every((p) => c.ports.includes(p));
  switch (r.mechanism) {
    case 'privatelink':
      return c.mechanism === 'privatelink' && portsOk;
    case 'route':
      // Route-level reach has no ports; the crossing's mechanism must be a routed one, and inspected when it says so.
      return (c.mechanism === 'tgw-firewall-nat' && r.inspected) || c.mechanism === 'routes-and-security-groups';
    default:
      return portsOk;
  }
}

function crossingHolds(c: Crossing, reaches: Reach[]): boolean {
  const mine = reaches.filter((r) => r.from.zone === c.from && (!c.municipality || SHARED_SOURCES.includes(c.from) || r.from.municipality === c.municipality));
  if (c.to === 'aws-apis') return (c.services ?? []).every((svc) => mine.some((r) => r.to.kind === 'aws-api' && r.to.service === svc));
  return mine.some((r) => permits(c, r));
}

/** Compares the computed reaches with the intent. */
export function analyze(model: CloudModel, intent: IsolationIntent): AnalysisResult {
  const { reaches, zones, unverifiable } = computeReaches(model);
  const findings: Finding[] = [...unverifiable];
  const verdicts: AnalysisResult['verdicts'] = [];
  for (const r of reaches) {
    // The security cloud is the internet exit: it may reach the internet, and
    // tenants' internet zones only through the firewall (return traffic).
    // A security-cloud VPC of one municipality (the α′ proxy) is not the exit itself: its way to the internet must be
    // a crossing of the intent and inspected (below); toward the hub and the tenants it must cross the firewall.
    const municipal = r.from.zone === 'security-cloud' && r.from.municipality !== undefined;
    if (r.from.zone === 'security-cloud' && r.mechanism === 'route' && ((!municipal && r.to.kind === 'internet') || (r.to.kind === 'zone' && (r.to.zone === 'internet' || r.to.zone === 'security-cloud')))) {
      verdicts.push({ reach: r, permittedBy: 'security-cloud' });
      if (r.to.kind === 'zone' && (r.to.zone === 'internet' || municipal) && !r.inspected) {
        findings.push({ kind: 'uninspected-path', zone: 'security-cloud', municipality: r.from.municipality, message: municipal ? `${label(r.from)} reaches ${targetLabel(r.to)} without crossing the firewall` : `the security cloud returns traffic to ${targetLabel(r.to)} without crossing the firewall`, hops: r.hops });
      }
      continue;
    }
    // The LGWAN network answers 特定通信 and LGWAN mail: its return routes are part of X5 / X4.
    if (r.from.zone === 'lgwan-network' && r.mechanism === 'route' && r.to.kind === 'zone') {
      const to = r.to;
      const back = intent.crossings.find((c) => c.to === 'lgwan-network' && c.from === to.zone && c.municipality === to.municipality);
      verdicts.push({ reach: r, permittedBy: back?.id });
      if (!back) findings.push({ kind: 'forbidden-reach', zone: 'lgwan-network', message: `lgwan-network reaches ${targetLabel(r.to)} via route, which no crossing permits`, hops: r.hops });
      continue;
    }
    const allowedBy = intent.crossings.find((c) => permits(c, r));
    // An interface endpoint to an endpoint service outside the assembly is a door: permitted only when the intent lists it.
    if (!allowedBy && r.mechanism === 'privatelink' && r.to.kind === 'external' && endpointServiceListed(intent, r.from, r.to.what)) {
      verdicts.push({ reach: r, permittedBy: 'door' });
      continue;
    }
    verdicts.push({ reach: r, permittedBy: allowedBy?.id });
    if (allowedBy) {
      if (r.to.kind === 'internet' && !r.inspected) {
        findings.push({ kind: 'uninspected-path', zone: r.from.zone, municipality: r.from.municipality, message: `${label(r.from)} reaches the internet without crossing the firewall`, hops: r.hops });
      }
      continue;
    }
    const src = r.from.municipality ? `${r.from.zone}@${r.from.municipality}` : r.from.zone;
    const what = r.mechanism === 'security-group' || r.mechanism === 'network-acl' ? `admits traffic from` : 'reaches';
    const [subject, object] = r.mechanism === 'security-group' || r.mechanism === 'network-acl' ? [targetLabel(r.to), src] : [src, targetLabel(r.to)];
    findings.push({
      kind: 'forbidden-reach',
      zone: r.to.kind === 'zone' && (r.mechanism === 'security-group' || r.mechanism === 'network-acl') ? r.to.zone : r.from.zone,
      municipality: r.to.kind === 'zone' && (r.mechanism === 'security-group' || r.mechanism === 'network-acl') ? r.to.municipality : r.from.municipality,
      message: `${subject} ${what} ${r.from.zone === 'public-internet' ? '0.0.0.0/0 (anywhere)' : object} via ${r.mechanism}${portLabel(r)}, which no crossing permits`,
      hops: r.hops,
    });
  }
  for (const c of intent.crossings) {
    if (!crossingHolds(c, reaches)) {
      const missing = c.to === 'aws-apis' ? ` (missing: ${(c.services ?? []).filter((s) => !reaches.some((r) => r.from.zone === c.from && r.from.municipality === c.municipality && r.to.kind === 'aws-api' && r.to.service === s)).join(', ')})` : '';
      findings.push({ kind: 'broken-crossing', zone: c.from, municipality: c.municipality, crossing: c.id, message: `permitted crossing ${c.id} ${c.from} → ${c.to} is broken${missing}: ${c.description}`, hops: c.enforcedBy.map((e) => ({ resource: `${e.stack}/${e.logicalId ?? '?'}`, type: e.role, note: 'enforcing resource' })) });
    }
  }
  // Zones in the intent that the assembly does not have.
  for (const z of intent.zones) {
    if (z.zone === 'security-cloud') continue;
    if (!zones.some((v) => v.zone === z.zone && v.municipality === z.municipality)) {
      findings.push({ kind: 'broken-crossing', zone: z.zone, municipality: z.municipality, message: `zone ${z.zone} of ${z.municipality} is in the intent but no VPC carries its tags`, hops: [] });
    }
  }
  // Channels that are not packet routes: DNS and the AWS-managed doors.
  const channels = analyzeChannels(model, intent);
  findings.push(...channels.findings);
  return { reaches, verdicts, findings: collapse(findings), zones, channels };
}

/**
 * One finding per distinct message and municipality: a reach found on several
 * paths (one per AZ, say) is reported once, with the first path and the count.
 * Municipalities are never merged (a crossing broken in 47 of them is 47 findings).
 */
function collapse(findings: Finding[]): Finding[] {
  const byMessage = new Map<string, { f: Finding; n: number }>();
  for (const f of findings) {
    const k = `${f.kind}|${f.municipality ?? ''}|${f.zone}|${f.message}`;
    const hit = byMessage.get(k);
    if (hit) hit.n++;
    else byMessage.set(k, { f, n: 1 });
  }
  return [...byMessage.values()].map(({ f, n }) => (n > 1 ? { ...f, message: `${f.message} (${n} paths; the first is shown)` } : f));
}

export { ISOLATED };
