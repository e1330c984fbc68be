import { Construct } from 'constructs';
import { Aws, Duration, Stack, StackProps, Tags, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_elasticloadbalancingv2_targets as elbv2Targets, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { movedSystemCidrs } from '../../config/subnet-plan';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { internetScreenStackName, logArchiveBucketName, pascal } from '../core/naming';
import { ROLE_TAG, tagZone } from '../core/tags';
import { FLOW_LOG_PREFIX } from '../log-archive/log-archive-stack';
import { SUBNET_GROUPS } from '../network/zone-vpc';

/**
 * Models β and β′ (issue #18). Under β the staff terminals sit in the internet
 * tier and reach the LGWAN business systems only by screen transfer (crossing
 * B1): X1 reversed. The provider (an internal NLB with the system's
 * screen-transfer host as its one IP target, exposed as a VPC endpoint
 * service to this account only) lives in lgwan; the consumer (an interface
 * endpoint admitting only the internet tier's office segments on the one
 * port) lives in internet. PrivateLink carries connections from consumer to
 * provider only, and the NLB listens on that one port: nothing else can be
 * initiated into lgwan. Under β′ business systems move into the internet
 * tier (crossing B2): each gets its own subnets, security group and flow logs.
 */

/**
 * One LGWAN system's screen-transfer port exposed to the internet tier (provider side, in the lgwan zone
 * stack). The system's host is the municipality's own, outside this app: it must admit its port (and the
 * TCP health check) from the lgwan workload subnets, where the NLB's addresses are.
 */
export class BetaScreenService extends Construct {
  readonly nlb: elbv2.NetworkLoadBalancer;
  readonly service: ec2.VpcEndpointService;

  constructor(scope: Construct, id: string, props: { vpc: ec2.IVpc; system: { name: string; address: string; port: number } }) {
    super(scope, id);
    const { system } = props;
    this.nlb = new elbv2.NetworkLoadBalancer(this, 'Nlb', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.workload },
      crossZoneEnabled: true,
      deletionProtection: true,
    });
    Tags.of(this.nlb).add(ROLE_TAG, 'screen-transfer-provider');
    const noLogs = `NLB access logs are written only for TLS listeners; the screen protocol of ${system.name} (RDP, DCV) carries its own encryption end to end on this one TCP listener, and the lgwan VPC flow logs record every connection.`;
    acknowledge(this.nlb.node.defaultChild!, 'AwsSolutions-ELB2', noLogs);
    acknowledge(this.nlb.node.defaultChild!, controlTower('elbv2_logging_enabled_check'), noLogs);
    // The one listener: the system's screen-transfer port, to the system's host only (an IP target inside the lgwan zone).
    this.nlb.addListener('Screen', { port: system.port, protocol: elbv2.Protocol.TCP }).addTargets('Host', {
      port: system.port,
      protocol: elbv2.Protocol.TCP,
      // An address inside the lgwan VPC: no availabilityZone ("all" is only for addresses outside it).
      targets: [new elbv2Targets.IpTarget(system.address, system.port)],
      healthCheck: { protocol: elbv2.Protocol.TCP, port: String(system.port), interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
      deregistrationDelay: Duration.seconds(30),
    });
    this.service = new ec2.VpcEndpointService(this, 'Service', {
      vpcEndpointServiceLoadBalancers: [this.nlb],
      acceptanceRequired: false,
      // The municipality's own account only, never "*" (ThreeTier-PL1 checks it).
      allowedPrincipals: [new iam.ArnPrincipal(`arn:${Stack.of(this).partition}:iam::${Stack.of(this).account}:root`)],
    });
  }
}

/** The consumer side of one B1 service: an interface endpoint admitting the internet tier's office segments on the one port. */
export class BetaScreenEndpoint extends Construct {
  readonly endpoint: ec2.InterfaceVpcEndpoint;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: { vpc: ec2.IVpc; system: { name: string; port: number }; officeCidrs: string[]; serviceName: string }) {
    super(scope, id);
    const { system } = props;
    this.securityGroup = new ec2.SecurityGroup(this, 'EndpointSg', {
      vpc: props.vpc,
      description: `Screen transfer to the LGWAN system ${system.name}: port ${system.port} from the internet-tier office segments only`,
      allowAllOutbound: false,
    });
    for (const c of props.officeCidrs) this.securityGroup.addIngressRule(ec2.Peer.ipv4(c), ec2.Port.tcp(system.port), `screen transfer from the office segment ${c}`);
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointService(props.serviceName, system.port),
      // Workload subnets: their route tables carry the routes to the office segments (over the tier's VPN); the
      // endpoints subnets have none, so answers to the terminals would have no way back.
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      privateDnsEnabled: false,
      open: false,
      securityGroups: [this.securityGroup],
    });
  }
}

