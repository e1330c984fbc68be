import { z } from 'zod';
import { lgCodeProblem } from './codes';
import { Cidr, isRfc1918, overlaps, parseCidr } from './cidr';
import { screenSignInSchema } from './screen-sign-in';
import { MOVED_SYSTEM_MASK, movedSystemCidrs, subnetPlan } from './subnet-plan';
import { pickupProblems, pickupSchema, secretRef } from './pickup-schema';
import { channelHosts, updatesSchema } from './updates';
import { modelProblems, modelSchema, modelSections } from './models';

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

const ipv4 = z.string().refine((v) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) && v.split('.').every((x) => Number(x) <= 255), { error: (iss) => `"${String(iss.input)}" is not an IPv4 address such as "192.0.2.10"` });

/** How an office segment or the LGWAN network is connected: site-to-site VPN or Direct Connect. */
const connection = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('vpn'),
      customerGatewayIp: ipv4,
      bgpAsn: z.number().int().min(1).max(4294967294).default(65000),
    }),
    z.strictObject({
      type: z.literal('direct-connect'),
      /** The Direct Connect gateway to associate with the zone's virtual private gateway (done outside CloudFormation; see README). */
      directConnectGatewayId: z.string().regex(/^[0-9a-f-]{36}$/, { error: 'must be a Direct Connect gateway id (a UUID)' }),
    }),
    z.strictObject({ type: z.literal('simulated') }),
  ],
  { error: 'must be { type: "vpn", customerGatewayIp }, { type: "direct-connect", directConnectGatewayId } or, in labs, { type: "simulated" }' },
);

/** Staff terminals of one tier in the office: their segment and how it is connected. */
const terminalLanding = z.strictObject({
  officeCidrs: z.array(cidr).min(1, { error: 'must list the office segment(s) of this tier\'s terminals' }),
  connection,
  /** mynumber only: terminals stream their sessions from AppStream with every data transfer disabled. */
  streaming: z
    .strictObject({
      imageName: z.string().min(1, { error: 'must name the AppStream image of the My Number applications' }),
      instanceType: z.string().default('stream.standard.small'),
      prewarmed: z.number().int().min(1).default(1),
    })
    .optional(),
});

/**
 * A name an isolated zone may resolve (Route 53 Resolver DNS Firewall allowlist):
 * "name.example.jp" or "*.name.example.jp" (the name's subdomains). A bare "*"
 * or a top-level domain alone would open DNS to the whole internet again.
 */
const dnsAllowName = z.string({ error: 'must be a domain name string such as "city.chiyoda.lg.jp" or "*.city.chiyoda.lg.jp"' }).superRefine((d, ctx) => {
  const bare = d.replace(/^\*\./, '');
  if (d === '*' || d === '*.') {
    ctx.addIssue({ code: 'custom', message: '"*" would allow every name and reopen DNS as a channel to the internet; list the names the zone needs, e.g. "*.city.chiyoda.lg.jp"' });
  } else if (/^[a-z0-9-]+\.?$/i.test(bare)) {
    ctx.addIssue({ code: 'custom', message: `"${d}" is a top-level domain alone, which would allow every name under it; list the names the zone needs, e.g. "*.city.chiyoda.lg.jp"` });
  } else if (!DOMAIN_RE.test(bare)) {
    ctx.addIssue({ code: 'custom', message: `"${d}" is not a lower-case domain name; use "name.example.jp" or "*.name.example.jp" (wildcard only as the first label)` });
  }
});

/** Per isolated zone: names its DNS Firewall allows besides the AWS service and S3 names it needs. */
const dnsAllow = z
  .strictObject(
    {
      mynumber: z.array(dnsAllowName).default([]),
      lgwan: z.array(dnsAllowName).default([]),
      transfer: z.array(dnsAllowName).default([]),
    },
    { error: 'must list extra DNS names per isolated zone: { mynumber?, lgwan?, transfer? } (the internet zone resolves through the security cloud)' },
  )
  .default({ mynumber: [], lgwan: [], transfer: [] });

