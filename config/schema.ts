import { z } from 'zod';
import { lgCodeProblem } from './codes';
import { Cidr, isRfc1918, overlaps, parseCidr } from './cidr';
import { subnetPlan } from './subnet-plan';

/**
 * The one schema every config passes through. Shape first (zod), then the
 * semantic checks that need the whole config (check digits, overlapping
 * CIDRs across the whole config, duplicate codes and domains, AZ/region
 * consistency). Every message says what is wrong and how to fix it.
 */

export const ZONES = ['mynumber', 'lgwan', 'internet', 'transfer'] as const;
export type Zone = (typeof ZONES)[number];
/** Zones that must never have a route to the internet (DESIGN section 2). */
export const ISOLATED_ZONES: readonly Zone[] = ['mynumber', 'lgwan', 'transfer'];

/** AWS managed Network Firewall rule groups that work with a strict-order policy. */
export const MANAGED_THREAT_GROUPS = [
  'ThreatSignaturesBotnetStrictOrder',
  'ThreatSignaturesBotnetWebStrictOrder',
  'ThreatSignaturesBotnetWindowsStrictOrder',
  'ThreatSignaturesMalwareStrictOrder',
  'ThreatSignaturesMalwareWebStrictOrder',
  'ThreatSignaturesMalwareCoinminingStrictOrder',
  'ThreatSignaturesMalwareMobileStrictOrder',
  'ThreatSignaturesExploitsStrictOrder',
  'ThreatSignaturesDoSStrictOrder',
  'ThreatSignaturesEmergingEventsStrictOrder',
  'ThreatSignaturesIOCStrictOrder',
  'ThreatSignaturesPhishingStrictOrder',
  'ThreatSignaturesScannersStrictOrder',
  'ThreatSignaturesSuspectStrictOrder',
  'ThreatSignaturesWebAttacksStrictOrder',
  'ThreatSignaturesFUPStrictOrder',
  'AbusedLegitMalwareDomainsStrictOrder',
  'AbusedLegitBotNetCommandAndControlDomainsStrictOrder',
  'MalwareDomainsStrictOrder',
  'BotNetCommandAndControlDomainsStrictOrder',
] as const;

/** Route 53 Resolver DNS Firewall lists managed by AWS (resolved to ids at deploy time). */
export const MANAGED_DOMAIN_LISTS = [
  'AWSManagedDomainsMalwareDomainList',
  'AWSManagedDomainsBotnetCommandandControl',
  'AWSManagedDomainsAggregateThreatList',
  'AWSManagedDomainsAmazonGuardDutyThreatList',
] as const;

const DOMAIN_RE = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.[a-z]{2,63}$/;
const REGION_RE = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

const account = z
  .string({ error: 'must be a 12-digit AWS account id in quotes, e.g. "123456789012"' })
  .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id in quotes, e.g. "123456789012"' });
const region = z
  .string({ error: 'must be an AWS region name such as "ap-northeast-1"' })
  .regex(REGION_RE, { error: 'must be an AWS region name such as "ap-northeast-1"' });
const cidr = z.string({ error: 'must be an IPv4 CIDR string such as "10.1.0.0/20"' });
const domain = z
  .string({ error: 'must be a domain name string such as "city.example.lg.jp"' })
  .refine((d) => DOMAIN_RE.test(d), {
    error: (iss) =>
      `"${String(iss.input)}" is not a valid lower-case domain name; use labels of a-z, 0-9 and "-" separated by dots, e.g. "city.chiyoda.lg.jp"`,
  });

const zoneCidrs = z.strictObject(
  {
    mynumber: cidr,
    lgwan: cidr,
    internet: cidr,
    transfer: cidr,
  },
  { error: 'must give one CIDR per zone: { mynumber, lgwan, internet, transfer }' },
);

export const municipalitySchema = z.strictObject({
  code: z.string({ error: 'must be the 6-digit 全国地方公共団体コード as a string, e.g. "131016"' }),
  name: z.string({ error: 'must be the municipality name, e.g. "千代田区"' }).min(1, { error: 'must not be empty; give the municipality name, e.g. "千代田区"' }),
  nameEn: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9 -]{0,40}$/, { error: 'must be a romanised name of letters, digits, spaces and "-", e.g. "Chiyoda"' })
    .optional(),
  cidrs: zoneCidrs,
  lgwanMailDomains: z
    .array(domain, { error: 'must be a list of LGWAN mail domains, e.g. ["city.chiyoda.lg.jp"]' })
    .min(1, { error: 'must list at least one LGWAN mail domain, e.g. ["city.chiyoda.lg.jp"]' }),
  account: account.optional(),
  region: region.optional(),
  availabilityZones: z.array(z.string()).optional(),
  /** Multi-account only: this municipality's attachment to the hub, so the hub can associate it. */
  transitGatewayAttachmentId: z.string().regex(/^tgw-attach-[0-9a-f]{8,17}$/, { error: 'must be a Transit Gateway attachment id such as "tgw-attach-0123456789abcdef0"' }).optional(),
});

