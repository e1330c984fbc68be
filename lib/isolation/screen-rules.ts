import { overlaps, parseCidr } from '../../config/cidr';
import { ROLE_TAG } from '../core/tags';
import { Json, ResourceRef, asList, tagsOf } from './model';
import type { IsolationRule, RuleContext } from './rules';

/** The ThreeTier:Role of the virtual browser's sign-in broker (lib/crossings/screen-broker.ts). */
export const SCREEN_BROKER_ROLE = 'screen-broker';

function brokerSg(r: ResourceRef, ctx: RuleContext): ResourceRef | undefined {
  const sg = r.type === 'AWS::EC2::SecurityGroup' ? r : ctx.model.refTo(r.stack, r.props.GroupId);
  return sg && sg.type === 'AWS::EC2::SecurityGroup' && tagsOf(sg.props)[ROLE_TAG] === SCREEN_BROKER_ROLE ? sg : undefined;
}

/** Zones (other than the broker's own lgwan) whose CIDRs a peer CIDR touches. */
function foreignZones(ctx: RuleContext, sg: ResourceRef, cidrText: string): string[] {
  const c = parseCidr(cidrText);
  if (typeof c === 'string') return [`an unreadable range ${cidrText}`];
  const own = ctx.zones.zoneOf(sg);
  const out: string[] = [];
  for (const z of ctx.zones.zoneVpcs()) {
    if (z.zone === 'lgwan' && z.municipality === own.municipality) continue;
    for (const zc of z.cidrs) {
      const p = parseCidr(zc);
      if (typeof p !== 'string' && overlaps(c, p)) out.push(`the ${z.zone} zone${z.municipality ? ` of ${z.municipality}` : ''} (${zc})`);
    }
  }
  return out;
}

/** 0.0.0.0/0 and anything wider than a /8: no office segment or identity provider is that large. */
function wide(cidr: string): boolean {
  const c = parseCidr(cidr);
  return typeof c === 'string' || c.prefix < 8;
}

function checkRule(ctx: RuleContext, sg: ResourceRef, rule: Json, direction: 'ingress' | 'egress'): string[] {
  const out: string[] = [];
  const cidr = ctx.model.literal(sg.stack, rule.CidrIp);
  if (rule.CidrIpv6 !== undefined) out.push(`${direction} over IPv6 (${JSON.stringify(rule.CidrIpv6)})`);
  const peerSg = rule.SourceSecurityGroupId ?? rule.DestinationSecurityGroupId;
  if (peerSg !== undefined) {
    const peer = ctx.model.refTo(sg.stack, peerSg);
    const z = peer ? ctx.zones.zoneOf(peer) : undefined;
    if (!z || z.zone !== 'lgwan') out.push(`${direction} ${direction === 'ingress' ? 'from' : 'to'} a security group ${z?.zone ? `in the ${z.zone} zone` : 'outside lgwan'}`);
  }
  if (rule.SourcePrefixListId !== undefined || rule.DestinationPrefixListId !== undefined) {
    if (direction === 'ingress') out.push('ingress from a prefix list (the broker admits only the LGWAN office segments)');
  }
  if (rule.CidrIp !== undefined) {
    if (typeof cidr !== 'string') out.push(`${direction} with an unresolvable range`);
    else if (wide(cidr)) out.push(`${direction} ${direction === 'ingress' ? 'from' : 'to'} ${cidr}: open to everything`);
    else for (const z of foreignZones(ctx, sg, cidr)) out.push(`${direction} ${direction === 'ingress' ? 'from' : 'to'} ${z}: the broker is a crossing-free lgwan service`);
  }
  return out;
}

/**
 * SB1: the virtual browser's sign-in broker stays a crossing-free lgwan
 * service. It sits in lgwan, admits only the LGWAN side (never internet,
 * transfer, mynumber, the security cloud or everyone), and reaches nothing
 * in another zone: its only way out of lgwan is the identity provider.
 */
export const screenBrokerCrossingFree: IsolationRule = {
  id: 'ThreeTier-SB1',
  info: 'The virtual browser\'s sign-in broker is reachable from, or reaches, another zone (or sits outside lgwan).',
  explanation:
    'Crossing X1 carries only pixels and keystrokes. The sign-in broker mints tokens for the screen-transfer service; it must stay in lgwan, admit only the LGWAN office segments and reach only the identity provider. Reachable from internet, it would be a door into lgwan; reaching internet, it would be a second crossing.',
  types: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress'],
  check(r, ctx) {
    const sg = brokerSg(r, ctx);
    if (!sg) return [];
    if (r.type === 'AWS::EC2::SecurityGroupIngress') return checkRule(ctx, sg, r.props, 'ingress');
    if (r.type === 'AWS::EC2::SecurityGroupEgress') return checkRule(ctx, sg, r.props, 'egress');
    const out: string[] = [];
    const z = ctx.zones.zoneOf(sg).zone;
    if (z !== 'lgwan') out.push(`sign-in broker in the ${z ?? 'unknown'} zone, not lgwan`);
    for (const i of asList(sg.props.SecurityGroupIngress)) out.push(...checkRule(ctx, sg, i, 'ingress'));
    for (const e of asList(sg.props.SecurityGroupEgress)) out.push(...checkRule(ctx, sg, e, 'egress'));
    return out;
  },
};
