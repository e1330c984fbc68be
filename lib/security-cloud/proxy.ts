import { Construct } from 'constructs';
import { Annotations, Aws, CfnOutput, Duration, Stack, StackProps, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_iam as iam, aws_route53resolver as r53r, aws_s3 as s3, aws_ssm as ssm } from 'aws-cdk-lib';
import { zoneDnsNames } from '../isolation/dns-names';
import { DNS_ALLOW_PRIORITY, DNS_BLOCK_ALL_PRIORITY } from '../network/zone-dns';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { logArchiveBucketName } from '../core/naming';
import { ROLE_TAG, tagZone } from '../core/tags';
import { FLOW_LOG_PREFIX, PROXY_LOG_PREFIX } from '../log-archive/log-archive-stack';
import { interfaceEndpointStatements } from '../network/endpoint-policies';
import { SUBNET_GROUPS, ZoneVpc } from '../network/zone-vpc';
import { ProxyConfig, squidConfig, validateProxyConfig } from '../proxy/squid-config';
import { DnsFirewall } from './dns-firewall';
import type { SecurityCloudStack } from './security-cloud-stack';

/**
 * Model α′ (docs/proxy.en.md, "Where the proxy sits"): one inspecting forward proxy per α′
 * municipality, in the security cloud account, in its own stack so the hub's template does not
 * grow with tenants. LGWAN terminals reach it only through PrivateLink (an interface endpoint in
 * lgwan); the proxy's own egress leaves like every tenant's: Transit Gateway → Network Firewall
 * (which passes only the allowlisted names from the proxy VPC) → NAT → internet.
 */

/** Where the proxy hosts keep Squid's files (Debian's squid-openssl layout). */
export const PROXY_PATHS = {
  caCert: '/etc/squid/ssl/ca.pem',
  caKey: '/etc/squid/ssl/ca.key',
  certDb: '/var/lib/squid/ssl_db',
  accessLog: '/var/log/squid/access.log',
  cacheLog: '/var/log/squid/cache.log',
  pidFile: '/run/squid.pid',
  coredumpDir: '/var/spool/squid',
  allowedDomainsFile: '/etc/squid/allowed-domains.txt',
} as const;

/**
 * The proxy hosts' own package source: Debian's CDN over HTTPS (squid-openssl, awscli and
 * security updates). The firewall passes it for the proxy VPC only; Squid's allowlist does not
 * contain it, so terminals cannot use it. The intent lists it as its own crossing.
 */
export const PROXY_PACKAGE_HOSTS = ['deb.debian.org'] as const;

/** The Debian 12 AMI, from Debian's public SSM parameter (resolved at deploy time; synth stays offline). */
export const DEBIAN_AMI_PARAMETER = '/aws/service/debian/release/12/latest/amd64';

/** Key prefix of the proxies' access logs in the log archive (the archive's bucket policy names it). */
export { PROXY_LOG_PREFIX };

/** Name of the SSM parameter that holds a municipality's allowlist (JSON list, Squid notation). */
export function proxyAllowlistParameterName(configName: string, code: string): string {
  return `/three-tier/${configName}/${code}/proxy/allowed-domains`;
}

/** The AWS services the proxy hosts reach through the proxy VPC's endpoints. */
export const PROXY_AWS_SERVICES = ['ssm', 'ssmmessages', 'ec2messages', 's3'] as const;

/**
 * What the proxy VPC may resolve (its DNS Firewall allowlist, `*` blocked after it), in two parts:
 * `trusted`: the allowlisted services and the Debian CDN, whose names CNAME into CDNs the vendor
 * runs (their redirection targets are trusted: the allowlisted name is the vendor's own);
 * `inspected`: the AWS service names and the hosts' own names (every name of a CNAME chain checked).
 * A host taken over on the proxy then cannot tunnel through DNS to a domain of its choosing.
 */
