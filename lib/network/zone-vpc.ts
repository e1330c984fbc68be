import { Construct } from 'constructs';
import { Aws, Stack, aws_ec2 as ec2, aws_s3 as s3 } from 'aws-cdk-lib';
import { ISOLATED_ZONES, Zone } from '../../config/schema';
import { subnetPlan } from '../../config/subnet-plan';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { FLOW_LOG_PREFIX } from '../log-archive/log-archive-stack';
import { interfaceEndpointStatements, s3GatewayStatements } from './endpoint-policies';

export interface ZoneVpcProps {
  readonly configName: string;
  readonly municipalityCode: string;
  readonly zone: Zone;
  readonly cidr: string;
  readonly availabilityZones: string[];
  /** How many AZs carry the interface endpoints (labs use 1). */
  readonly interfaceEndpointAzs: number;
  /** Name of the log archive bucket that receives the flow logs. */
  readonly logArchiveBucketName: string;
  readonly flowLogAggregationSeconds: 60 | 600;
}

/** Subnet group names, read by later constructs (TGW attachments, endpoints). */
export const SUBNET_GROUPS = {
  workload: 'workload',
  endpoints: 'endpoints',
  attachment: 'attachment',
} as const;

const INTERFACE_SERVICES = [
  ['ssm', ec2.InterfaceVpcEndpointAwsService.SSM],
  ['ssmmessages', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES],
  ['ec2messages', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES],
  ['kms', ec2.InterfaceVpcEndpointAwsService.KMS],
  ['logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
] as const;

/**
 * One zone's VPC. Isolated subnets only: no internet gateway, no NAT, no
 * public IPs, the default security group stripped of all rules, flow logs of
 * ALL traffic to the log archive, and AWS API access only through endpoints
 * with restrictive policies (DESIGN sections 2 and 3, crossing X6).
 *
 * `internet` gets the same isolated VPC plus an attachment subnet group that
 * the security cloud wires to its Transit Gateway; it never has its own IGW
 * or NAT.
 */
export class ZoneVpc extends Construct {
  readonly vpc: ec2.Vpc;
  readonly interfaceEndpoints: ec2.InterfaceVpcEndpoint[] = [];
  /** The security group of the interface endpoints (isolated zones), for endpoints added by crossings. */
  endpointSecurityGroup?: ec2.SecurityGroup;
  /** The AZs the interface endpoints sit in. */
  endpointAzs: string[] = [];
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  readonly flowLog: ec2.FlowLog;

  constructor(scope: Construct, id: string, props: ZoneVpcProps) {
    super(scope, id);
    const prefix = Number(props.cidr.split('/')[1]);
    const isolated = ISOLATED_ZONES.includes(props.zone);
    const plan = subnetPlan(prefix, props.availabilityZones.length, props.zone);
    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      { name: SUBNET_GROUPS.workload, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: plan.workloadMask },
      { name: SUBNET_GROUPS.endpoints, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: plan.endpointsMask },
    ];
    if (plan.attachmentMask) {
      subnetConfiguration.push({ name: SUBNET_GROUPS.attachment, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: plan.attachmentMask });
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: props.availabilityZones,
      natGateways: 0,
      createInternetGateway: false,
      subnetConfiguration,
      restrictDefaultSecurityGroup: true,
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });

    for (const subnet of [...this.vpc.isolatedSubnets]) {
      acknowledge(
        subnet.node.defaultChild!,
        'CloudFormation-Validate::W3010',
        'Availability zones come from the config on purpose: synth must work offline without lookups, and every zone of a municipality uses the same AZs.',
      );
    }

    const archive = s3.Bucket.fromBucketName(this, 'LogArchive', props.logArchiveBucketName);
    this.flowLog = this.vpc.addFlowLog('FlowLog', {
      trafficType: ec2.FlowLogTrafficType.ALL,
      destination: ec2.FlowLogDestination.toS3(archive, `${FLOW_LOG_PREFIX}/${props.municipalityCode}/${props.zone}/`),
      maxAggregationInterval:
        props.flowLogAggregationSeconds === 60 ? ec2.FlowLogMaxAggregationInterval.ONE_MINUTE : ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
    });

    const stack = Stack.of(this);
    const ctx = { account: Aws.ACCOUNT_ID, region: stack.region, projectBucketPrefix: `${props.configName}-` };

    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [{ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    for (const st of s3GatewayStatements(ctx)) this.s3Endpoint.addToPolicy(st);

    if (isolated) {
      const endpointAzs = props.availabilityZones.slice(0, props.interfaceEndpointAzs);
      // One security group for all interface endpoints: HTTPS in from this
      // zone's own CIDR (a literal, so every rule can read it), nothing out.
      const endpointSg = new ec2.SecurityGroup(this, 'EndpointsSg', {
        vpc: this.vpc,
        description: `Interface endpoints of the ${props.zone} zone: HTTPS from the zone only`,
        allowAllOutbound: false,
      });
      endpointSg.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), `HTTPS from the ${props.zone} zone`);
      this.endpointSecurityGroup = endpointSg;
      this.endpointAzs = endpointAzs;
      for (const [name, service] of INTERFACE_SERVICES) {
        const ep = this.vpc.addInterfaceEndpoint(pascalId(name), {
          service,
          privateDnsEnabled: true,
          open: false,
          securityGroups: [endpointSg],
          subnets: { subnetGroupName: SUBNET_GROUPS.endpoints, availabilityZones: endpointAzs },
        });
        for (const st of interfaceEndpointStatements(name, ctx)) ep.addToPolicy(st);
        this.interfaceEndpoints.push(ep);
      }
    }
  }

  /** Acknowledgements for the CDK-provided custom resource that strips the default security group. */
  static acknowledgeDefaultSgProvider(stack: Stack): void {
    const provider = stack.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (!provider) return;
    const role = provider.node.tryFindChild('Role');
    const handler = provider.node.tryFindChild('Handler');
    if (role) {
      acknowledge(role, 'AwsSolutions-IAM4', 'CDK-provided handler that removes the default security group rules; it only needs AWSLambdaBasicExecutionRole to write its own logs.');
    }
    if (handler) {
      const why = 'CDK-provided one-shot deployment handler that strips the default security group; it runs only during CloudFormation deployments.';
      acknowledge(handler, controlTower('lambda_inside_vpc_check'), `${why} It calls only the EC2 API, and placing it in an isolated zone would need extra EC2 endpoints for no gain.`);
    }
  }
}

function pascalId(name: string): string {
  return name[0].toUpperCase() + name.slice(1);
}

