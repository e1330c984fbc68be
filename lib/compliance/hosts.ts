import { Construct } from 'constructs';
import { aws_autoscaling as asg, aws_iam as iam } from 'aws-cdk-lib';
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
