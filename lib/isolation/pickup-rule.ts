import { PICKUP_IDENTITY_TAG, ROLE_TAG } from '../core/tags';
import { Json, asList, tagsOf } from './model';
import type { IsolationRule } from './rules';

const MODES = ['oidc', 'signed-jwt', 'header'];

/**
 * PICKUP1: a pickup page that believes what the front says (header or
 * signed-jwt mode) is reachable only from the front's single addresses.
 * Open to an office segment in header mode, any member of staff could send
 * the header with a colleague's name and read their sanitized files.
 */
export const pickupOnlyFromFront: IsolationRule = {
  id: 'ThreeTier-PICKUP1',
  info: 'The pickup page trusts its front (header or signed-jwt identity) but admits more than the front\'s single addresses, or its identity mode is unknown.',
  explanation:
    'docs/pickup-identity.en.md: in header mode the page takes the user id from a plain header that any terminal can send. Only the authenticating front may reach the page, so its security group admits HTTPS from the front\'s /32 addresses only, never an office segment, a prefix list or a security group. A pickup page security group must carry its identity mode tag (ThreeTier:PickupIdentity) so this can be checked.',
  types: ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress'],
  check(r, ctx) {
    const sg = r.type === 'AWS::EC2::SecurityGroup' ? r : ctx.model.refTo(r.stack, r.props.GroupId);
    if (!sg || tagsOf(sg.props)[ROLE_TAG] !== 'pickup') return [];
    const mode = tagsOf(sg.props)[PICKUP_IDENTITY_TAG];
    if (!MODES.includes(String(mode))) return r === sg ? [`pickup page security group has no valid ${PICKUP_IDENTITY_TAG} tag (got ${JSON.stringify(mode ?? null)}); give oidc, signed-jwt or header`] : [];
    if (mode === 'oidc') return [];
    const entries = r.type === 'AWS::EC2::SecurityGroup' ? asList(r.props.SecurityGroupIngress) : [r.props];
    const out: string[] = [];
    for (const e of entries as Json[]) {
      const cidr = ctx.model.literal(r.stack, e?.CidrIp);
      if (e?.CidrIpv6 !== undefined) out.push(`IPv6 ingress ${JSON.stringify(e.CidrIpv6)} into a pickup page in ${mode} mode: admit only the front's IPv4 /32 addresses`);
      else if (cidr === undefined) out.push(`ingress from ${e?.SourcePrefixListId !== undefined ? 'a prefix list' : e?.SourceSecurityGroupId !== undefined ? 'a security group' : 'an unresolved source'} into a pickup page in ${mode} mode: admit only the front's /32 addresses`);
      else if (!cidr.endsWith('/32')) out.push(`ingress from ${cidr} into a pickup page in ${mode} mode: any terminal there could claim to be any user; admit only the front's /32 addresses`);
    }
    return out;
  },
};
