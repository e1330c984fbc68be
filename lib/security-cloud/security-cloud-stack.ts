import { Construct } from 'constructs';
import { Aws, Stack, StackProps, Tags, aws_ec2 as ec2, aws_kms as kms, aws_iam as iam, aws_ram as ram, aws_sns as sns, aws_sns_subscriptions as subs, aws_s3 as s3, aws_ssm as ssm } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { denyGrantsExceptForAwsServices } from '../compliance/kms';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { logArchiveBucketName } from '../core/naming';
import { ROLE_TAG, tagZone } from '../core/tags';
import { FLOW_LOG_PREFIX } from '../log-archive/log-archive-stack';
import { DnsFirewall } from './dns-firewall';
import { InspectionFirewall } from './firewall';
import { PRIVATE_RANGES, TransitHub } from './hub';
import { MailGateway } from './mail-gateway';
import { alphaPrimeMunicipalities, PROXY_PACKAGE_HOSTS } from './proxy';
import { ZoneVpc } from '../network/zone-vpc';
import { TenantDefaults } from './tenant-defaults';
import { HUB_PARAMETERS, hubSsmParameterName } from '../scale/hub-parameters';

export interface SecurityCloudStackProps extends StackProps {
  readonly config: ThreeTierConfig;
}

export const SC_SUBNETS = { public: 'public', gateway: 'gateway', attachment: 'attachment' } as const;

/**
 * The shared security cloud (自治体情報セキュリティクラウド, DESIGN X7): the only
 * way any municipality's internet zone reaches the internet. Its size does
 * not grow with the number of municipalities: everything per tenant lives in
 * the tenant's own internet-zone stack, so one config can serve one
 * municipality or a thousand.
 */
export class SecurityCloudStack extends Stack {
  readonly hub: TransitHub;
  /** rollout.stackSets: the Transit Gateway's default tables for tenant attachments. */
  readonly tenantDefaults?: TenantDefaults;
  readonly vpc: ec2.Vpc;
  readonly inspection: InspectionFirewall;
  readonly dnsFirewall: DnsFirewall;
  readonly mailGateway: MailGateway;
  readonly alarmTopic: sns.Topic;
  readonly egressAttachment: ec2.CfnTransitGatewayVpcAttachment;
  private readonly configuredAzs: string[];

  constructor(scope: Construct, id: string, props: SecurityCloudStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    this.configuredAzs = cfg.availabilityZones;
    const sc = cfg.securityCloud;
    tagZone(this, cfg.name, 'security-cloud');
    const name = `${cfg.name}-${sc.name.toLowerCase()}`;
    const archiveName = logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region);
    const archive = s3.Bucket.fromBucketName(this, 'LogArchive', archiveName);
    const tenantCidrs = cfg.municipalities.map((m) => m.cidrs.internet);
    const prefix = Number(sc.cidr.split('/')[1]);

