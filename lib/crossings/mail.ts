import { Construct } from 'constructs';
import { Aws, CfnElement, Duration, Stack, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_iam as iam, aws_s3 as s3, aws_s3_assets as assets, aws_sqs as sqs } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { formatIpv4, parseCidr } from '../../config/cidr';
import { subnetPlan } from '../../config/subnet-plan';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { logArchiveBucketName } from '../core/naming';
import { ROLE_TAG } from '../core/tags';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import type { ZoneStack } from '../network/zone-stack';
import { crossingBucket, denyUnlessEndpoints } from './crossing-bucket';
import { bundledService, installServiceCommands, s3PrefixListPeer, systemdServiceCommands } from './bundle';
import { inboundEventQueue, sanitizerBucketName } from './sanitizer';

/**
 * The mail crossings of one municipality (DESIGN section 3, X3 and X4),
 * each role an auto-scaling group running `bin/mail.ts` (bundled, a CDK
 * asset) as the systemd unit `three-tier-mail`:
 * - internet relay (`internet`): behind an internal NLB on fixed addresses
 *   that the MX gateway forwards to; writes incoming mail into the inbound
 *   bucket under mail/ (X3); sends the outbound bucket's mail to the
 *   internet through the security cloud (X4, X7);
 * - mail sanitizer (`transfer`): queue-driven (the inbound bucket's mail/
 *   events), writes text-ized mail into the mail-text bucket and the
 *   original into quarantine (mail/);
 * - LGWAN ingester (`lgwan`): delivers the mail-text bucket's mail to the
 *   LGWAN mail server; takes the LGWAN mail server's outbound mail: LGWAN
 *   domains to the LGWAN mail peer, the rest into the outbound bucket (X4).
 * Security groups open SMTP only where the crossing table says.
 */

export type MailBucket = 'mail-text' | 'mail-out' | 'relay-state' | 'ingest-state';

export function mailBucketName(config: string, code: string, what: MailBucket, account: string, region: string): string {
  return `${config}-${code}-${what}-${account}-${region}`;
}

/**
 * Fixed addresses of a role's internal NLB, one per AZ, so the other side
 * knows them at synth: the internet relay takes the 10th address of each
 * workload subnet of `internet` (the MX gateway forwards there), the LGWAN
 * ingester the 10th of `lgwan` (the LGWAN mail server's relay host).
 */
export function mailAddresses(cfg: ThreeTierConfig, m: Municipality, zone: 'internet' | 'lgwan'): string[] {
  const azs = m.availabilityZones ?? cfg.availabilityZones;
  const c = parseCidr(m.cidrs[zone]);
  if (typeof c === 'string') throw new Error(`municipality ${m.code}: ${zone} CIDR ${m.cidrs[zone]} ${c}`);
  const size = 2 ** (32 - subnetPlan(c.prefix, azs.length, zone).workloadMask);
  return azs.map((_, i) => formatIpv4(c.start + i * size + 10));
}

/** An internal NLB on SMTP with fixed addresses in front of a role's hosts. */
function fixedSmtpNlb(scope: Construct, vpc: ec2.IVpc, sg: ec2.SecurityGroup, addresses: string[], hosts: asg.AutoScalingGroup): elbv2.NetworkLoadBalancer {
  const subnets = vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.workload }).subnets;
  const nlb = new elbv2.NetworkLoadBalancer(scope, 'Nlb', { vpc, internetFacing: false, securityGroups: [sg], crossZoneEnabled: true, deletionProtection: true });
  const cfn = nlb.node.defaultChild as elbv2.CfnLoadBalancer;
  cfn.subnets = undefined;
  cfn.subnetMappings = subnets.map((s, i) => {
    const c = parseCidr(s.ipv4CidrBlock);
    const a = parseCidr(`${addresses[i]}/32`);
    if (typeof c === 'string' || typeof a === 'string' || a.start < c.start || a.end > c.end) throw new Error(`mail relay address ${addresses[i]} is not in workload subnet ${s.ipv4CidrBlock}`);
    return { subnetId: s.subnetId, privateIPv4Address: addresses[i] };
  });
  const noLogs = 'NLB access logs are written only for TLS listeners; this plain TCP/25 listener (STARTTLS happens inside SMTP) is recorded by the VPC flow logs.';
  acknowledge(cfn, 'AwsSolutions-ELB2', noLogs);
  acknowledge(cfn, controlTower('elbv2_logging_enabled_check'), noLogs);
  const listener = nlb.addListener('Smtp', { port: 25, protocol: elbv2.Protocol.TCP });
  listener.addTargets('Hosts', { port: 25, protocol: elbv2.Protocol.TCP, targets: [hosts], healthCheck: { protocol: elbv2.Protocol.TCP, interval: Duration.seconds(10) }, deregistrationDelay: Duration.seconds(60), preserveClientIp: true });
  // The NLB takes its fixed addresses before any host could.
  hosts.node.addDependency(nlb);
  return nlb;
}

