import { Construct } from 'constructs';
import { Aws, Duration, Stack, aws_appstream as appstream, aws_autoscaling as asg, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_iam as iam } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { finishHostGroup, ssmHostRole } from '../compliance/hosts';
import { SUBNET_GROUPS } from '../network/zone-vpc';

/**
 * Amazon DCV permissions for the screen-transfer hosts: pixels and keystrokes
 * only. The browser session may receive pasted text (toward internet), but
 * nothing flows back toward lgwan: no copy to the local clipboard, no file
 * download or upload, no printing, no USB or smart-card redirection.
 */
export const DCV_PERMISSIONS = [
  '[permissions]',
  '%any% allow builtin',
  '%any% disallow clipboard-copy file-download file-upload printer usb smartcard webcam',
].join('\n');

export function dcvConfig(cfg: ThreeTierConfig): string {
  const st = cfg.screenTransfer;
  return [
    '[connectivity]',
    `web-port=${st.port}`,
    `idle-timeout=${st.idleTimeoutMinutes}`,
    `idle-timeout-warning=120`,
    '[session-management]',
    'create-session=true',
    '[session-management/automatic-console-session]',
    'permissions-file="/etc/dcv/screen-transfer.perm"',
    '[clipboard]',
    'primary-selection-copy=false',
    '[display]',
    'target-fps=30',
  ].join('\n');
}

export interface SbcProviderProps {
  readonly config: ThreeTierConfig;
  readonly vpc: ec2.Vpc;
  /** The internet zone's CIDR (PrivateLink traffic reaches the hosts from the NLB's addresses in it). */
  readonly zoneCidr: string;
  /** The inbound bucket of crossing X2: browser downloads are handed to the sanitizer there, under the user's prefix. */
  readonly inboundBucket?: string;
}

/** Moves finished browser downloads of each DCV user to the inbound bucket (X2), under users/<login>/. */
export function downloadHandoffScript(bucket: string, region: string): string {
  return [
    '#!/bin/bash',
    '# Three-tier X2 handoff: a file downloaded in the virtual browser goes to the sanitizer, never to the terminal.',
    'set -u',
    'while true; do',
    '  for d in /home/*/Downloads; do',
    '    [ -d "$d" ] || continue',
    '    user=$(basename "$(dirname "$d")")',
    "    find \"$d\" -maxdepth 1 -type f ! -name '*.part' ! -name '*.crdownload' ! -name '.*' -mmin +0.1 -print0 | while IFS= read -r -d '' f; do",
    `      aws s3 mv "$f" "s3://${bucket}/users/$user/$(basename "$f")" --region ${region} --only-show-errors || logger -t three-tier-handoff "upload failed, will retry: $f"`,
    '    done',
    '  done',
    '  sleep 5',
    'done',
  ].join('\n');
}

/**
 * X1 provider side, in `internet`: a self-managed SBC fleet (Linux with Amazon
 * DCV and a browser) behind an internal NLB, exposed only as a VPC endpoint
 * service on the one screen-transfer port. Pre-warmed capacity keeps hosts
 * running so sessions never wait for a boot; browsing leaves through the
 * security cloud like all internet-zone traffic.
 */
