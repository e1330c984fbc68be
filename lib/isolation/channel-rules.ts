import type { IsolationRule } from './rules';
import { findDoors } from './channels';
import { flattenResolved, isOpenEntry } from './dns-names';
import { asList, Json, keyOf } from './model';
import { ISOLATED } from './zones';

/**
 * Pack rules for the channels that are not packet routes (DNS and the
 * AWS-managed doors). The path analyzer compares the same facts with the
 * intent; these per-resource rules fail the synth early and can be
 * acknowledged per resource with a reason.
 */

/** DNS1: an isolated VPC that resolves names has a fail-closed DNS Firewall whose last rule blocks `*`. */
export const dnsFirewallFailClosed: IsolationRule = {
  id: 'ThreeTier-DNS1',
  info: 'An isolated VPC resolves names without a fail-closed DNS Firewall allowlist that blocks "*" last.',
  explanation:
    'DESIGN section 3: DNS is a channel. A host in mynumber, lgwan or transfer that can resolve any public name can tunnel data to whoever runs that name\'s server. The VPC needs a Route 53 Resolver DNS Firewall rule group association whose rules allow only named domains (inspecting CNAME / DNAME targets) and whose last rule BLOCKs "*" for every query type, and a FirewallConfig with FirewallFailOpen DISABLED.',
  types: ['AWS::EC2::VPC'],
  check(r, ctx) {
    if (!ctx.zones.isIsolated(r)) return [];
    if (r.props.EnableDnsSupport === false || r.props.EnableDnsSupport === 'false') return [];
    const { model } = ctx;
    const out: string[] = [];
    const associations = model.ofType('AWS::Route53Resolver::FirewallRuleGroupAssociation').filter((a) => model.refTo(a.stack, a.props.VpcId) === r);
    if (associations.length === 0) return ['no DNS Firewall rule group is associated with this VPC: every host can resolve any public name'];
    const config = model.ofType('AWS::Route53Resolver::FirewallConfig').find((c) => model.refTo(c.stack, c.props.ResourceId) === r);
    if (!config) out.push('no AWS::Route53Resolver::FirewallConfig with FirewallFailOpen DISABLED for this VPC');
    else if (String(config.props.FirewallFailOpen).toUpperCase() !== 'DISABLED') out.push(`FirewallFailOpen is ${config.props.FirewallFailOpen}: the resolver answers everything when the firewall cannot`);
    // The association evaluated last must end with BLOCK "*".
    const ordered = [...associations].sort((a, b) => Number(a.props.Priority ?? 0) - Number(b.props.Priority ?? 0));
    let blocksAll = false;
    for (const a of ordered) {
      const group = model.refTo(a.stack, a.props.FirewallRuleGroupId);
      if (!group) {
        out.push(`association ${a.logicalId} names a rule group outside the assembly; its rules cannot be checked`);
        continue;
      }
      const rules = asList(group.props.FirewallRules)
        .filter((x: Json) => x && String(x.Status ?? 'ENABLED').toUpperCase() !== 'DISABLED')
        .sort((x: Json, y: Json) => Number(x.Priority) - Number(y.Priority));
      const domainsOf = (x: Json): string[] | undefined => {
        const list = x.FirewallDomainListId !== undefined ? model.refTo(group.stack, x.FirewallDomainListId) : undefined;
        return list && Array.isArray(list.props.Domains) ? list.props.Domains.map((d: Json) => flattenResolved(d, (x) => model.value(list.stack, x))) : undefined;
      };
      for (const x of rules) {
        const action = String(x.Action).toUpperCase();
        const domains = domainsOf(x);
        if ((action === 'ALLOW' || action === 'ALERT') && domains?.some((d) => isOpenEntry(d))) out.push(`rule ${x.Priority} of ${keyOf(group)} ${action}s "${domains.find((d) => isOpenEntry(d))}"`);
        if (action === 'ALLOW' && String(x.FirewallDomainRedirectionAction ?? 'INSPECT_REDIRECTION_DOMAIN').toUpperCase() !== 'INSPECT_REDIRECTION_DOMAIN') out.push(`rule ${x.Priority} of ${keyOf(group)} trusts redirection targets: an allowed name could CNAME to any domain`);
      }
      const last = rules[rules.length - 1];
      if (last && String(last.Action).toUpperCase() === 'BLOCK' && !last.Qtype && (domainsOf(last) ?? []).includes('*')) blocksAll = true;
    }
    if (!blocksAll) out.push('the last rule does not BLOCK "*" for every query type');
    return out;
  },
};

const DOOR_TYPES = [
  'AWS::EC2::InstanceConnectEndpoint',
  'AWS::EC2::ClientVpnEndpoint',
  'AWS::EC2::ClientVpnTargetNetworkAssociation',
  'AWS::VpcLattice::ServiceNetworkVpcAssociation',
  'AWS::VpcLattice::ServiceNetworkServiceAssociation',
  'AWS::EC2::VerifiedAccessEndpoint',
  'AWS::EC2::VPCEndpoint',
  'AWS::EC2::Route',
  'AWS::EC2::EgressOnlyInternetGateway',
  'AWS::Route53Resolver::ResolverEndpoint',
  'AWS::Route53Resolver::ResolverRuleAssociation',
] as const;

/** DR1: no AWS-managed door into or out of an isolated zone. */
export const noManagedDoors: IsolationRule = {
  id: 'ThreeTier-DR1',
  info: 'An AWS-managed door opens an isolated zone (Instance Connect, Client VPN, VPC Lattice, Verified Access, Gateway Load Balancer endpoint, resolver forwarding, IPv6 egress, route to an instance).',
  explanation:
    'DESIGN section 3: AWS-managed doors bypass the crossings: EC2 Instance Connect endpoints, Client VPN, VPC Lattice and Verified Access let people or services into a zone without a route; Gateway Load Balancer endpoints, routes to instances or interfaces and resolver forwarding send traffic or queries to places the checks cannot see; IPv6 egress leaves without the security cloud. They are forbidden in mynumber, lgwan and transfer unless the isolation intent lists them (acknowledge the resource with the reason).',
  types: DOOR_TYPES,
  check(r, ctx) {
    // Computed once per model: every door, then those whose first hop is this resource.
    const cache = doorCache.get(ctx.model) ?? findDoors(ctx.model, ctx.zones);
    doorCache.set(ctx.model, cache);
    const key = keyOf(r);
    return cache.filter((d) => d.hops[0]?.resource === key && ISOLATED.includes(d.zone)).map((d) => `${d.what} in the ${d.zone}${d.municipality ? ` zone of ${d.municipality}` : ''}`);
  },
};

const doorCache = new WeakMap<object, ReturnType<typeof findDoors>>();
