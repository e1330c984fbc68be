import * as fs from 'fs';
import * as path from 'path';
import { ThreeTierConfig, ZONES } from '../../config/schema';
import { pickupIngress } from '../../config/pickup-schema';
import { ZoneName } from './zones';
import { updatesCrossings } from './updates-intent';
import { zoneDnsNames } from './dns-names';
import { configModelLabel, intentModels } from './models';
import { alphaPrimeCrossings, alphaPrimeZones } from './model-alpha-prime';
import { betaCrossings } from './model-beta';

/**
 * The isolation intent: every zone and every permitted crossing of DESIGN
 * section 3, built from the config. It is data: model β, β′ and α′ change
 * which crossings it lists, not code. Synth writes it into the cloud assembly
 * (isolation-intent.json) so whoever holds a cdk.out holds its intent; the
 * pack, the path analyzer and the live check all read it.
 */

export const INTENT_FILE = 'isolation-intent.json';
export const INTENT_SCHEMA = 'three-tier-isolation-intent/1';

/**
 * X1-X7 of DESIGN section 3; TL: a tier's own terminal landing (office segment ↔ its zone).
 * The models add theirs (lib/isolation/models.ts): A1 (α′, lgwan → named cloud services
 * through the inspecting proxy), B1 (β/β′, internet → the named LGWAN systems' screen-transfer
 * port), B2 (β′, the moved business systems in internet).
 */
export type CrossingId = 'X1' | 'X2' | 'X3' | 'X4' | 'X5' | 'X6' | 'X7' | 'TL' | 'A1' | 'B1' | 'B2';
/** Where a crossing leads: another zone, AWS APIs (with service names) or the internet. */
/** Where a crossing leads: a zone (incl. `public-internet`, the real internet), AWS APIs, or the tier's office segment. */
export type Destination = ZoneName | 'aws-apis' | 'office';

export interface EnforcingResource {
  readonly stack: string;
  readonly constructPath: string;
  /** Filled in after synthesis. */
  logicalId?: string;
  readonly role: string;
}

export interface Crossing {
  readonly id: CrossingId;
  readonly municipality?: string;
  readonly from: ZoneName;
  readonly to: Destination;
  readonly mechanism: 'vpc-endpoint' | 's3-gateway-endpoint' | 'privatelink' | 's3-objects' | 'tgw-firewall-nat' | 'routes-and-security-groups' | 'vpn' | 'direct-connect' | 'peering';
  /** For routed crossings to networks outside AWS: the exact destination CIDRs (特定通信: /32 each). */
  readonly destinations?: string[];
  /** TCP ports, when the crossing is a network flow. */
  readonly ports: number[];
  /** For `aws-apis`: the endpoint services that may be reached. */
  readonly services?: string[];
  /**
   * For a crossing to `public-internet` restricted by name (α′): the only host names it may
   * reach, in Squid's notation ("name" exactly, ".domain" for the domain and every name under
   * it). The checks compare them with the proxy's allowlist and the firewall's domain rules.
   */
  readonly fqdns?: string[];
  readonly description: string;
  readonly enforcedBy: EnforcingResource[];
}

/**
 * One municipality's network model as the reviewer sees it: which model, the crossings it
 * adds (by id), and the conditions the guideline attaches that CDK cannot enforce (EDR,
 * identity provider settings, ...), which the review pack states.
 */
export interface IntentModel {
  readonly municipality: string;
  readonly model: string;
  readonly crossings: CrossingId[];
  readonly conditions: { readonly id: string; readonly en: string; readonly ja: string; readonly enforced: 'cdk' | 'outside' }[];
}

export interface IntentZone {
  readonly municipality?: string;
  readonly zone: ZoneName;
  readonly cidr: string;
  readonly isolated: boolean;
  /** How the zone resolves names (DNS is a channel too). Absent in intents written before DNS was modelled: isolated zones then get `allowlist` without names. */
  readonly dns?: ZoneDns;
}

