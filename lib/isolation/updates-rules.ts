import { parseCidr } from '../../config/cidr';
import { ROLE_TAG } from '../core/tags';
import { Json, ResourceRef, asList, keyOf, tagsOf } from './model';
import type { IsolationRule, RuleContext } from './rules';

/**
 * The updates feed's rules (issue #19), in the ThreeTier pack:
 * UP1 a mirror reachable from another tier, UP2 a fetch host outside
 * `internet`, UP3 an updates bucket writable from anywhere but transfer.
 * Hosts are recognised by their role tag or by the service their user data
 * installs, so a copied template without the tag is still found.
 */

const FETCH_SERVICE = 'three-tier-updates-fetch';
const MIRROR_SERVICE = 'three-tier-updates-mirror';

function inside(inner: string, outers: string[]): boolean {
  const i = parseCidr(inner);
  return typeof i !== 'string' && outers.some((o) => {
    const c = parseCidr(o);
    return typeof c !== 'string' && i.start >= c.start && i.end <= c.end;
  });
}

/** The CIDRs a zone's own connections route to: routes in its VPC through its virtual private gateway (the tier's office segments). */
function ownRoutedCidrs(ctx: RuleContext, vpc: ResourceRef): string[] {
  return ctx.model
    .ofType('AWS::EC2::Route')
    .filter((r) => {
      const v = ctx.zones.vpcOf(r);
      const gw = ctx.model.refTo(r.stack, r.props.GatewayId);
      return v !== undefined && keyOf(v) === keyOf(vpc) && gw?.type === 'AWS::EC2::VPNGateway';
    })
    .map((r) => ctx.model.literal(r.stack, r.props.DestinationCidrBlock))
    .filter((c): c is string => !!c);
}

/** A launch template's security groups: SecurityGroupIds, or the groups of its network interfaces (what CDK writes when it sets AssociatePublicIpAddress). */
function templateGroups(lt: ResourceRef): Json[] {
  const data = lt.props.LaunchTemplateData ?? {};
  return [...asList(data.SecurityGroupIds), ...asList(data.NetworkInterfaces).flatMap((n: Json) => asList(n?.Groups))];
}

/** Security groups used by launch templates whose user data installs `service`. */
// Computed once per model and service: the rules ask for every security group (quadratic at 1,741 municipalities otherwise).
const groupsCache = new WeakMap<object, Map<string, Set<string>>>();

function groupsOfService(ctx: RuleContext, service: string): Set<string> {
  let byService = groupsCache.get(ctx.model);
  if (!byService) groupsCache.set(ctx.model, (byService = new Map()));
  const cached = byService.get(service);
  if (cached) return cached;
  const out = new Set<string>();
  byService.set(service, out);
  for (const lt of ctx.model.ofType('AWS::EC2::LaunchTemplate')) {
    if (!JSON.stringify(lt.props.LaunchTemplateData?.UserData ?? '').includes(service)) continue;
    for (const g of templateGroups(lt)) {
      const sg = ctx.model.refTo(lt.stack, g);
      if (sg) out.add(keyOf(sg));
    }
  }
  return out;
}

function isMirrorGroup(sg: ResourceRef, ctx: RuleContext): boolean {
  return tagsOf(sg.props)[ROLE_TAG] === 'updates-mirror' || groupsOfService(ctx, MIRROR_SERVICE).has(keyOf(sg));
}

/** UP1: an updates mirror admits only its own tier: its zone and the office segments its own connection routes to. */
export const mirrorOwnTierOnly: IsolationRule = {
  id: 'ThreeTier-UP1',
  info: 'An updates mirror can be reached from outside its own tier.',
  explanation:
    'Issue #19: each isolated tier has its own HTTPS mirror of the updates bucket, for its own terminals and servers only. An ingress from another zone, another tier\'s office segment, anywhere, a prefix list or a security group of another VPC joins two tiers through the mirror. Allowed: the zone\'s own CIDR and the CIDRs its own virtual private gateway routes to (the tier\'s office segments).',
  types: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress'],
  check(r, ctx) {
    const sg = r.type === 'AWS::EC2::SecurityGroup' ? r : ctx.model.refTo(r.stack, r.props.GroupId);
    if (!sg || !isMirrorGroup(sg, ctx)) return [];
    const vpc = ctx.zones.vpcOf(sg);
    const z = ctx.zones.vpcZone(vpc);
    if (!vpc || !z) return ['updates mirror security group outside any zone VPC'];
    const allowed = [...z.cidrs, ...ownRoutedCidrs(ctx, vpc)];
    const entries = r.type === 'AWS::EC2::SecurityGroup' ? asList(r.props.SecurityGroupIngress) : [r.props];
    const out: string[] = [];
    for (const e of entries as Json[]) {
      const cidr = ctx.model.literal(r.stack, e?.CidrIp ?? e?.CidrIpv6);
      if (cidr !== undefined) {
        if (!inside(cidr, allowed)) out.push(`the ${z.zone} updates mirror admits ${cidr}, which is neither the ${z.zone} zone nor an office segment of its own tier`);
      } else if (e?.SourceSecurityGroupId !== undefined) {
        const src = ctx.model.refTo(r.stack, e.SourceSecurityGroupId);
        const sv = src ? ctx.zones.vpcOf(src) : undefined;
        if (!sv || keyOf(sv) !== keyOf(vpc)) out.push(`the ${z.zone} updates mirror admits a security group outside its own VPC`);
      } else out.push(`the ${z.zone} updates mirror admits ${e?.SourcePrefixListId !== undefined ? 'a prefix list' : 'an unknown source'}; name the tier's CIDRs instead`);
    }
    return out;
  },
};