export function proxyDnsNames(cfg: ThreeTierConfig, m: Municipality): { trusted: string[]; inspected: string[] } {
  const trusted = new Set<string>();
  for (const e of [...m.alphaPrime!.allowedDomains, ...PROXY_PACKAGE_HOSTS]) {
    if (e.startsWith('.')) trusted.add(e.slice(1)).add(`*${e}`);
    else trusted.add(e);
  }
  const inspected = zoneDnsNames({ region: cfg.region, services: [...PROXY_AWS_SERVICES], privateLink: false, extra: [] }).filter((n) => !trusted.has(n));
  return { trusted: [...trusted].sort(), inspected };
}

/** The α′ municipalities of a config (their own model, or the config's). */
export function alphaPrimeMunicipalities(cfg: ThreeTierConfig): Municipality[] {
  return cfg.municipalities.filter((m) => (m.model ?? cfg.model) === 'alpha-prime' && m.alphaPrime);
}

/**
 * The proxy config of one α′ municipality, as the hosts run it: Squid listens on every address
 * of the host on the configured port. PrivateLink connections reach the hosts from the NLB's own
 * addresses in the proxy VPC, so the NLB sends a PROXY protocol v2 header with the terminal's
 * address, which Squid accepts only from the proxy VPC: its clients are the LGWAN terminals'
 * office segments (the lgwan zone when none is configured), and the access log names the terminal.
 */
export function alphaPrimeProxyConfig(m: Municipality): ProxyConfig {
  const ap = m.alphaPrime!;
  const office = m.terminals.lgwan?.officeCidrs ?? [];
  return validateProxyConfig({
    listen: { address: '0.0.0.0', port: ap.port },
    proxyProtocolFrom: [ap.proxyCidr!],
    clients: office.length ? [...office] : [m.cidrs.lgwan],
    allowedDomains: [...ap.allowedDomains],
    tenantRestrictions: ap.tenantRestrictions,
    paths: { ...PROXY_PATHS },
  });
}

/**
 * The shell filter that turns the allowlist parameter (JSON list on stdin) into the allowlist file: the
 * comment lines of squidConfig()'s file, then one entry per line, so the file equals the generated one.
 */
export function allowlistFromParameter(generatedFile: string): string {
  const header = generatedFile.split('\n').filter((l) => l.startsWith('#'));
  const py = `import json,sys; h=${JSON.stringify(header)}; sys.stdout.write("".join(l + "\\n" for l in h + json.load(sys.stdin)))`;
  if (py.includes("'")) throw new Error('the allowlist header must not contain a single quote (it is written into a shell command)');
  return `python3 -c '${py}'`;
}

export interface ProxyStackProps extends StackProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly hub: SecurityCloudStack;
}

/** `<Config>-SecurityCloud-Proxy<code>`: one α′ municipality's inspecting proxy. */
export class ProxyStack extends Stack {
  readonly proxy: InspectingProxy;
  private readonly azs: string[];

  constructor(scope: Construct, id: string, props: ProxyStackProps) {
    super(scope, id, props);
    this.azs = props.config.availabilityZones;
    tagZone(this, props.config.name, 'security-cloud', props.municipality.code);
    this.proxy = new InspectingProxy(this, 'Proxy', props);
    ZoneVpc.acknowledgeDefaultSgProvider(this);
  }

  /** AZs come from config: synth never looks them up. */
  get availabilityZones(): string[] {
    return this.azs;
  }
}

/**
 * The proxy VPC (private subnets only), its Transit Gateway attachment wired like a tenant's,
 * the Squid host group behind an internal NLB, the endpoint service that lgwan consumes, the
 * allowlist parameter, and the shipping of every request to the log archive.
 */
export class InspectingProxy extends Construct {
  readonly vpc: ec2.Vpc;
  readonly attachment: ec2.CfnTransitGatewayVpcAttachment;
  readonly nlb: elbv2.NetworkLoadBalancer;
  readonly service: ec2.VpcEndpointService;
  readonly hostSg: ec2.SecurityGroup;
  readonly group: asg.AutoScalingGroup;
  readonly allowlist: ssm.CfnParameter;
  readonly municipality: Municipality;

