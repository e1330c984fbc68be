import { Cidr, formatIpv4, parseCidr } from '../../config/cidr';
import { Crossing, IsolationIntent } from './intent';
import { ROLE_TAG } from '../core/tags';
import { CloudModel, Json, ResourceRef, asList, keyOf, tagsOf } from './model';
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
  readonly ports?: number[];
  /** True when the path crosses a Network Firewall. */
  readonly inspected: boolean;
  readonly hops: Hop[];
  /** For routed reaches: the destination CIDR of the route taken in the source's route table. */
  readonly routeDest?: string;
}

export interface Finding {
  readonly kind: 'forbidden-reach' | 'broken-crossing' | 'uninspected-path' | 'unverifiable-path';
  readonly municipality?: string;
  readonly zone: ZoneName;
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

class Graph {
  readonly zones: ZoneIndex;
  private readonly routesByTable = new Map<string, ResourceRef[]>();
  private readonly tableBySubnet = new Map<string, ResourceRef>();
  private readonly subnetsByVpc = new Map<string, ResourceRef[]>();
  private readonly tgwAttachments: ResourceRef[];
  private readonly firewalls: ResourceRef[];

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

  /** Route tables in use by a VPC's subnets (subnets without association use the main table: local only). */
  tables(vpc: ResourceRef): (ResourceRef | undefined)[] {
    const seen = new Map<string, ResourceRef | undefined>();
    for (const s of this.subnets(vpc)) {
      const rt = this.tableBySubnet.get(keyOf(s));
      seen.set(rt ? keyOf(rt) : 'main', rt);
    }
    if (seen.size === 0) seen.set('main', undefined);
    return [...seen.values()];
  }

