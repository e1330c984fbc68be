import type { IsolationIntent } from './intent';
import { CROSSING_TAG, MUNICIPALITY_TAG, ROLE_TAG } from '../core/tags';
import { CloudModel, Json, ResourceRef, asList, keyOf, tagsOf } from './model';
import { ZoneIndex } from './zones';
import { parseCidr } from '../../config/cidr';
import { pickupOnlyFromFront } from './pickup-rule';
import { screenBrokerCrossingFree } from './screen-rules';
import { UPDATES_RULES } from './updates-rules';
import { dnsFirewallFailClosed, noManagedDoors } from './channel-rules';
import { fqdnCrossingsEnforced } from './fqdn-rules';
import { crossingOfficeSecurityGroups, crossingSubnets } from './crossing-rules';

/**
 * The per-resource rules of DESIGN section 3 (the "ThreeTier" pack). Each is
 * a small pure function over one template resource and the model of the
 * whole assembly, so the same code runs inside `cdk synth` (as a cdk-nag 3
 * pack) and in `check-isolation` over any cdk.out.
 */


export interface RuleContext {
  readonly model: CloudModel;
  readonly zones: ZoneIndex;
  /**
   * The isolation intent, when the rules run on an assembly that has one (synth writes it
   * before validation; check-isolation reads it). Rules that depend on the model (which
   * crossings exist) read it here as data; without it they assume model α: no crossings
   * beyond α's.
   */
  readonly intent?: IsolationIntent;
}

export interface IsolationRule {
  /** Full id, e.g. "ThreeTier-IS1". Acknowledge with this id. */
  readonly id: string;
  readonly info: string;
  readonly explanation: string;
  /** Resource types this rule looks at. */
  readonly types: readonly string[];
  /** Returns one message per problem; empty when compliant. */
  check(r: ResourceRef, ctx: RuleContext): string[];
}

function zoneLabel(ctx: RuleContext, r: ResourceRef): string {
  const z = ctx.zones.zoneOf(r);
  return z.municipality ? `${z.zone} of ${z.municipality}` : String(z.zone);
}

function isOpenCidr(c: Json): boolean {
  return c === '0.0.0.0/0' || c === '::/0';
}

