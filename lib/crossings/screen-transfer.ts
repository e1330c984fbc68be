import { Construct } from 'constructs';
import { Annotations, Aws, Duration, Stack, Tags, aws_appstream as appstream, aws_autoscaling as asg, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2, aws_iam as iam } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { finishHostGroup, ssmHostRole } from '../compliance/hosts';
import { ROLE_TAG } from '../core/tags';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { dcvInitScript } from '../screen/dcv-init';
import { bundledService, installServiceCommands, systemdServiceCommands } from './bundle';

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

/** The local token verifier DCV calls (external authentication), and the load balancer's health check port on each host. */
export const DCV_VERIFIER_PORT = 8444;
export const SCREEN_HEALTH_PORT = 8445;

/**
 * dcv.conf: external authentication against the host's own token verifier
 * (127.0.0.1, nothing leaves the host), no automatic console session (each
 * member of staff gets a virtual session of their own, created by the
 * verifier on first use), DCV's idle timeout from config.
 */
export function dcvConfig(cfg: ThreeTierConfig): string {
  const st = cfg.screenTransfer;
  return [
    '[security]',
    `auth-token-verifier="http://127.0.0.1:${DCV_VERIFIER_PORT}"`,
    '[connectivity]',
    `web-port=${st.port}`,
    `idle-timeout=${st.idleTimeoutMinutes}`,
    `idle-timeout-warning=120`,
    '[session-management]',
    'create-session=false',
    'enable-gl-in-virtual-sessions="default-off"',
    '[clipboard]',
    'primary-selection-copy=false',
    '[display]',
    'target-fps=30',
  ].join('\n');
}

/** The audience of a municipality's screen-transfer service in sign-in tokens. */
export function screenAudience(cfg: ThreeTierConfig, code: string): string {
  return `three-tier-screen:${cfg.name}:${code}`;
}

/** The issuer of sign-in tokens: the broker, by its URL (or a name when sign-in is not configured). */
export function screenTokenIssuer(cfg: ThreeTierConfig, code: string): string {
  return cfg.screenTransfer.signIn ? `${cfg.screenTransfer.signIn.brokerUrl.replace(/\/+$/, '')}/` : `three-tier-screen-broker:${cfg.name}:${code}`;
}

/** The browser of the DCV hosts (Amazon Linux 2023 packages firefox). */
export const DCV_BROWSER = '/usr/bin/firefox';

export interface SbcProviderProps {
  readonly config: ThreeTierConfig;
  readonly vpc: ec2.Vpc;
  /** The internet zone's CIDR (PrivateLink traffic reaches the hosts from the NLB's addresses in it). */
  readonly zoneCidr: string;
  /** The inbound bucket of crossing X2: browser downloads are handed to the sanitizer there, under the user's prefix. */
  readonly inboundBucket: string;
  /** The municipality's code: the audience of its sign-in tokens. */
  readonly code: string;
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
    hostSg.addIngressRule(ec2.Peer.ipv4(props.zoneCidr), ec2.Port.tcp(SCREEN_HEALTH_PORT), 'health check of the NLB (browser and display server installed)');
    hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS browsing (through the security cloud firewall)');
    hostSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP browsing (through the security cloud firewall)');
    Tags.of(hostSg).add(ROLE_TAG, 'screen-transfer-hosts');

    const role = ssmHostRole(this, 'HostRole', 'Screen-transfer hosts: SSM, and browser downloads into the inbound bucket (X2)');
    role.addToPolicy(new iam.PolicyStatement({ sid: 'DownloadsToSanitizer', actions: ['s3:PutObject'], resources: [`arn:${Aws.PARTITION}:s3:::${props.inboundBucket}/users/*`] }));
    const bundle = bundledService(this, 'Bundle', 'bin/screen-host.ts', 'screen-host.js', ['lib/screen']);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'HostBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.inboundBucket.replace(Stack.of(this).account, '<AWS::AccountId>')}/users/*]`, 'Browser downloads of every user of this fleet go to the sanitizer under their own users/<login>/ prefix; file names are not known in advance.');

