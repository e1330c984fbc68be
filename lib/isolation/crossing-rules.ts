import { parseCidr } from '../../config/cidr';
import type { Crossing } from './intent';
import { Json, ResourceRef, asList } from './model';
import type { IsolationRule, RuleContext } from './rules';

/**
 * Rules on the subnets and security groups a crossing of the intent names in
 * `enforcedBy` (β′'s moved systems, crossing B2, are the first such
 * crossing). They read the crossing, never the model: whatever crossing lists
 * a subnet or a security group holds it to that crossing's destinations and
 * ports.
 */

function listing(ctx: RuleContext, r: ResourceRef, pick: (c: Crossing) => boolean = () => true): Crossing[] {
  return (ctx.intent?.crossings ?? []).filter((c) => pick(c) && c.enforcedBy.some((e) => e.stack === r.stack && e.logicalId === r.logicalId));
}

function inside(inner: string, outers: string[]): boolean {
  const i = parseCidr(inner);
  return typeof i !== 'string' && outers.some((o) => {
    const c = parseCidr(o);
    return typeof c !== 'string' && i.start >= c.start && i.end <= c.end;
  });
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return typeof x !== 'string' && typeof y !== 'string' && x.start <= y.end && y.start <= x.end;
}

/** CX1: a subnet a crossing lists has its own flow log of ALL traffic and routes only where the crossing leads. */
export const crossingSubnets: IsolationRule = {
  id: 'ThreeTier-CX1',
  info: 'A subnet that a crossing of the intent lists has no flow log of ALL traffic of its own, or routes somewhere the crossing does not lead.',
  explanation:
    'A crossing that names its own subnets (β′: a business system moved into the internet tier, crossing B2) is held to them: each subnet logs ALL of its traffic to the archive with a subnet flow log of its own, and its route table has only the tier\'s default route to the security cloud (a Transit Gateway) and routes to exactly the crossing\'s destinations. A route to another zone\'s CIDR (lgwan, mynumber, another municipality) or anywhere else is a path the intent does not list, even where the hub would drop it today.',
  types: ['AWS::EC2::Subnet'],
  check(r, ctx) {
    const crossings = listing(ctx, r);
    if (crossings.length === 0) return [];
    const ids = crossings.map((c) => c.id).join(', ');
    const out: string[] = [];
    const logs = ctx.model.ofType('AWS::EC2::FlowLog').filter((f) => String(f.resolved.ResourceType) === 'Subnet' && ctx.model.refTo(f.stack, f.props.ResourceId) === r);
    if (!logs.some((f) => f.resolved.TrafficType === 'ALL')) out.push(`subnet of crossing ${ids} has no flow log of ALL traffic of its own (ResourceType Subnet): add one to the log archive`);
    const destinations = crossings.flatMap((c) => c.destinations ?? []);
    const own = ctx.zones.vpcZone(ctx.zones.vpcOf(r));
    const others = ctx.zones.zoneVpcs().filter((z) => z !== own && z.municipality !== undefined);
    const tables = ctx.model
      .ofType('AWS::EC2::SubnetRouteTableAssociation')
      .filter((a) => ctx.model.refTo(a.stack, a.props.SubnetId) === r)
      .map((a) => ctx.model.refTo(a.stack, a.props.RouteTableId))
      .filter((t): t is ResourceRef => !!t);
    for (const rt of tables) {
      for (const route of ctx.model.ofType('AWS::EC2::Route').filter((x) => ctx.model.refTo(x.stack, x.props.RouteTableId) === rt)) {
        const dest = ctx.model.literal(route.stack, route.props.DestinationCidrBlock);
        if (dest === undefined) {
          out.push(`route ${route.logicalId} of a subnet of crossing ${ids} has no IPv4 destination the checks can read (${JSON.stringify(route.props.DestinationIpv6CidrBlock ?? route.props.DestinationPrefixListId ?? route.props.DestinationCidrBlock)})`);
          continue;
        }
        const zone = others.find((z) => z.cidrs.some((c) => overlaps(dest, c)) && dest !== '0.0.0.0/0');
        if (zone) {
          out.push(`route ${route.logicalId} sends ${dest} (the ${zone.zone} zone of ${zone.municipality}) from a subnet of crossing ${ids}: no route to another zone`);
          continue;
        }
        if (dest === '0.0.0.0/0') {
          if (route.props.TransitGatewayId === undefined) out.push(`default route ${route.logicalId} of a subnet of crossing ${ids} does not go to the security cloud's Transit Gateway`);
          continue;
        }
        if (!destinations.includes(dest)) out.push(`route ${route.logicalId} sends ${dest} from a subnet of crossing ${ids}, which leads only to ${destinations.join(', ') || 'no destination'}`);
      }
    }
    return out;
  },
};

/** CX2: a security group a crossing to the office lists admits only the crossing's segments on the crossing's ports. */
export const crossingOfficeSecurityGroups: IsolationRule = {
  id: 'ThreeTier-CX2',
  info: 'A security group that a crossing to the office lists admits other sources or ports than the crossing\'s.',
  explanation:
    'A crossing to the office segments that names a security group (β′: a business system moved into the internet tier, crossing B2) is its only door: the group admits TCP from exactly the crossing\'s office segments on exactly its ports. Anything else (0.0.0.0/0, another zone, other security groups or prefix lists, other ports or protocols) opens the system beyond the crossing.',
  types: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress'],
  check(r, ctx) {
    const sg = r.type === 'AWS::EC2::SecurityGroup' ? r : ctx.model.refTo(r.stack, r.props.GroupId);
    if (!sg) return [];
    const crossings = listing(ctx, sg, (c) => c.to === 'office');
    if (crossings.length === 0) return [];
    const ids = crossings.map((c) => c.id).join(', ');
    const segments = crossings.flatMap((c) => c.destinations ?? []);
    const ports = crossings.flatMap((c) => c.ports);
    const entries: Json[] = r.type === 'AWS::EC2::SecurityGroup' ? asList(r.resolved.SecurityGroupIngress) : [r.resolved];
    const out: string[] = [];
    for (const e of entries) {
      const source = typeof e?.CidrIp === 'string' ? e.CidrIp : typeof e?.CidrIpv6 === 'string' ? e.CidrIpv6 : e?.SourceSecurityGroupId !== undefined ? 'a security group' : e?.SourcePrefixListId !== undefined ? 'a prefix list' : 'an unknown source';
      const proto = String(e?.IpProtocol).toLowerCase();
      const from = Number(e?.FromPort);
      const to = Number(e?.ToPort ?? e?.FromPort);
      const what = proto === '-1' ? 'every protocol' : from === to ? `${proto} ${from}` : `${proto} ${from}-${to}`;
      if (typeof e?.CidrIp !== 'string' || !inside(e.CidrIp, segments)) out.push(`admits ${what} from ${source}; crossing ${ids} admits only the office segments ${segments.join(', ') || '(none)'}`);
      else if (!(proto === 'tcp' || proto === '6') || from !== to || !ports.includes(from)) out.push(`admits ${what} from ${source}; crossing ${ids} admits only tcp ${ports.join(', ')}`);
    }
    return out;
  },
};