/** 特定通信: one destination in the LGWAN network that mynumber may reach. */
const specificDestination = z.strictObject({
  name: z.string().min(1, { error: 'must name the destination, e.g. "中間サーバー"' }),
  address: ipv4,
  port: z.number().int().min(1).max(65535, { error: 'must be a port 1-65535' }),
  protocol: z.enum(['tcp', 'udp'], { error: 'must be "tcp" or "udp"' }).default('tcp'),
});

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
  /** Per tier: the office segments of its terminals and their VPN / Direct Connect (separate per tier). */
  terminals: z
    .strictObject({ mynumber: terminalLanding.optional(), lgwan: terminalLanding.optional(), internet: terminalLanding.optional() })
    .default({}),
  /** X5 特定通信: the LGWAN connection of mynumber and the destinations it may reach, by address and port. */
  specificCommunications: z
    .strictObject({
      lgwanConnection: connection,
      /** The LGWAN network's address range (routes to anything else are refused). */
      lgwanNetworkCidr: cidr,
      destinations: z.array(specificDestination).min(1, { error: 'must list at least one destination, e.g. the 中間サーバー platform' }),
      /** The LGWAN mail peer that the lgwan zone's mail server exchanges mail with (SMTP). */
      mailPeer: ipv4.optional(),
    })
    .optional(),
  /** Mail (crossings X3, X4 and the MX): the internet mail domains the MX accepts for this municipality, and its LGWAN mail server. */
  mail: z
    .strictObject({
      domains: z
        .array(domain, { error: 'must be a list of internet mail domains, e.g. ["city.chiyoda.example.jp"]' })
        .min(1, { error: 'must list at least one internet mail domain the MX accepts for this municipality, e.g. ["city.chiyoda.example.jp"]' }),
      /** The municipality's LGWAN mail server (in the lgwan zone): the ingester delivers sanitized mail to it and takes its outbound mail. */
      lgwanMailServer: ipv4,
      /** DKIM signing of outbound mail for these domains: the selector, and the Secrets Manager secret holding the RSA private key (PEM), never the key (docs/mail-authentication.en.md). */
      dkim: z.strictObject(
        {
          selector: z.string().regex(/^[a-z0-9-]{1,63}$/, { error: 'must be a DNS label such as "tt2026" (the key is published at <selector>._domainkey.<domain>)' }),
          privateKeySecretId: secretRef,
        },
        { error: 'must be { selector, privateKeySecretId }: outbound mail for the municipal domains is DKIM-signed with a key kept in Secrets Manager' },
      ),
    })
    .optional(),
  /** The pickup page of sanitized files in lgwan and how it knows who is asking (config/pickup-schema.ts); without it no page is deployed. */
  pickup: pickupSchema.optional(),
  /** Extra names each isolated zone may resolve (its DNS Firewall allowlist), e.g. the LGWAN names the lgwan zone needs. */
  dnsAllow,
  /** The network model (α, α′, β, β′) and its section (config/models.ts). */
  ...modelSections,
  /** No longer used (refused with the fix): the hub takes attachments by its default route tables. Kept so an old config gets a clear error. */
  transitGatewayAttachmentId: z.string().regex(/^tgw-attach-[0-9a-f]{8,17}$/, { error: 'must be a Transit Gateway attachment id such as "tgw-attach-0123456789abcdef0"' }).optional(),
});