const MAIL_UNIT = 'three-tier-mail';

/** Host commands: the bundle, a self-signed certificate for STARTTLS (replace with the municipality's), the environment and the unit. */
export function mailHostCommands(bundle: assets.Asset, region: string, role: string, env: string[], listens: boolean): string[] {
  return [
    ...installServiceCommands(bundle, MAIL_UNIT, region, listens ? ['openssl'] : []),
    ...(listens
      ? [
          'install -d -m 0755 /etc/three-tier-mail',
          '[ -f /etc/three-tier-mail/tls.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 397 -subj "/CN=$(hostname -f)" -keyout /etc/three-tier-mail/tls.key -out /etc/three-tier-mail/tls.crt',
          `chown ${MAIL_UNIT} /etc/three-tier-mail/tls.key && chmod 0400 /etc/three-tier-mail/tls.key`,
        ]
      : []),
    `cat > /etc/${MAIL_UNIT}.env <<'ENV'\nMAIL_ROLE=${role}\n${[...env, ...(listens ? ['MAIL_PORT=25', 'MAIL_TLS_KEY=/etc/three-tier-mail/tls.key', 'MAIL_TLS_CERT=/etc/three-tier-mail/tls.crt'] : []), `AWS_REGION=${region}`].join('\n')}\nENV`,
    // The host's own name: the SMTP greeting and the holder of its leases.
    `echo "MAIL_HOSTNAME=$(hostname -f)" >> /etc/${MAIL_UNIT}.env`,
    ...systemdServiceCommands(MAIL_UNIT, `Three-tier mail relay (${role})`, 'mail.js', [...(listens ? ['AmbientCapabilities=CAP_NET_BIND_SERVICE'] : []), 'MemoryMax=3G']),
  ];
}

export function mailBundle(scope: Construct): assets.Asset {
  return bundledService(scope, 'MailBundle', 'bin/mail.ts', 'mail.js');
}

interface RoleGroupProps {
  readonly config: ThreeTierConfig;
  readonly vpc: ec2.IVpc;
  readonly role: iam.Role;
  readonly sg: ec2.SecurityGroup;
  readonly commands: string[];
  readonly tag: string;
  readonly subnets?: ec2.SubnetSelection;
  /** Hosts behind an NLB are replaced when its health check fails. */
  readonly behindNlb?: boolean;
}

function roleGroup(scope: Construct, p: RoleGroupProps): asg.AutoScalingGroup {
  const userData = ec2.UserData.forLinux();
  userData.addCommands(...p.commands);
  const group = hostGroup(scope, {
    vpc: p.vpc,
    subnets: p.subnets ?? { subnetGroupName: SUBNET_GROUPS.workload },
    role: p.role,
    securityGroup: p.sg,
    userData,
    instanceTypes: p.config.mail.instanceTypes,
    minHosts: 1,
    maxHosts: p.config.mail.maxHosts,
    volumeGb: 16,
    availabilityZones: p.config.availabilityZones,
    healthChecks: p.behindNlb ? asg.HealthChecks.withAdditionalChecks({ additionalTypes: [asg.AdditionalHealthCheckType.ELB], gracePeriod: Duration.minutes(5) }) : undefined,
  }).group;
  Tags.of(group).add(ROLE_TAG, p.tag);
  return group;
}

/** Acknowledges the object wildcards of a role's policy: keys are message ids, unknown in advance. */
function acknowledgeObjects(role: iam.Role, resources: { arn: string; why: string }[]): void {
  const policy = role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!;
  for (const r of resources) acknowledge(policy, `AwsSolutions-IAM5[Resource::${r.arn}]`, r.why);
}