    // The egress VPC: NAT gateway per AZ and the internet gateway live only here.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(sc.cidr),
      availabilityZones: cfg.availabilityZones,
      natGateways: cfg.availabilityZones.length,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: SC_SUBNETS.public, subnetType: ec2.SubnetType.PUBLIC, cidrMask: prefix + 4, mapPublicIpOnLaunch: false },
        { name: SC_SUBNETS.gateway, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: prefix + 4 },
        { name: SC_SUBNETS.attachment, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 28 },
      ],
    });
    this.vpc.addFlowLog('FlowLog', {
      trafficType: ec2.FlowLogTrafficType.ALL,
      destination: ec2.FlowLogDestination.toS3(archive, `${FLOW_LOG_PREFIX}/security-cloud/`),
    });
    ZoneVpc.acknowledgeDefaultSgProvider(this);
    for (const subnet of [...this.vpc.publicSubnets, ...this.vpc.privateSubnets]) {
      acknowledge(subnet.node.defaultChild!, 'CloudFormation-Validate::W3010', 'Availability zones come from the config on purpose: synth works offline and the firewall runs in exactly these AZs.');
    }

    // SOC notifications.
    const topicKey = new kms.Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: `${name}: SOC alarm topic` });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    denyGrantsExceptForAwsServices(topicKey);
    this.alarmTopic = new sns.Topic(this, 'SocAlarms', { displayName: `${name} SOC alarms`, masterKey: topicKey, enforceSSL: true });
    for (const email of sc.soc.alarmEmails) this.alarmTopic.addSubscription(new subs.EmailSubscription(email));

    // Transit Gateway hub, firewall attached to it, egress attachment.
    this.hub = new TransitHub(this, 'Hub', { name, description: `${name}: security cloud hub`, acceptSharedAttachments: cfg.rollout.stackSets !== undefined || cfg.municipalities.some((m) => (m.account ?? cfg.account) !== (sc.account ?? cfg.account)) });
    this.inspection = new InspectionFirewall(this, 'Inspection', {
      config: cfg,
      transitGatewayId: this.hub.tgw.ref,
      tenantCidrs,
      mailGatewayCidrs: [sc.cidr],
      logArchiveBucketName: archiveName,
      alarmTopic: this.alarmTopic,
      proxies: alphaPrimeMunicipalities(cfg).map((m) => ({ code: m.code, cidr: m.alphaPrime!.proxyCidr!, names: [...m.alphaPrime!.allowedDomains, ...PROXY_PACKAGE_HOSTS] })),
    });
    const attachmentSubnets = this.vpc.selectSubnets({ subnetGroupName: SC_SUBNETS.attachment }).subnetIds;
    this.egressAttachment = new ec2.CfnTransitGatewayVpcAttachment(this, 'EgressAttachment', {
      transitGatewayId: this.hub.tgw.ref,
      vpcId: this.vpc.vpcId,
      subnetIds: attachmentSubnets,
      options: { ApplianceModeSupport: 'enable', DnsSupport: 'enable' },
      tags: [{ key: 'Name', value: `${name}-egress` }],
    });
    this.hub.wire(this.inspection.firewall.attrTransitGatewayAttachmentId, this.egressAttachment, sc.cidr);

    // Return routes: toward private space (the tenants) through the Transit Gateway.
    const returnTables = [...this.vpc.publicSubnets, ...this.vpc.selectSubnets({ subnetGroupName: SC_SUBNETS.gateway }).subnets];
    returnTables.forEach((subnet, i) => {
      PRIVATE_RANGES.forEach((cidr, j) => {
        const r = new ec2.CfnRoute(this, `ToTenants${i}x${j}`, { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: cidr, transitGatewayId: this.hub.tgw.ref });
        r.addResourceDependency(this.egressAttachment);
      });
    });

    // DNS Firewall and query logs of the security cloud VPC itself.
    this.dnsFirewall = new DnsFirewall(this, 'Dns', { config: cfg });
    DnsFirewall.associate(this, 'DnsFirewallAssociation', this.dnsFirewall.ruleGroup.attrId, this.vpc.vpcId);
    DnsFirewall.queryLogs(this, 'DnsQueryLogs', archive.bucketArn, 'security-cloud', this.vpc.vpcId);

    // The public MX.
    this.mailGateway = new MailGateway(this, 'MailGateway', {
      config: cfg,
      vpc: this.vpc,
      publicSubnets: { subnetGroupName: SC_SUBNETS.public },
      hostSubnets: { subnetGroupName: SC_SUBNETS.gateway },
      tenantCidrs,
    });

    // Municipalities in other accounts: the hub's Transit Gateway and DNS rule group shared with RAM, attachments
    // accepted from those accounts and taken by the default tables (no resource, no id per tenant). Under
    // rollout.stackSets the share goes to the prefecture OUs and the ids travel as stack-set overrides; otherwise
    // to the accounts, with the ids in SSM parameters shared the same way (their zone stacks read them by ARN).
    const scAccount = sc.account ?? cfg.account;
    const others = [...new Set(cfg.municipalities.map((m) => m.account ?? cfg.account).filter((a): a is string => !!a && a !== scAccount))];
    const ss = cfg.rollout.stackSets;
    if (ss || others.length > 0) {
      const shared = ss
        ? []
        : HUB_PARAMETERS.map(
            (p) =>
              new ssm.StringParameter(this, `Shared${p.name}`, {
                parameterName: hubSsmParameterName(cfg.name, p.name),
                stringValue: p.value(this),
                // Only advanced parameters can be shared with other accounts.
                tier: ssm.ParameterTier.ADVANCED,
                description: `${name}: ${p.description}, read by municipalities in other accounts`,
              }),
          );
      new ram.CfnResourceShare(this, 'Share', {
        name: `${name}-hub`,
        allowExternalPrincipals: false,
        principals: ss ? ss.waves.map((w) => `arn:${Aws.PARTITION}:organizations::${ss.managementAccount}:ou/${ss.organizationId}/${w.organizationalUnitId}`) : others,
        resourceArns: [
          `arn:${Aws.PARTITION}:ec2:${cfg.region}:${Aws.ACCOUNT_ID}:transit-gateway/${this.hub.tgw.ref}`,
          this.dnsFirewall.ruleGroup.attrArn,
          ...shared.map((p) => p.parameterArn),
        ],
      });
      this.tenantDefaults = new TenantDefaults(this, 'TenantDefaults', { tgw: this.hub.tgw, association: this.hub.tenants, propagation: this.hub.firewall, after: [this.hub] });
      const why = `Municipalities in other accounts: attachments are accepted without a manual step only from the ${ss ? 'prefecture OUs' : 'municipality accounts'} the hub is shared with (RAM, no external principals), and each lands in the tenants table (0.0.0.0/0 to the firewall, every private range blackholed) by the default tables TenantDefaults sets; an accepted attachment reaches no more than a tenant. The analyzer models these defaults and checks every municipality.`;
      acknowledge(this.hub.tgw, controlTower('ec2_transit_gateway_auto_vpc_attach_disabled_check'), why);
      acknowledge(this.hub.tgw, 'ThreeTier-TG1', why);
    }
    Tags.of(this.hub.tgw).add(ROLE_TAG, 'security-cloud-hub');
  }

  /** AZs come from config: synth never looks them up. */
  get availabilityZones(): string[] {
    return this.configuredAzs;
  }
}