const baseSchema = z.strictObject({
    name: z
      .string({ error: 'must be the config name, e.g. "pilot"' })
      .regex(/^[a-z][a-z0-9-]{1,19}$/, { error: 'must be 2-20 characters of a-z, 0-9 and "-", starting with a letter (it becomes part of stack and bucket names)' }),
    /** The network model of every municipality that does not name its own (config/models.ts). */
    model: modelSchema.default('alpha'),
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
    screenTransfer: z
      .strictObject({
        /** sbc-privatelink: self-managed DCV fleet in internet behind an NLB, reached from lgwan only through PrivateLink (fully private). appstream: AppStream 2.0 with a private streaming endpoint in lgwan. */
        implementation: z.enum(['sbc-privatelink', 'appstream'], { error: 'must be "sbc-privatelink" (default, fully private) or "appstream"; WorkSpaces Secure Browser needs an internet portal from lgwan and is not offered under model α' }).default('sbc-privatelink'),
        /** The one screen-transfer port (Amazon DCV: 8443). */
        port: z.number().int().min(1).max(65535).default(8443),
        /** Hosts kept running (or AppStream instances kept warm) so a session never waits for a boot. */
        prewarmed: z.number().int().min(1, { error: 'must be at least 1 so the first session does not wait for a boot' }).default(2),
        maxHosts: z.number().int().min(1).default(10),
        instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type such as "c6i.xlarge"' })).min(2, { error: 'must list at least 2 instance types' }).default(['c6i.xlarge', 'c7i.xlarge']),
        idleTimeoutMinutes: z.number().int().min(5).max(1440).default(60),
        disconnectTimeoutMinutes: z.number().int().min(1).max(5760).default(30),
        /** AppStream only: the image to stream (a browser image you built or an AWS base image name). */
        appstreamImageName: z.string().min(1).optional(),
        appstreamInstanceType: z.string().default('stream.standard.medium'),
        /** Staff sign-in (LGWAN-side OIDC broker, offline-verified token); without it the hosts refuse every sign-in. */
        signIn: screenSignInSchema.optional(),
      })
      .default({ implementation: 'sbc-privatelink', port: 8443, prewarmed: 2, maxHosts: 10, instanceTypes: ['c6i.xlarge', 'c7i.xlarge'], idleTimeoutMinutes: 60, disconnectTimeoutMinutes: 30, appstreamInstanceType: 'stream.standard.medium' }),
    /** The file sanitizer of crossing X2 (one queue-driven host group per municipality, in transfer). */
    sanitizer: z
      .strictObject({
        minHosts: z.number().int().min(0).default(1),
        maxHosts: z.number().int().min(1).default(4),
        /** Nitro types with encryption in transit (Control Tower CT.AUTOSCALING.PR.11). */
        instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type such as "c6i.large"' })).min(2, { error: 'must list at least 2 instance types so the group survives a shortage of one' }).default(['c6i.large', 'c7i.large']),
        /** Days the quarantine bucket keeps originals. */
        quarantineRetentionDays: z.number().int().min(1).max(3650).default(90),
        /** Days uploads stay in the inbound bucket after they were sanitized. */
        inboundRetentionDays: z.number().int().min(1).max(365).default(7),
        /** Days sanitized files wait in the pickup bucket. */
        sanitizedRetentionDays: z.number().int().min(1).max(365).default(30),
      })
      .default({ minHosts: 1, maxHosts: 4, instanceTypes: ['c6i.large', 'c7i.large'], quarantineRetentionDays: 90, inboundRetentionDays: 7, sanitizedRetentionDays: 30 }),
    /** The mail relay (X3, X4 and the MX); per municipality, `mail` turns it on. */
    mail: z
      .strictObject({
        /** Largest message the MX accepts (SMTP SIZE); larger ones are refused with 552. */
        maxMessageBytes: z.number().int().min(1024 * 1024, { error: 'must be at least 1048576 (1 MiB)' }).max(100 * 1024 * 1024, { error: 'must be at most 104857600 (100 MiB), the sanitizer\'s file limit' }).default(25 * 1024 * 1024),
        /** Recipient domains on the LGWAN list (and their subdomains): outbound mail to them goes to the LGWAN network, never to the internet. */
        lgwanDomains: z.array(domain, { error: 'must be a list of domains, e.g. ["lg.jp"]' }).min(1, { error: 'must list at least one LGWAN domain, e.g. ["lg.jp"]' }).default(['lg.jp']),
        /** Nitro types with encryption in transit (Control Tower CT.AUTOSCALING.PR.11). */
        instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type such as "c6i.large"' })).min(2, { error: 'must list at least 2 instance types so the group survives a shortage of one' }).default(['c6i.large', 'c7i.large']),
        /** Hosts per mail role and municipality (each role runs at least one). */
        maxHosts: z.number().int().min(1, { error: 'must be at least 1' }).default(2),
        /** Days a temporarily undeliverable message is retried before it bounces. */
        retryDays: z.number().int().min(1, { error: 'must be at least 1 day' }).max(14, { error: 'must be at most 14 days' }).default(5),
        /** A message failing DMARC whose domain publishes p=reject: refused at SMTP time (550), or accepted into quarantine (staff get a notice). */
        dmarcRejectAction: z.enum(['reject', 'quarantine'], { error: 'must be "reject" (550 at SMTP time) or "quarantine" (kept in quarantine, staff notified)' }).default('reject'),
        /** Forwarders (ARC sealers) whose valid ARC chains count when DMARC fails, e.g. ["lists.example.org"]. */
        arcTrustedSealers: z.array(domain).default([]),
      })
      .default({ maxMessageBytes: 25 * 1024 * 1024, lgwanDomains: ['lg.jp'], instanceTypes: ['c6i.large', 'c7i.large'], maxHosts: 2, retryDays: 5, dmarcRejectAction: 'reject', arcTrustedSealers: [] }),
    patching: z
      .strictObject({
        /** When isolated hosts patch through the endpoints (UTC). */
        maintenanceWindow: z.string().regex(/^cron\(.+\)$/, { error: 'must be an SSM cron expression such as "cron(0 17 ? * SAT *)"' }).default('cron(0 17 ? * SAT *)'),
        /** Days after release before a patch is approved. */
        approveAfterDays: z.number().int().min(0).max(360).default(7),
      })
      .default({ maintenanceWindow: 'cron(0 17 ? * SAT *)', approveAfterDays: 7 }),
    /** The updates feed (issue #19): channels fetched in internet, verified in transfer, mirrored in the isolated tiers. */
    updates: updatesSchema.default({ channels: [], fetch: { instanceTypes: ['c6i.large', 'c7i.large'] }, mirrorTiers: ['lgwan', 'mynumber'] }),
    /** Lab only: one small SSM-managed probe instance per zone, for the live checks. */
    probes: z.boolean().default(false),
    /**
     * How the zone stacks are built: `stacks` (default) builds every
     * municipality's zone stacks, for `cdk deploy --all` into one account;
     * `shapes` builds one municipality per shape (and one more to verify the
     * shape) and writes every other municipality as a parameter file of its
     * shape (cdk.out/shapes, lib/scale). For configs of many municipalities.
     */
    rollout: z
      .strictObject({
        method: z.enum(['stacks', 'shapes'], { error: 'must be "stacks" (every zone stack built, for cdk deploy --all) or "shapes" (one municipality per shape built, the others as parameter files)' }).default('stacks'),
        /**
         * Multi-account rollout (method "shapes"): every municipality in an
         * account of its own, its zone shapes deployed by CloudFormation
         * StackSets with service-managed permissions (AWS Organizations), one
         * wave per prefecture OU (lib/scale/stacksets.ts, docs/rollout.en.md).
         */
        stackSets: z
          .strictObject({
            /** The AWS Organizations organization: asset buckets are readable by its accounts only. */
            organizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, { error: 'must be an AWS Organizations id such as "o-a1b2c3d4e5"' }),
            /** The organization's management account: the hub is shared with the prefecture OUs by ARN, and no municipality may use it (service-managed stack sets never deploy there). */
            managementAccount: account,
            /** The rollout stacks live in the security cloud account; register it as a delegated administrator for StackSets ("DELEGATED_ADMIN"), or deploy them from the management account ("SELF"). */
            callAs: z.enum(['DELEGATED_ADMIN', 'SELF'], { error: 'must be "DELEGATED_ADMIN" (the security cloud account is a delegated StackSets administrator) or "SELF" (it is the management account)' }).default('DELEGATED_ADMIN'),
            /** Stack instances deployed at once within a wave, in percent of its accounts (StackSets MaxConcurrentPercentage). */
            maxConcurrentPercentage: z.number({ error: 'must be a whole percentage, 1-100' }).int({ error: 'must be a whole percentage, 1-100' }).min(1, { error: 'must be at least 1 (percent of the wave\'s accounts deployed at once)' }).max(100, { error: 'must be at most 100' }).default(10),
            /** Failed accounts tolerated within a wave before StackSets stops it, in percent (FailureTolerancePercentage). */
            failureTolerancePercentage: z.number({ error: 'must be a whole percentage, 0-100' }).int({ error: 'must be a whole percentage, 0-100' }).min(0, { error: 'must be at least 0' }).max(100, { error: 'must be at most 100' }).default(0),
            /** Prefix of the org-readable asset buckets ("<prefix>-<region>") that hold the shapes' Lambda code. */
            assetBucketPrefix: z.string().regex(/^[a-z0-9][a-z0-9-]{2,40}[a-z0-9]$/, { error: 'must be 4-42 characters of a-z, 0-9 and "-" (the bucket is "<prefix>-<region>")' }).optional(),
            /** The waves, in rollout order: one per prefecture, each the prefecture's organizational unit. */
            waves: z
              .array(
                z.strictObject({
                  prefecture: z.string().regex(/^(0[1-9]|[1-3]\d|4[0-7])$/, { error: 'must be a 2-digit prefecture code "01"-"47" (the first two digits of its municipalities\' codes)' }),
                  organizationalUnitId: z.string().regex(/^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/, { error: 'must be an organizational unit id such as "ou-ab12-cd34ef56"' }),
                }),
                { error: 'must be a list of { prefecture, organizationalUnitId }, one per prefecture, in rollout order' },
              )
              .min(1, { error: 'must list at least one wave { prefecture, organizationalUnitId }' }),
          })
          .optional(),
      })
      .default({ method: 'stacks' }),
    securityCloud: z.strictObject(
      {
        name: z.string().regex(/^[A-Z][A-Za-z0-9]{1,30}$/, { error: 'must be a PascalCase name of letters and digits, e.g. "Tokyo" (it becomes part of stack names)' }),
        cidr,
        account: account.optional(),
        /** No longer used (refused with the fix): other accounts read the hub's ids from its shared SSM parameters. Kept so an old config gets a clear error. */
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

  const st = cfg.screenTransfer;
  if (st.implementation === 'appstream' && !st.appstreamImageName) {
    issue(ctx, ['screenTransfer', 'appstreamImageName'], 'is required when implementation is "appstream": name the AppStream image with the browser to stream');
  }
  if (st.prewarmed > st.maxHosts) {
    issue(ctx, ['screenTransfer', 'prewarmed'], `is ${st.prewarmed} but maxHosts is ${st.maxHosts}; prewarmed must not exceed maxHosts`);
  }
  // Update channels must get through the security cloud's domain rules.
  const fw = cfg.securityCloud.firewall;
  if (fw.domainMode === 'denylist') {
    for (const h of channelHosts(cfg.updates)) {
      const hit = fw.domains.find((d) => h === d.replace(/^\./, '') || (d.startsWith('.') && h.endsWith(d)));
      if (hit) issue(ctx, ['updates', 'channels'], `fetch host "${h}" is denied by securityCloud.firewall.domains ("${hit}"); remove the channel or the deny entry`);
    }
  }
  if (cfg.sanitizer.minHosts > cfg.sanitizer.maxHosts) {
    issue(ctx, ['sanitizer', 'minHosts'], `is ${cfg.sanitizer.minHosts} but maxHosts is ${cfg.sanitizer.maxHosts}; minHosts must not exceed maxHosts`);
  }
  const mg = cfg.securityCloud.mailGateway;
  if (mg.minHosts > mg.maxHosts) {
    issue(ctx, ['securityCloud', 'mailGateway', 'minHosts'], `is ${mg.minHosts} but maxHosts is ${mg.maxHosts}; minHosts must not exceed maxHosts`);
  }

  // Every CIDR in the config, with the path that declared it.
  const cidrs: { path: (string | number)[]; label: string; cidr: Cidr; shared?: boolean }[] = [];
  const addCidr = (path: (string | number)[], label: string, text: string, opts: { vpc?: boolean; shared?: boolean } = {}): Cidr | undefined => {
    const parsed = parseCidr(text);
    if (typeof parsed === 'string') {
      issue(ctx, path, `"${text}" ${parsed}`);
      return undefined;
    }
    if (opts.vpc === false) {
      // Office segments and the LGWAN network: any size, but never overlapping a VPC.
      // The LGWAN network is one network, listed by every municipality: it only must not overlap the VPCs.
      cidrs.push({ path, label, cidr: parsed, shared: opts.shared });
      return parsed;
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
  if (cfg.securityCloud.transitGatewayId) {
    issue(ctx, ['securityCloud', 'transitGatewayId'], 'is no longer used: municipalities in other accounts read the hub\'s ids from its SSM parameters shared through RAM (or, under rollout.stackSets, from stack-set overrides); remove it');
  }
  const stackSetAccounts = new Map<string, number>();
  if (cfg.rollout.stackSets) stackSetChecks(cfg, ctx);
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
        } else if (zone === 'internet' && m.betaPrime) {
          // β′: each moved system takes a /26 per AZ from the space after the plan's subnets.
          const n = m.betaPrime.movedSystems.length;
          const moved = movedSystemCidrs(m.cidrs.internet, azCount, n);
          if (!moved.fits) {
            issue(ctx, [...base, 'cidrs', 'internet'], `"${m.cidrs.internet}" is too small for the ${n} systems in betaPrime.movedSystems (each takes a /${MOVED_SYSTEM_MASK} per availability zone after the zone's own subnets: ${moved.needed} addresses, the /${parsed.prefix} has ${moved.available}); use a /${parsed.prefix - 1} or larger, or move fewer systems`);
          }
        }
      }
    }
    // α′: the proxy VPC in the security cloud account, a /24 of its own (hosts and NLB, attachment subnets per AZ).
    if (m.alphaPrime?.proxyCidr !== undefined) {
      const proxy = addCidr([...base, 'alphaPrime', 'proxyCidr'], `municipalities[${i}].alphaPrime.proxyCidr`, m.alphaPrime.proxyCidr);
      if (proxy && proxy.prefix !== 24) issue(ctx, [...base, 'alphaPrime', 'proxyCidr'], `"${m.alphaPrime.proxyCidr}" is a /${proxy.prefix}; the proxy VPC takes exactly a /24 (a /26 of hosts per AZ and a /28 attachment subnet per AZ)`);
      if (proxy && cfg.availabilityZones.length > 3) issue(ctx, [...base, 'alphaPrime', 'proxyCidr'], `a /24 holds the proxy's subnets for at most 3 availability zones, and the security cloud uses ${cfg.availabilityZones.length}`);
    }
    for (const tier of ['lgwan', 'internet'] as const) {
      if (m.terminals[tier]?.streaming) issue(ctx, [...base, 'terminals', tier, 'streaming'], 'is only offered for mynumber terminals; lgwan staff use the virtual browser (screenTransfer)');
    }
    for (const tier of ['mynumber', 'lgwan', 'internet'] as const) {
      const t = m.terminals[tier];
      t?.officeCidrs.forEach((c, j) => addCidr([...base, 'terminals', tier, 'officeCidrs', j], `municipalities[${i}].terminals.${tier}.officeCidrs[${j}]`, c, { vpc: false }));
    }
    const sc = m.specificCommunications;
    if (sc) {
      const net = addCidr([...base, 'specificCommunications', 'lgwanNetworkCidr'], `municipalities[${i}].specificCommunications.lgwanNetworkCidr`, sc.lgwanNetworkCidr, { vpc: false, shared: true });
      const inNet = (ip: string): boolean => {
        const c = parseCidr(`${ip}/32`);
        return !!net && typeof c !== 'string' && c.start >= net.start && c.end <= net.end;
      };
      sc.destinations.forEach((d, j) => {
        if (!inNet(d.address)) issue(ctx, [...base, 'specificCommunications', 'destinations', j, 'address'], `"${d.address}" is not inside lgwanNetworkCidr "${sc.lgwanNetworkCidr}"; 特定通信 go only to the LGWAN network`);
      });
      if (sc.mailPeer && !inNet(sc.mailPeer)) issue(ctx, [...base, 'specificCommunications', 'mailPeer'], `"${sc.mailPeer}" is not inside lgwanNetworkCidr "${sc.lgwanNetworkCidr}"`);
      if (sc.lgwanConnection.type === 'simulated' && !cfg.probes) {
        issue(ctx, [...base, 'specificCommunications', 'lgwanConnection'], 'is "simulated", which only a lab config (probes: true) may use; use "vpn" or "direct-connect" for a real LGWAN connection');
      }
    }
    if (m.mail) {
      const lgwan = parseCidr(m.cidrs.lgwan);
      const server = parseCidr(`${m.mail.lgwanMailServer}/32`);
      if (typeof lgwan !== 'string' && typeof server !== 'string' && !(server.start >= lgwan.start && server.end <= lgwan.end)) {
        issue(ctx, [...base, 'mail', 'lgwanMailServer'], `"${m.mail.lgwanMailServer}" is not inside the lgwan zone "${m.cidrs.lgwan}"; give the address of the LGWAN mail server in that zone`);
      }
      if (!m.specificCommunications?.mailPeer) {
        issue(ctx, [...base, 'mail'], 'needs specificCommunications.mailPeer (the LGWAN mail peer): outbound mail to LGWAN domains goes there');
      }
      m.mail.domains.forEach((d, j) => {
        const owner = domains.get(`mail:${d}`);
        if (owner !== undefined) issue(ctx, [...base, 'mail', 'domains', j], `"${d}" is already an internet mail domain of ${owner}; the MX routes each domain to one municipality`);
        else domains.set(`mail:${d}`, `municipalities[${i}] (${m.code})`);
      });
    }
    for (const p of modelProblems(cfg.model, m)) issue(ctx, [...base, ...p.path], p.message);
    const model = m.model ?? cfg.model;
    if (cfg.rollout.method === 'shapes' && (model === 'beta' || model === 'beta-prime')) {
      issue(ctx, [...base, 'model'], `is "${model}", whose internet-side screen endpoints are a stack of their own, not one of the four zone stacks that rollout.method "shapes" turns into shapes; use rollout.method "stacks" for this config`);
    }
    if (m.pickup) for (const p of pickupProblems(m.pickup, m.cidrs.lgwan, m.terminals.lgwan?.officeCidrs ?? [])) issue(ctx, [...base, 'pickup', ...p.path], p.message);
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
    if (m.transitGatewayAttachmentId) {
      issue(ctx, [...base, 'transitGatewayAttachmentId'], 'is no longer used: the hub accepts attachments from the accounts it is shared with and associates them by its default route tables (docs/operator.en.md, multi-account); remove it');
    }
    if (mRegion !== cfg.region) {
      if (!m.availabilityZones) {
        issue(ctx, [...base, 'availabilityZones'], `is required because region "${mRegion}" differs from the config region "${cfg.region}"; list at least 2 AZs of ${mRegion}`);
      } else checkAzs(ctx, [...base, 'availabilityZones'], m.availabilityZones, mRegion);
    } else if (m.availabilityZones) {
      checkAzs(ctx, [...base, 'availabilityZones'], m.availabilityZones, mRegion);
    }
    if (cfg.rollout.stackSets) stackSetMunicipalityChecks(cfg, ctx, m, i, stackSetAccounts);
    if (m.account && m.account !== cfg.account && !cfg.account) {
      issue(ctx, [...base, 'account'], `is "${m.account}" but the top-level "account" (where the log archive lives) is not set; set "account" so flow logs from this account can name the archive bucket`);
    }
  });

  // Overlap check across the whole config: sort by start, compare neighbours
  // while the running interval still overlaps (n log n, fine for thousands).
  const sorted = [...cidrs].sort((a, b) => a.cidr.start - b.cidr.start || b.cidr.end - a.cidr.end);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].cidr.start <= sorted[i].cidr.end; j++) {
      if (sorted[i].shared && sorted[j].shared && sorted[i].cidr.text === sorted[j].cidr.text) continue;
      if (overlaps(sorted[i].cidr, sorted[j].cidr)) {
        const [a, b] = [sorted[i], sorted[j]];
        issue(ctx, b.path, `"${b.cidr.text}" overlaps ${a.label} ("${a.cidr.text}"); every zone, municipality and the security cloud needs its own non-overlapping range`);
      }
    }
  }
}