/** IS1: internet gateways, NAT gateways, EIPs and egress-only gateways do not belong in an isolated zone. */
const noInternetExit: IsolationRule = {
  id: 'ThreeTier-IS1',
  info: 'An isolated zone (mynumber, lgwan, transfer) has an internet exit.',
  explanation:
    'DESIGN section 2: mynumber, lgwan and transfer have no route to the internet. An internet gateway, egress-only gateway, NAT gateway or Elastic IP in these zones is an exit that the MIC guideline forbids.',
  types: ['AWS::EC2::InternetGateway', 'AWS::EC2::EgressOnlyInternetGateway', 'AWS::EC2::NatGateway', 'AWS::EC2::EIP', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::Route'],
  check(r, ctx) {
    if (r.type === 'AWS::EC2::VPCGatewayAttachment') {
      if (r.props.InternetGatewayId === undefined || !ctx.zones.isIsolated(r)) return [];
      return [`internet gateway attached to the ${zoneLabel(ctx, r)} VPC`];
    }
    if (r.type === 'AWS::EC2::Route') {
      if (!ctx.zones.isIsolated(r)) return [];
      const target = ctx.model.refTo(r.stack, r.props.GatewayId ?? r.props.NatGatewayId ?? r.props.EgressOnlyInternetGatewayId);
      if (r.props.EgressOnlyInternetGatewayId !== undefined || r.props.NatGatewayId !== undefined || target?.type === 'AWS::EC2::InternetGateway') {
        return [`route in the ${zoneLabel(ctx, r)} zone to an internet gateway or NAT`];
      }
      return [];
    }
    if (r.type === 'AWS::EC2::InternetGateway') {
      // An IGW has no VPC of its own: its tags or any attachment say where it is.
      const attachedIsolated = ctx.model
        .ofType('AWS::EC2::VPCGatewayAttachment')
        .some((a) => ctx.model.refTo(a.stack, a.props.InternetGatewayId) === r && ctx.zones.isIsolated(a));
      return ctx.zones.isIsolated(r) || attachedIsolated ? [`internet gateway in the ${zoneLabel(ctx, r)} zone`] : [];
    }
    if (r.type === 'AWS::EC2::EIP') {
      const inst = r.props.InstanceId !== undefined ? ctx.model.refTo(r.stack, r.props.InstanceId) : undefined;
      const isolated = ctx.zones.isIsolated(r) || (inst !== undefined && ctx.zones.isIsolated(inst));
      return isolated ? [`Elastic IP in the ${zoneLabel(ctx, inst ?? r)} zone`] : [];
    }
    return ctx.zones.isIsolated(r) ? [`${r.type.split('::')[2]} in the ${zoneLabel(ctx, r)} zone`] : [];
  },
};

/** IS2: no public IP addresses in isolated zones. */
const noPublicIp: IsolationRule = {
  id: 'ThreeTier-IS2',
  info: 'A resource in an isolated zone gets a public IP address.',
  explanation: 'A public IP makes a host addressable from the internet as soon as any gateway appears. Isolated zones assign none: subnets do not auto-assign, instances, launch templates and interfaces request none.',
  types: ['AWS::EC2::Subnet', 'AWS::EC2::Instance', 'AWS::EC2::LaunchTemplate'],
  check(r, ctx) {
    if (!ctx.zones.isIsolated(r) && r.type !== 'AWS::EC2::LaunchTemplate') return [];
    const p = r.props;
    const out: string[] = [];
    if (r.type === 'AWS::EC2::Subnet' && (p.MapPublicIpOnLaunch === true || p.MapPublicIpOnLaunch === 'true')) out.push('subnet assigns public IPs on launch');
    if (r.type === 'AWS::EC2::Instance' && asList(p.NetworkInterfaces).some((n: Json) => n?.AssociatePublicIpAddress === true || n?.AssociatePublicIpAddress === 'true')) out.push('instance requests a public IP');
    if (r.type === 'AWS::EC2::LaunchTemplate') {
      // A launch template has no VPC: its security groups (or its own tags) place it.
      const data = p.LaunchTemplateData ?? {};
      const nics = asList(data.NetworkInterfaces);
      const groups = [...asList(data.SecurityGroupIds), ...nics.flatMap((n: Json) => asList(n?.Groups))];
      const inIsolated = ctx.zones.isIsolated(r) || groups.some((g: Json) => {
        const sg = ctx.model.refTo(r.stack, g);
        return sg !== undefined && ctx.zones.isIsolated(sg);
      });
      if (inIsolated && nics.some((n: Json) => n?.AssociatePublicIpAddress === true || n?.AssociatePublicIpAddress === 'true')) out.push('launch template requests a public IP');
    }
    return out.map((m) => `${m} (${zoneLabel(ctx, r)})`);
  },
};

/** IS3: no VPC peering that touches a zone VPC. */
const noPeering: IsolationRule = {
  id: 'ThreeTier-IS3',
  info: 'A VPC peering connection touches a zone VPC.',
  explanation: 'DESIGN section 3: no route between zone VPCs, and no peering. Crossings happen only through the mechanisms in the crossing table.',
  types: ['AWS::EC2::VPCPeeringConnection'],
  check(r, ctx) {
    const a = ctx.zones.vpcZone(ctx.model.refTo(r.stack, r.props.VpcId));
    const b = ctx.zones.vpcZone(ctx.model.refTo(r.stack, r.props.PeerVpcId));
    if (!a && !b) return [];
    // Labs reach the simulated LGWAN network by peering (特定通信); the analyzer checks its routes are exactly the listed /32s.
    const simulated = (z: typeof a): boolean => !!z && z.zone === 'lgwan-network' && tagsOf(z.vpc.resolved)[ROLE_TAG] === 'simulated-lgwan';
    if ((simulated(a) && (b?.zone === 'mynumber' || b?.zone === 'lgwan')) || (simulated(b) && (a?.zone === 'mynumber' || a?.zone === 'lgwan'))) return [];
    const label = (z: typeof a): string => (z ? `${z.zone}${z.municipality ? ` of ${z.municipality}` : ''}` : 'a VPC outside the model');
    return [`peering between ${label(a)} and ${label(b)}`];
  },
};

/** IS4: isolated zones never attach to a Transit Gateway (the security cloud is for `internet` only). */
const noTgwFromIsolated: IsolationRule = {
  id: 'ThreeTier-IS4',
  info: 'An isolated zone is attached to a Transit Gateway.',
  explanation: 'DESIGN section 2: only the internet zone attaches to the security cloud. A Transit Gateway attachment from mynumber, lgwan or transfer would put them one route away from the internet and from other tenants.',
  types: ['AWS::EC2::TransitGatewayAttachment', 'AWS::EC2::TransitGatewayVpcAttachment', 'AWS::EC2::VPNGateway'],
  check(r, ctx) {
    if (r.type === 'AWS::EC2::VPNGateway') return [];
    return ctx.zones.isIsolated(r) ? [`Transit Gateway attachment from the ${zoneLabel(ctx, r)} zone`] : [];
  },
};

function statementIsOpen(st: Json): boolean {
  if (st?.Effect !== 'Allow') return false;
  const principalAll = st.Principal === '*' || asList(st.Principal?.AWS).includes('*');
  const resourceAll = asList(st.Resource).includes('*') || st.NotResource !== undefined;
  const conditioned = st.Condition && Object.keys(st.Condition).length > 0;
  return principalAll && resourceAll && !conditioned;
}

/** IS5: every endpoint has a policy, and none is open to every principal and every resource. */
const restrictiveEndpointPolicy: IsolationRule = {
  id: 'ThreeTier-IS5',
  info: 'A VPC endpoint policy is open to every principal and every resource (or missing, which means the same).',
  explanation: 'DESIGN section 3: AWS APIs are not a side door. Endpoint policies restrict to this account, this project\'s buckets and the named AWS repositories; "Principal": "*" with "Resource": "*" lets any credential move data anywhere through the endpoint.',
  types: ['AWS::EC2::VPCEndpoint'],
  check(r, ctx) {
    const type = r.props.VpcEndpointType ?? 'Gateway';
    if (type === 'GatewayLoadBalancer') return [];
    // Endpoints to PrivateLink endpoint services (not AWS APIs) carry no data to
    // AWS APIs; the provider's allowed principals and the security groups bound them.
    const svc = JSON.stringify(r.props.ServiceName ?? '');
    if (svc.includes('com.amazonaws.vpce') || [...svc.matchAll(/"Ref":"([^"]+)"/g)].some((m) => ctx.model.get(r.stack, m[1])?.type === 'AWS::EC2::VPCEndpointService')) return [];
    const doc = r.props.PolicyDocument;
    if (!doc) return ['endpoint has no policy (the default policy allows every action on every resource)'];
    return asList(doc.Statement).some(statementIsOpen) ? ['endpoint policy allows "Principal": "*" on "Resource": "*" without conditions'] : [];
  },
};

/** LG1: every VPC has a flow log of ALL traffic. */
const flowLogsAll: IsolationRule = {
  id: 'ThreeTier-LG1',
  info: 'A VPC has no flow log of ALL traffic.',
  explanation: 'DESIGN section 3 (Logs): flow logs of ALL traffic on every VPC, into the log archive. Accepted-only or rejected-only logs miss half of what the SOC needs.',
  types: ['AWS::EC2::VPC'],
  check(r, ctx) {
    const logs = ctx.model.ofType('AWS::EC2::FlowLog').filter((f) => ctx.model.refTo(f.stack, f.props.ResourceId) === r);
    return logs.some((f) => f.props.TrafficType === 'ALL') ? [] : [`VPC (${zoneLabel(ctx, r)}) has no flow log with TrafficType ALL`];
  },
};

/** IS6: no security group rule in an isolated zone allows 0.0.0.0/0 or ::/0, in either direction. */
const noOpenSgInIsolated: IsolationRule = {
  id: 'ThreeTier-IS6',
  info: 'A security group rule in an isolated zone allows 0.0.0.0/0.',
  explanation: 'Isolated zones talk only to named peers. A rule to or from 0.0.0.0/0 turns any future route into an open door; name the CIDR, prefix list or security group instead.',
  types: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress'],
  check(r, ctx) {
    if (!ctx.zones.isIsolated(r)) return [];
    const rules =
      r.type === 'AWS::EC2::SecurityGroup'
        ? [...asList(r.props.SecurityGroupIngress).map((x) => ['ingress', x] as const), ...asList(r.props.SecurityGroupEgress).map((x) => ['egress', x] as const)]
        : [[r.type.endsWith('Ingress') ? 'ingress' : 'egress', r.props] as const];
    return rules.filter(([, x]) => isOpenCidr(x?.CidrIp) || isOpenCidr(x?.CidrIpv6)).map(([dir, x]) => `${dir} rule allows ${x.CidrIp ?? x.CidrIpv6} in the ${zoneLabel(ctx, r)} zone`);
  },
};

/** IS7: no network ACL entry in an isolated zone admits everything from anywhere. */
const noWideNacl: IsolationRule = {
  id: 'ThreeTier-IS7',
  info: 'A network ACL entry in an isolated zone allows all traffic from 0.0.0.0/0.',
  explanation: 'Network ACLs are the subnet-level backstop of the isolation. An entry that allows every protocol from anywhere removes it.',
  types: ['AWS::EC2::NetworkAclEntry'],
  check(r, ctx) {
    const p = r.props;
    if (!ctx.zones.isIsolated(r)) return [];
    const allow = String(p.RuleAction).toLowerCase() === 'allow';
    const wide = isOpenCidr(p.CidrBlock) || isOpenCidr(p.Ipv6CidrBlock);
    const allProto = String(p.Protocol) === '-1';
    const inbound = !(p.Egress === true || p.Egress === 'true');
    return allow && wide && allProto && inbound ? [`network ACL entry allows all inbound traffic from anywhere in the ${zoneLabel(ctx, r)} zone`] : [];
  },
};

/** TG1: Transit Gateways never associate or propagate by default. */
const tgwNoDefaults: IsolationRule = {
  id: 'ThreeTier-TG1',
  info: 'A Transit Gateway associates or propagates attachments to its default route table.',
  explanation: 'With default association and propagation every attachment can reach every other one: tenants would reach each other and bypass inspection. Both must be "disable"; route tables are explicit.',
  types: ['AWS::EC2::TransitGateway'],
  check(r) {
    const out: string[] = [];
    if (r.resolved.DefaultRouteTableAssociation !== 'disable') out.push('DefaultRouteTableAssociation is not "disable"');
    if (r.resolved.DefaultRouteTablePropagation !== 'disable') out.push('DefaultRouteTablePropagation is not "disable"');
    if (r.props.AutoAcceptSharedAttachments === 'enable') out.push('AutoAcceptSharedAttachments is "enable"');
    return out;
  },
};

/** FW1: firewall policies drop by default. */
const firewallDefaultDrop: IsolationRule = {
  id: 'ThreeTier-FW1',
  info: 'A Network Firewall policy does not drop by default.',
  explanation: 'The security cloud admits only what its rules allow: stateless default actions forward to the stateful engine (or drop), and the stateful engine runs in strict order with a drop default.',
  types: ['AWS::NetworkFirewall::FirewallPolicy'],
  check(r) {
    const fp = r.props.FirewallPolicy ?? {};
    const out: string[] = [];
    const okStateless = (acts: Json): boolean => asList(acts).length > 0 && asList(acts).every((a) => a === 'aws:forward_to_sfe' || a === 'aws:drop');
    if (!okStateless(fp.StatelessDefaultActions)) out.push(`stateless default actions ${JSON.stringify(fp.StatelessDefaultActions)} pass traffic`);
    if (!okStateless(fp.StatelessFragmentDefaultActions)) out.push(`stateless fragment default actions ${JSON.stringify(fp.StatelessFragmentDefaultActions)} pass traffic`);
    if (fp.StatefulEngineOptions?.RuleOrder !== 'STRICT_ORDER') out.push('stateful engine is not in STRICT_ORDER');
    if (!asList(fp.StatefulDefaultActions).some((a) => a === 'aws:drop_strict' || a === 'aws:drop_established')) out.push('stateful default actions do not drop');
    return out;
  },
};

/** LG2: the log archive has object lock with a default retention. */
const archiveObjectLock: IsolationRule = {
  id: 'ThreeTier-LG2',
  info: 'The log archive bucket has no S3 Object Lock default retention.',
  explanation: 'DESIGN section 3 (Logs): the archive is evidence. Object Lock with a default retention keeps anyone, including an intruder with admin rights, from deleting logs early.',
  types: ['AWS::S3::Bucket'],
  check(r) {
    if (tagsOf(r.resolved)[ROLE_TAG] !== 'log-archive') return [];
    const lock = r.props.ObjectLockConfiguration;
    const enabled = r.props.ObjectLockEnabled === true || r.props.ObjectLockEnabled === 'true';
    const days = lock?.Rule?.DefaultRetention?.Days ?? lock?.Rule?.DefaultRetention?.Years;
    return enabled && lock?.ObjectLockEnabled === 'Enabled' && days ? [] : ['log archive bucket lacks Object Lock with a default retention'];
  },
};

/** ST1: screen transfer never lets data out toward the more trusted tier. */
const screenTransferNoExport: IsolationRule = {
  id: 'ThreeTier-ST1',
  info: 'Screen-transfer settings let data flow toward the more trusted tier (clipboard, file transfer or printing).',
  explanation: 'DESIGN crossing X1: only pixels and keystrokes cross. Copy from the session to the local clipboard, file download and upload, and printing to local devices must be disabled.',
  types: ['AWS::WorkSpacesWeb::UserSettings', 'AWS::AppStream::Stack'],
  check(r) {
    const out: string[] = [];
    if (r.type === 'AWS::WorkSpacesWeb::UserSettings') {
      for (const k of ['CopyAllowed', 'DownloadAllowed', 'UploadAllowed', 'PrintAllowed']) if (r.props[k] !== 'Disabled') out.push(`${k} is ${JSON.stringify(r.props[k] ?? 'unset')}, must be "Disabled"`);
    } else {
      const settings = asList(r.props.UserSettings);
      for (const action of ['CLIPBOARD_COPY_TO_LOCAL_DEVICE', 'FILE_DOWNLOAD', 'FILE_UPLOAD', 'PRINTING_TO_LOCAL_DEVICE']) {
        const s = settings.find((x: Json) => x?.Action === action);
        if (s?.Permission !== 'DISABLED') out.push(`${action} is ${s ? s.Permission : 'not set (AppStream enables it by default)'}`);
      }
    }
    return out;
  },
};

function pinsToEndpoint(st: Json): boolean {
  if (st?.Effect !== 'Deny') return false;
  const cond = st.Condition ?? {};
  for (const op of ['StringNotEquals', 'StringNotEqualsIfExists', 'StringNotLike']) {
    const c = cond[op] ?? {};
    if (Object.keys(c).some((k) => k.toLowerCase() === 'aws:sourcevpce' || k.toLowerCase() === 'aws:sourcevpc')) return true;
  }
  return false;
}

/** S3P1: a bucket on a crossing is reachable only through its VPC endpoints. */
const crossingBucketPinned: IsolationRule = {
  id: 'ThreeTier-S3P1',
  info: 'A bucket on a crossing has no bucket policy that pins access to VPC endpoints.',
  explanation: 'DESIGN crossings X2-X4: every access to an inbound, sanitized, quarantine or outbound bucket is pinned to one VPC endpoint and one role. Without a Deny unless aws:SourceVpce, any credential from anywhere can read or write it.',
  types: ['AWS::S3::Bucket'],
  check(r, ctx) {
    if (!tagsOf(r.resolved)[CROSSING_TAG]) return [];
    const policies = ctx.model.ofType('AWS::S3::BucketPolicy').filter((p) => ctx.model.refTo(p.stack, p.props.Bucket) === r);
    const pinned = policies.some((p) => asList(p.props.PolicyDocument?.Statement).some(pinsToEndpoint));
    return pinned ? [] : [`bucket on crossing ${tagsOf(r.resolved)[CROSSING_TAG]} has no Deny unless aws:SourceVpce`];
  },
};

/**
 * PL1: PrivateLink providers live in the less trusted zone, so nothing initiates into mynumber or
 * lgwan, except a privatelink crossing the intent lists into that zone (β's B1). Data, not model
 * names: such an endpoint service is accepted only when a crossing with mechanism privatelink and
 * `to` = its zone (same municipality) names it in enforcedBy, its load balancers listen only on
 * the crossing's ports and forward only to addresses inside the zone, and its allowed principals are not "*".
 */
const privateLinkDirection: IsolationRule = {
  id: 'ThreeTier-PL1',
  info: 'A VPC endpoint service (PrivateLink provider) sits in mynumber or lgwan without a privatelink crossing of the intent that lists it, its ports and its principals.',
  explanation:
    'DESIGN section 3: no connection is ever initiated into mynumber or lgwan from internet or transfer, except the privatelink crossings the intent lists. PrivateLink connections run from consumer to provider, so providers (endpoint services and their load balancers) belong in the less trusted zone, e.g. the screen-transfer service in internet, consumed from lgwan. A provider in mynumber or lgwan is a door into it: it is accepted only when a privatelink crossing into that zone lists the endpoint service, its load balancers listen on the crossing\'s ports only and forward only to addresses inside that zone, and its allowed principals are not "*".',
  types: ['AWS::EC2::VPCEndpointService'],
  check(r, ctx) {
    const lbs = [...asList(r.props.NetworkLoadBalancerArns), ...asList(r.props.GatewayLoadBalancerArns)].map((a) => ctx.model.refTo(r.stack, a)).filter((x): x is ResourceRef => !!x);
    const out: string[] = [];
    const zones = new Map<string, { zone: string; municipality?: string }>();
    for (const lb of lbs) {
      const subnet = ctx.model.refTo(lb.stack, asList(lb.props.Subnets)[0] ?? asList(lb.props.SubnetMappings)[0]?.SubnetId);
      const z = subnet ? ctx.zones.zoneOf(subnet) : undefined;
      if (z?.zone === 'mynumber' || z?.zone === 'lgwan') zones.set(`${z.zone}@${z.municipality ?? ''}`, { zone: z.zone, municipality: z.municipality });
    }
    for (const z of zones.values()) {
      const crossing = (ctx.intent?.crossings ?? []).find(
        (c) => c.mechanism === 'privatelink' && c.to === z.zone && (!c.municipality || c.municipality === z.municipality) && c.enforcedBy.some((e) => e.stack === r.stack && e.logicalId === r.logicalId),
      );
      if (!crossing) {
        out.push(`endpoint service provided from the ${z.zone} zone${z.municipality ? ` of ${z.municipality}` : ''}, which no privatelink crossing of the intent lists: connections would be initiated into ${z.zone}`);
        continue;
      }
      for (const lb of lbs) {
        for (const l of ctx.model.ofType('AWS::ElasticLoadBalancingV2::Listener').filter((x) => ctx.model.refTo(x.stack, x.props.LoadBalancerArn) === lb)) {
          const port = Number(l.resolved.Port);
          if (!crossing.ports.includes(port)) out.push(`load balancer ${lb.logicalId} listens on ${Number.isFinite(port) ? port : JSON.stringify(l.resolved.Port)} (listener ${l.logicalId}), which crossing ${crossing.id} into ${z.zone} does not list (its ports: ${crossing.ports.join(', ')})`);
        }
      }
      // The targets: addresses inside the zone itself. An IP target may be any routable address (the LGWAN
      // network over the zone's VPN, a peered VPC): the crossing would then lead past the zone.
      const own = ctx.zones.zoneVpcs().filter((v) => v.zone === z.zone && v.municipality === z.municipality).flatMap((v) => v.cidrs);
      const groups = ctx.model
        .ofType('AWS::ElasticLoadBalancingV2::Listener')
        .filter((x) => lbs.includes(ctx.model.refTo(x.stack, x.props.LoadBalancerArn) as ResourceRef))
        .flatMap((l) => asList(l.props.DefaultActions).flatMap((a: Json) => [a?.TargetGroupArn, ...asList(a?.ForwardConfig?.TargetGroups).map((t: Json) => t?.TargetGroupArn)]).map((g: Json) => ctx.model.refTo(l.stack, g)))
        .filter((g): g is ResourceRef => !!g);
      for (const g of new Set(groups)) {
        for (const t of asList(g.resolved.Targets)) {
          const id = String(t?.Id ?? '');
          if (String(g.resolved.TargetType) !== 'ip' || !/^\d+\.\d+\.\d+\.\d+$/.test(id)) continue; // instance targets sit in the zone's own subnets
          if (t?.AvailabilityZone === 'all' || !cidrInside(`${id}/32`, own)) out.push(`target group ${g.logicalId} sends the crossing to ${id}, outside the ${z.zone} zone (${own.join(', ')}): the crossing would lead past ${z.zone}`);
        }
      }
      for (const p of ctx.model.ofType('AWS::EC2::VPCEndpointServicePermissions').filter((x) => ctx.model.refTo(x.stack, x.props.ServiceId) === r)) {
        if (asList(p.resolved.AllowedPrincipals).some((a: Json) => a === '*')) out.push(`allowed principals of the endpoint service into ${z.zone} include "*" (${p.logicalId}): any AWS account could connect; name this account`);
      }
    }
    return out;
  },
};

const WRITE_ACTIONS = /^s3:(\*|Put\*|PutObject.*|\*Object.*|Delete.*|RestoreObject|ReplicateObject)$/i;

/** S3P2: only the transfer zone (the sanitizer) may write the sanitized bucket. */
const sanitizedWriteOnlyFromTransfer: IsolationRule = {
  id: 'ThreeTier-S3P2',
  info: 'The sanitized bucket can be written from outside the transfer zone.',
  explanation: 'DESIGN crossing X2: the sanitized bucket is writable only by the sanitizer in transfer; lgwan only reads it. A write grant through any other zone\'s endpoint lets unsanitized files reach LGWAN staff.',
  types: ['AWS::S3::BucketPolicy'],
  check(r, ctx) {
    const bucket = ctx.model.refTo(r.stack, r.props.Bucket);
    if (!bucket || tagsOf(bucket.resolved)[ROLE_TAG] !== 'sanitized') return [];
    const out: string[] = [];
    for (const st of asList(r.props.PolicyDocument?.Statement)) {
      if (st?.Effect !== 'Allow') continue;
      if (!asList(st.Action).some((a: Json) => WRITE_ACTIONS.test(String(a)))) continue;
      const vpces = Object.values(st.Condition ?? {}).flatMap((c: Json) => Object.entries(c ?? {}).filter(([k]) => k.toLowerCase() === 'aws:sourcevpce').flatMap(([, v]) => asList(v)));
      if (vpces.length === 0) {
        out.push(`statement ${st.Sid ?? ''} grants write without pinning it to the transfer zone's endpoint`.replace('  ', ' '));
        continue;
      }
      for (const v of vpces) {
        const ep = ctx.model.refTo(r.stack, v);
        const z = ep ? ctx.zones.zoneOf(ep).zone : undefined;
        if (z !== 'transfer') out.push(`write granted through an endpoint in ${z ?? 'an unknown VPC'}`);
      }
    }
    // And a Deny must keep writes to the transfer zone's endpoint, whatever IAM policies grant.
    const pinnedToTransfer = asList(r.props.PolicyDocument?.Statement).some((st: Json) => {
      if (!pinsToEndpoint(st) || !asList(st.Action).some((a: Json) => WRITE_ACTIONS.test(String(a)) || String(a) === 's3:*')) return false;
      const vpces = Object.values(st.Condition ?? {}).flatMap((c: Json) => Object.entries(c ?? {}).filter(([k]) => k.toLowerCase() === 'aws:sourcevpce').flatMap(([, v]) => asList(v)));
      return vpces.length > 0 && vpces.every((v) => {
        const ep = ctx.model.refTo(r.stack, v);
        return ep !== undefined && ctx.zones.zoneOf(ep).zone === 'transfer';
      });
    });
    if (!pinnedToTransfer) out.push('no Deny statement keeps writes to the transfer zone\'s endpoint: any endpoint that IAM policies allow could write sanitized files');
    return out;
  },
};

/** Endpoint ids named by the aws:SourceVpce conditions of a statement. */
function statementVpces(st: Json): Json[] {
  return Object.values(st?.Condition ?? {}).flatMap((c: Json) => Object.entries(c ?? {}).filter(([k]) => k.toLowerCase() === 'aws:sourcevpce').flatMap(([, v]) => asList(v)));
}

/** Whether a bucket policy has a Deny keeping `test`-matching actions to endpoints of `zones` only. */
function denyPinsTo(r: ResourceRef, ctx: RuleContext, test: (action: string) => boolean, zones: string[]): boolean {
  return asList(r.props.PolicyDocument?.Statement).some((st: Json) => {
    if (!pinsToEndpoint(st) || !asList(st.Action).some((a: Json) => test(String(a)) || String(a) === 's3:*')) return false;
    const vpces = statementVpces(st);
    return vpces.length > 0 && vpces.every((v) => {
      const ep = ctx.model.refTo(r.stack, v);
      return ep !== undefined && zones.includes(String(ctx.zones.zoneOf(ep).zone));
    });
  });
}

/** X4: the outbound bucket is written only from lgwan and read only from internet. */
const outboundBucketDirection: IsolationRule = {
  id: 'ThreeTier-X4',
  info: 'The outbound mail bucket can be written from outside lgwan, or read from outside internet.',
  explanation: 'DESIGN crossing X4: lgwan drops outbound mail into the outbound bucket and only the internet relay takes it from there. A write through another zone\'s endpoint lets the internet tier send mail in LGWAN staff\'s name; a read through another endpoint leaks LGWAN mail off its path.',
  types: ['AWS::S3::BucketPolicy'],
  check(r, ctx) {
    const bucket = ctx.model.refTo(r.stack, r.props.Bucket);
    if (!bucket || tagsOf(bucket.resolved)[ROLE_TAG] !== 'outbound') return [];
    const out: string[] = [];
    for (const st of asList(r.props.PolicyDocument?.Statement)) {
      if (st?.Effect !== 'Allow' || !asList(st.Action).some((a: Json) => WRITE_ACTIONS.test(String(a)))) continue;
      const zones = statementVpces(st).map((v) => ctx.model.refTo(r.stack, v)).map((ep) => (ep ? ctx.zones.zoneOf(ep).zone : undefined));
      if (!zones.length || zones.some((z) => z !== 'lgwan')) out.push(`statement ${st.Sid ?? ''} grants write outside the lgwan zone's endpoint`.replace('  ', ' '));
    }
    if (!denyPinsTo(r, ctx, (a) => /^s3:(Put\*|PutObject)$/i.test(a), ['lgwan'])) out.push('no Deny statement keeps writes to the lgwan zone\'s endpoint');
    if (!denyPinsTo(r, ctx, (a) => /^s3:(Get\*|GetObject)$/i.test(a), ['internet'])) out.push('no Deny statement keeps reads to the internet zone\'s endpoint');
    return out;
  },
};

const SMTP_PORTS = [25, 465, 587];

function coversSmtp(e: Json): boolean {
  const proto = String(e?.IpProtocol);
  if (proto === '-1') return true;
  if (proto !== 'tcp' && proto !== '6') return false;
  return SMTP_PORTS.some((p) => p >= Number(e.FromPort) && p <= Number(e.ToPort));
}

function cidrInside(inner: string, outers: string[]): boolean {
  const i = parseCidr(inner);
  return typeof i !== 'string' && outers.some((o) => {
    const c = parseCidr(o);
    return typeof c !== 'string' && i.start >= c.start && i.end <= c.end;
  });
}

/** X3: SMTP reaches a tier only along the mail crossings. */
const smtpIntoTiers: IsolationRule = {
  id: 'ThreeTier-X3',
  info: 'A security group admits SMTP into a tier from outside the mail crossings.',
  explanation: 'DESIGN crossings X3 and X4: mail from the internet enters the internet tier only from the security cloud\'s MX gateway and moves on to transfer and lgwan only as objects in S3, through the sanitizer. The lgwan ingester takes SMTP only from the LGWAN mail server in its own zone. SMTP into transfer or mynumber, into lgwan from outside lgwan, or into internet from anywhere but the security cloud is a side door around the sanitizer.',
  types: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress'],
  check(r, ctx) {
    const zone = ctx.zones.zoneOf(r).zone;
    if (zone !== 'internet' && zone !== 'lgwan' && zone !== 'transfer' && zone !== 'mynumber') return [];
    const entries = r.type === 'AWS::EC2::SecurityGroup' ? asList(r.props.SecurityGroupIngress) : [r.props];
    const own = ctx.zones.vpcZone(ctx.zones.vpcOf(r))?.cidrs ?? [];
    const securityCloud = ctx.zones.zoneVpcs().filter((v) => v.zone === 'security-cloud').flatMap((v) => v.cidrs);
    const out: string[] = [];
    for (const e of entries) {
      if (!coversSmtp(e)) continue;
      const cidr = ctx.model.literal(r.stack, e.CidrIp ?? e.CidrIpv6);
      const from = cidr ?? (e.SourcePrefixListId !== undefined ? 'a prefix list' : e.SourceSecurityGroupId !== undefined ? 'a security group' : 'an unknown source');
      if (zone === 'transfer' || zone === 'mynumber') out.push(`SMTP ingress from ${from} into ${zone}: mail reaches ${zone === 'transfer' ? 'the sanitizer only as objects in S3' : 'mynumber never'}`);
      else if (e.SourceSecurityGroupId !== undefined && cidr === undefined) continue; // a group of the same VPC (the NLB in front of the relay)
      else if (zone === 'internet' && !(cidr && cidrInside(cidr, securityCloud))) out.push(`SMTP ingress into internet from ${from}: only the security cloud's MX gateway may deliver to the internet relay`);
      else if (zone === 'lgwan' && !(cidr && cidrInside(cidr, own))) out.push(`SMTP ingress into lgwan from ${from}: only the LGWAN mail server inside the lgwan zone may send to the ingester`);
    }
    return out;
  },
};

/** X5: 特定通信 security groups name each destination by address and port, nothing wider. */
const specificCommunicationsPinned: IsolationRule = {
  id: 'ThreeTier-X5',
  info: 'A 特定通信 (specific communications) security group allows more than single addresses and ports.',
  explanation: 'DESIGN crossing X5: mynumber may reach only the listed LGWAN destinations, each pinned by address (/32) and port. A wider CIDR or a port range turns 特定通信 into general LGWAN access.',
  types: ['AWS::EC2::SecurityGroup'],
  check(r, ctx) {
    if (tagsOf(r.resolved)[ROLE_TAG] !== 'specific-communications') return [];
    const own = ctx.zones.vpcZone(ctx.zones.vpcOf(r))?.cidrs ?? [];
    const out: string[] = [];
    for (const e of asList(r.props.SecurityGroupEgress)) {
      const cidr = String(e?.CidrIp ?? '');
      if (own.includes(cidr) && Number(e.FromPort) === 443 && Number(e.ToPort) === 443) continue; // the zone's own endpoints
      if (!cidr.endsWith('/32')) out.push(`egress to ${cidr || JSON.stringify(e?.DestinationSecurityGroupId ?? e)} is not a single address`);
      if (String(e?.IpProtocol) === '-1' || Number(e?.FromPort) !== Number(e?.ToPort)) out.push(`egress to ${cidr} opens ${e?.IpProtocol === '-1' ? 'every protocol' : `ports ${e?.FromPort}-${e?.ToPort}`}`);
    }
    return out;
  },
};

/** TAG1: every zone VPC names its municipality. */
const zoneTags: IsolationRule = {
  id: 'ThreeTier-TAG1',
  info: 'A zone VPC lacks its ThreeTier:Municipality tag.',
  explanation: 'The checks find zones only by the ThreeTier:Zone and ThreeTier:Municipality tags (DESIGN section 2). A zone VPC without its municipality cannot be checked against the intent.',
  types: ['AWS::EC2::VPC'],
  check(r, ctx) {
    const z = ctx.zones.vpcZone(r);
    if (!z || z.zone === 'security-cloud' || z.zone === 'lgwan-network') return [];
    const code = tagsOf(r.resolved)[MUNICIPALITY_TAG];
    return code && /^\d{6}$/.test(code) ? [] : [`${z.zone} VPC has no valid ${MUNICIPALITY_TAG} tag`];
  },
};

export const ISOLATION_RULES: readonly IsolationRule[] = [
  noInternetExit,
  noPublicIp,
  noPeering,
  noTgwFromIsolated,
  restrictiveEndpointPolicy,
  flowLogsAll,
  noOpenSgInIsolated,
  noWideNacl,
  tgwNoDefaults,
  firewallDefaultDrop,
  archiveObjectLock,
  screenTransferNoExport,
  crossingBucketPinned,
  sanitizedWriteOnlyFromTransfer,
  outboundBucketDirection,
  smtpIntoTiers,
  privateLinkDirection,
  specificCommunicationsPinned,
  zoneTags,
  pickupOnlyFromFront,
  screenBrokerCrossingFree,
  ...UPDATES_RULES,
  dnsFirewallFailClosed,
  noManagedDoors,
  fqdnCrossingsEnforced,
  crossingSubnets,
  crossingOfficeSecurityGroups,
];

export interface RuleFinding {
  readonly rule: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly message: string;
}

/** Runs every rule over every resource of the model (the pack outside of synth). */
export function runRules(ctx: RuleContext, rules: readonly IsolationRule[] = ISOLATION_RULES): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const rule of rules) {
    for (const r of ctx.model.ofType(...rule.types)) {
      for (const message of rule.check(r, ctx)) out.push({ rule: rule.id, stack: r.stack, logicalId: r.logicalId, type: r.type, message });
    }
  }
  return out;
}

export { keyOf };