  vpcCidrs(vpc: ResourceRef): Cidr[] {
    const z = this.zones.vpcZone(vpc);
    const texts = z ? z.cidrs : [this.model.literal(vpc.stack, vpc.props.CidrBlock)].filter((c): c is string => !!c);
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
    if (tgw && tgw.props.DefaultRouteTableAssociation !== 'disable') return 'default';
    return undefined;
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
        if (t === tgw && tgw?.props.DefaultRouteTablePropagation !== 'disable') propagate(att, undefined);
      }
      return out;
    }
    for (const r of this.model.ofType('AWS::EC2::TransitGatewayRoute')) {
      if (this.model.refTo(r.stack, r.props.TransitGatewayRouteTableId) !== table) continue;
      const dest = this.cidrOf(r.stack, r.props.DestinationCidrBlock);
      if (!dest) continue;
      const blackhole = r.props.Blackhole === true || r.props.Blackhole === 'true';
      const att = r.props.TransitGatewayAttachmentId !== undefined ? this.model.refTo(r.stack, r.props.TransitGatewayAttachmentId) : undefined;
      out.push({ dest, attachment: att, blackhole, via: r });
    }
    for (const p of this.model.ofType('AWS::EC2::TransitGatewayRouteTablePropagation')) {
      if (this.model.refTo(p.stack, p.props.TransitGatewayRouteTableId) !== table) continue;
      const att = this.model.refTo(p.stack, p.props.TransitGatewayAttachmentId);
      if (att && att.type !== 'AWS::NetworkFirewall::Firewall') propagate(att, p);
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

/** Forwards one probe packet from a VPC route table until it arrives, leaves or drops. */
function trace(g: Graph, vpc: ResourceRef, rt: ResourceRef | undefined, ip: number, startHops: Hop[]): TraceResult {
  const state = { firstDest: undefined as string | undefined };
  const result = traceInner(g, vpc, rt, ip, startHops, state);
  return { ...result, firstDest: state.firstDest };
}

function traceInner(g: Graph, vpc: ResourceRef, rt: ResourceRef | undefined, ip: number, startHops: Hop[], state: { firstDest?: string }): TraceResult {
  const hops = [...startHops];
  let inspected = false;
  let curVpc = vpc;
  let curRt = rt;
  const seen = new Set<string>();
  for (let step = 0; step < 32; step++) {
    const stateKey = `${keyOf(curVpc)}|${curRt ? keyOf(curRt) : 'main'}`;
    if (seen.has(stateKey)) return { outcome: { kind: 'drop', why: 'routing loop' }, hops, inspected };
    seen.add(stateKey);
    const e = Graph.match(g.entries(curVpc, curRt), ip);
    if (!e) return { outcome: { kind: 'drop', why: 'no route' }, hops, inspected };
    if (e.route === 'local') {
      const z = g.zones.vpcZone(curVpc);
      const outcome: Target = z ? { kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(curVpc) } : { kind: 'unknown-vpc', vpc: keyOf(curVpc) };
      return { outcome, hops, inspected };
    }
    const route = e.route;
    const p = route.props;
    state.firstDest ??= e.dest.text;
    hops.push(hop(route, `route ${e.dest.text}${curRt ? ` in ${keyOf(curRt)}` : ''}`));
    const target = g.model.refTo(route.stack, p.GatewayId ?? p.NatGatewayId ?? p.TransitGatewayId ?? p.VpcPeeringConnectionId ?? p.VpcEndpointId ?? p.NetworkInterfaceId ?? p.InstanceId ?? p.EgressOnlyInternetGatewayId);
    if (p.GatewayId !== undefined) {
      if (target?.type === 'AWS::EC2::VPNGateway') {
        const role = tagsOf(target.props)[ROLE_TAG];
        hops.push(hop(target, `virtual private gateway${role ? ` (${role})` : ''}`));
        return { outcome: { kind: 'external', what: role ? `vgw:${role}` : `vpn:${keyOf(target)}` }, hops, inspected };
      }
      const lit = g.model.literal(route.stack, p.GatewayId);
      if (target?.type === 'AWS::EC2::InternetGateway' || lit?.startsWith('igw-')) {
        if (target) hops.push(hop(target, 'internet gateway'));
        const priv = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].some((c) => {
          const x = parseCidr(c) as Cidr;
          return ip >= x.start && ip <= x.end;
        });
        return priv ? { outcome: { kind: 'drop', why: 'internet gateway does not route private addresses' }, hops, inspected } : { outcome: { kind: 'internet' }, hops, inspected };
      }
      if (lit?.startsWith('vgw-')) return { outcome: { kind: 'external', what: `vpn:${lit}` }, hops, inspected };
      return { outcome: { kind: 'appliance', what: `gateway ${JSON.stringify(p.GatewayId)}` }, hops, inspected };
    }
    if (p.EgressOnlyInternetGatewayId !== undefined) return { outcome: { kind: 'internet' }, hops, inspected };
    if (p.NatGatewayId !== undefined) {
      if (!target) return { outcome: { kind: 'appliance', what: 'NAT gateway outside the model' }, hops, inspected };
      hops.push(hop(target, 'NAT gateway'));
      const subnet = g.model.refTo(target.stack, target.props.SubnetId);
      const natVpc = subnet && g.model.refTo(subnet.stack, subnet.props.VpcId);
      if (!subnet || !natVpc) return { outcome: { kind: 'drop', why: 'NAT gateway without subnet' }, hops, inspected };
      curVpc = natVpc;
      curRt = g.tableOf(subnet);
      // A NAT never forwards to its own VPC's local range again from outside; continue routing.
      continue;
    }
    if (p.VpcPeeringConnectionId !== undefined) {
      if (!target) return { outcome: { kind: 'external', what: 'peering outside the model' }, hops, inspected };
      hops.push(hop(target, 'VPC peering'));
      const a = g.model.refTo(target.stack, target.props.VpcId);
      const b = g.model.refTo(target.stack, target.props.PeerVpcId);
      const other = a === curVpc ? b : a;
      if (!other) return { outcome: { kind: 'external', what: `peer VPC ${JSON.stringify(target.props.PeerVpcId)}` }, hops, inspected };
      const inOther = g.vpcCidrs(other).some((c) => ip >= c.start && ip <= c.end);
      if (!inOther) return { outcome: { kind: 'drop', why: 'peering is not transitive' }, hops, inspected };
      const z = g.zones.vpcZone(other);
      return { outcome: z ? { kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(other) } : { kind: 'unknown-vpc', vpc: keyOf(other) }, hops, inspected };
    }
    if (p.TransitGatewayId !== undefined) {
      const att = g.attachmentOf(curVpc, target);
      if (!att) return { outcome: { kind: 'drop', why: 'VPC not attached to that Transit Gateway' }, hops, inspected };
      hops.push(hop(att, 'Transit Gateway attachment'));
      let table = g.associatedTable(att);
      let arrived: TraceResult | undefined;
      for (let tgwStep = 0; tgwStep < 8 && !arrived; tgwStep++) {
        if (!table) return { outcome: { kind: 'drop', why: 'attachment has no route table association' }, hops, inspected };
        if (table !== 'default') hops.push(hop(table, 'Transit Gateway route table'));
        else hops.push({ resource: `${target ? keyOf(target) : '?'}#default`, type: 'AWS::EC2::TransitGatewayRouteTable', note: 'default route table (association enabled)' });
        const te = Graph.match(g.tgwEntries(table, target), ip);
        if (!te) return { outcome: { kind: 'drop', why: 'no Transit Gateway route' }, hops, inspected };
        if (te.via) hops.push(hop(te.via, te.blackhole ? `blackhole ${te.dest.text}` : `TGW route ${te.dest.text}`));
        if (te.blackhole || !te.attachment) return { outcome: { kind: 'drop', why: 'blackhole' }, hops, inspected };
        if (te.attachment.type === 'AWS::NetworkFirewall::Firewall') {
          inspected = true;
          hops.push(hop(te.attachment, 'Network Firewall (inspection)'));
          table = g.associatedTable(te.attachment);
          continue;
        }
        const nextVpc = g.model.refTo(te.attachment.stack, te.attachment.props.VpcId);
        if (!nextVpc) return { outcome: { kind: 'external', what: `attachment ${keyOf(te.attachment)}` }, hops, inspected };
        hops.push(hop(te.attachment, 'Transit Gateway attachment (egress)'));
        const firstSubnet = g.model.refTo(te.attachment.stack, asList(te.attachment.props.SubnetIds)[0]);
        curVpc = nextVpc;
        curRt = g.tableOf(firstSubnet);
        arrived = undefined;
        break;
      }
      continue;
    }
    if (p.VpcEndpointId !== undefined) {
      const fw = g.firewallByEndpoint(target);
      if (fw) {
        inspected = true;
        hops.push(hop(fw, 'Network Firewall endpoint (inspection)'));
        const subnet = g.model.refTo(fw.stack, asList(fw.props.SubnetMappings)[0]?.SubnetId);
        curRt = g.tableOf(subnet);
        continue;
      }
      return { outcome: { kind: 'appliance', what: `VPC endpoint ${JSON.stringify(p.VpcEndpointId)}` }, hops, inspected };
    }
    return { outcome: { kind: 'appliance', what: `route target ${JSON.stringify(p.NetworkInterfaceId ?? p.InstanceId ?? p)}` }, hops, inspected };
  }
  return { outcome: { kind: 'drop', why: 'too many hops' }, hops, inspected };
}

/** Joins the literal parts of an intrinsic string, with placeholders for what cannot be known offline. */
function flatten(v: Json): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'];
      return asList(parts).map(flatten).join(String(sep));
    }
    if ('Ref' in v) return v.Ref === 'AWS::Region' ? '{region}' : v.Ref === 'AWS::URLSuffix' ? 'amazonaws.com' : `{ref:${v.Ref}}`;
  }
  return '{?}';
}