  constructor(scope: Construct, id: string, props: ProxyStackProps) {
    super(scope, id);
    const { config: cfg, municipality: m, hub } = props;
    this.municipality = m;
    const ap = m.alphaPrime!;
    const cidr = ap.proxyCidr!;
    const stack = Stack.of(this);
    const account = cfg.securityCloud.account ?? cfg.account ?? Aws.ACCOUNT_ID;
    const archive = logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region);
    const archiveArn = `arn:${Aws.PARTITION}:s3:::${archive}`;

    // The VPC: private subnets only (no internet gateway, no NAT), a /26 of hosts and NLB per AZ, a /28 attachment subnet per AZ.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      availabilityZones: cfg.availabilityZones,
      natGateways: 0,
      createInternetGateway: false,
      restrictDefaultSecurityGroup: true,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      subnetConfiguration: [
        { name: SUBNET_GROUPS.workload, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 26 },
        { name: SUBNET_GROUPS.attachment, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 28 },
      ],
    });
    Tags.of(this.vpc).add(ROLE_TAG, 'alpha-prime-proxy');
    for (const subnet of this.vpc.isolatedSubnets) {
      acknowledge(subnet.node.defaultChild!, 'CloudFormation-Validate::W3010', 'Availability zones come from the config on purpose: synth works offline and the proxy runs in the security cloud\'s AZs.');
    }
    this.vpc.addFlowLog('FlowLog', {
      trafficType: ec2.FlowLogTrafficType.ALL,
      destination: ec2.FlowLogDestination.toS3(s3.Bucket.fromBucketName(this, 'LogArchive', archive), `${FLOW_LOG_PREFIX}/${m.code}/security-cloud-proxy/`),
      maxAggregationInterval: cfg.sizing.flowLogAggregationSeconds === 60 ? ec2.FlowLogMaxAggregationInterval.ONE_MINUTE : ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
    });
    // DNS: the security cloud's block lists first, then the proxy's own allowlist with "*" blocked last (fail closed),
    // and every query logged to the archive.
    DnsFirewall.associate(this, 'DnsFirewall', hub.dnsFirewall.ruleGroup.attrId, this.vpc.vpcId);
    const dns = proxyDnsNames(cfg, m);
    const base = `${cfg.name}-${m.code}-proxy`;
    const trusted = new r53r.CfnFirewallDomainList(this, 'DnsTrusted', { name: `${base}-dns-services`, domains: dns.trusted });
    const inspected = new r53r.CfnFirewallDomainList(this, 'DnsAws', { name: `${base}-dns-aws`, domains: dns.inspected });
    const everything = new r53r.CfnFirewallDomainList(this, 'DnsEverything', { name: `${base}-dns-everything`, domains: ['*'] });
    const dnsGroup = new r53r.CfnFirewallRuleGroup(this, 'DnsAllowlist', {
      name: `${base}-dns-allowlist`,
      firewallRules: [
        { action: 'ALLOW', firewallDomainListId: trusted.attrId, priority: DNS_ALLOW_PRIORITY, firewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN' },
        { action: 'ALLOW', firewallDomainListId: inspected.attrId, priority: DNS_ALLOW_PRIORITY + 1, firewallDomainRedirectionAction: 'INSPECT_REDIRECTION_DOMAIN' },
        { action: 'BLOCK', blockResponse: 'NXDOMAIN', firewallDomainListId: everything.attrId, priority: DNS_BLOCK_ALL_PRIORITY },
      ],
    });
    new r53r.CfnFirewallRuleGroupAssociation(this, 'DnsAllowlistAssociation', { firewallRuleGroupId: dnsGroup.attrId, vpcId: this.vpc.vpcId, priority: 200, mutationProtection: 'ENABLED', name: `${base}-dns-allowlist` });
    new r53r.CfnFirewallConfig(this, 'DnsFailClosed', { resourceId: this.vpc.vpcId, firewallFailOpen: 'DISABLED' });
    DnsFirewall.queryLogs(this, 'DnsQueryLogs', archiveArn, `${m.code}/security-cloud-proxy`, this.vpc.vpcId);

    // Egress like every tenant: attachment associated with the tenants route table (0.0.0.0/0 → firewall, private
    // ranges blackholed), propagated into the firewall route table (so inspected traffic returns), default route → TGW.
    this.attachment = new ec2.CfnTransitGatewayVpcAttachment(this, 'Attachment', {
      transitGatewayId: hub.hub.tgw.ref,
      vpcId: this.vpc.vpcId,
      subnetIds: this.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.attachment }).subnetIds,
      options: { DnsSupport: 'enable' },
      tags: [{ key: 'Name', value: `${cfg.name}-${m.code}-proxy` }],
    });
    // With the hub's default tables set (municipalities in other accounts) they do exactly this; an explicit association would fail.
    if (!hub.tenantDefaults) {
      new ec2.CfnTransitGatewayRouteTableAssociation(this, 'Association', { transitGatewayAttachmentId: this.attachment.ref, transitGatewayRouteTableId: hub.hub.tenants.ref });
      new ec2.CfnTransitGatewayRouteTablePropagation(this, 'Propagation', { transitGatewayAttachmentId: this.attachment.ref, transitGatewayRouteTableId: hub.hub.firewall.ref });
    }
    this.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.workload }).subnets.forEach((subnet, i) => {
      const route = new ec2.CfnRoute(this, `Default${i}`, { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: '0.0.0.0/0', transitGatewayId: hub.hub.tgw.ref });
      route.addResourceDependency(this.attachment);
    });

    // AWS APIs through endpoints, never through the firewall (which passes only the allowlisted names from here):
    // SSM (Session Manager, the allowlist parameter, the CA via /aws/reference/secretsmanager) and S3 (the SSM agent
    // package, the log archive).
    const ctx = { account: Aws.ACCOUNT_ID, region: stack.region, projectBucketPrefix: `${cfg.name}-` };
    // S3: only what the hosts need, narrower than a zone's endpoint: this proxy's prefix of the log archive (write) and
    // the SSM agent package (read; curl fetches it without credentials).
    const s3Endpoint = this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [{ subnetGroupName: SUBNET_GROUPS.workload }] });
    s3Endpoint.addToPolicy(new iam.PolicyStatement({ sid: 'AccessLogsToTheArchive', principals: [new iam.AccountPrincipal(Aws.ACCOUNT_ID)], actions: ['s3:PutObject'], resources: [`${archiveArn}/${PROXY_LOG_PREFIX}/${m.code}/*`] }));
    s3Endpoint.addToPolicy(new iam.PolicyStatement({ sid: 'SsmAgentPackage', principals: [new iam.AnyPrincipal()], actions: ['s3:GetObject'], resources: [`arn:${Aws.PARTITION}:s3:::amazon-ssm-${cfg.region}/*`] }));
    const endpointSg = new ec2.SecurityGroup(this, 'EndpointsSg', { vpc: this.vpc, description: 'Interface endpoints of the proxy VPC: HTTPS from the proxy VPC only', allowAllOutbound: false });
    endpointSg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the proxy VPC');
    const endpointAzs = cfg.availabilityZones.slice(0, Math.min(cfg.sizing.interfaceEndpointAzs, cfg.availabilityZones.length));
    for (const [name, service] of [
      ['ssm', ec2.InterfaceVpcEndpointAwsService.SSM],
      ['ssmmessages', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES],
      ['ec2messages', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES],
    ] as const) {
      const ep = this.vpc.addInterfaceEndpoint(name[0].toUpperCase() + name.slice(1), { service, privateDnsEnabled: true, open: false, securityGroups: [endpointSg], subnets: { subnetGroupName: SUBNET_GROUPS.workload, availabilityZones: endpointAzs } });
      for (const st of interfaceEndpointStatements(name, ctx)) ep.addToPolicy(st);
    }

    // The allowlist, readable by the checks without parsing user data; the hosts read it at boot.
    const paramName = proxyAllowlistParameterName(cfg.name, m.code);
    this.allowlist = new ssm.CfnParameter(this, 'Allowlist', {
      name: paramName,
      type: 'String',
      value: JSON.stringify(ap.allowedDomains),
      description: `alpha-prime proxy of ${m.code}: the named cloud services (Squid notation), JSON list`,
      tags: { [ROLE_TAG]: 'alpha-prime-allowlist' },
    });

    // Hosts: Squid on the proxy port from the NLB (the VPC's own addresses); web out through the Transit Gateway.
    this.hostSg = new ec2.SecurityGroup(this, 'HostSg', { vpc: this.vpc, description: 'alpha-prime proxy hosts: the proxy port from the NLB only; HTTPS and HTTP out through the firewall', allowAllOutbound: false });
    this.hostSg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(ap.port), 'proxy port from the NLB (PrivateLink from lgwan) and its health checks');
    this.hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the allowlisted services (through the firewall), the endpoints and S3');
    this.hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP to the allowlisted services (through the firewall)');
    Tags.of(this.hostSg).add(ROLE_TAG, 'alpha-prime-proxy-hosts');

    const role = ssmHostRole(this, 'HostRole', `alpha-prime proxy of ${m.code}: SSM, its allowlist, its CA, its access logs`);
    const ca = ap.caSecretId;
    const caName = ca.startsWith('arn:') ? ca.split(':secret:')[1] : ca;
    const caArn = ca.startsWith('arn:') ? ca : `arn:${Aws.PARTITION}:secretsmanager:${cfg.region}:${account}:secret:${ca}-??????`;
    const logPrefix = `${PROXY_LOG_PREFIX}/${m.code}/`;
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Allowlist', actions: ['ssm:GetParameter'], resources: [`arn:${Aws.PARTITION}:ssm:${cfg.region}:${account}:parameter${paramName}`] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'CaViaSsm', actions: ['ssm:GetParameter'], resources: [`arn:${Aws.PARTITION}:ssm:${cfg.region}:${account}:parameter/aws/reference/secretsmanager/${caName}`] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Ca', actions: ['secretsmanager:GetSecretValue'], resources: [caArn] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'AccessLogs', actions: ['s3:PutObject'], resources: [`${archiveArn}/${logPrefix}*`] }));
    // The archive is encrypted with its own KMS key (SSE-KMS): writing needs a data key, through S3 only.
    const archiveAccount = cfg.account ?? Aws.ACCOUNT_ID;
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ArchiveKey', actions: ['kms:GenerateDataKey', 'kms:Encrypt'], resources: [`arn:${Aws.PARTITION}:kms:${cfg.region}:${archiveAccount}:key/*`], conditions: { StringEquals: { 'kms:ViaService': `s3.${cfg.region}.amazonaws.com` } } }));
    const policy = role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!;
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${cfg.region}:${cfg.account ?? '<AWS::AccountId>'}:key/*]`, 'The log archive\'s key (its id is not known in this stack), used only through S3 in this region (kms:ViaService) to write this proxy\'s access logs.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${archive.replace(Aws.ACCOUNT_ID, '<AWS::AccountId>')}/${logPrefix}*]`, 'Access logs of this proxy only, under its own prefix of the log archive; one object per host and rotation, named by time.');
    if (!ca.startsWith('arn:')) acknowledge(policy, `AwsSolutions-IAM5[Resource::${caArn.replace(Aws.PARTITION, '<AWS::Partition>').replace(Aws.ACCOUNT_ID, '<AWS::AccountId>')}]`, 'The CA secret named in the config: Secrets Manager appends six random characters to a secret\'s ARN, so its name is matched with "-??????".');

    const squid = squidConfig(alphaPrimeProxyConfig(m));
    const userData = ec2.UserData.forLinux();
    userData.addCommands(...proxyHostCommands({ region: cfg.region, squidConf: squid.squidConf, allowlistFile: squid.files[0].content, parameter: paramName, caName, archive, logPrefix }));

    // The NLB first, then the hosts (the group registers with its target group).
    const subnets = { subnetGroupName: SUBNET_GROUPS.workload };
    this.nlb = new elbv2.NetworkLoadBalancer(this, 'Nlb', { vpc: this.vpc, internetFacing: false, vpcSubnets: subnets, crossZoneEnabled: true, deletionProtection: true });
    const noLogs = 'NLB access logs are written only for TLS listeners; this TCP listener carries the terminals\' explicit-proxy connections, which Squid logs one line per request into the log archive, and the VPC flow logs record every connection.';
    acknowledge(this.nlb.node.defaultChild!, 'AwsSolutions-ELB2', noLogs);
    acknowledge(this.nlb.node.defaultChild!, controlTower('elbv2_logging_enabled_check'), noLogs);

    this.group = hostGroup(this, {
      vpc: this.vpc,
      subnets,
      role,
      securityGroup: this.hostSg,
      userData,
      instanceTypes: ap.instanceTypes,
      minHosts: ap.minHosts,
      maxHosts: ap.maxHosts,
      volumeGb: 16,
      availabilityZones: cfg.availabilityZones,
      machineImage: ec2.MachineImage.fromSsmParameter(DEBIAN_AMI_PARAMETER, { os: ec2.OperatingSystemType.LINUX, userData }),
      healthChecks: asg.HealthChecks.withAdditionalChecks({ additionalTypes: [asg.AdditionalHealthCheckType.ELB], gracePeriod: Duration.minutes(10) }),
    }).group;
    Tags.of(this.group).add(ROLE_TAG, 'alpha-prime-proxy');
    this.group.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    this.nlb.addListener('Proxy', { port: ap.port, protocol: elbv2.Protocol.TCP }).addTargets('Hosts', {
      port: ap.port,
      protocol: elbv2.Protocol.TCP,
      targets: [this.group],
      preserveClientIp: false,
      // The terminal's address for Squid (its client check and access log): a PROXY protocol v2 header on every connection.
      proxyProtocolV2: true,
      healthCheck: { protocol: elbv2.Protocol.TCP, interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
      deregistrationDelay: Duration.seconds(60),
    });

    // PrivateLink provider: only the municipality's own account may connect (never "*").
    const municipalityAccount = m.account ?? cfg.account ?? Aws.ACCOUNT_ID;
    this.service = new ec2.VpcEndpointService(this, 'Service', {
      vpcEndpointServiceLoadBalancers: [this.nlb],
      acceptanceRequired: false,
      allowedPrincipals: [new iam.ArnPrincipal(`arn:${stack.partition}:iam::${municipalityAccount}:root`)],
    });
    if ((m.account ?? cfg.account) !== (cfg.securityCloud.account ?? cfg.account)) {
      new CfnOutput(this, 'EndpointServiceName', { value: this.service.vpcEndpointServiceName, description: `alpha-prime proxy of ${m.code}: the endpoint service its lgwan zone (account ${m.account}) connects to, on port ${ap.port}` });
      Annotations.of(this).addWarningV2(
        'three-tier:proxy-cross-account',
        `municipality ${m.code} is in another account than the security cloud: its lgwan zone cannot reference this endpoint service at synth. After deploying this stack, create the interface endpoint in the municipality's lgwan zone to the service name in this stack's outputs (docs/proxy.en.md, "Another account").`,
      );
    }
  }
}

interface HostCommandProps {
  readonly region: string;
  readonly squidConf: string;
  /** The allowlist file squidConfig() generated (its comment lines are kept). */
  readonly allowlistFile: string;
  readonly parameter: string;
  readonly caName: string;
  readonly archive: string;
  readonly logPrefix: string;
}

