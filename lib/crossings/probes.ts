import { Construct } from 'constructs';
import { Tags, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { ROLE_TAG } from '../core/tags';
import { ssmHostRole } from '../compliance/hosts';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { SUBNET_GROUPS } from '../network/zone-vpc';

/**
 * Lab only: one small SSM-managed probe instance in a zone (no SSH, no key
 * pair, no public IP), tagged like everything else in the zone, so the live
 * checks have a source and a destination in every zone.
 */
export class Probe extends Construct {
  readonly instance: ec2.Instance;
  constructor(scope: Construct, id: string, props: { vpc: ec2.Vpc; zoneCidr: string; extraEgress?: { peer: string; port: ec2.Port; description: string }[] }) {
    super(scope, id);
    const sg = new ec2.SecurityGroup(this, 'Sg', { vpc: props.vpc, description: 'Lab probe: no inbound; out only to its own zone and its crossings', allowAllOutbound: false });
    sg.addEgressRule(ec2.Peer.ipv4(props.zoneCidr), ec2.Port.allTcp(), 'its own zone (endpoints, crossings)');
    for (const e of props.extraEgress ?? []) sg.addEgressRule(ec2.Peer.ipv4(e.peer), e.port, e.description);
    const role = ssmHostRole(this, 'Role', 'Lab probe: SSM only');
    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.workload, onePerAz: true },
      instanceType: new ec2.InstanceType('t3.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      securityGroup: sg,
      role,
      detailedMonitoring: true,
      associatePublicIpAddress: false,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    // `npm run verify` finds probes by this tag (sources and destinations of Reachability Analyzer paths).
    Tags.of(this.instance).add(ROLE_TAG, 'probe');
    labInstanceAcknowledgements(this.instance);
  }
}

/**
 * Lab instances (probes, simulated LGWAN hosts): IMDSv2 through a launch
 * template with detailed monitoring, and two acknowledgements that fit
 * throw-away single instances.
 */
export function labInstanceAcknowledgements(instance: ec2.Instance): void {
  // IMDSv2 through our own launch template (with detailed monitoring, Control Tower CT.EC2.PR.10).
  const lt = new ec2.LaunchTemplate(instance, 'Imdsv2', { requireImdsv2: true, httpPutResponseHopLimit: 1, detailedMonitoring: true });
  (instance.node.defaultChild as ec2.CfnInstance).launchTemplate = { launchTemplateId: lt.launchTemplateId, version: lt.latestVersionNumber };
  acknowledge(instance.node.defaultChild!, 'CloudFormation-Validate::W3010', 'A lab instance placed in the subnet of a configured availability zone: the zone comes from the config on purpose (no lookups at synth).');
  acknowledge(instance.node.defaultChild!, 'AwsSolutions-EC29', 'A throw-away lab instance: termination protection would only get in the way of tearing the lab down.');
  acknowledge(instance.node.defaultChild!, controlTower('ec2_instance_nitro_encryption_in_transit_check'), 'A single lab instance that exchanges no traffic with other instances of its own; the cheapest type keeps the lab affordable.');
}