/**
 * A zone's resolver policy. `allowlist`: the Amazon-provided resolver answers
 * only `names` (DNS Firewall, fail closed, `*` blocked last). `none`: the zone
 * resolves nothing. `public`: it resolves public names, filtered by the
 * security cloud's DNS Firewall block lists (the internet zone).
 */
export interface ZoneDns {
  readonly policy: 'allowlist' | 'none' | 'public';
  /** For `allowlist`: every name the zone may resolve (filled with the project's buckets after synthesis). */
  names?: string[];
}

/**
 * AWS-managed doors (DESIGN section 3): forbidden unless the intent lists
 * them. Model α lists none; a deployment that needs one names it here with
 * the zone and why, and the checks accept exactly that door.
 */
export type DoorKind =
  | 'instance-connect-endpoint'
  | 'client-vpn'
  | 'vpc-lattice'
  | 'verified-access'
  | 'gateway-load-balancer-endpoint'
  | 'endpoint-service'
  | 'resolver-forwarding'
  | 'ipv6-egress'
  | 'route-to-instance';

export interface Door {
  readonly kind: DoorKind;
  readonly municipality?: string;
  readonly zone: ZoneName;
  /** For `endpoint-service`: the service name (com.amazonaws.vpce.<region>.vpce-svc-…). */
  readonly service?: string;
  readonly description: string;
}

/**
 * Who may open a service inside a zone from its own tier's office segments
 * (not a crossing between zones): the pickup page, whose sources follow its
 * configured identity mode (config/pickup-schema.ts).
 */
export interface ServiceIngress {
  readonly id: 'pickup';
  readonly municipality: string;
  readonly zone: ZoneName;
  readonly identity: 'oidc' | 'signed-jwt' | 'header';
  readonly ports: number[];
  /** The only sources admitted: office segments (oidc) or the front's /32 addresses (signed-jwt, header). */
  readonly sources: string[];
  readonly description: string;
  readonly enforcedBy: EnforcingResource[];
}

export interface IsolationIntent {
  readonly schema: typeof INTENT_SCHEMA;
  readonly config: string;
  readonly model: string;
  readonly zones: IntentZone[];
  readonly crossings: Crossing[];
  /** Services reachable from office segments, per municipality (optional: older intents have none). */
  readonly ingress?: ServiceIngress[];
  /** AWS-managed doors the deployment accepts (none in model α). Absent: none. */
  readonly doors?: Door[];
  /** Each municipality's network model and the guideline's conditions (absent in intents written before models). */
  readonly models?: IntentModel[];
  /** The rules that follow from the crossing table, in words, for reviewers. */
  readonly rules: string[];
}

export const INTERFACE_ENDPOINT_SERVICES = ['ssm', 'ssmmessages', 'ec2messages', 'kms', 'logs'] as const;

export const DESIGN_RULES = [
  'Anything not listed in crossings is forbidden.',
  'No connection is ever initiated into mynumber or lgwan from internet or transfer, except the privatelink crossings the intent lists (to exactly their endpoint services, load balancer ports and principals).',
  'No route between zone VPCs: no peering, no shared Transit Gateway route table between tiers, no route to another tier\'s CIDR.',
  'Tenants of a security cloud cannot reach each other.',
  'Every byte between a municipality and the internet crosses the firewall, in both directions.',
  'AWS APIs are reached only through endpoints whose policies name this account, the project\'s buckets and the AWS repositories.',
  'Flow logs of ALL traffic on every VPC go to the log archive, which has Object Lock.',
  'DNS is a channel: an isolated zone resolves only its allowlist (DNS Firewall, fail closed, "*" blocked last, redirection targets inspected); every zone\'s queries are logged to the archive.',
  'AWS-managed doors (Instance Connect endpoints, Client VPN, VPC Lattice, Verified Access, Gateway Load Balancer endpoints, unnamed endpoint services, resolver forwarding, IPv6 egress, routes to instances or interfaces in isolated zones) are forbidden unless listed in doors.',
];

