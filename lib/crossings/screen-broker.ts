import { Construct } from 'constructs';
import { Aws, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_iam as iam } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { ROLE_TAG } from '../core/tags';
import type { ZoneStack } from '../network/zone-stack';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { bundledService, installServiceCommands, s3PrefixListPeer, systemdServiceCommands } from './bundle';
import { screenAudience, screenTokenIssuer } from './screen-transfer';

export { SCREEN_BROKER_ROLE } from '../isolation/screen-rules';
import { SCREEN_BROKER_ROLE } from '../isolation/screen-rules';

/**
 * The virtual browser's sign-in broker in `lgwan`: crossing-free. Staff
 * browsers reach it on 443 from the LGWAN office segments only; it reaches
 * only the identity provider's addresses from config (443), lgwan's own
 * interface endpoints (SSM for its key) and S3 through the gateway endpoint
 * (its bundle, OS packages). It never connects toward internet: it only
 * redirects the staff browser to the screen-transfer endpoint with a token.
 */
export class ScreenBroker extends Construct {
  readonly hosts: asg.AutoScalingGroup;
  readonly sg: ec2.SecurityGroup;

  constructor(lgwan: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality }) {
    super(lgwan, id);
    const cfg = props.config;
    const m = props.municipality;
    const si = cfg.screenTransfer.signIn!;
    const role = ssmHostRole(this, 'Role', `Virtual-browser sign-in broker of ${m.code}: SSM, its signing key parameter`);
    const params = [si.signingKeyParameter, ...(si.clientSecretParameter ? [si.clientSecretParameter] : [])];
    role.addToPolicy(new iam.PolicyStatement({ sid: 'BrokerSecrets', actions: ['ssm:GetParameter'], resources: params.map((p) => `arn:${Aws.PARTITION}:ssm:${cfg.region}:${cfg.account ?? Aws.ACCOUNT_ID}:parameter${p}`) }));
    const bundle = bundledService(this, 'Bundle', 'bin/screen-broker.ts', 'screen-broker.js', ['lib/screen']);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'BrokerBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));

    const sources = m.terminals.lgwan?.officeCidrs.length ? m.terminals.lgwan.officeCidrs : [m.cidrs.lgwan];
    this.sg = new ec2.SecurityGroup(this, 'Sg', { vpc: lgwan.zoneVpc.vpc, description: 'Virtual-browser sign-in broker: HTTPS from LGWAN terminals only; out to the identity provider, lgwan endpoints and S3', allowAllOutbound: false });
    for (const s of sources) this.sg.addIngressRule(ec2.Peer.ipv4(s), ec2.Port.tcp(443), `sign-in from ${s === m.cidrs.lgwan ? 'the lgwan zone' : 'LGWAN terminals'}`);
    for (const c of si.idpCidrs) this.sg.addEgressRule(ec2.Peer.ipv4(c), ec2.Port.tcp(443), 'the municipality\'s identity provider (OpenID Connect)');
    this.sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.lgwan), ec2.Port.tcp(443), 'interface endpoints of the lgwan zone (SSM for the signing key)');
    this.sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (bundle, OS packages)');
    Tags.of(this.sg).add(ROLE_TAG, SCREEN_BROKER_ROLE);

    const env = [
      `BROKER_ISSUER=${si.issuer}`,
      `BROKER_CLIENT_ID=${si.clientId}`,
      ...(si.clientSecretParameter ? [`BROKER_CLIENT_SECRET_PARAMETER=${si.clientSecretParameter}`] : []),
      `BROKER_KEY_PARAMETER=${si.signingKeyParameter}`,
      `BROKER_KEY_ID=${si.activeKeyId}`,
      `BROKER_PUBLIC_URL=${si.brokerUrl}`,
      `BROKER_USERNAME_CLAIM=${si.usernameClaim}`,
      ...(si.loginDomain ? [`BROKER_LOGIN_DOMAIN=${si.loginDomain}`] : []),
      `BROKER_TOKEN_ISSUER=${screenTokenIssuer(cfg, m.code)}`,
      `BROKER_AUDIENCE=${screenAudience(cfg, m.code)}`,
      `BROKER_TOKEN_TTL_SECONDS=${si.tokenTtlSeconds}`,
      `BROKER_SCREEN_URL=${si.screenUrl}`,
      'BROKER_ENGINE=dcv',
      'BROKER_PORT=443',
      'BROKER_TLS_CERT=/etc/three-tier-screen-broker/tls.crt',
      'BROKER_TLS_KEY=/etc/three-tier-screen-broker/tls.key',
      `AWS_REGION=${cfg.region}`,
    ];
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-screen-broker', cfg.region, ['openssl']),
      'install -d -m 0755 /etc/three-tier-screen-broker',
      // Self-signed until the municipality's internal CA issues a certificate for brokerUrl (replace both files, restart the unit).
      '[ -f /etc/three-tier-screen-broker/tls.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 397 -subj "/CN=$(hostname -f)" -keyout /etc/three-tier-screen-broker/tls.key -out /etc/three-tier-screen-broker/tls.crt',
      'chown three-tier-screen-broker /etc/three-tier-screen-broker/tls.key && chmod 0400 /etc/three-tier-screen-broker/tls.key',
      `cat > /etc/three-tier-screen-broker.env <<'ENV'\n${env.join('\n')}\nENV`,
      ...systemdServiceCommands('three-tier-screen-broker', 'Three-tier virtual browser sign-in broker (lgwan, crossing-free)', 'screen-broker.js', ['AmbientCapabilities=CAP_NET_BIND_SERVICE']),
    );
    this.hosts = hostGroup(this, {
      vpc: lgwan.zoneVpc.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      role,
      securityGroup: this.sg,
      userData,
      instanceTypes: cfg.sanitizer.instanceTypes,
      minHosts: 1,
      maxHosts: 2,
      volumeGb: 8,
      availabilityZones: cfg.availabilityZones,
    }).group;
    Tags.of(this.hosts).add(ROLE_TAG, SCREEN_BROKER_ROLE);
  }
}