/**
 * The internet-side endpoints of B1, in a stack of their own
 * (`<Config>-<Code>-InternetScreen`, tagged zone internet): with the SBC
 * virtual browser (X1) the lgwan stack already imports the internet stack's
 * endpoint service, so the internet stack importing lgwan's would be a
 * dependency cycle. This stack deploys after both.
 */
export class BetaInternetScreenStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { config: ThreeTierConfig; municipality: Municipality; vpc: ec2.IVpc; services: Map<string, BetaScreenService> }) {
    super(scope, id, props);
    const { config: cfg, municipality: m } = props;
    tagZone(this, cfg.name, 'internet', m.code);
    const office = m.terminals.internet?.officeCidrs ?? [];
    for (const s of m.beta!.screenSystems) {
      new BetaScreenEndpoint(this, pascal(s.name), { vpc: props.vpc, system: s, officeCidrs: office, serviceName: props.services.get(s.name)!.service.vpcEndpointServiceName });
    }
  }
}

export interface MovedSystemsProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly vpc: ec2.Vpc;
  readonly availabilityZones: string[];
  /** The security cloud's Transit Gateway (the default route of every internet workload subnet), when attached. */
  readonly transitGatewayId?: string;
  readonly transitGatewayAttachment?: ec2.CfnTransitGatewayVpcAttachment;
  /** The internet tier's virtual private gateway to its office segments, when it has one. */
  readonly vgw?: ec2.CfnVPNGateway;
  readonly vgwAttachment?: ec2.CfnVPCGatewayAttachment;
}

/**
 * β′ (crossing B2): each business system moved into the internet tier gets
 * one /26 per AZ after the zone's own subnets (config/subnet-plan.ts), routed
 * like the other internet workload subnets (default route to the security
 * cloud, the office segments over the tier's own VPN) and nothing else: no
 * route to lgwan or mynumber. Its own security group admits only the office
 * segments on its ports; its own subnet flow logs (ALL) go to the archive.
 */
export class MovedSystems extends Construct {
  readonly systems = new Map<string, { securityGroup: ec2.SecurityGroup; subnets: ec2.Subnet[]; flowLogs: ec2.FlowLog[] }>();