/** Builds the intent of a config. Enforcing resources are listed by construct path; logical ids are added after synthesis. */
export function buildIntent(cfg: ThreeTierConfig, stackName: (code: string, zone: (typeof ZONES)[number]) => string, hubStack: string): IsolationIntent {
  const zones: IntentZone[] = [];
  const crossings: Crossing[] = [];
  for (const m of cfg.municipalities) {
    for (const zone of ZONES) {
      zones.push({ municipality: m.code, zone, cidr: m.cidrs[zone], isolated: zone !== 'internet', dns: { policy: zone === 'internet' ? 'public' : 'allowlist' } });
    }
    for (const zone of ['mynumber', 'lgwan', 'transfer'] as const) {
      const stack = stackName(m.code, zone);
      crossings.push({
        id: 'X6',
        municipality: m.code,
        from: zone,
        to: 'aws-apis',
        mechanism: 'vpc-endpoint',
        ports: [443],
        services: [...INTERFACE_ENDPOINT_SERVICES, 's3'],
        description: `${zone} reaches SSM, KMS, CloudWatch Logs and S3 (OS repositories, project buckets) through endpoints with restrictive policies (patches and agents)`,
        enforcedBy: [
          ...INTERFACE_ENDPOINT_SERVICES.map((svc) => ({ stack, constructPath: `${stack}/Zone/Vpc/${svc[0].toUpperCase()}${svc.slice(1)}/Resource`, role: `${svc} interface endpoint` })),
          { stack, constructPath: `${stack}/Zone/Vpc/S3/Resource`, role: 's3 gateway endpoint' },
        ],
      });
    }
    const internetStack = stackName(m.code, 'internet');
    const hub = hubStack;
    // A municipality in another account: the hub takes its attachment by its default tables (lib/security-cloud/tenant-defaults.ts).
    const sameAccount = (m.account ?? cfg.account) === (cfg.securityCloud.account ?? cfg.account);
    const tenantEnforcement = [
      { stack: internetStack, constructPath: `${internetStack}/SecurityCloud/Attachment`, role: 'Transit Gateway attachment of the internet zone' },
      ...(!sameAccount ? [{ stack: hub, constructPath: `${hub}/TenantDefaults/Resource/Resource/Default`, role: "the Transit Gateway's default tables: tenants (association) and firewall (propagation)" }] : []),
      { stack: hub, constructPath: `${hub}/Hub/TenantsDefault`, role: 'tenants route table: 0.0.0.0/0 to the firewall' },
      { stack: hub, constructPath: `${hub}/Inspection/Firewall`, role: 'Network Firewall attached to the Transit Gateway' },
    ];
    crossings.push({
      id: 'X7',
      municipality: m.code,
      from: 'internet',
      to: 'public-internet',
      mechanism: 'tgw-firewall-nat',
      ports: [80, 443, 25, 587, 123],
      description: 'internet zone reaches the internet only through the security cloud: Transit Gateway → Network Firewall → NAT → internet gateway, both directions inspected',
      enforcedBy: tenantEnforcement,
    });
    crossings.push({
      id: 'X7',
      municipality: m.code,
      from: 'internet',
      to: 'security-cloud',
      mechanism: 'tgw-firewall-nat',
      ports: [25],
      description: 'the internet zone answers the MX gateway in the security cloud (SMTP), through the firewall',
      enforcedBy: tenantEnforcement,
    });
    const transferStack = stackName(m.code, 'transfer');
    const lgwanStack = stackName(m.code, 'lgwan');
    const bucketPolicy = (what: string) => ({ stack: transferStack, constructPath: `${transferStack}/Sanitizer/${what}/Policy/Resource`, role: `${what.toLowerCase()} bucket policy: pinned to its endpoints` });
    crossings.push({
      id: 'X2',
      municipality: m.code,
      from: 'internet',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'internet writes files for sanitization to the inbound bucket (under the user\'s prefix) through its S3 gateway endpoint; only this endpoint may write it',
      enforcedBy: [{ stack: internetStack, constructPath: `${internetStack}/Zone/Vpc/S3/Resource`, role: 's3 gateway endpoint' }, bucketPolicy('Inbound')],
    });
    crossings.push({
      id: 'X2',
      municipality: m.code,
      from: 'transfer',
      to: 'aws-apis',
      mechanism: 'vpc-endpoint',
      ports: [443],
      services: ['s3', 'sqs'],
      description: 'the sanitizer in transfer takes object-created events from its queue (SQS endpoint), reads the inbound bucket, and writes the sanitized and quarantine buckets, the only writer of both',
      enforcedBy: [
        { stack: transferStack, constructPath: `${transferStack}/Sanitizer/Queue/Resource`, role: 'queue of inbound object-created events' },
        { stack: transferStack, constructPath: `${transferStack}/Zone/Vpc/Sqs/Resource`, role: 'SQS interface endpoint (policy: this queue only)' },
        bucketPolicy('Sanitized'),
        bucketPolicy('Quarantine'),
      ],
    });
    crossings.push({
      id: 'X2',
      municipality: m.code,
      from: 'lgwan',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'lgwan reads sanitized files (the pickup page) through its S3 gateway endpoint; it cannot write the sanitized bucket',
      enforcedBy: [{ stack: lgwanStack, constructPath: `${lgwanStack}/Zone/Vpc/S3/Resource`, role: 's3 gateway endpoint' }, bucketPolicy('Sanitized')],
    });
    if (m.mail) crossings.push(...mailCrossings(m, stackName, hubStack));
    crossings.push(...updatesCrossings(cfg, m, stackName, hubStack));
  }
  // The models' crossings after TL: a route to an office segment is reported as the tier's terminal landing first.
  for (const m of cfg.municipalities) crossings.push(...terminalAndLgwanCrossings(cfg, m, stackName), ...betaCrossings(cfg, m, stackName));
  crossings.push(...alphaPrimeCrossings(cfg, stackName, hubStack));
  zones.push({ zone: 'security-cloud', cidr: cfg.securityCloud.cidr, isolated: false, dns: { policy: 'public' } });
  crossings.push({
    id: 'X7',
    from: 'public-internet',
    to: 'security-cloud',
    mechanism: 'routes-and-security-groups',
    ports: [25],
    description: 'inbound mail: anyone on the internet reaches the public MX (NLB) of the security cloud on SMTP only',
    enforcedBy: [{ stack: hubStack, constructPath: `${hubStack}/MailGateway/NlbSg/Resource`, role: 'security group of the public MX: TCP 25 only' }],
  });
  fillDnsAllowlists(cfg, zones, crossings);
  zones.push(...alphaPrimeZones(cfg));
  return { schema: INTENT_SCHEMA, config: cfg.name, model: configModelLabel(cfg), zones, crossings, ingress: pickupIngressIntent(cfg, stackName), doors: [], models: intentModels(cfg, crossings), rules: DESIGN_RULES };
}