export class SbcProvider extends Construct {
  readonly service: ec2.VpcEndpointService;
  readonly nlb: elbv2.NetworkLoadBalancer;
  readonly group: asg.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: SbcProviderProps) {
    super(scope, id);
    const st = props.config.screenTransfer;
    const hostSg = new ec2.SecurityGroup(this, 'HostSg', { vpc: props.vpc, description: 'Screen-transfer hosts: DCV port from PrivateLink only, web out via the security cloud', allowAllOutbound: false });
    hostSg.addIngressRule(ec2.Peer.ipv4(props.zoneCidr), ec2.Port.tcp(st.port), 'DCV from the NLB (PrivateLink from lgwan)');
    hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS browsing (through the security cloud firewall)');
    hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP browsing (through the security cloud firewall)');

    const role = ssmHostRole(this, 'HostRole', props.inboundBucket ? 'Screen-transfer hosts: SSM, and browser downloads into the inbound bucket (X2)' : 'Screen-transfer hosts: SSM management only');
    if (props.inboundBucket) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'DownloadsToSanitizer', actions: ['s3:PutObject'], resources: [`arn:${Aws.PARTITION}:s3:::${props.inboundBucket}/users/*`] }));
      acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.inboundBucket.replace(Stack.of(this).account, '<AWS::AccountId>')}/users/*]`, 'Browser downloads of every user of this fleet go to the sanitizer under their own users/<login>/ prefix; file names are not known in advance.');
    }

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'set -euo pipefail',
      'dnf -y groupinstall "Desktop" || dnf -y install gnome-shell gdm',
      'dnf -y install firefox || dnf -y install chromium || true',
      'rpm --import https://d1uj6qtbmh3dt5.cloudfront.net/NICE-GPG-KEY',
      'curl -fsSL -o /tmp/dcv.tgz https://d1uj6qtbmh3dt5.cloudfront.net/nice-dcv-amzn2023-x86_64.tgz',
      'tar -xzf /tmp/dcv.tgz -C /tmp && dnf -y install /tmp/nice-dcv-*/nice-dcv-server-*.rpm /tmp/nice-dcv-*/nice-xdcv-*.rpm',
      `cat > /etc/dcv/screen-transfer.perm <<'PERM'\n${DCV_PERMISSIONS}\nPERM`,
      `cat > /etc/dcv/dcv.conf <<'CONF'\n${dcvConfig(props.config)}\nCONF`,
      'systemctl enable --now dcvserver',
    );
    if (props.inboundBucket) {
      const region = Stack.of(this).region;
      userData.addCommands(
        `cat > /usr/local/bin/three-tier-handoff <<'SCRIPT'\n${downloadHandoffScript(props.inboundBucket, region)}\nSCRIPT`,
        'chmod 0755 /usr/local/bin/three-tier-handoff',
        ["cat > /etc/systemd/system/three-tier-handoff.service <<'UNIT'", '[Unit]', 'Description=Hand browser downloads to the sanitizer (crossing X2)', '[Service]', 'ExecStart=/usr/local/bin/three-tier-handoff', 'Restart=always', '[Install]', 'WantedBy=multi-user.target', 'UNIT'].join('\n'),
        'systemctl daemon-reload && systemctl enable --now three-tier-handoff',
      );
    }
    const template = new ec2.LaunchTemplate(this, 'Template', {
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      instanceType: new ec2.InstanceType(st.instanceTypes[0]),
      role,
      securityGroup: hostSg,
      userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      associatePublicIpAddress: false,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(40, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    const subnets = { subnetGroupName: SUBNET_GROUPS.workload };
    this.group = new asg.AutoScalingGroup(this, 'Hosts', {
      vpc: props.vpc,
      vpcSubnets: subnets,
      minCapacity: st.prewarmed,
      maxCapacity: st.maxHosts,
      mixedInstancesPolicy: { launchTemplate: template, launchTemplateOverrides: st.instanceTypes.map((t) => ({ instanceType: new ec2.InstanceType(t) })), instancesDistribution: { onDemandPercentageAboveBaseCapacity: 100 } },
      healthChecks: asg.HealthChecks.withAdditionalChecks({ additionalTypes: [asg.AdditionalHealthCheckType.ELB], gracePeriod: Duration.minutes(10) }),
      groupMetrics: [asg.GroupMetrics.all()],
    });
    this.group.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 50 });
    finishHostGroup(this.group, Stack.of(this).availabilityZones);

    this.nlb = new elbv2.NetworkLoadBalancer(this, 'Nlb', { vpc: props.vpc, internetFacing: false, vpcSubnets: subnets, crossZoneEnabled: true, deletionProtection: true });
    const noLogs = 'NLB access logs are written only for TLS listeners; DCV runs its own TLS end to end on this TCP listener, and VPC flow logs record every connection.';
    acknowledge(this.nlb.node.defaultChild!, 'AwsSolutions-ELB2', noLogs);
    acknowledge(this.nlb.node.defaultChild!, controlTower('elbv2_logging_enabled_check'), noLogs);
    this.nlb.addListener('Dcv', { port: st.port, protocol: elbv2.Protocol.TCP }).addTargets('Hosts', {
      port: st.port,
      protocol: elbv2.Protocol.TCP,
      targets: [this.group],
      healthCheck: { protocol: elbv2.Protocol.TCP, interval: Duration.seconds(10) },
      deregistrationDelay: Duration.seconds(30),
    });
    this.service = new ec2.VpcEndpointService(this, 'Service', {
      vpcEndpointServiceLoadBalancers: [this.nlb],
      acceptanceRequired: false,
      allowedPrincipals: [new iam.ArnPrincipal(`arn:${Stack.of(this).partition}:iam::${Stack.of(this).account}:root`)],
    });
  }
}

export interface ScreenTransferConsumerProps {
  readonly config: ThreeTierConfig;
  readonly vpc: ec2.Vpc;
  readonly zoneCidr: string;
  /** Office segments of LGWAN terminals that open sessions. */
  readonly officeCidrs: string[];
}

/** Security group of the lgwan-side endpoint: the screen-transfer port from lgwan and its terminals, nothing out. */
function consumerSg(scope: Construct, props: ScreenTransferConsumerProps, port: number): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, 'EndpointSg', { vpc: props.vpc, description: 'Screen-transfer endpoint: one port from the lgwan zone and its terminals', allowAllOutbound: false });
  for (const c of [props.zoneCidr, ...props.officeCidrs]) sg.addIngressRule(ec2.Peer.ipv4(c), ec2.Port.tcp(port), `screen transfer from ${c}`);
  return sg;
}

