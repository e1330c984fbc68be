import { Construct } from 'constructs';
import { Aws, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_iam as iam } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { PickupConfig, pickupEgress, pickupIngress } from '../../config/pickup-schema';
import { acknowledge } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { PICKUP_IDENTITY_TAG, ROLE_TAG } from '../core/tags';
import type { ZoneStack } from '../network/zone-stack';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { bundledService, installServiceCommands, s3PrefixListPeer, systemdServiceCommands } from './bundle';
import { sanitizerBucketName } from './sanitizer';

/** The service's environment for the identity mode (lib/sanitizer/pickup-env.ts); references, never secrets. */
export function pickupIdentityEnv(p: PickupConfig): string[] {
  const id = p.identity;
  const groups = (g: string[]) => `PICKUP_ALLOWED_GROUPS=${g.join(',')}`;
  switch (id.mode) {
    case 'oidc':
      return ['PICKUP_IDENTITY=oidc', `PICKUP_URL=${p.url}`, `PICKUP_OIDC_ISSUER=${id.issuer}`, `PICKUP_OIDC_CLIENT_ID=${id.clientId}`, `PICKUP_OIDC_CLIENT_SECRET_ID=${id.clientSecretId}`, `PICKUP_OIDC_SCOPES=${id.scopes.join(' ')}`, `PICKUP_USER_CLAIM=${id.userClaim}`, `PICKUP_GROUPS_CLAIM=${id.groupsClaim}`, groups(id.allowedGroups)];
    case 'signed-jwt':
      return ['PICKUP_IDENTITY=signed-jwt', `PICKUP_JWT_ISSUER=${id.issuer}`, `PICKUP_JWT_AUDIENCE=${id.audience}`, id.jwksUrl ? `PICKUP_JWKS_URL=${id.jwksUrl}` : `PICKUP_JWKS=${JSON.stringify(id.jwks)}`, `PICKUP_JWT_HEADER=${id.header}`, `PICKUP_USER_CLAIM=${id.userClaim}`, `PICKUP_GROUPS_CLAIM=${id.groupsClaim}`, groups(id.allowedGroups), `PICKUP_FRONT_ADDRESSES=${id.frontAddresses.join(',')}`];
    case 'header':
      return ['PICKUP_IDENTITY=header', `PICKUP_USER_HEADER=${id.header}`, `PICKUP_FRONT_ADDRESSES=${id.frontAddresses.join(',')}`];
  }
}

/**
 * The pickup page of crossing X2 in `lgwan`: one small host group serving
 * `three-tier-pickup` on HTTPS 443. Who may connect follows the identity
 * mode (config/pickup-schema.ts, pickupIngress): staff terminals' office
 * segments when the page signs staff in itself (oidc), only the front's
 * addresses when the front speaks for staff (signed-jwt, header). It reads
 * the sanitized bucket through lgwan's S3 endpoint, each user only under
 * their own prefix. The OIDC client secret stays in Secrets Manager; the
 * hosts read it through the SSM endpoint at start. The host's certificate
 * is self-signed at boot until the municipality's internal CA issues one.
 */
export class PickupPage extends Construct {
  readonly hosts: asg.AutoScalingGroup;

  readonly securityGroup: ec2.SecurityGroup;

  constructor(lgwan: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality }) {
    super(lgwan, id);
    const cfg = props.config;
    const m = props.municipality;
    const p = m.pickup;
    if (!p) throw new Error(`municipality ${m.code}: the pickup page needs municipalities[].pickup (its identity mode)`);
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const bucket = sanitizerBucketName(cfg.name, m.code, 'sanitized', account, cfg.region);
    const bucketArn = `arn:${Aws.PARTITION}:s3:::${bucket}`;
    const role = ssmHostRole(this, 'Role', `Pickup page of ${m.code}: SSM, read the sanitized bucket`);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListUsers', actions: ['s3:ListBucket'], resources: [bucketArn], conditions: { StringLike: { 's3:prefix': ['users/*'] } } }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadSanitized', actions: ['s3:GetObject'], resources: [`${bucketArn}/users/*`] }));
    const bundle = bundledService(this, 'Bundle', 'bin/pickup.ts', 'pickup.js');
    role.addToPolicy(new iam.PolicyStatement({ sid: 'PickupBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    if (p.identity.mode === 'oidc') {
      // The client secret stays in Secrets Manager; the hosts read it through the SSM endpoint (parameter /aws/reference/secretsmanager/<id>).
      const ref = p.identity.clientSecretId;
      const secretArn = ref.startsWith('arn:') ? ref : `arn:${Aws.PARTITION}:secretsmanager:${cfg.region}:${account}:secret:${ref}-??????`;
      role.addToPolicy(new iam.PolicyStatement({ sid: 'OidcClientSecretViaSsm', actions: ['ssm:GetParameter'], resources: [`arn:${Aws.PARTITION}:ssm:${cfg.region}:${account}:parameter/aws/reference/secretsmanager/${ref.startsWith('arn:') ? ref.split(':secret:')[1] : ref}`] }));
      role.addToPolicy(new iam.PolicyStatement({ sid: 'OidcClientSecret', actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }));
    }
    acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-sanitized-<AWS::AccountId>-${cfg.region}/users/*]`, 'Sanitized files of every staff member of this municipality: the page serves each user only their own prefix, and file names are not known in advance.');

    const ingress = pickupIngress(p, m.cidrs.lgwan, m.terminals.lgwan?.officeCidrs ?? []);
    const egress = pickupEgress(p);
    const sg = new ec2.SecurityGroup(this, 'Sg', { vpc: lgwan.zoneVpc.vpc, description: `Pickup page (${p.identity.mode} identity): HTTPS from ${p.identity.mode === 'oidc' ? 'LGWAN terminals' : 'the authenticating front'} only; out to the lgwan endpoints and S3`, allowAllOutbound: false });
    this.securityGroup = sg;
    Tags.of(sg).add(ROLE_TAG, 'pickup');
    Tags.of(sg).add(PICKUP_IDENTITY_TAG, p.identity.mode);
    for (const s of ingress.sources) sg.addIngressRule(ec2.Peer.ipv4(s), ec2.Port.tcp(443), `pickup page from ${ingress.reason}`.slice(0, 255));
    for (const d of egress.destinations) sg.addEgressRule(ec2.Peer.ipv4(d), ec2.Port.tcp(443), egress.reason);
    sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.lgwan), ec2.Port.tcp(443), 'interface endpoints of the lgwan zone');
    sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-pickup', cfg.region, ['openssl']),
      'install -d -m 0755 /etc/three-tier-pickup',
      // Self-signed until the municipality's internal CA issues a certificate (replace both files, restart the unit).
      '[ -f /etc/three-tier-pickup/tls.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 397 -subj "/CN=$(hostname -f)" -keyout /etc/three-tier-pickup/tls.key -out /etc/three-tier-pickup/tls.crt',
      'chown three-tier-pickup /etc/three-tier-pickup/tls.key && chmod 0400 /etc/three-tier-pickup/tls.key',
      `cat > /etc/three-tier-pickup.env <<'ENV'\nPICKUP_BUCKET=${bucket}\n${pickupIdentityEnv(p).join('\n')}\nPICKUP_PORT=443\nPICKUP_TLS_CERT=/etc/three-tier-pickup/tls.crt\nPICKUP_TLS_KEY=/etc/three-tier-pickup/tls.key\nAWS_REGION=${cfg.region}\nENV`,
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