type Cfg = z.output<typeof baseSchema>;

/** rollout.stackSets as a whole: method, where the rollout stacks live, the waves. */
function stackSetChecks(cfg: Cfg, ctx: Ctx): void {
  const ss = cfg.rollout.stackSets!;
  const base = ['rollout', 'stackSets'];
  if (cfg.rollout.method !== 'shapes') issue(ctx, ['rollout', 'method'], `is "${cfg.rollout.method}" but rollout.stackSets deploys shapes; set rollout.method to "shapes"`);
  const sc = cfg.securityCloud.account ?? cfg.account;
  if (!sc) issue(ctx, ['securityCloud', 'account'], 'is required with rollout.stackSets: the rollout stacks and the asset buckets live in the security cloud account; set it (or the top-level "account")');
  if (ss.callAs === 'DELEGATED_ADMIN' && sc === ss.managementAccount) {
    issue(ctx, [...base, 'callAs'], `is "DELEGATED_ADMIN" but the security cloud account ${sc} is the management account; use "SELF" there (or move the security cloud to a member account registered as delegated administrator)`);
  }
  const prefectures = new Map<string, number>();
  const ous = new Map<string, number>();
  ss.waves.forEach((w, j) => {
    const p = prefectures.get(w.prefecture);
    if (p !== undefined) issue(ctx, [...base, 'waves', j, 'prefecture'], `"${w.prefecture}" is already wave ${p}; one wave per prefecture`);
    else prefectures.set(w.prefecture, j);
    const o = ous.get(w.organizationalUnitId);
    if (o !== undefined) issue(ctx, [...base, 'waves', j, 'organizationalUnitId'], `"${w.organizationalUnitId}" is already the OU of wave ${o}; every prefecture needs an OU of its own`);
    else ous.set(w.organizationalUnitId, j);
    if (!cfg.municipalities.some((m) => m.code.slice(0, 2) === w.prefecture)) issue(ctx, [...base, 'waves', j, 'prefecture'], `"${w.prefecture}" has no municipality in this config; remove the wave or add its municipalities`);
  });
}

