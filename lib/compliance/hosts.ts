import { Construct } from 'constructs';
import { aws_autoscaling as asg, aws_ec2 as ec2, aws_iam as iam } from 'aws-cdk-lib';
import { acknowledge } from './acknowledge';

const SSM_CORE = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]';

/** An instance role with SSM management only (Session Manager, Patch Manager); hosts have no SSH keys. */
export function ssmHostRole(scope: Construct, id: string, description: string): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    description,
  });
  acknowledge(role.node.defaultChild!, SSM_CORE, 'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager and Patch Manager; no SSH keys exist.');
  return role;
}

/**
 * A host group spans the config's AZs by name too (Control Tower CT.AUTOSCALING.PR.1), and takes
 * the acknowledgements every project host group shares.
 */
export function finishHostGroup(group: asg.AutoScalingGroup, availabilityZones: string[]): asg.CfnAutoScalingGroup {
  const cfn = group.node.defaultChild as asg.CfnAutoScalingGroup;
  cfn.availabilityZones = availabilityZones;
  acknowledge(cfn, 'CloudFormation-Validate::W3010', 'Availability zones come from the config on purpose (no lookups at synth); the group spans exactly the AZs of its subnets.');
  acknowledge(cfn, 'AwsSolutions-EC26', 'The EBS volume is encrypted in the launch template (Encrypted: true); this rule cannot follow the launch template reference from the group.');
  acknowledge(cfn, 'AwsSolutions-AS3', 'Scaling notifications would duplicate the group metrics and the CloudWatch alarms that operations already watch.');
  return cfn;
}

export interface HostGroupProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly role: iam.IRole;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly userData: ec2.UserData;
  /** Nitro types; the first is the launch template's, all are overrides. */
  readonly instanceTypes: string[];
  readonly minHosts: number;
  readonly maxHosts: number;
  readonly volumeGb: number;
  readonly availabilityZones: string[];
  readonly healthChecks?: asg.HealthChecks;
  /** The image; default Amazon Linux 2023. Its root device must be /dev/xvda. */
  readonly machineImage?: ec2.IMachineImage;
}

/**
 * The project's host group: Amazon Linux 2023 from a launch template with
 * IMDSv2 only, detailed monitoring, no public address and an encrypted gp3
 * root volume, on-demand across the listed types (construct ids "Template"
 * and "Hosts" under scope).
 */
export function hostGroup(scope: Construct, props: HostGroupProps): { template: ec2.LaunchTemplate; group: asg.AutoScalingGroup } {
  const template = new ec2.LaunchTemplate(scope, 'Template', {
    machineImage: props.machineImage ?? ec2.MachineImage.latestAmazonLinux2023(),
    instanceType: new ec2.InstanceType(props.instanceTypes[0]),
    role: props.role,
    securityGroup: props.securityGroup,
    userData: props.userData,
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
    detailedMonitoring: true,
    associatePublicIpAddress: false,
    blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(props.volumeGb, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
  });
  const group = new asg.AutoScalingGroup(scope, 'Hosts', {
    vpc: props.vpc,
    vpcSubnets: props.subnets,
    minCapacity: props.minHosts,
    maxCapacity: props.maxHosts,
    mixedInstancesPolicy: {
      launchTemplate: template,
      launchTemplateOverrides: props.instanceTypes.map((t) => ({ instanceType: new ec2.InstanceType(t) })),
      instancesDistribution: { onDemandPercentageAboveBaseCapacity: 100 },
    },
    ...(props.healthChecks ? { healthChecks: props.healthChecks } : {}),
    groupMetrics: [asg.GroupMetrics.all()],
  });
  finishHostGroup(group, props.availabilityZones);
  return { template, group };
}