/** The pickup page's ingress, from each municipality's identity mode. */
function pickupIngressIntent(cfg: ThreeTierConfig, stackName: (code: string, zone: (typeof ZONES)[number]) => string): ServiceIngress[] {
  return cfg.municipalities.flatMap((m) => {
    if (!m.pickup) return [];
    const stack = stackName(m.code, 'lgwan');
    const i = pickupIngress(m.pickup, m.cidrs.lgwan, m.terminals.lgwan?.officeCidrs ?? []);
    return [{ id: 'pickup' as const, municipality: m.code, zone: 'lgwan' as const, identity: m.pickup.identity.mode, ports: [443], sources: i.sources, description: `the pickup page admits HTTPS from ${i.reason}`, enforcedBy: [{ stack, constructPath: `${stack}/Pickup/Sg/Resource`, role: 'pickup page security group' }] }];
  });
}

/** The allowlist of every `allowlist` zone: the names its crossings need, plus the config's own names. */
function fillDnsAllowlists(cfg: ThreeTierConfig, zones: IntentZone[], crossings: Crossing[]): void {
  for (const z of zones) {
    if (z.dns?.policy !== 'allowlist' || !z.municipality) continue;
    const m = cfg.municipalities.find((x) => x.code === z.municipality)!;
    const mine = crossings.filter((c) => c.from === z.zone && c.municipality === z.municipality);
    z.dns.names = zoneDnsNames({
      region: m.region ?? cfg.region,
      services: [...new Set(mine.filter((c) => c.to === 'aws-apis').flatMap((c) => c.services ?? []))],
      privateLink: mine.some((c) => c.mechanism === 'privatelink'),
      extra: (m.dnsAllow as Record<string, string[] | undefined>)[z.zone] ?? [],
    });
  }
}

