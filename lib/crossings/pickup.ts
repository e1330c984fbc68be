import { Construct } from 'constructs';
import { Aws, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_iam as iam } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { acknowledge } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { ROLE_TAG } from '../core/tags';
import type { ZoneStack } from '../network/zone-stack';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { bundledService, installServiceCommands, s3PrefixListPeer, systemdServiceCommands } from './bundle';
import { sanitizerBucketName } from './sanitizer';

/**
 * The pickup page of crossing X2 in `lgwan`: one small host group serving
 * `three-tier-pickup` on HTTPS 443 to the LGWAN terminals' office segments
 * only (or the lgwan zone when no terminals are configured). It reads the
 * sanitized bucket through lgwan's S3 endpoint, each user only under their
 * own prefix. The user id comes from the municipality's single sign-on front
 * (header PICKUP_USER_HEADER); the host's certificate is self-signed at boot
 * until the municipality's internal CA issues one (README).
 */
export class PickupPage extends Construct {
  readonly hosts: asg.AutoScalingGroup;

  constructor(lgwan: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality }) {
    super(lgwan, id);
    const cfg = props.config;
    const m = props.municipality;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const bucket = sanitizerBucketName(cfg.name, m.code, 'sanitized', account, cfg.region);
    const bucketArn = `arn:${Aws.PARTITION}:s3:::${bucket}`;
    const role = ssmHostRole(this, 'Role', `Pickup page of ${m.code}: SSM, read the sanitized bucket`);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListUsers', actions: ['s3:ListBucket'], resources: [bucketArn], conditions: { StringLike: { 's3:prefix': ['users/*'] } } }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadSanitized', actions: ['s3:GetObject'], resources: [`${bucketArn}/users/*`] }));
    const bundle = bundledService(this, 'Bundle', 'bin/pickup.ts', 'pickup.js');
    role.addToPolicy(new iam.PolicyStatement({ sid: 'PickupBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-sanitized-<AWS::AccountId>-${cfg.region}/users/*]`, 'Sanitized files of every staff member of this municipality: the page serves each user only their own prefix, and file names are not known in advance.');

    const sources = m.terminals.lgwan?.officeCidrs.length ? m.terminals.lgwan.officeCidrs : [m.cidrs.lgwan];
    const sg = new ec2.SecurityGroup(this, 'Sg', { vpc: lgwan.zoneVpc.vpc, description: 'Pickup page: HTTPS from LGWAN terminals only; out to the lgwan endpoints and S3', allowAllOutbound: false });
    for (const s of sources) sg.addIngressRule(ec2.Peer.ipv4(s), ec2.Port.tcp(443), `pickup page from ${s === m.cidrs.lgwan ? 'the lgwan zone' : 'LGWAN terminals'}`);
    sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.lgwan), ec2.Port.tcp(443), 'interface endpoints of the lgwan zone');
    sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-pickup', cfg.region, ['openssl']),
      'install -d -m 0755 /etc/three-tier-pickup',
      // Self-signed until the municipality's internal CA issues a certificate (replace both files, restart the unit).
      '[ -f /etc/three-tier-pickup/tls.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 397 -subj "/CN=$(hostname -f)" -keyout /etc/three-tier-pickup/tls.key -out /etc/three-tier-pickup/tls.crt',
      'chown three-tier-pickup /etc/three-tier-pickup/tls.key && chmod 0400 /etc/three-tier-pickup/tls.key',
      `cat > /etc/three-tier-pickup.env <<'ENV'\nPICKUP_BUCKET=${bucket}\nPICKUP_USER_HEADER=X-Remote-User\nPICKUP_PORT=443\nPICKUP_TLS_CERT=/etc/three-tier-pickup/tls.crt\nPICKUP_TLS_KEY=/etc/three-tier-pickup/tls.key\nAWS_REGION=${cfg.region}\nENV`,
      ...systemdServiceCommands('three-tier-pickup', 'Three-tier pickup page for sanitized files (crossing X2)', 'pickup.js', ['AmbientCapabilities=CAP_NET_BIND_SERVICE']),
    );
    this.hosts = hostGroup(this, {
      vpc: lgwan.zoneVpc.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      role,
      securityGroup: sg,
      userData,
      instanceTypes: cfg.sanitizer.instanceTypes,
      minHosts: 1,
      maxHosts: 2,
      volumeGb: 8,
      availabilityZones: cfg.availabilityZones,
    }).group;
    Tags.of(this.hosts).add(ROLE_TAG, 'pickup');
  }
}