function placeOf(r: ResourceRef, ctx: RuleContext): string | undefined {
  const p = r.props;
  const firstRef =
    r.type === 'AWS::AutoScaling::AutoScalingGroup'
      ? asList(p.VPCZoneIdentifier)[0]
      : r.type === 'AWS::EC2::LaunchTemplate'
        ? templateGroups(r)[0] ?? asList(p.LaunchTemplateData?.NetworkInterfaces)[0]?.SubnetId
        : p.SubnetId ?? asList(p.SecurityGroupIds)[0];
  const target = firstRef !== undefined ? ctx.model.refTo(r.stack, firstRef) : undefined;
  return target ? ctx.zones.zoneOf(target).zone : ctx.zones.zoneOf(r).zone;
}

/** UP2: the fetch hosts live in the internet zone, the only zone with a path to the internet. */
export const fetchInInternet: IsolationRule = {
  id: 'ThreeTier-UP2',
  info: 'An updates fetch host is outside the internet zone.',
  explanation:
    'Issue #19: the fetch service is the feed\'s only contact with vendors, through the security cloud (X7). Placed in mynumber, lgwan or transfer it would need an internet path there; what it fetches must cross into transfer only as objects in the inbound bucket, to be verified.',
  types: ['AWS::AutoScaling::AutoScalingGroup', 'AWS::EC2::LaunchTemplate', 'AWS::EC2::Instance'],
  check(r, ctx) {
    const tagged = tagsOf(r.props)[ROLE_TAG] === 'updates-fetch';
    const ud = r.type === 'AWS::AutoScaling::AutoScalingGroup' ? '' : JSON.stringify(r.props.LaunchTemplateData?.UserData ?? r.props.UserData ?? '');
    if (!tagged && !ud.includes(FETCH_SERVICE)) return [];
    const zone = placeOf(r, ctx);
    return zone === 'internet' ? [] : [`updates fetch host (${r.type.split('::')[2]}) in ${zone ?? 'no known zone'}; it belongs in internet`];
  },
};

const WRITE = /^s3:(\*|Put\*|PutObject.*|\*Object.*|Delete.*|RestoreObject|ReplicateObject)$/i;

function statementVpces(st: Json): Json[] {
  return Object.values(st?.Condition ?? {}).flatMap((c: Json) => Object.entries(c ?? {}).filter(([k]) => k.toLowerCase() === 'aws:sourcevpce').flatMap(([, v]) => asList(v)));
}

/** UP3: only transfer writes the updates bucket; the isolated tiers only read it. */
export const updatesWriteOnlyFromTransfer: IsolationRule = {
  id: 'ThreeTier-UP3',
  info: 'The updates bucket can be written from outside the transfer zone.',
  explanation:
    'Issue #19 and crossing X6: the updates bucket holds only what the verifier in transfer checked against the pinned anchors; the mirrors serve it to the isolated tiers as authentic. A write through any other zone\'s endpoint (or without a Deny that keeps writes to transfer) would let unverified executables reach mynumber and lgwan.',
  types: ['AWS::S3::BucketPolicy'],
  check(r, ctx) {
    const bucket = ctx.model.refTo(r.stack, r.props.Bucket);
    if (!bucket || tagsOf(bucket.props)[ROLE_TAG] !== 'updates') return [];
    const zoneOfVpce = (v: Json) => {
      const ep = ctx.model.refTo(r.stack, v);
      return ep ? ctx.zones.zoneOf(ep).zone : undefined;
    };
    const statements = asList(r.props.PolicyDocument?.Statement);
    const out: string[] = [];
    for (const st of statements) {
      if (st?.Effect !== 'Allow' || !asList(st.Action).some((a: Json) => WRITE.test(String(a)))) continue;
      const zones = statementVpces(st).map(zoneOfVpce);
      if (!zones.length || zones.some((z) => z !== 'transfer')) out.push(`statement ${st.Sid ?? '(no Sid)'} grants write outside the transfer zone's endpoint`);
    }
    const pinned = statements.some((st: Json) => {
      if (st?.Effect !== 'Deny' || !asList(st.Action).some((a: Json) => WRITE.test(String(a)))) return false;
      const notEquals = Object.entries(st.Condition ?? {}).some(([op, c]) => /^StringNotEquals/i.test(op) && Object.keys(c ?? {}).some((k) => k.toLowerCase() === 'aws:sourcevpce'));
      const v = statementVpces(st);
      return notEquals && v.length > 0 && v.every((x) => zoneOfVpce(x) === 'transfer');
    });
    if (!pinned) out.push('no Deny statement keeps writes to the transfer zone\'s endpoint: any endpoint that IAM policies allow could publish to the isolated tiers');
    return out;
  },
};

export const UPDATES_RULES: readonly IsolationRule[] = [mirrorOwnTierOnly, fetchInInternet, updatesWriteOnlyFromTransfer];