/** X3 (mail in) and X4 (mail out) of a municipality with mail: the SMTP hop from the MX and the object path through the buckets. */
function mailCrossings(m: ThreeTierConfig['municipalities'][number], stackName: (code: string, zone: (typeof ZONES)[number]) => string, hubStack: string): Crossing[] {
  const internet = stackName(m.code, 'internet');
  const transfer = stackName(m.code, 'transfer');
  const lgwan = stackName(m.code, 'lgwan');
  const domains = m.mail!.domains.join(', ');
  const endpoint = (stack: string) => ({ stack, constructPath: `${stack}/Zone/Vpc/S3/Resource`, role: 's3 gateway endpoint' });
  const policy = (stack: string, path: string, role: string) => ({ stack, constructPath: `${stack}/${path}/Policy/Resource`, role });
  const inboundPolicy = policy(transfer, 'Sanitizer/Inbound', 'inbound bucket policy: writes only through internet\'s endpoint');
  const textPolicy = policy(transfer, 'MailSanitizer/Text', 'mail-text bucket policy: written only by the mail sanitizer through transfer, read and consumed only through lgwan');
  const outboundPolicy = policy(transfer, 'MailOutbound/Bucket', 'outbound bucket policy: written only through lgwan, read and consumed only through internet');
  return [
    {
      id: 'X3',
      municipality: m.code,
      from: 'security-cloud',
      to: 'internet',
      mechanism: 'tgw-firewall-nat',
      ports: [25],
      description: `the MX gateway forwards mail for ${domains} to the municipality's internet relay (SMTP), through the Transit Gateway and the firewall`,
      enforcedBy: [
        { stack: hubStack, constructPath: `${hubStack}/MailGateway/HostSg/Resource`, role: 'MX gateway hosts: SMTP out to the tenants\' internet zones' },
        { stack: internet, constructPath: `${internet}/MailRelay/NlbSg/Resource`, role: 'internet relay NLB: SMTP from the security cloud only' },
        { stack: internet, constructPath: `${internet}/MailRelay/HostsSg/Resource`, role: 'internet relay hosts: SMTP from the NLB and the security cloud only' },
      ],
    },
    {
      id: 'X3',
      municipality: m.code,
      from: 'internet',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'the internet relay stores each accepted message (raw MIME and envelope) in the inbound bucket under mail/ before it answers 250',
      enforcedBy: [endpoint(internet), inboundPolicy],
    },
    {
      id: 'X3',
      municipality: m.code,
      from: 'transfer',
      to: 'aws-apis',
      mechanism: 'vpc-endpoint',
      ports: [443],
      services: ['s3', 'sqs'],
      description: 'the mail sanitizer takes mail events from its queue, reads the inbound bucket, writes text-ized mail to the mail-text bucket and the original to quarantine',
      enforcedBy: [
        { stack: transfer, constructPath: `${transfer}/MailSanitizer/Queue/Resource`, role: 'queue of inbound mail events' },
        { stack: transfer, constructPath: `${transfer}/Zone/Vpc/Sqs/Resource`, role: 'SQS interface endpoint (policy: the sanitizer queues only)' },
        textPolicy,
      ],
    },
    {
      id: 'X3',
      municipality: m.code,
      from: 'lgwan',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'the LGWAN ingester reads and consumes text-ized mail through lgwan\'s S3 endpoint and delivers it to the LGWAN mail server',
      enforcedBy: [endpoint(lgwan), textPolicy],
    },
    {
      id: 'X4',
      municipality: m.code,
      from: 'lgwan',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'the LGWAN ingester drops outbound mail for non-LGWAN domains into the outbound bucket (LGWAN domains go to the LGWAN mail peer instead)',
      enforcedBy: [endpoint(lgwan), outboundPolicy, { stack: lgwan, constructPath: `${lgwan}/MailIngester/HostsSg/Resource`, role: 'ingester hosts: SMTP with the LGWAN mail server and peer only' }],
    },
    {
      id: 'X4',
      municipality: m.code,
      from: 'internet',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'the internet relay takes outbound mail from the outbound bucket and sends it to the internet through the security cloud (X7)',
      enforcedBy: [endpoint(internet), outboundPolicy],
    },
  ];
}