/** X1 consumer side, in `lgwan`: an interface endpoint to the SBC service on the one port. */
export class SbcConsumer extends Construct {
  readonly endpoint: ec2.InterfaceVpcEndpoint;
  constructor(scope: Construct, id: string, props: ScreenTransferConsumerProps & { serviceName: string }) {
    super(scope, id);
    const port = props.config.screenTransfer.port;
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointService(props.serviceName, port),
      subnets: { subnetGroupName: SUBNET_GROUPS.endpoints },
      privateDnsEnabled: false,
      open: false,
      securityGroups: [consumerSg(this, props, port)],
    });
  }
}

/** X1 with AppStream 2.0: a private streaming endpoint in lgwan (consumer). */
export class AppStreamConsumer extends Construct {
  readonly endpoint: ec2.InterfaceVpcEndpoint;
  constructor(scope: Construct, id: string, props: ScreenTransferConsumerProps) {
    super(scope, id);
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointAwsService('appstream.streaming'),
      subnets: { subnetGroupName: SUBNET_GROUPS.endpoints },
      privateDnsEnabled: true,
      open: false,
      securityGroups: [consumerSg(this, props, 443)],
    });
    this.endpoint.addToPolicy(new iam.PolicyStatement({ sid: 'ThisAccountStreaming', principals: [new iam.AccountRootPrincipal()], actions: ['appstream:*'], resources: ['*'] }));
    // Streaming uses 443 and the UDP range of AppStream's QUIC transport.
    (this.endpoint.connections.securityGroups[0].node.defaultChild as ec2.CfnSecurityGroup).securityGroupIngress = [
      ...[props.zoneCidr, ...props.officeCidrs].flatMap((c) => [
        { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIp: c, description: `AppStream streaming from ${c}` },
        { ipProtocol: 'udp', fromPort: 8433, toPort: 8433, cidrIp: c, description: `AppStream UDP streaming from ${c}` },
      ]),
    ];
  }
}

/**
 * X1 with AppStream 2.0, provider side in `internet`: an always-on fleet
 * (pre-warmed instances) whose network interfaces sit in the internet zone,
 * and a stack whose user settings disable every data transfer toward lgwan,
 * reachable only through the lgwan streaming endpoint.
 */
export class AppStreamProvider extends Construct {
  readonly stack: appstream.CfnStack;
  readonly fleet: appstream.CfnFleet;
  constructor(scope: Construct, id: string, props: { config: ThreeTierConfig; vpc: ec2.Vpc; streamingEndpointId: string; name: string }) {
    super(scope, id);
    const st = props.config.screenTransfer;
    const sg = new ec2.SecurityGroup(this, 'FleetSg', { vpc: props.vpc, description: 'AppStream fleet: web out via the security cloud', allowAllOutbound: false });
    sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS browsing (through the security cloud firewall)');
    sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP browsing (through the security cloud firewall)');
    this.fleet = new appstream.CfnFleet(this, 'Fleet', {
      name: `${props.name}-fleet`,
      instanceType: st.appstreamInstanceType,
      imageName: st.appstreamImageName,
      fleetType: 'ALWAYS_ON',
      computeCapacity: { desiredInstances: st.prewarmed },
      vpcConfig: { subnetIds: props.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.workload }).subnetIds, securityGroupIds: [sg.securityGroupId] },
      enableDefaultInternetAccess: false,
      disableImdsv1: true,
      idleDisconnectTimeoutInSeconds: st.idleTimeoutMinutes * 60,
      disconnectTimeoutInSeconds: st.disconnectTimeoutMinutes * 60,
      maxUserDurationInSeconds: 12 * 3600,
      streamView: 'APP',
    });
    this.stack = new appstream.CfnStack(this, 'Stack', {
      name: `${props.name}-stack`,
      description: 'Virtual browser for LGWAN staff: pixels and keystrokes only',
      userSettings: SCREEN_TRANSFER_USER_SETTINGS,
      accessEndpoints: [{ endpointType: 'STREAMING', vpceId: props.streamingEndpointId }],
      applicationSettings: { enabled: false },
    });
    new appstream.CfnStackFleetAssociation(this, 'Association', { fleetName: this.fleet.name, stackName: this.stack.name! }).addDependency(this.fleet);
  }
}

/** AppStream user settings: everything toward the trusted side disabled; pasting into the browser allowed. */
export const SCREEN_TRANSFER_USER_SETTINGS: appstream.CfnStack.UserSettingProperty[] = [
  { action: 'CLIPBOARD_COPY_TO_LOCAL_DEVICE', permission: 'DISABLED' },
  { action: 'CLIPBOARD_COPY_FROM_LOCAL_DEVICE', permission: 'ENABLED' },
  { action: 'FILE_UPLOAD', permission: 'DISABLED' },
  { action: 'FILE_DOWNLOAD', permission: 'DISABLED' },
  { action: 'PRINTING_TO_LOCAL_DEVICE', permission: 'DISABLED' },
  { action: 'AUTO_TIME_ZONE_REDIRECTION', permission: 'ENABLED' },
];