const baseSchema = z.strictObject({
    name: z
      .string({ error: 'must be the config name, e.g. "pilot"' })
      .regex(/^[a-z][a-z0-9-]{1,19}$/, { error: 'must be 2-20 characters of a-z, 0-9 and "-", starting with a letter (it becomes part of stack and bucket names)' }),
    model: z.enum(['alpha'], { error: 'only model α ("alpha") is implemented; β, β′ and α′ come as changes to the isolation intent' }).default('alpha'),
    account: account.optional(),
    region,
    availabilityZones: z.array(z.string(), { error: 'must be a list of availability zone names, e.g. ["ap-northeast-1a", "ap-northeast-1c"]' }),
    logArchive: z
      .strictObject({
        retentionDays: z
          .number({ error: 'must be a whole number of days' })
          .int({ error: 'must be a whole number of days' })
          .min(1, { error: 'must be at least 1 day' })
          .max(36500, { error: 'must be at most 36500 days (100 years)' })
          .default(365),
        objectLockMode: z
          .enum(['COMPLIANCE', 'GOVERNANCE'], { error: 'must be "COMPLIANCE" (nobody can delete early) or "GOVERNANCE" (privileged users can, for labs)' })
          .default('COMPLIANCE'),
      })
      .default({ retentionDays: 365, objectLockMode: 'COMPLIANCE' }),
    sizing: z
      .strictObject({
        /** Interface endpoints are billed per AZ; labs may place them in one AZ. */
        interfaceEndpointAzs: z.number().int().min(1, { error: 'must be at least 1' }).default(2),
        /** Flow log aggregation interval in seconds (60 or 600). */
        flowLogAggregationSeconds: z.union([z.literal(60), z.literal(600)], { error: 'must be 60 or 600 (seconds)' }).default(600),
      })
      .default({ interfaceEndpointAzs: 2, flowLogAggregationSeconds: 600 }),
    securityCloud: z.strictObject(
      {
        name: z.string().regex(/^[A-Z][A-Za-z0-9]{1,30}$/, { error: 'must be a PascalCase name of letters and digits, e.g. "Tokyo" (it becomes part of stack names)' }),
        cidr,
        account: account.optional(),
        /**
         * Multi-account only: the hub's Transit Gateway id, known after the
         * security cloud is deployed; municipalities in other accounts attach to it.
         */
        transitGatewayId: z.string().regex(/^tgw-[0-9a-f]{8,17}$/, { error: 'must be a Transit Gateway id such as "tgw-0123456789abcdef0"' }).optional(),
        firewall: z
          .strictObject({
            /** denylist: block the listed domains; allowlist: allow only them (TLS SNI and HTTP Host). */
            domainMode: z.enum(['denylist', 'allowlist'], { error: 'must be "denylist" or "allowlist"' }).default('denylist'),
            domains: z
              .array(z.string().refine((d) => DOMAIN_RE.test(d.replace(/^\./, '')), { error: (iss) => `"${String(iss.input)}" is not a domain; use "example.com" or ".example.com" (the domain and its subdomains)` }))
              .min(1, { error: 'must list at least one domain (the rule group cannot be empty)' })
              .default(['.example-malware.invalid']),
            managedThreatGroups: z.array(z.enum(MANAGED_THREAT_GROUPS, { error: `must be one of the AWS managed strict-order rule groups: ${MANAGED_THREAT_GROUPS.join(', ')}` })).default(['ThreatSignaturesBotnetStrictOrder', 'ThreatSignaturesMalwareStrictOrder', 'MalwareDomainsStrictOrder', 'BotNetCommandAndControlDomainsStrictOrder']),
          })
          .default({ domainMode: 'denylist', domains: ['.example-malware.invalid'], managedThreatGroups: ['ThreatSignaturesBotnetStrictOrder', 'ThreatSignaturesMalwareStrictOrder', 'MalwareDomainsStrictOrder', 'BotNetCommandAndControlDomainsStrictOrder'] }),
        dns: z
          .strictObject({
            managedDomainLists: z.array(z.enum(MANAGED_DOMAIN_LISTS, { error: `must be one of ${MANAGED_DOMAIN_LISTS.join(', ')}` })).default(['AWSManagedDomainsMalwareDomainList', 'AWSManagedDomainsBotnetCommandandControl']),
            blockDomains: z.array(z.string().refine((d) => DOMAIN_RE.test(d.replace(/^\*\./, '')), { error: (iss) => `"${String(iss.input)}" is not a domain; use "example.com" or "*.example.com"` })).default([]),
          })
          .default({ managedDomainLists: ['AWSManagedDomainsMalwareDomainList', 'AWSManagedDomainsBotnetCommandandControl'], blockDomains: [] }),
        mailGateway: z
          .strictObject({
            /** Nitro types with encryption in transit (Control Tower CT.AUTOSCALING.PR.11). */
            instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type such as "c6i.large"' })).min(2, { error: 'must list at least 2 instance types so the group survives a shortage of one' }).default(['c6i.large', 'c7i.large']),
            minHosts: z.number().int().min(1).default(2),
            maxHosts: z.number().int().min(1).default(4),
          })
          .default({ instanceTypes: ['c6i.large', 'c7i.large'], minHosts: 2, maxHosts: 4 }),
        soc: z
          .strictObject({
            alarmEmails: z.array(z.email({ error: 'must be an e-mail address such as "soc@example.lg.jp"' })).default([]),
            /** Stateful drops per 5 minutes, summed over AZs, that raise the alarm. */
            firewallDropThreshold: z.number().int().min(1).default(100),
          })
          .default({ alarmEmails: [], firewallDropThreshold: 100 }),
      },
      { error: 'must describe the shared security cloud: { name, cidr }' },
    ),
    municipalities: z
      .array(municipalitySchema, { error: 'must be a list of municipalities' })
      .min(1, { error: 'must list at least one municipality' }),
  });