/** One municipality under rollout.stackSets: an account of its own, a wave, the model. */
function stackSetMunicipalityChecks(cfg: Cfg, ctx: Ctx, m: Cfg['municipalities'][number], i: number, accounts: Map<string, number>): void {
  const ss = cfg.rollout.stackSets!;
  const base = ['municipalities', i];
  const sc = cfg.securityCloud.account ?? cfg.account;
  if (!m.account) {
    issue(ctx, [...base, 'account'], 'is required with rollout.stackSets: each municipality\'s zone stacks are stack instances in an account of its own; set its 12-digit account id');
  } else {
    const prev = accounts.get(m.account);
    if (prev !== undefined) issue(ctx, [...base, 'account'], `"${m.account}" is also the account of municipalities[${prev}]; a stack set has one instance per account and region, so every municipality needs an account of its own`);
    else accounts.set(m.account, i);
    if (m.account === sc) issue(ctx, [...base, 'account'], `"${m.account}" is the security cloud account; with rollout.stackSets every municipality is in an account of its own`);
    if (m.account === ss.managementAccount) issue(ctx, [...base, 'account'], `"${m.account}" is the management account (rollout.stackSets.managementAccount), where service-managed stack sets never deploy; use a member account`);
  }
  if (!ss.waves.some((w) => w.prefecture === m.code.slice(0, 2))) {
    issue(ctx, [...base, 'code'], `"${m.code}" is in prefecture ${m.code.slice(0, 2)}, which has no wave; add { prefecture: "${m.code.slice(0, 2)}", organizationalUnitId: "ou-..." } to rollout.stackSets.waves`);
  }
  const model = m.model ?? cfg.model;
  if (model !== 'alpha') issue(ctx, [...base, 'model'], `is "${model}"; rollout.stackSets deploys model alpha only (the alpha-prime proxy and the beta screen stacks are in the security cloud account); use rollout.method "stacks" for this municipality's config`);
}
