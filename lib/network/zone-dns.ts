import { Construct } from 'constructs';
import { Stack, aws_route53resolver as r53r, aws_s3 as s3 } from 'aws-cdk-lib';
import { bucketDnsNames, flattenResolved } from '../isolation/dns-names';

export interface ZoneDnsFirewallProps {
  readonly configName: string;
  readonly municipalityCode: string;
  readonly zone: string;
  readonly vpcId: string;
  /** Every name the zone may resolve (from the intent), without the project's buckets. */
  readonly names: string[];
  /** The project's buckets the zone may reach through its S3 endpoint (names may hold tokens such as the account id). */
  readonly buckets: string[];
  readonly region: string;
}

/** DNS Firewall rule priorities: the allowlist first, `*` blocked last. */
export const DNS_ALLOW_PRIORITY = 100;
export const DNS_BLOCK_ALL_PRIORITY = 10000;

/**
 * The resolver policy of an isolated zone (DESIGN section 3, "every channel
 * counts"): a DNS Firewall rule group that ALLOWs only the zone's names
 * (inspecting every name of a CNAME / DNAME chain, so an allowed name cannot
 * redirect to an attacker's domain) and then BLOCKs `*` with NXDOMAIN;
 * associated with the zone's VPC, and the VPC's firewall configured to fail
 * closed. Without it any host of the zone resolves any public name, and DNS
 * becomes a tunnel to whoever runs that name's server.
 */
export class ZoneDnsFirewall extends Construct {
  readonly ruleGroup: r53r.CfnFirewallRuleGroup;
  readonly association: r53r.CfnFirewallRuleGroupAssociation;
  readonly allowList: r53r.CfnFirewallDomainList;

  constructor(scope: Construct, id: string, props: ZoneDnsFirewallProps) {
    super(scope, id);
    const base = `${props.configName}-${props.municipalityCode}-${props.zone}`;
    const domains = [...props.names, ...props.buckets.flatMap((b) => bucketDnsNames(b, props.region))];
    this.allowList = new r53r.CfnFirewallDomainList(this, 'AllowList', { name: `${base}-dns-allow`, domains });
    const everything = new r53r.CfnFirewallDomainList(this, 'Everything', { name: `${base}-dns-everything`, domains: ['*'] });
    this.ruleGroup = new r53r.CfnFirewallRuleGroup(this, 'RuleGroup', {
      name: `${base}-dns-allowlist`,
      firewallRules: [
        { action: 'ALLOW', firewallDomainListId: this.allowList.attrId, priority: DNS_ALLOW_PRIORITY, firewallDomainRedirectionAction: 'INSPECT_REDIRECTION_DOMAIN' },
        { action: 'BLOCK', blockResponse: 'NXDOMAIN', firewallDomainListId: everything.attrId, priority: DNS_BLOCK_ALL_PRIORITY },
      ],
    });
    this.association = new r53r.CfnFirewallRuleGroupAssociation(this, 'Association', {
      firewallRuleGroupId: this.ruleGroup.attrId,
      vpcId: props.vpcId,
      priority: 101,
      mutationProtection: 'ENABLED',
      name: `${base}-dns-allowlist`,
    });
    // Fail closed: when DNS Firewall cannot evaluate a query, the resolver refuses it.
    new r53r.CfnFirewallConfig(this, 'FailClosed', { resourceId: props.vpcId, firewallFailOpen: 'DISABLED' });
  }
}

/**
 * The physical names of the project's buckets in some stacks (only buckets
 * with an explicit name; the project names all of its buckets).
 */
export function projectBucketNames(stacks: Stack[], configName: string): { token: string; text: string }[] {
  const out = new Map<string, { token: string; text: string }>();
  for (const stack of stacks) {
    for (const c of stack.node.findAll()) {
      if (!(c instanceof s3.CfnBucket) || c.bucketName === undefined) continue;
      const text = flattenResolved(Stack.of(c).resolve(c.bucketName));
      if (!text.startsWith(`${configName}-`)) continue;
      out.set(text, { token: c.bucketName, text });
    }
  }
  return [...out.values()].sort((a, b) => a.text.localeCompare(b.text));
}

/**
 * Gives every `allowlist` zone of the intent its DNS Firewall, with the
 * intent's names plus the virtual-hosted names of the municipality's own
 * buckets, and writes those bucket names back into the intent so that the
 * assembly's intent lists exactly what the firewall allows.
 */
export function attachZoneDnsFirewalls(
  cfg: { name: string; region: string; municipalities: { code: string; region?: string }[] },
  zones: Map<string, Map<string, { zoneVpc: { vpc: { vpcId: string } } } & Stack>>,
  intent: { zones: { municipality?: string; zone: string; dns?: { policy: string; names?: string[] } }[] },
): void {
  for (const m of cfg.municipalities) {
    const byZone = zones.get(m.code);
    if (!byZone) continue;
    const region = m.region ?? cfg.region;
    const buckets = projectBucketNames([...byZone.values()], cfg.name);
    for (const z of intent.zones) {
      if (z.municipality !== m.code || z.dns?.policy !== 'allowlist') continue;
      const stack = byZone.get(z.zone);
      if (!stack) continue;
      const names = z.dns.names ?? [];
      new ZoneDnsFirewall(stack, 'DnsFirewall', {
        configName: cfg.name,
        municipalityCode: m.code,
        zone: z.zone,
        vpcId: stack.zoneVpc.vpc.vpcId,
        names,
        buckets: buckets.map((b) => b.token),
        region,
      });
      z.dns.names = [...new Set([...names, ...buckets.flatMap((b) => bucketDnsNames(b.text, region))])].sort();
    }
  }
}