/**
 * The proxy host's boot, on Debian 12: squid-openssl from Debian's CDN (HTTPS, through the firewall), the SSM
 * agent from its S3 bucket (gateway endpoint), the allowlist from the parameter, the CA from Secrets Manager
 * (through the SSM endpoint), the generated squid.conf, the certificate database, Squid, and a timer that ships the
 * access log to the log archive every five minutes. Any failure stops the script before Squid starts: the NLB
 * health check then marks the host unhealthy and the group replaces it.
 */
export function proxyHostCommands(p: HostCommandProps): string[] {
  const P = PROXY_PATHS;
  const ship = [
    '#!/bin/bash',
    '# Ships the Squid access log to the log archive (generated by lib/security-cloud/proxy.ts).',
    'set -euo pipefail',
    `log=${P.accessLog}`,
    'if [ -s "$log" ]; then',
    '  ts=$(date -u +%Y%m%dT%H%M%SZ)',
    '  mv "$log" "$log.$ts"',
    '  # logfile_rotate 0: "squid -k rotate" only reopens the log, so Squid writes a fresh file from here on.',
    '  squid -k rotate',
    '  sleep 2',
    '  gzip "$log.$ts"',
    'fi',
    '# Every rotated file not yet shipped (an earlier upload may have failed); each is deleted once in the archive.',
    'host=$(cat /var/lib/cloud/data/instance-id 2>/dev/null || hostname)',
    'failed=0',
    'for f in "$log".*.gz; do',
    '  [ -e "$f" ] || continue',
    '  name=$(basename "$f" .gz)',
    `  if aws s3 cp --only-show-errors --region ${p.region} "$f" "s3://${p.archive}/${p.logPrefix}$host/\${name#access.log.}.log.gz"; then rm -f "$f"; else failed=1; fi`,
    'done',
    '# A failed upload fails the unit (visible in systemd and to Session Manager); the file waits for the next run.',
    'exit $failed',
  ].join('\n');
  return [
    'set -euo pipefail',
    'export DEBIAN_FRONTEND=noninteractive',
    // Time from the Amazon Time Sync Service (link-local): certificate checks need it, and NTP to the internet is dropped.
    "install -d /etc/systemd/timesyncd.conf.d && printf '[Time]\\nNTP=169.254.169.123\\n' > /etc/systemd/timesyncd.conf.d/amazon.conf && systemctl restart systemd-timesyncd",
    // The SSM agent first, so operators can reach a host whose later steps failed (Session Manager, no SSH).
    `curl -fsSL -o /tmp/amazon-ssm-agent.deb https://s3.${p.region}.amazonaws.com/amazon-ssm-${p.region}/latest/debian_amd64/amazon-ssm-agent.deb`,
    'dpkg -i /tmp/amazon-ssm-agent.deb && systemctl enable --now amazon-ssm-agent',
    // Packages only from Debian's CDN over HTTPS: the firewall passes deb.debian.org (and the allowlist) from this VPC, nothing else.
    'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*',
    `cat > /etc/apt/sources.list.d/debian.sources <<'APT'\nTypes: deb\nURIs: https://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: https://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\nAPT`,
    'apt-get update',
    'apt-get install -y --no-install-recommends squid-openssl awscli python3 ca-certificates unattended-upgrades',
    // Security updates daily, from the same source.
    "printf 'APT::Periodic::Update-Package-Lists \"1\";\\nAPT::Periodic::Unattended-Upgrade \"1\";\\n' > /etc/apt/apt.conf.d/20auto-upgrades",
    'systemctl stop squid',
    // The access log is rotated and shipped by the timer below; logrotate keeps only Squid's own messages (cache.log).
    `cat > /etc/logrotate.d/squid <<'ROTATE'\n${P.cacheLog} {\n  daily\n  rotate 7\n  compress\n  missingok\n  notifempty\n  postrotate\n    test ! -e ${P.pidFile} || /usr/sbin/squid -k rotate\n  endscript\n}\nROTATE`,
    // Path-style S3 requests: the DNS allowlist has the regional S3 name, not every bucket's virtual-hosted name.
    "install -d -m 0700 /root/.aws && printf '[default]\\ns3 =\\n    addressing_style = path\\n' > /root/.aws/config",
    // The allowlist from its parameter (the checks compare that parameter with the intent and the firewall).
    `aws ssm get-parameter --region ${p.region} --name ${p.parameter} --query Parameter.Value --output text | ${allowlistFromParameter(p.allowlistFile)} > ${P.allowedDomainsFile}.new`,
    `test -s ${P.allowedDomainsFile}.new && mv ${P.allowedDomainsFile}.new ${P.allowedDomainsFile} && chmod 0644 ${P.allowedDomainsFile}`,
    // The municipality's CA: certificate world-readable, key root-only (Squid reads it as root before dropping to proxy).
    'install -d -m 0755 /etc/squid/ssl',
    `aws ssm get-parameter --region ${p.region} --with-decryption --name /aws/reference/secretsmanager/${p.caName} --query Parameter.Value --output text > /root/proxy-ca.json`,
    'chmod 0600 /root/proxy-ca.json',
    `python3 -c 'import json,os; s=json.load(open("/root/proxy-ca.json")); open("${P.caCert}","w").write(s["certificate"]); os.umask(0o077); open("${P.caKey}","w").write(s["privateKey"])'`,
    'rm -f /root/proxy-ca.json',
    `chmod 0644 ${P.caCert} && chown root:root ${P.caKey} && chmod 0600 ${P.caKey}`,
    // The configuration generated at synth by squidConfig() (lib/proxy/squid-config.ts) for this municipality.
    `cat > /etc/squid/squid.conf <<'SQUIDCONF'\n${p.squidConf}\nSQUIDCONF`,
    // The database of minted certificates: the proxy user only, never in a backup.
    `rm -rf ${P.certDb} && /usr/lib/squid/security_file_certgen -c -s ${P.certDb} -M 4MB && chown -R proxy:proxy ${P.certDb} && chmod 0700 ${P.certDb}`,
    'squid -k parse',
    'systemctl enable --now squid',
    // Every request to the log archive: rotate and upload every five minutes.
    `cat > /usr/local/sbin/three-tier-proxy-ship-logs <<'SHIP'\n${ship}\nSHIP`,
    'chmod 0755 /usr/local/sbin/three-tier-proxy-ship-logs',
    "cat > /etc/systemd/system/three-tier-proxy-ship-logs.service <<'UNIT'\n[Unit]\nDescription=Three-tier alpha-prime proxy: ship the access log to the log archive\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/three-tier-proxy-ship-logs\nUNIT",
    "cat > /etc/systemd/system/three-tier-proxy-ship-logs.timer <<'UNIT'\n[Unit]\nDescription=Ship the proxy access log every five minutes\n[Timer]\nOnBootSec=5min\nOnUnitActiveSec=5min\n[Install]\nWantedBy=timers.target\nUNIT",
    'systemctl daemon-reload && systemctl enable --now three-tier-proxy-ship-logs.timer',
    // Before a planned shutdown, ship what is left.
    "cat > /etc/systemd/system/three-tier-proxy-ship-logs-at-stop.service <<'UNIT'\n[Unit]\nDescription=Ship the proxy access log at shutdown\nAfter=squid.service network-online.target\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=/usr/local/sbin/three-tier-proxy-ship-logs\n[Install]\nWantedBy=multi-user.target\nUNIT",
    'systemctl enable --now three-tier-proxy-ship-logs-at-stop.service',
  ];
}

