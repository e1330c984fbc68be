import { Construct } from 'constructs';
import { Aws, CfnElement, Duration, Stack, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { crossingBucket } from '../crossings/crossing-bucket';
import { mailAddresses, mailBundle, mailHostCommands } from '../crossings/mail';
import { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { ROLE_TAG } from '../core/tags';
import { collapseCidrs } from '../../config/cidr';
import { PRIVATE_RANGES } from './hub';

/**
 * Egress rules of the MX hosts' security group kept one per tenant block up to
 * this many: AWS allows 60 rules per direction by default (adjustable; at most
 * 1,000 per network interface in all).
 */
export const MX_EXACT_TENANT_RULES = 50;

export interface MailGatewayProps {
  readonly config: ThreeTierConfig;
  readonly vpc: ec2.IVpc;
  readonly publicSubnets: ec2.SubnetSelection;
  readonly hostSubnets: ec2.SubnetSelection;
  /** Internet-zone CIDRs of the tenants the gateway forwards to (SMTP only). */
  readonly tenantCidrs: string[];
}

/**
 * The inbound mail gateway's infrastructure (the public MX): an
 * internet-facing NLB on port 25 in front of an auto-scaling host group in
 * the security cloud. The hosts may send SMTP only to the tenants'
 * internet-zone relays (over the Transit Gateway, through the firewall) and
 * HTTPS out for SSM and packages. The relay software itself comes with the
 * mail crossings; these hosts are SSM-managed, without SSH or keys.
 */
/** The authserv-id of the security cloud's Authentication-Results (RFC 8601): one name for all gateway hosts. */
export function mailAuthservId(config: string, securityCloud: string): string {
  return `mx.${securityCloud.toLowerCase()}.${config}.three-tier`;
}

export class MailGateway extends Construct {
  readonly nlb: elbv2.NetworkLoadBalancer;
  readonly group: asg.AutoScalingGroup;
  readonly hostSg: ec2.SecurityGroup;
  /** The MX spool bucket (when any municipality has mail). */
  readonly spool?: s3.Bucket;

  constructor(scope: Construct, id: string, props: MailGatewayProps) {
    super(scope, id);
    const mg = props.config.securityCloud.mailGateway;

    const nlbSg = new ec2.SecurityGroup(this, 'NlbSg', { vpc: props.vpc, description: 'Public MX: SMTP from anywhere', allowAllOutbound: false });
    nlbSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(25), 'SMTP from the internet (public MX)');
    const mx = 'This is the public MX: senders anywhere on the internet must reach port 25, and only port 25 is open.';
    acknowledge(nlbSg.node.defaultChild!, 'AwsSolutions-EC23', mx);
    acknowledge(nlbSg.node.defaultChild!, controlTower('vpc_sg_open_only_to_authorized_ports_check'), mx);
    acknowledge(nlbSg.node.defaultChild!, controlTower('vpc_sg_restricted_common_ports_check'), mx);

    this.hostSg = new ec2.SecurityGroup(this, 'HostSg', { vpc: props.vpc, description: 'MX gateway hosts: SMTP in from the NLB, SMTP out to tenant relays only', allowAllOutbound: false });
    nlbSg.addEgressRule(this.hostSg, ec2.Port.tcp(25), 'to the gateway hosts');
    this.hostSg.addIngressRule(nlbSg, ec2.Port.tcp(25), 'SMTP from the public NLB');
    // One rule per tenant block (merged where blocks are adjacent) while that fits the rules-per-group quota; beyond it, the
    // private ranges: the hosts' routes to private space lead only to the Transit Gateway, whose tables hold nothing but
    // the tenants' internet zones, and the firewall's TENANTS rules decide there (docs/rollout.en.md, limits).
    const tenants = collapseCidrs(props.tenantCidrs);
    const exact = tenants.length <= MX_EXACT_TENANT_RULES;
    for (const cidr of exact ? tenants : PRIVATE_RANGES) this.hostSg.addEgressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(25), exact ? `SMTP to the tenant relay in ${cidr}` : `SMTP to the tenants (${tenants.length} blocks: more than one rule each fits) within ${cidr}`);
    this.hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS for SSM and OS packages (through NAT)');

    const role = ssmHostRole(this, 'HostRole', 'MX gateway hosts: SSM, their spool bucket');
    const userData = ec2.UserData.forLinux();
    const mailMunicipalities = props.config.municipalities.filter((m) => m.mail);
    if (mailMunicipalities.length) {
      const cfg = props.config;
      const account = cfg.account ?? Aws.ACCOUNT_ID;
      // The spool: what the MX accepted and has not yet handed to a municipality's relay (plus its ledger and leases).
      this.spool = crossingBucket(this, 'Spool', {
        config: cfg,
        bucketName: `${cfg.name}-${cfg.securityCloud.name.toLowerCase()}-mx-spool-${account}-${cfg.region}`,
        logsPrefix: `buckets/${cfg.securityCloud.name.toLowerCase()}-mx-spool/`,
        role: 'mail-state',
        lifecycleRules: [
          { id: 'ledger', prefix: 'ledger/', expiration: Duration.days(30), noncurrentVersionExpiration: Duration.days(1) },
          { id: 'rest', expiration: Duration.days(cfg.mail.retryDays + 30), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ],
        noObjectLockReason: 'The MX spool: messages are deleted once handed to the municipality\'s relay; Object Lock would block that.',
        noEventsReason: 'The gateway polls its own spool; nothing else reacts to its objects.',
        accessLogsId: 'SpoolAccessLogs',
      });
      this.spool.addToResourcePolicy(
        new iam.PolicyStatement({ sid: 'MessagesOnlyByTheGateway', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [this.spool.arnForObjects('*')], conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } } }),
      );
      role.addToPolicy(new iam.PolicyStatement({ sid: 'Spool', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], resources: [this.spool.bucketArn, this.spool.arnForObjects('*')] }));
      const bundle = mailBundle(this);
      role.addToPolicy(new iam.PolicyStatement({ sid: 'MailBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
      const stack = Stack.of(this);
      acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.spool.node.defaultChild as CfnElement)}.Arn>/*]`, 'The gateway\'s own spool bucket: message keys are ids, unknown in advance.');
      const routes = Object.fromEntries(mailMunicipalities.flatMap((m) => m.mail!.domains.map((d) => [d, mailAddresses(cfg, m, 'internet').map((a) => `${a}:25`).join(',')])));
      userData.addCommands(
        ...mailHostCommands(bundle, cfg.region, 'gateway', [`MAIL_ROUTES=${JSON.stringify(routes)}`, `MAIL_SPOOL_BUCKET=${this.spool.bucketName}`, `MAIL_MAX_BYTES=${cfg.mail.maxMessageBytes}`, `MAIL_RETRY_MAX_AGE_MS=${cfg.mail.retryDays * 86_400_000}`, `MAIL_AUTHSERV_ID=${mailAuthservId(cfg.name, cfg.securityCloud.name)}`, `MAIL_DMARC_REJECT_ACTION=${cfg.mail.dmarcRejectAction}`, `MAIL_ARC_TRUSTED_SEALERS=${cfg.mail.arcTrustedSealers.join(',')}`], true),
      );
      // Delivery status notifications go back to senders' mail servers on the internet.
      this.hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(25), 'delivery status notifications to senders\' mail servers (through NAT)');
    } else {
      userData.addCommands('systemctl enable --now amazon-ssm-agent', 'echo "three-tier MX gateway host: no municipality has mail configured" > /etc/motd');
    }
    this.group = hostGroup(this, {
      vpc: props.vpc,
      subnets: props.hostSubnets,
      role,
      securityGroup: this.hostSg,
      userData,
      instanceTypes: mg.instanceTypes,
      minHosts: mg.minHosts,
      maxHosts: mg.maxHosts,
      volumeGb: 16,
      availabilityZones: props.config.availabilityZones,
      healthChecks: asg.HealthChecks.withAdditionalChecks({ additionalTypes: [asg.AdditionalHealthCheckType.ELB], gracePeriod: Duration.minutes(5) }),
    }).group;
    // Propagated to the MX hosts at launch: `npm run verify` finds them by it.
    Tags.of(this.group).add(ROLE_TAG, 'mail-gateway');
    this.group.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    this.nlb = new elbv2.NetworkLoadBalancer(this, 'Nlb', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: props.publicSubnets,
      securityGroups: [nlbSg],
      crossZoneEnabled: true,
      deletionProtection: true,
    });
    const noLogs = 'NLB access logs are written only for TLS listeners; this plain TCP/25 listener (STARTTLS happens inside SMTP) is recorded by the VPC flow logs of the security cloud.';
    acknowledge(this.nlb.node.defaultChild!, 'AwsSolutions-ELB2', noLogs);
    acknowledge(this.nlb.node.defaultChild!, controlTower('elbv2_logging_enabled_check'), noLogs);
    const listener = this.nlb.addListener('Smtp', { port: 25, protocol: elbv2.Protocol.TCP });
    listener.addTargets('Hosts', { port: 25, protocol: elbv2.Protocol.TCP, targets: [this.group], healthCheck: { protocol: elbv2.Protocol.TCP, interval: Duration.seconds(10) }, deregistrationDelay: Duration.seconds(60) });
  }
}