    const signIn = props.config.screenTransfer.signIn;
    if (!signIn) Annotations.of(this).addWarning('screenTransfer.signIn is not configured: the virtual-browser hosts refuse every sign-in until it is (docs/virtual-browser.en.md)');
    const region = Stack.of(this).region;
    const env = [
      'SCREEN_ENGINE=dcv',
      `SCREEN_PUBLIC_KEYS=${JSON.stringify(signIn?.publicKeys ?? {})}`,
      `SCREEN_TOKEN_ISSUER=${screenTokenIssuer(props.config, props.code)}`,
      `SCREEN_AUDIENCE=${screenAudience(props.config, props.code)}`,
      `SCREEN_BROWSER=${DCV_BROWSER}`,
      'SCREEN_DCV_INIT=/usr/local/libexec/three-tier-screen-init',
      'SCREEN_DCV_PERMISSIONS=/etc/dcv/screen-transfer.perm',
      `SCREEN_INBOUND_BUCKET=${props.inboundBucket}`,
      `SCREEN_IDLE_MINUTES=${st.idleTimeoutMinutes}`,
      `SCREEN_DISCONNECT_MINUTES=${st.disconnectTimeoutMinutes}`,
      `SCREEN_VERIFIER_PORT=${DCV_VERIFIER_PORT}`,
      `SCREEN_HEALTH_PORT=${SCREEN_HEALTH_PORT}`,
      `AWS_REGION=${region}`,
    ];
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'set -euo pipefail',
      // Fail loudly: a host without its desktop, browser or DCV stops here, never starts the health endpoint, and the
      // NLB health check marks it unhealthy; the group replaces it. No empty desktop is ever served.
      'dnf -y groupinstall "Desktop"',
      'dnf -y install firefox',
      `test -x ${DCV_BROWSER}`,
      'rpm --import https://d1uj6qtbmh3dt5.cloudfront.net/NICE-GPG-KEY',
      'curl -fsSL -o /tmp/dcv.tgz https://d1uj6qtbmh3dt5.cloudfront.net/nice-dcv-amzn2023-x86_64.tgz',
      'tar -xzf /tmp/dcv.tgz -C /tmp && dnf -y install /tmp/nice-dcv-*/nice-dcv-server-*.rpm /tmp/nice-dcv-*/nice-xdcv-*.rpm',
      `cat > /etc/dcv/screen-transfer.perm <<'PERM'\n${DCV_PERMISSIONS}\nPERM`,
      `cat > /etc/dcv/dcv.conf <<'CONF'\n${dcvConfig(props.config)}\nCONF`,
      'install -d -m 0755 /usr/local/libexec',
      `cat > /usr/local/libexec/three-tier-screen-init <<'INIT'\n${dcvInitScript(DCV_BROWSER)}\nINIT`,
      'chmod 0755 /usr/local/libexec/three-tier-screen-init',
      'systemctl enable --now dcvserver',
      ...installServiceCommands(bundle, 'three-tier-screen', region),
      `cat > /etc/three-tier-screen.env <<'ENV'\n${env.join('\n')}\nENV`,
      // Root: it creates and removes one unprivileged account per session (useradd/userdel) and starts DCV sessions as their owners.
      ...systemdServiceCommands('three-tier-screen', 'Three-tier virtual browser: token verifier, per-user sessions, download hand-off (crossings X1, X2)', 'screen-host.js', ['User=root', 'ProtectHome=no', 'ProtectSystem=no', 'PrivateTmp=no']).map((c) => c.replace('User=three-tier-screen\n', '')),
    );
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
      // HTTP on the host service: 200 only when the browser, the display server and DCV are there.
      healthCheck: { protocol: elbv2.Protocol.HTTP, port: String(SCREEN_HEALTH_PORT), path: '/healthz', interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
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