export interface ProxyConsumerProps {
  readonly vpc: ec2.Vpc;
  /** The proxy's endpoint service name (a cross-stack reference: same account only). */
  readonly serviceName: string;
  readonly port: number;
  /** The LGWAN terminals' office segments: the only sources admitted. */
  readonly officeCidrs: string[];
}

/**
 * The lgwan side of α′: an interface endpoint to the proxy's endpoint service, admitting only the
 * LGWAN terminals' office segments on the proxy port. lgwan gets no route and no Transit Gateway
 * attachment: this endpoint is its only way to the proxy, and the proxy's listener the only thing
 * it reaches.
 */
export class ProxyConsumer extends Construct {
  readonly endpoint: ec2.InterfaceVpcEndpoint;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ProxyConsumerProps) {
    super(scope, id);
    if (props.officeCidrs.length === 0) Annotations.of(this).addWarningV2('three-tier:proxy-no-terminals', 'the alpha-prime proxy endpoint admits only the LGWAN terminals\' office segments, and municipalities[].terminals.lgwan.officeCidrs lists none: nobody can use the proxy.');
    this.securityGroup = new ec2.SecurityGroup(this, 'EndpointSg', { vpc: props.vpc, description: 'alpha-prime proxy endpoint: the proxy port from the LGWAN terminal segments only', allowAllOutbound: false });
    for (const c of props.officeCidrs) this.securityGroup.addIngressRule(ec2.Peer.ipv4(c), ec2.Port.tcp(props.port), `explicit proxy from the LGWAN terminals in ${c}`);
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointService(props.serviceName, props.port),
      subnets: { subnetGroupName: SUBNET_GROUPS.endpoints },
      privateDnsEnabled: false,
      open: false,
      securityGroups: [this.securityGroup],
    });
  }
}