/** The bucket keys, used only through S3 in this region; acknowledged with the role's other wildcards. */
function bucketKeys(role: iam.Role, cfg: ThreeTierConfig, account: string): { arn: string; why: string } {
  role.addToPolicy(new iam.PolicyStatement({ sid: 'BucketKeys', actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], resources: [`arn:${Aws.PARTITION}:kms:${cfg.region}:${account}:key/*`], conditions: { StringEquals: { 'kms:ViaService': `s3.${cfg.region}.amazonaws.com` } } }));
  return { arn: `arn:<AWS::Partition>:kms:${cfg.region}:<AWS::AccountId>:key/*`, why: 'The bucket keys, used only through S3 in this region (kms:ViaService).' };
}

function bucketArnToken(stack: Stack, b: s3.Bucket, suffix: string): string {
  return `<${stack.getLogicalId(b.node.defaultChild as CfnElement)}.Arn>/${suffix}`;
}

const bundleRead = (role: iam.Role, bundle: assets.Asset) => role.addToPolicy(new iam.PolicyStatement({ sid: 'MailBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));

const WRITES = ['s3:PutObject', 's3:PutObjectAcl', 's3:RestoreObject'];
const DELETES = ['s3:DeleteObject', 's3:DeleteObjectVersion'];

function stateBucket(scope: Construct, id: string, cfg: ThreeTierConfig, name: string, role: string, endpoint: string, crossing: string): s3.Bucket {
  const b = crossingBucket(scope, id, {
    config: cfg,
    bucketName: name,
    logsPrefix: `buckets/${name.split('-').slice(1, 4).join('-')}/`,
    role,
    crossing,
    lifecycleRules: [
      { id: 'ledger', prefix: 'ledger/', expiration: Duration.days(30), noncurrentVersionExpiration: Duration.days(1) },
      { id: 'rest', expiration: Duration.days(cfg.mail.retryDays + 30), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
    noObjectLockReason: 'A relay\'s own spool and delivery ledger: entries are deleted when mail is delivered and expire after 30 days; Object Lock would block both.',
    noEventsReason: 'The relay polls its own spool; nothing else reacts to its objects.',
  });
  denyUnlessEndpoints(b, 'OnlyThroughOwnZone', ['s3:*'], [endpoint]);
  return b;
}

/** A bucket mail waits in on a crossing until its consumer took it (mail-text: X3, mail-out: X4). */
function mailCrossingBucket(scope: Construct, id: string, cfg: ThreeTierConfig, code: string, what: 'mail-text' | 'mail-out', role: string, crossing: string, until: string): s3.Bucket {
  const consumer = what === 'mail-text' ? 'The LGWAN ingester' : 'The internet relay';
  return crossingBucket(scope, id, {
    config: cfg,
    bucketName: mailBucketName(cfg.name, code, what, cfg.account ?? Aws.ACCOUNT_ID, cfg.region),
    logsPrefix: `buckets/${code}-${what}/`,
    role,
    crossing,
    lifecycleRules: [{ id: 'retention', expiration: Duration.days(cfg.mail.retryDays + 30), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    noObjectLockReason: `Mail waits here only until ${until}; Object Lock would block the deletion.`,
    noEventsReason: `${consumer} lists mail/ (several hosts share it through leases); nothing reacts to single objects.`,
  });
}

// ─── transfer: the mail sanitizer ────────────────────────────────────────────

export interface MailSanitizerProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly lgwan: ZoneStack;
}

export class MailSanitizer extends Construct {
  readonly text: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly role: iam.Role;
  readonly hosts: asg.AutoScalingGroup;

  constructor(transfer: ZoneStack, id: string, props: MailSanitizerProps) {
    super(transfer, id);
    const cfg = props.config;
    const code = props.municipality.code;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const transferS3 = transfer.zoneVpc.s3Endpoint.vpcEndpointId;
    const lgwanS3 = props.lgwan.zoneVpc.s3Endpoint.vpcEndpointId;
    this.role = ssmHostRole(this, 'Role', `Mail sanitizer hosts of ${code}: SSM, inbound mail, mail-text and quarantine buckets, audit records`);

    // The text-ized mail: written only by this role through transfer; read and consumed (deleted) only through lgwan.
    this.text = mailCrossingBucket(this, 'Text', cfg, code, 'mail-text', 'sanitized', 'X3', 'the LGWAN ingester delivered it (then it is deleted); the original stays in quarantine and the audit record in the log archive, which has Object Lock');
    denyUnlessEndpoints(this.text, 'OnlyThroughTransferAndLgwan', ['s3:*'], [transferS3, lgwanS3]);
    denyUnlessEndpoints(this.text, 'WritesOnlyFromTransfer', WRITES, [transferS3]);
    denyUnlessEndpoints(this.text, 'ReadsOnlyFromLgwan', ['s3:GetObject', 's3:GetObjectVersion'], [lgwanS3]);
    denyUnlessEndpoints(this.text, 'DeletesOnlyFromTransferAndLgwan', DELETES, [transferS3, lgwanS3]);
    this.text.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'WritesOnlyByMailSanitizer', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: WRITES, resources: [this.text.arnForObjects('*')], conditions: { ArnNotEquals: { 'aws:PrincipalArn': this.role.roleArn } } }),
    );

    ({ queue: this.queue, deadLetters: this.deadLetters } = inboundEventQueue(this, { config: cfg, code, name: 'mail-sanitizer', visibility: Duration.minutes(2), maxReceiveCount: 8, sid: 'InboundMailEvents' }));

    const archive = logArchiveBucketName(cfg.name, account, cfg.region);
    const bundle = mailBundle(this);
    const inboundArn = `arn:${Aws.PARTITION}:s3:::${sanitizerBucketName(cfg.name, code, 'inbound', account, cfg.region)}`;
    const quarantineArn = `arn:${Aws.PARTITION}:s3:::${sanitizerBucketName(cfg.name, code, 'quarantine', account, cfg.region)}`;
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadInboundMail', actions: ['s3:GetObject'], resources: [`${inboundArn}/mail/*`] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteTextAndOriginals', actions: ['s3:PutObject'], resources: [this.text.arnForObjects('mail/*'), `${quarantineArn}/mail/*`] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'AuditRecords', actions: ['s3:PutObject'], resources: [`arn:${Aws.PARTITION}:s3:::${archive}/mail-audit/${code}/*`] }));
    const keys = bucketKeys(this.role, cfg, account);
    bundleRead(this.role, bundle);
    this.queue.grantConsumeMessages(this.role);
    acknowledgeObjects(this.role, [
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-${code}-inbound-<AWS::AccountId>-${cfg.region}/mail/*`, why: 'Incoming mail of this municipality (read): one object per message, keyed by message id.' },
      { arn: bucketArnToken(transfer, this.text, 'mail/*'), why: 'Text-ized mail of this municipality (write): keyed by message id.' },
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-${code}-quarantine-<AWS::AccountId>-${cfg.region}/mail/*`, why: 'Originals of this municipality\'s mail (write), keyed by message id.' },
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-log-archive-<AWS::AccountId>-${cfg.region}/mail-audit/${code}/*`, why: 'Audit records of this municipality\'s mail only, under its own prefix of the log archive.' },
      keys,
    ]);

    const sg = new ec2.SecurityGroup(this, 'HostsSg', { vpc: transfer.zoneVpc.vpc, description: 'Mail sanitizer hosts: no inbound; HTTPS to the transfer zone endpoints and S3 only', allowAllOutbound: false });
    sg.addEgressRule(ec2.Peer.ipv4(props.municipality.cidrs.transfer), ec2.Port.tcp(443), 'interface endpoints of the transfer zone');
    sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');
    const env = [
      `MAIL_QUEUE_URL=${this.queue.queueUrl}`,
      `MAIL_INBOUND_BUCKET=${sanitizerBucketName(cfg.name, code, 'inbound', account, cfg.region)}`,
      `MAIL_SANITIZED_BUCKET=${this.text.bucketName}`,
      `MAIL_QUARANTINE_BUCKET=${sanitizerBucketName(cfg.name, code, 'quarantine', account, cfg.region)}`,
      `MAIL_AUDIT_BUCKET=${archive}`,
      `MAIL_AUDIT_PREFIX=mail-audit/${code}/`,
    ];
    this.hosts = roleGroup(this, { config: cfg, vpc: transfer.zoneVpc.vpc, role: this.role, sg, commands: mailHostCommands(bundle, cfg.region, 'mail-sanitizer', env, false), tag: 'mail-sanitizer' });
    this.hosts.scaleToTrackMetric('QueueDepth', { metric: this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }), targetValue: 50 });
  }
}

// ─── internet: the internet relay ────────────────────────────────────────────

export interface InternetRelayProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
}

export class InternetMailRelay extends Construct {
  readonly nlb: elbv2.NetworkLoadBalancer;
  readonly hosts: asg.AutoScalingGroup;
  readonly state: s3.Bucket;
  readonly sg: ec2.SecurityGroup;

  constructor(internet: ZoneStack, id: string, props: InternetRelayProps) {
    super(internet, id);
    const cfg = props.config;
    const m = props.municipality;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const vpc = internet.zoneVpc.vpc;
    const internetS3 = internet.zoneVpc.s3Endpoint.vpcEndpointId;
    this.state = stateBucket(this, 'State', cfg, mailBucketName(cfg.name, m.code, 'relay-state', account, cfg.region), 'mail-state', internetS3, 'X4');
    const role = ssmHostRole(this, 'Role', `Internet mail relay of ${m.code}: SSM, inbound mail (write), outbound mail (read, delete), its ledger`);
    const inboundArn = `arn:${Aws.PARTITION}:s3:::${sanitizerBucketName(cfg.name, m.code, 'inbound', account, cfg.region)}`;
    const outboundArn = `arn:${Aws.PARTITION}:s3:::${mailBucketName(cfg.name, m.code, 'mail-out', account, cfg.region)}`;
    const bundle = mailBundle(this);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteInboundMail', actions: ['s3:PutObject'], resources: [`${inboundArn}/mail/*`] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListOutbound', actions: ['s3:ListBucket'], resources: [outboundArn], conditions: { StringLike: { 's3:prefix': ['mail/*'] } } }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'TakeOutbound', actions: ['s3:GetObject', 's3:DeleteObject'], resources: [`${outboundArn}/mail/*`] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Ledger', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], resources: [this.state.bucketArn, this.state.arnForObjects('*')] }));
    const keys = bucketKeys(role, cfg, account);
    bundleRead(role, bundle);
    // The DKIM private key stays in Secrets Manager; the relay reads it once at start.
    const dkim = m.mail!.dkim;
    const dkimSecret = dkim.privateKeySecretId.startsWith('arn:') ? dkim.privateKeySecretId : `arn:${Aws.PARTITION}:secretsmanager:${cfg.region}:${account}:secret:${dkim.privateKeySecretId}-??????`;
    role.addToPolicy(new iam.PolicyStatement({ sid: 'DkimKey', actions: ['secretsmanager:GetSecretValue'], resources: [dkimSecret] }));
    acknowledgeObjects(role, [
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-inbound-<AWS::AccountId>-${cfg.region}/mail/*`, why: 'Incoming mail of this municipality (write), one object per message keyed by message id.' },
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-mail-out-<AWS::AccountId>-${cfg.region}/mail/*`, why: 'Outbound mail of this municipality (read, delete once sent), keyed by message id.' },
      { arn: bucketArnToken(internet, this.state, '*'), why: 'The relay\'s own ledger bucket (delivered recipients, leases, dead letters).' },
      keys,
    ]);

    // SMTP in only from the security cloud (the MX gateway hosts, through the Transit Gateway and the firewall).
    const nlbSg = new ec2.SecurityGroup(this, 'NlbSg', { vpc, description: 'Internet mail relay NLB: SMTP from the security cloud only', allowAllOutbound: false });
    nlbSg.addIngressRule(ec2.Peer.ipv4(cfg.securityCloud.cidr), ec2.Port.tcp(25), 'SMTP from the MX gateway in the security cloud');
    this.sg = new ec2.SecurityGroup(this, 'HostsSg', { vpc, description: 'Internet mail relay: SMTP in from its NLB; SMTP out to the internet (through the security cloud); HTTPS to endpoints and S3', allowAllOutbound: false });
    nlbSg.addEgressRule(this.sg, ec2.Port.tcp(25), 'to the relay hosts');
    this.sg.addIngressRule(nlbSg, ec2.Port.tcp(25), 'SMTP from the relay NLB');
    // Client addresses are preserved: the gateway's packets arrive with the security cloud's source addresses.
    this.sg.addIngressRule(ec2.Peer.ipv4(cfg.securityCloud.cidr), ec2.Port.tcp(25), 'SMTP from the MX gateway (client address preserved by the NLB)');
    this.sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(25), 'outbound mail to the internet: Transit Gateway → firewall → NAT (X7)');
    this.sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.internet), ec2.Port.tcp(443), 'interface endpoints of the internet zone');
    this.sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');
    this.sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager (the DKIM key, read at start): Transit Gateway → firewall → NAT (X7)');
    const open = 'Outbound SMTP to any internet mail server is what an internet mail relay does (X4 → X7); it leaves only through the Transit Gateway and the security cloud\'s firewall.';
    acknowledge(this.sg.node.defaultChild!, 'AwsSolutions-EC23', open);

    const env = [
      `MAIL_DOMAINS=${m.mail!.domains.join(',')}`,
      `MAIL_INBOUND_BUCKET=${sanitizerBucketName(cfg.name, m.code, 'inbound', account, cfg.region)}`,
      `MAIL_OUTBOUND_BUCKET=${mailBucketName(cfg.name, m.code, 'mail-out', account, cfg.region)}`,
      `MAIL_STATE_BUCKET=${this.state.bucketName}`,
      `MAIL_MAX_BYTES=${cfg.mail.maxMessageBytes}`,
      `MAIL_RETRY_MAX_AGE_MS=${cfg.mail.retryDays * 86_400_000}`,
      `MAIL_DKIM_SELECTOR=${dkim.selector}`,
      `MAIL_DKIM_SECRET_ID=${dkim.privateKeySecretId}`,
    ];
    this.hosts = roleGroup(this, { config: cfg, vpc, role, sg: this.sg, commands: mailHostCommands(bundle, cfg.region, 'internet-relay', env, true), tag: 'internet-relay', behindNlb: true });
    this.hosts.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    // The internal NLB on fixed addresses, so the security cloud's gateway knows them at synth.
    this.nlb = fixedSmtpNlb(this, vpc, nlbSg, mailAddresses(cfg, m, 'internet'), this.hosts);
  }
}

// ─── the outbound bucket (X4), kept with the other crossing buckets in the transfer stack ───

/**
 * X4's bucket: written only through lgwan's endpoint (the ingester), read and
 * consumed only through internet's (the relay). It lives in the transfer
 * stack with the X2/X3 buckets, which already name both endpoints; no host
 * of transfer may touch it.
 */
export class MailOutbound extends Construct {
  readonly bucket: s3.Bucket;

  constructor(transfer: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality; lgwan: ZoneStack; internet: ZoneStack }) {
    super(transfer, id);
    const cfg = props.config;
    const code = props.municipality.code;
    const lgwanS3 = props.lgwan.zoneVpc.s3Endpoint.vpcEndpointId;
    const internetS3 = props.internet.zoneVpc.s3Endpoint.vpcEndpointId;
    this.bucket = mailCrossingBucket(this, 'Bucket', cfg, code, 'mail-out', 'outbound', 'X4', 'the internet relay sent it (then it is deleted)');
    denyUnlessEndpoints(this.bucket, 'OnlyThroughLgwanAndInternet', ['s3:*'], [lgwanS3, internetS3]);
    denyUnlessEndpoints(this.bucket, 'WritesOnlyFromLgwan', WRITES, [lgwanS3]);
    denyUnlessEndpoints(this.bucket, 'ReadsOnlyFromInternet', ['s3:GetObject', 's3:GetObjectVersion'], [internetS3]);
    denyUnlessEndpoints(this.bucket, 'DeletesOnlyFromInternet', DELETES, [internetS3]);
  }
}

// ─── lgwan: the LGWAN ingester and the outbound bucket ───────────────────────

export interface IngesterProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
}

export class LgwanMailIngester extends Construct {
  readonly state: s3.Bucket;
  readonly hosts: asg.AutoScalingGroup;
  readonly sg: ec2.SecurityGroup;
  readonly nlb: elbv2.NetworkLoadBalancer;

  constructor(lgwan: ZoneStack, id: string, props: IngesterProps) {
    super(lgwan, id);
    const cfg = props.config;
    const m = props.municipality;
    const mail = m.mail!;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const vpc = lgwan.zoneVpc.vpc;
    const lgwanS3 = lgwan.zoneVpc.s3Endpoint.vpcEndpointId;
    const outboundArn = `arn:${Aws.PARTITION}:s3:::${mailBucketName(cfg.name, m.code, 'mail-out', account, cfg.region)}`;

    this.state = stateBucket(this, 'State', cfg, mailBucketName(cfg.name, m.code, 'ingest-state', account, cfg.region), 'mail-state', lgwanS3, 'X3');

    const role = ssmHostRole(this, 'Role', `LGWAN mail ingester of ${m.code}: SSM, text-ized mail (read, delete), outbound mail (write), its spool and ledger`);
    const textArn = `arn:${Aws.PARTITION}:s3:::${mailBucketName(cfg.name, m.code, 'mail-text', account, cfg.region)}`;
    const bundle = mailBundle(this);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListText', actions: ['s3:ListBucket'], resources: [textArn], conditions: { StringLike: { 's3:prefix': ['mail/*'] } } }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'TakeText', actions: ['s3:GetObject', 's3:DeleteObject'], resources: [`${textArn}/mail/*`] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteOutbound', actions: ['s3:PutObject'], resources: [`${outboundArn}/mail/*`] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'SpoolAndLedger', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], resources: [this.state.bucketArn, this.state.arnForObjects('*')] }));
    const keys = bucketKeys(role, cfg, account);
    bundleRead(role, bundle);
    acknowledgeObjects(role, [
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-mail-text-<AWS::AccountId>-${cfg.region}/mail/*`, why: 'Text-ized mail of this municipality (read, delete once delivered), keyed by message id.' },
      { arn: `arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-mail-out-<AWS::AccountId>-${cfg.region}/mail/*`, why: 'Outbound mail of this municipality (write), keyed by message id.' },
      { arn: bucketArnToken(lgwan, this.state, '*'), why: 'The ingester\'s own spool and ledger bucket.' },
      keys,
    ]);

    const peer = m.specificCommunications!.mailPeer!;
    const nlbSg = new ec2.SecurityGroup(this, 'NlbSg', { vpc, description: 'LGWAN mail ingester NLB: SMTP from the LGWAN mail server only', allowAllOutbound: false });
    nlbSg.addIngressRule(ec2.Peer.ipv4(`${mail.lgwanMailServer}/32`), ec2.Port.tcp(25), 'outbound mail from the LGWAN mail server');
    this.sg = new ec2.SecurityGroup(this, 'HostsSg', { vpc, description: 'LGWAN mail ingester: SMTP with the LGWAN mail server and the LGWAN mail peer only; HTTPS to endpoints and S3', allowAllOutbound: false });
    nlbSg.addEgressRule(this.sg, ec2.Port.tcp(25), 'to the ingester hosts');
    this.sg.addIngressRule(nlbSg, ec2.Port.tcp(25), 'SMTP from the ingester NLB');
    this.sg.addIngressRule(ec2.Peer.ipv4(`${mail.lgwanMailServer}/32`), ec2.Port.tcp(25), 'outbound mail from the LGWAN mail server (client address preserved by the NLB)');
    this.sg.addEgressRule(ec2.Peer.ipv4(`${mail.lgwanMailServer}/32`), ec2.Port.tcp(25), 'sanitized mail to the LGWAN mail server');
    this.sg.addEgressRule(ec2.Peer.ipv4(`${peer}/32`), ec2.Port.tcp(25), 'mail for LGWAN domains to the LGWAN mail peer (X4, LGWAN side)');
    this.sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.lgwan), ec2.Port.tcp(443), 'interface endpoints of the lgwan zone');
    this.sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');
    const env = [
      `MAIL_SANITIZED_BUCKET=${mailBucketName(cfg.name, m.code, 'mail-text', account, cfg.region)}`,
      `MAIL_OUTBOUND_BUCKET=${mailBucketName(cfg.name, m.code, 'mail-out', account, cfg.region)}`,
      `MAIL_STATE_BUCKET=${this.state.bucketName}`,
      `MAIL_LGWAN_SERVER=${mail.lgwanMailServer}:25`,
      `MAIL_LGWAN_NETWORK=${peer}:25`,
      `MAIL_LGWAN_DOMAINS=${cfg.mail.lgwanDomains.join(',')}`,
      `MAIL_OWN_DOMAINS=${m.lgwanMailDomains.join(',')}`,
      `MAIL_MAX_BYTES=${cfg.mail.maxMessageBytes}`,
      `MAIL_RETRY_MAX_AGE_MS=${cfg.mail.retryDays * 86_400_000}`,
    ];
    this.hosts = roleGroup(this, { config: cfg, vpc, role, sg: this.sg, commands: mailHostCommands(bundle, cfg.region, 'lgwan-ingester', env, true), tag: 'lgwan-ingester', behindNlb: true });
    this.hosts.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    // The LGWAN mail server's relay host for non-local domains: these fixed addresses.
    this.nlb = fixedSmtpNlb(this, vpc, nlbSg, mailAddresses(cfg, m, 'lgwan'), this.hosts);
  }
}