export const configSchema = baseSchema.superRefine((cfg, ctx) => semanticChecks(cfg, ctx));

export type ThreeTierConfigInput = z.input<typeof configSchema>;
export type ThreeTierConfig = z.output<typeof configSchema>;
export type Municipality = z.output<typeof municipalitySchema>;

type Ctx = z.RefinementCtx;

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

function checkAzs(ctx: Ctx, path: (string | number)[], azs: string[], regionName: string): void {
  if (azs.length < 2) {
    issue(ctx, path, `lists ${azs.length} availability zone(s) but at least 2 are required for resilience; add another AZ of ${regionName}, e.g. "${regionName}c"`);
  }
  const seen = new Set<string>();
  azs.forEach((az, i) => {
    if (!az.startsWith(regionName) || !/^[a-z]$/.test(az.slice(regionName.length))) {
      issue(ctx, [...path, i], `"${az}" is not an availability zone of ${regionName}; use names like "${regionName}a"`);
    }
    if (seen.has(az)) issue(ctx, [...path, i], `"${az}" is listed twice; each availability zone may appear once`);
    seen.add(az);
  });
}

function semanticChecks(cfg: z.output<typeof baseSchema>, ctx: Ctx): void {
  checkAzs(ctx, ['availabilityZones'], cfg.availabilityZones, cfg.region);
  if (cfg.sizing.interfaceEndpointAzs > cfg.availabilityZones.length) {
    issue(ctx, ['sizing', 'interfaceEndpointAzs'], `is ${cfg.sizing.interfaceEndpointAzs} but only ${cfg.availabilityZones.length} availability zones are configured; lower it or add AZs`);
  }

  const mg = cfg.securityCloud.mailGateway;
  if (mg.minHosts > mg.maxHosts) {
    issue(ctx, ['securityCloud', 'mailGateway', 'minHosts'], `is ${mg.minHosts} but maxHosts is ${mg.maxHosts}; minHosts must not exceed maxHosts`);
  }

  // Every CIDR in the config, with the path that declared it.
  const cidrs: { path: (string | number)[]; label: string; cidr: Cidr }[] = [];
  const addCidr = (path: (string | number)[], label: string, text: string): Cidr | undefined => {
    const parsed = parseCidr(text);
    if (typeof parsed === 'string') {
      issue(ctx, path, `"${text}" ${parsed}`);
      return undefined;
    }
    if (parsed.prefix < 16 || parsed.prefix > 24) {
      issue(ctx, path, `"${text}" is a /${parsed.prefix}; a VPC CIDR here must be between /16 and /24 (AWS allows /16-/28 and each AZ needs its own subnets)`);
      return undefined;
    }
    if (!isRfc1918(parsed)) {
      issue(ctx, path, `"${text}" is not private address space; use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`);
      return undefined;
    }
    cidrs.push({ path, label, cidr: parsed });
    return parsed;
  };
  addCidr(['securityCloud', 'cidr'], 'securityCloud.cidr', cfg.securityCloud.cidr);

  const codes = new Map<string, number>();
  const domains = new Map<string, string>();
  cfg.municipalities.forEach((m, i) => {
    const base = ['municipalities', i];
    const problem = lgCodeProblem(m.code);
    if (problem) issue(ctx, [...base, 'code'], `"${m.code}" ${problem}`);
    const prev = codes.get(m.code);
    if (prev !== undefined) {
      issue(ctx, [...base, 'code'], `"${m.code}" is also used by municipalities[${prev}]; every municipality needs its own code`);
    } else codes.set(m.code, i);

    const azCount = (m.availabilityZones ?? cfg.availabilityZones).length;
    for (const zone of ZONES) {
      const parsed = addCidr([...base, 'cidrs', zone], `municipalities[${i}].cidrs.${zone}`, m.cidrs[zone]);
      if (parsed) {
        const plan = subnetPlan(parsed.prefix, azCount, zone);
        if (plan.needed > plan.available) {
          issue(ctx, [...base, 'cidrs', zone], `"${m.cidrs[zone]}" is too small for ${azCount} availability zones (the subnets need ${plan.needed} addresses, the /${parsed.prefix} has ${plan.available}); use a /${parsed.prefix - 1} or larger, or fewer AZs`);
        }
      }
    }
    m.lgwanMailDomains.forEach((d, j) => {
      const owner = domains.get(d);
      if (owner !== undefined) {
        issue(ctx, [...base, 'lgwanMailDomains', j], `"${d}" is already listed by ${owner}; a mail domain belongs to one municipality`);
      } else domains.set(d, `municipalities[${i}] (${m.code})`);
    });

    const mRegion = m.region ?? cfg.region;
    if (mRegion !== cfg.region) {
      issue(ctx, [...base, 'region'], `is "${mRegion}" but the security cloud's Transit Gateway is in "${cfg.region}" and is regional; put the municipality in ${cfg.region} (one security cloud per region)`);
    }
    const sameAccount = (m.account ?? cfg.account) === (cfg.securityCloud.account ?? cfg.account);
    if (!sameAccount && m.transitGatewayAttachmentId && !cfg.securityCloud.transitGatewayId) {
      issue(ctx, [...base, 'transitGatewayAttachmentId'], 'is set but securityCloud.transitGatewayId is not; set the hub\'s Transit Gateway id first (see README, multi-account)');
    }
    if (sameAccount && m.transitGatewayAttachmentId) {
      issue(ctx, [...base, 'transitGatewayAttachmentId'], 'is only for municipalities in another account than the security cloud; remove it (same-account attachments are wired automatically)');
    }
    if (mRegion !== cfg.region) {
      if (!m.availabilityZones) {
        issue(ctx, [...base, 'availabilityZones'], `is required because region "${mRegion}" differs from the config region "${cfg.region}"; list at least 2 AZs of ${mRegion}`);
      } else checkAzs(ctx, [...base, 'availabilityZones'], m.availabilityZones, mRegion);
    } else if (m.availabilityZones) {
      checkAzs(ctx, [...base, 'availabilityZones'], m.availabilityZones, mRegion);
    }
    if (m.account && m.account !== cfg.account && !cfg.account) {
      issue(ctx, [...base, 'account'], `is "${m.account}" but the top-level "account" (where the log archive lives) is not set; set "account" so flow logs from this account can name the archive bucket`);
    }
  });

  // Overlap check across the whole config: sort by start, compare neighbours
  // while the running interval still overlaps (n log n, fine for thousands).
  const sorted = [...cidrs].sort((a, b) => a.cidr.start - b.cidr.start || b.cidr.end - a.cidr.end);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].cidr.start <= sorted[i].cidr.end; j++) {
      if (overlaps(sorted[i].cidr, sorted[j].cidr)) {
        const [a, b] = [sorted[i], sorted[j]];
        issue(ctx, b.path, `"${b.cidr.text}" overlaps ${a.label} ("${a.cidr.text}"); every zone, municipality and the security cloud needs its own non-overlapping range`);
      }
    }
  }
}