function connectionMechanism(type: 'vpn' | 'direct-connect' | 'simulated'): Crossing['mechanism'] {
  return type === 'simulated' ? 'peering' : type;
}

/** X1, X5, the LGWAN mail peer (X4's LGWAN side) and each tier's terminal landing. */
function terminalAndLgwanCrossings(cfg: ThreeTierConfig, m: ThreeTierConfig['municipalities'][number], stackName: (code: string, zone: (typeof ZONES)[number]) => string): Crossing[] {
  const out: Crossing[] = [];
  const lgwanStack = stackName(m.code, 'lgwan');
  const internetStack = stackName(m.code, 'internet');
  const mynumberStack = stackName(m.code, 'mynumber');
  const st = cfg.screenTransfer;
  if (st.implementation === 'sbc-privatelink') {
    out.push({
      id: 'X1',
      municipality: m.code,
      from: 'lgwan',
      to: 'internet',
      mechanism: 'privatelink',
      ports: [st.port],
      description: `LGWAN terminals open virtual-browser sessions (Amazon DCV, port ${st.port}) on the SBC fleet in internet through PrivateLink; pixels and keystrokes only`,
      enforcedBy: [
        { stack: lgwanStack, constructPath: `${lgwanStack}/ScreenTransfer/Endpoint/Resource`, role: 'interface endpoint (consumer) in lgwan' },
        { stack: internetStack, constructPath: `${internetStack}/ScreenTransfer/Service/Service`, role: 'endpoint service (provider) in internet' },
        { stack: internetStack, constructPath: `${internetStack}/ScreenTransfer/Nlb/Resource`, role: 'internal NLB on the screen-transfer port' },
        { stack: internetStack, constructPath: `${internetStack}/ScreenTransfer/HostSg/Resource`, role: 'screen-transfer hosts: the screen port and the health check from the NLB only; the sign-in token verifier listens on 127.0.0.1 of each host and verifies offline' },
        // The sign-in broker crosses nothing: office segments in, the identity provider out; it only redirects the staff browser.
        ...(st.signIn ? [{ stack: lgwanStack, constructPath: `${lgwanStack}/ScreenBroker/Sg/Resource`, role: 'sign-in broker in lgwan (crossing-free): HTTPS from the LGWAN office segments only, out only to the identity provider' }] : []),
      ],
    });
  } else {
    out.push({
      id: 'X1',
      municipality: m.code,
      from: 'lgwan',
      to: 'aws-apis',
      mechanism: 'vpc-endpoint',
      ports: [443],
      services: ['appstream.streaming'],
      description: 'LGWAN terminals stream the AppStream 2.0 virtual browser through the private streaming endpoint in lgwan; every data transfer toward lgwan disabled',
      enforcedBy: [
        { stack: lgwanStack, constructPath: `${lgwanStack}/ScreenTransfer/Endpoint/Resource`, role: 'AppStream streaming endpoint in lgwan' },
        { stack: internetStack, constructPath: `${internetStack}/ScreenTransfer/Stack`, role: 'AppStream stack (user settings)' },
      ],
    });
  }
  for (const zone of ['mynumber', 'lgwan', 'internet'] as const) {
    const t = m.terminals[zone];
    if (!t || t.connection.type === 'simulated') continue;
    const stack = stackName(m.code, zone);
    out.push({
      id: 'TL',
      municipality: m.code,
      from: zone,
      to: 'office',
      mechanism: connectionMechanism(t.connection.type),
      ports: [],
      destinations: [...t.officeCidrs],
      description: `${zone} terminals in the office (${t.officeCidrs.join(', ')}) reach their own tier over a separate ${t.connection.type}`,
      enforcedBy: [{ stack, constructPath: `${stack}/Connections/Vgw`, role: 'virtual private gateway of the tier' }],
    });
    if (zone === 'mynumber' && t.streaming) {
      out.push({
        id: 'TL',
        municipality: m.code,
        from: 'mynumber',
        to: 'aws-apis',
        mechanism: 'vpc-endpoint',
        ports: [443],
        services: ['appstream.streaming'],
        description: 'My Number terminals stream their applications through the private AppStream endpoint in mynumber; every data transfer disabled, MFA at the SAML IdP',
        enforcedBy: [{ stack, constructPath: `${stack}/Streaming/Endpoint/Resource`, role: 'AppStream streaming endpoint in mynumber' }],
      });
    }
  }
  const sc = m.specificCommunications;
  if (sc) {
    const via = sc.lgwanConnection.type === 'simulated' ? 'SimulatedLgwanPeering' : 'Connections/Vgw';
    out.push({
      id: 'X5',
      municipality: m.code,
      from: 'mynumber',
      to: 'lgwan-network',
      mechanism: connectionMechanism(sc.lgwanConnection.type),
      ports: [...new Set(sc.destinations.map((d) => d.port))],
      destinations: sc.destinations.map((d) => `${d.address}/32`),
      description: `特定通信 to ${sc.destinations.map((d) => `${d.name} ${d.address}:${d.port}/${d.protocol}`).join(', ')}, nothing wider`,
      enforcedBy: [
        { stack: mynumberStack, constructPath: `${mynumberStack}/SpecificCommunicationsSg/Resource`, role: 'security group pinned to each address and port' },
        { stack: mynumberStack, constructPath: `${mynumberStack}/${via}`, role: sc.lgwanConnection.type === 'simulated' ? 'peering to the simulated LGWAN network' : 'virtual private gateway to the LGWAN network' },
      ],
    });
    if (sc.mailPeer) {
      out.push({
        id: 'X4',
        municipality: m.code,
        from: 'lgwan',
        to: 'lgwan-network',
        mechanism: connectionMechanism(sc.lgwanConnection.type),
        ports: [25],
        destinations: [`${sc.mailPeer}/32`],
        description: `the LGWAN mail server exchanges mail with the LGWAN mail peer ${sc.mailPeer}:25`,
        enforcedBy: [{ stack: lgwanStack, constructPath: `${lgwanStack}/${sc.lgwanConnection.type === 'simulated' ? 'SimulatedLgwanPeering' : 'Connections/Vgw'}`, role: 'path to the LGWAN network' }],
      });
    }
  }
  return out;
}

export function writeIntent(dir: string, intent: IsolationIntent): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, INTENT_FILE);
  fs.writeFileSync(file, `${JSON.stringify(intent, null, 2)}\n`);
  return file;
}

export class IntentError extends Error {}

export function readIntent(dir: string): IsolationIntent {
  // Validated field by field (intent-check.ts): a hand-edited intent fails with the file and field named.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readIntentFile } = require('./intent-check') as typeof import('./intent-check');
  return readIntentFile(path.join(dir, INTENT_FILE));
}