function serviceOfEndpoint(model: CloudModel, ep: ResourceRef): { aws?: string; provider?: ResourceRef; literal?: string } {
  const name = ep.props.ServiceName;
  const text = JSON.stringify(name);
  // A Ref (or import) to an endpoint service in the model: PrivateLink to that service's zone.
  const refs = [...text.matchAll(/"Ref":"([^"]+)"/g)].map((m) => model.get(ep.stack, m[1])).filter((r): r is ResourceRef => !!r);
  const imported = [...text.matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((m) => model.resolve(ep.stack, { 'Fn::ImportValue': m[1] })).flatMap((r) => (r.kind === 'resource' ? [r.ref] : []));
  const svc = [...refs, ...imported].find((r) => r.type === 'AWS::EC2::VPCEndpointService');
  if (svc) return { provider: svc };
  const flat = flatten(name);
  if (flat.startsWith('com.amazonaws.vpce.')) return { literal: flat };
  const m = /^com\.amazonaws\.[^.]+\.(.+)$/.exec(flat);
  if (m) return { aws: m[1] };
  return { literal: flat };
}

/** Reaches through VPC endpoints: AWS APIs, and PrivateLink to the provider's zone. */
function endpointReaches(g: Graph, zv: ZoneVpc): Reach[] {
  const out: Reach[] = [];
  const from = { zone: zv.zone, municipality: zv.municipality, vpc: keyOf(zv.vpc) };
  for (const ep of g.inVpc('AWS::EC2::VPCEndpoint', zv.vpc)) {
    const s = serviceOfEndpoint(g.model, ep);
    if (s.aws) {
      out.push({ from, to: { kind: 'aws-api', service: s.aws }, mechanism: 'vpc-endpoint', ports: [443], inspected: false, hops: [hop(ep, `${ep.props.VpcEndpointType ?? 'Gateway'} endpoint for ${s.aws}`)] });
    } else if (s.provider) {
      const lbs = [...asList(s.provider.props.NetworkLoadBalancerArns), ...asList(s.provider.props.GatewayLoadBalancerArns)].map((a) => g.model.refTo(s.provider!.stack, a)).filter((r): r is ResourceRef => !!r);
      const ports = g.model
        .ofType('AWS::ElasticLoadBalancingV2::Listener')
        .filter((l) => lbs.includes(g.model.refTo(l.stack, l.props.LoadBalancerArn) as ResourceRef))
        .map((l) => Number(l.props.Port));
      for (const lb of lbs) {
        const subnet = g.model.refTo(lb.stack, asList(lb.props.Subnets)[0] ?? asList(lb.props.SubnetMappings)[0]?.SubnetId);
        const vpc = subnet && g.model.refTo(subnet.stack, subnet.props.VpcId);
        const z = g.zones.vpcZone(vpc);
        const to: Target = z ? { kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(z.vpc) } : { kind: 'unknown-vpc', vpc: vpc ? keyOf(vpc) : '?' };
        out.push({ from, to, mechanism: 'privatelink', ports, inspected: false, hops: [hop(ep, 'interface endpoint (consumer)'), hop(s.provider, 'endpoint service (provider)'), hop(lb, 'load balancer')] });
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

/** Security-group and NACL openings into a zone from other zones' ranges or from anywhere. */
function filterReaches(g: Graph, zv: ZoneVpc, all: ZoneVpc[]): Reach[] {
  const out: Reach[] = [];
  const zoneCidrs = all.flatMap((z) => z.cidrs.map((c) => ({ z, c: parseCidr(c) as Cidr })));
  const sources = (cidrText: string | undefined): Target[] => {
    if (!cidrText) return [];
    const c = parseCidr(cidrText);
    if (typeof c === 'string') return [];
    if (c.prefix === 0) return [{ kind: 'internet' }];
    return zoneCidrs.filter(({ z, c: zc }) => z !== zv && cidrsOverlap(c, zc)).map(({ z }) => ({ kind: 'zone', zone: z.zone, municipality: z.municipality, vpc: keyOf(z.vpc) }) as Target);
  };
  const to = { zone: zv.zone, municipality: zv.municipality, vpc: keyOf(zv.vpc) };
  const ingressOf = (sg: ResourceRef): { r: ResourceRef; rule: Json }[] => [
    ...asList(sg.props.SecurityGroupIngress).map((rule) => ({ r: sg, rule })),
    ...g.inVpc('AWS::EC2::SecurityGroupIngress', zv.vpc).filter((i) => g.model.refTo(i.stack, i.props.GroupId) === sg).map((i) => ({ r: i, rule: i.props })),
  ];
  for (const sg of g.inVpc('AWS::EC2::SecurityGroup', zv.vpc)) {
    for (const { r, rule } of ingressOf(sg)) {
      const text = g.model.literal(r.stack, rule.CidrIp);
      for (const src of sources(text)) {
        const from = src.kind === 'zone' ? { zone: src.zone, municipality: src.municipality, vpc: src.vpc } : { zone: 'public-internet' as ZoneName, vpc: 'internet' };
        const port = Number(rule.FromPort);
        out.push({ from, to: { kind: 'zone', ...to }, mechanism: 'security-group', ports: Number.isFinite(port) && port >= 0 ? [port] : [], inspected: false, hops: [hop(r, `ingress from ${text} port ${rule.FromPort ?? 'all'}-${rule.ToPort ?? 'all'}`)] });
      }
    }
  }
  for (const entry of g.inVpc('AWS::EC2::NetworkAclEntry', zv.vpc)) {
    if (entry.props.Egress === true || entry.props.Egress === 'true' || String(entry.props.RuleAction).toLowerCase() !== 'allow') continue;
    const text = g.model.literal(entry.stack, entry.props.CidrBlock);
    for (const src of sources(text)) {
      const from = src.kind === 'zone' ? { zone: src.zone, municipality: src.municipality, vpc: src.vpc } : { zone: 'public-internet' as ZoneName, vpc: 'internet' };
      out.push({ from, to: { kind: 'zone', ...to }, mechanism: 'network-acl', ports: [], inspected: false, hops: [hop(entry, `NACL allows ${text} protocol ${entry.props.Protocol}`)] });
    }
  }
  return out;
}

/** Computes every reach of every zone of the assembly. */
export function computeReaches(model: CloudModel): { reaches: Reach[]; zones: ZoneVpc[]; unverifiable: Finding[] } {
  const g = new Graph(model);
  const zones = g.zones.zoneVpcs();
  const reaches: Reach[] = [];
  const unverifiable: Finding[] = [];
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
    for (const rt of g.tables(zv.vpc)) {
      const entries = g.entries(zv.vpc, rt);
      for (const probe of probes) {
        // Probes that stay local or match no route cannot leave: skip the walk.
        const first = Graph.match(entries, probe.ip);
        if (!first || first.route === 'local') continue;
        const res = trace(g, zv.vpc, rt, probe.ip, rt ? [hop(rt, 'subnet route table')] : []);
        const o = res.outcome;
        if (o.kind === 'drop') continue;
        if (o.kind === 'appliance') {
          unverifiable.push({ kind: 'unverifiable-path', zone: zv.zone, municipality: zv.municipality, message: `traffic from ${zv.zone} toward ${probe.label} goes to ${o.what}, which the analyzer cannot follow`, hops: res.hops });
          continue;
        }
        if (o.kind === 'zone' && o.vpc === keyOf(zv.vpc)) continue; // own VPC
        reaches.push({ from, to: o, mechanism: 'route', inspected: res.inspected, hops: res.hops, routeDest: res.firstDest });
      }
    }
    reaches.push(...endpointReaches(g, zv));
    reaches.push(...filterReaches(g, zv, zones));
  }
  return { reaches: dedupe(reaches), zones, unverifiable };
}

function dedupe(reaches: Reach[]): Reach[] {
  const seen = new Map<string, Reach>();
  for (const r of reaches) {
    const k = `${r.from.vpc}|${r.from.zone}|${targetLabel(r.to)}|${r.mechanism}|${(r.ports ?? []).join(',')}|${r.hops.map((h) => `${h.resource}:${h.note}`).join('>')}`;
    if (!seen.has(k)) seen.set(k, r);
  }
  return [...seen.values()];
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
    if (r.from.zone === 'security-cloud' && r.mechanism === 'route' && (r.to.kind === 'internet' || (r.to.kind === 'zone' && (r.to.zone === 'internet' || r.to.zone === 'security-cloud')))) {
      verdicts.push({ reach: r, permittedBy: 'security-cloud' });
      if (r.to.kind === 'zone' && r.to.zone === 'internet' && !r.inspected) {
        findings.push({ kind: 'uninspected-path', zone: 'security-cloud', message: `the security cloud returns traffic to ${targetLabel(r.to)} without crossing the firewall`, hops: r.hops });
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
        findings.push({ kind: 'uninspected-path', zone: r.from.zone, municipality: r.from.municipality, message: `${r.from.zone} reaches the internet without crossing the firewall`, hops: r.hops });
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
      message: `${subject} ${what} ${r.from.zone === 'public-internet' ? '0.0.0.0/0 (anywhere)' : object} via ${r.mechanism}${r.ports?.length ? ` (ports ${r.ports.join(', ')})` : ''}, which no crossing permits`,
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
  return { reaches, verdicts, findings, zones, channels };
}

export { ISOLATED };
