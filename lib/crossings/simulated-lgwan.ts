import { Construct } from 'constructs';
import { Aws, Stack, StackProps, Tags, aws_ec2 as ec2, aws_s3 as s3 } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { ssmHostRole } from '../compliance/hosts';
import { acknowledge } from '../compliance/acknowledge';
import { logArchiveBucketName } from '../core/naming';
import { ROLE_TAG, tagZone } from '../core/tags';
import { FLOW_LOG_PREFIX } from '../log-archive/log-archive-stack';
import { ZoneVpc } from '../network/zone-vpc';
import { ascii } from './connections';
import { labInstanceAcknowledgements } from './probes';

export interface SimulatedLgwanProps extends StackProps {
  readonly config: ThreeTierConfig;
  /** The LGWAN network range and the hosts to stand in (address → name). */
  readonly cidr: string;
  readonly hosts: { name: string; address: string; ports: number[]; sources: string[] }[];
}

/**
 * Lab only: a stand-in for the LGWAN network (zone `lgwan-network`) with a
 * 中間サーバー host and an LGWAN mail peer at the configured addresses, so the
 * lab can test 特定通信 (X5) and LGWAN mail end to end. It has no internet
 * access; zones reach it by peering with routes to exactly the configured
 * /32 addresses (built in the zone stacks).
 */
export class SimulatedLgwanStack extends Stack {
  readonly vpc: ec2.Vpc;
  private readonly configuredAzs: string[];

  constructor(scope: Construct, id: string, props: SimulatedLgwanProps) {
    super(scope, id, props);
    this.configuredAzs = props.config.availabilityZones.slice(0, 2);
    tagZone(this, props.config.name, 'lgwan-network');
    const prefix = Number(props.cidr.split('/')[1]);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: this.configuredAzs,
      natGateways: 0,
      createInternetGateway: false,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [{ name: 'hosts', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: prefix + 1 }],
    });
    Tags.of(this.vpc).add(ROLE_TAG, 'simulated-lgwan');
    ZoneVpc.acknowledgeDefaultSgProvider(this);
    const archive = s3.Bucket.fromBucketName(this, 'LogArchive', logArchiveBucketName(props.config.name, props.config.account ?? Aws.ACCOUNT_ID, props.config.region));
    this.vpc.addFlowLog('FlowLog', { trafficType: ec2.FlowLogTrafficType.ALL, destination: ec2.FlowLogDestination.toS3(archive, `${FLOW_LOG_PREFIX}/lgwan-network/`) });
    for (const subnet of this.vpc.isolatedSubnets) {
      acknowledge(subnet.node.defaultChild!, 'CloudFormation-Validate::W3010', 'Availability zones come from the config on purpose (no lookups at synth).');
    }

    const role = ssmHostRole(this, 'HostRole', 'Simulated LGWAN hosts: SSM only');
    const first = this.vpc.isolatedSubnets[0];
    props.hosts.forEach((h, i) => {
      const label = ascii(h.name, `LGWAN host ${h.address}`);
      const sg = new ec2.SecurityGroup(this, `HostSg${i}`, { vpc: this.vpc, description: `Simulated ${label}: its service ports from the lab zones`, allowAllOutbound: false });
      for (const src of h.sources) for (const port of h.ports) sg.addIngressRule(ec2.Peer.ipv4(src), ec2.Port.tcp(port), `${label} service from ${src}`);
      for (const src of h.sources) sg.addEgressRule(ec2.Peer.ipv4(src), ec2.Port.allTcp(), `replies and LGWAN mail to ${src}`);
      const instance = new ec2.Instance(this, `Host${i}`, {
        vpc: this.vpc,
        vpcSubnets: { subnets: [first] },
        instanceType: new ec2.InstanceType('t3.micro'),
        machineImage: ec2.MachineImage.latestAmazonLinux2023(),
        securityGroup: sg,
        role,
        privateIpAddress: h.address,
        associatePublicIpAddress: false,
        detailedMonitoring: true,
        blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
        userData: ec2.UserData.custom(
          ['#!/bin/bash', `# Stand-in ${h.name}: answer on its ports so reachability can be tested end to end.`, ...h.ports.map((p) => `nohup python3 -m http.server ${p} --bind 0.0.0.0 >/var/log/standin-${p}.log 2>&1 &`)].join('\n'),
        ),
      });
      Tags.of(instance).add('Name', `simulated-${h.name}`);
      Tags.of(instance).add(ROLE_TAG, 'lgwan-host');
      labInstanceAcknowledgements(instance);
    });
  }

  /** Route tables of the simulated network, for return routes built in the zone stacks. */
  routeTableIds(): string[] {
    return [...new Set(this.vpc.isolatedSubnets.map((s) => s.routeTable.routeTableId))];
  }

  get availabilityZones(): string[] {
    return this.configuredAzs;
  }
}