  constructor(scope: Construct, id: string, props: MovedSystemsProps) {
    super(scope, id);
    const { config: cfg, municipality: m } = props;
    const moved = m.betaPrime!.movedSystems;
    const plan = movedSystemCidrs(m.cidrs.internet, props.availabilityZones.length, moved.length);
    if (!plan.fits) throw new Error(`municipality ${m.code}: cidrs.internet ${m.cidrs.internet} has no room for ${moved.length} moved systems (the config check should have refused it)`);
    const office = m.terminals.internet?.officeCidrs ?? [];
    const archive = s3.Bucket.fromBucketName(this, 'LogArchive', logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region));
    moved.forEach((sys, k) => {
      const own = new Construct(this, pascal(sys.name));
      const sg = new ec2.SecurityGroup(own, 'Sg', {
        vpc: props.vpc,
        description: `Moved system ${sys.name}: ports ${sys.ports.join(', ')} from the internet-tier office segments only`,
        allowAllOutbound: false,
      });
      Tags.of(sg).add(ROLE_TAG, 'moved-system');
      for (const c of office) for (const p of sys.ports) sg.addIngressRule(ec2.Peer.ipv4(c), ec2.Port.tcp(p), `${sys.name} from the office segment ${c}`);
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS out through the security cloud firewall (X7): patches and vendor services');
      const subnets: ec2.Subnet[] = [];
      const flowLogs: ec2.FlowLog[] = [];
      props.availabilityZones.forEach((az, i) => {
        const subnet = new ec2.Subnet(own, `Subnet${i + 1}`, { vpcId: props.vpc.vpcId, availabilityZone: az, cidrBlock: plan.cidrs[k][i], mapPublicIpOnLaunch: false });
        Tags.of(subnet).add('Name', `${cfg.name}-${m.code}-internet-${sys.name}-${az}`);
        Tags.of(subnet).add(ROLE_TAG, 'moved-system');
        acknowledge(subnet.node.defaultChild!, 'CloudFormation-Validate::W3010', 'Availability zones come from the config on purpose: synth must work offline without lookups, and every zone of a municipality uses the same AZs.');
        if (props.transitGatewayId) {
          const route = new ec2.CfnRoute(subnet, 'Default', { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: '0.0.0.0/0', transitGatewayId: props.transitGatewayId });
          if (props.transitGatewayAttachment) route.addResourceDependency(props.transitGatewayAttachment);
        }
        if (props.vgw) {
          office.forEach((dest, j) => {
            const route = new ec2.CfnRoute(subnet, `Office${j}`, { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: dest, gatewayId: props.vgw!.ref });
            if (props.vgwAttachment) route.addResourceDependency(props.vgwAttachment);
          });
        }
        const flowLog = new ec2.FlowLog(own, `FlowLog${i + 1}`, {
          resourceType: ec2.FlowLogResourceType.fromSubnet(subnet),
          trafficType: ec2.FlowLogTrafficType.ALL,
          destination: ec2.FlowLogDestination.toS3(archive, `${FLOW_LOG_PREFIX}/${m.code}/internet/moved/${sys.name}/`),
          maxAggregationInterval: cfg.sizing.flowLogAggregationSeconds === 60 ? ec2.FlowLogMaxAggregationInterval.ONE_MINUTE : ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
        });
        subnets.push(subnet);
        flowLogs.push(flowLog);
      });
      this.systems.set(sys.name, { securityGroup: sg, subnets, flowLogs });
    });
  }
}

/**
 * Adds β's B1 (provider in lgwan, consumer endpoints in their own internet-tagged stack) and β′'s moved
 * systems (B2, in the internet zone stack) for one municipality; returns the stacks it added.
 */
export function wireBeta(app: Construct, cfg: ThreeTierConfig, m: Municipality, zones: { lgwan: Stack & { zoneVpc: { vpc: ec2.Vpc } }; internet: ZoneStackLike }, connections?: { vgw?: ec2.CfnVPNGateway; vgwAttachment?: ec2.CfnVPCGatewayAttachment }): Stack[] {
  const out: Stack[] = [];
  const { lgwan, internet } = zones;
  if (m.beta) {
    const provider = new Construct(lgwan, 'BetaScreen');
    const services = new Map<string, BetaScreenService>();
    for (const s of m.beta.screenSystems) services.set(s.name, new BetaScreenService(provider, pascal(s.name), { vpc: lgwan.zoneVpc.vpc, system: s }));
    const stack = new BetaInternetScreenStack(app, internetScreenStackName(internet.stackName), {
      config: cfg,
      municipality: m,
      vpc: internet.zoneVpc.vpc,
      services,
      env: (m.account ?? cfg.account) ? { account: m.account ?? cfg.account, region: m.region ?? cfg.region } : { region: m.region ?? cfg.region },
      description: `Three-tier (${cfg.name}): ${m.nameEn ?? m.code} ${m.code} internet zone, screen transfer to the LGWAN systems (model β, crossing B1)`,
    });
    stack.addStackDependency(lgwan);
    stack.addStackDependency(internet);
    out.push(stack);
  }
  if (m.betaPrime) {
    new MovedSystems(internet, 'MovedSystems', {
      config: cfg,
      municipality: m,
      vpc: internet.zoneVpc.vpc,
      availabilityZones: internet.availabilityZones,
      transitGatewayId: internet.tenant?.transitGatewayId,
      transitGatewayAttachment: internet.tenant?.attachment,
      vgw: connections?.vgw,
      vgwAttachment: connections?.vgwAttachment,
    });
  }
  return out;
}

type ZoneStackLike = Stack & { zoneVpc: { vpc: ec2.Vpc }; tenant?: { transitGatewayId?: string; attachment?: ec2.CfnTransitGatewayVpcAttachment } };
