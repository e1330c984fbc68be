import { Construct } from 'constructs';
import { Aws, Duration, Tags, aws_autoscaling as asg, aws_ec2 as ec2, aws_iam as iam, aws_sqs as sqs } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { channelHosts } from '../../config/updates';
import { acknowledge } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { logArchiveBucketName, updatesBucketName } from '../core/naming';
import { ROLE_TAG } from '../core/tags';
import type { ZoneStack } from '../network/zone-stack';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { bundledService, installServiceCommands, s3PrefixListPeer, systemdServiceCommands } from './bundle';
import { inboundEventQueue, sanitizerBucketName } from './sanitizer';

/**
 * The updates feed of one municipality (issue #19):
 * - UpdatesFetch (internet, X7 out, X2-like objects in): a small host group
 *   polls each channel through the security cloud and writes new artefacts
 *   into the inbound bucket under updates/<channel>/;
 * - UpdatesPublisher (transfer): the queue of those object-created events and
 *   the verify-and-publish hosts, which write the updates bucket (X6) or the
 *   quarantine, and audit records into the log archive;
 * - UpdatesMirror (lgwan, mynumber): an HTTPS mirror of the updates bucket,
 *   read through the tier's S3 endpoint, for that tier's office segments only.
 * One bundle (bin/updates.ts) runs as three systemd units.
 */

const SOURCES = ['lib/updates', 'config/updates.ts'];
export const FETCH_ROLE = 'updates-fetch';
export const PUBLISHER_ROLE = 'updates-publisher';
export const MIRROR_ROLE = 'updates-mirror';

function channelsFileCommands(cfg: ThreeTierConfig): string[] {
  return ['install -d -m 0755 /etc/three-tier-updates', `cat > /etc/three-tier-updates/channels.json <<'JSON'\n${JSON.stringify(cfg.updates.channels, null, 1)}\nJSON`];
}

export class UpdatesFetch extends Construct {
  readonly hosts: asg.AutoScalingGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(internet: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality }) {
    super(internet, id);
    const cfg = props.config;
    const code = props.municipality.code;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const inbound = sanitizerBucketName(cfg.name, code, 'inbound', account, cfg.region);
    const role = ssmHostRole(this, 'Role', `Updates fetch hosts of ${code}: SSM, write new artefacts into the inbound bucket under updates/`);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'HandOverToTransfer', actions: ['s3:PutObject'], resources: [`arn:${Aws.PARTITION}:s3:::${inbound}/updates/*`] }));
    const bundle = bundledService(this, 'Bundle', 'bin/updates.ts', 'updates.js', SOURCES);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Bundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${cfg.name}-${code}-inbound-<AWS::AccountId>-${cfg.region}/updates/*]`, 'New artefacts of every channel of this municipality, under updates/<channel>/<vendor file name>; the file names are the vendors\', unknown in advance.');
    const hosts = channelHosts(cfg.updates);
    this.securityGroup = new ec2.SecurityGroup(this, 'Sg', { vpc: internet.zoneVpc.vpc, description: `Updates fetch: no inbound; HTTPS out through the security cloud (${hosts.join(', ') || 'no channels'}) and to S3`, allowAllOutbound: false });
    // The vendors' addresses change; the security cloud's firewall pins the names (TLS SNI) and inspects the flows.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the channels\' hosts through the security cloud, and to S3 through the gateway endpoint');
    Tags.of(this.securityGroup).add(ROLE_TAG, FETCH_ROLE);
    const env = [`UPDATES_CHANNELS_FILE=/etc/three-tier-updates/channels.json`, `UPDATES_INBOUND_BUCKET=${inbound}`, 'UPDATES_STATE_FILE=/var/lib/three-tier-updates-fetch/state.json', `AWS_REGION=${cfg.region}`];
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-updates-fetch', cfg.region),
      ...channelsFileCommands(cfg),
      `cat > /etc/three-tier-updates-fetch.env <<'ENV'\n${env.join('\n')}\nENV`,
      ...systemdServiceCommands('three-tier-updates-fetch', 'Three-tier updates feed: fetch (internet, crossing X7)', 'updates.js fetch', ['StateDirectory=three-tier-updates-fetch', 'MemoryMax=2G']),
    );
    this.hosts = hostGroup(this, {
      vpc: internet.zoneVpc.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      role,
      securityGroup: this.securityGroup,
      userData,
      instanceTypes: cfg.updates.fetch.instanceTypes,
      minHosts: 1,
      maxHosts: 1,
      volumeGb: 16,
      availabilityZones: cfg.availabilityZones,
    }).group;
    Tags.of(this.hosts).add(ROLE_TAG, FETCH_ROLE);
  }
}

export class UpdatesPublisher extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly role: iam.Role;
  readonly hosts: asg.AutoScalingGroup;

  constructor(transfer: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality }) {
    super(transfer, id);
    const cfg = props.config;
    const code = props.municipality.code;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const inbound = sanitizerBucketName(cfg.name, code, 'inbound', account, cfg.region);
    const quarantine = sanitizerBucketName(cfg.name, code, 'quarantine', account, cfg.region);
    const updates = updatesBucketName(cfg.name, code, account, cfg.region);
    const archive = logArchiveBucketName(cfg.name, account, cfg.region);
    ({ queue: this.queue, deadLetters: this.deadLetters } = inboundEventQueue(this, { config: cfg, code, name: 'updates', visibility: Duration.minutes(10), maxReceiveCount: 5, sid: 'InboundBucketUpdateEvents' }));
    this.role = ssmHostRole(this, 'Role', `Updates verify-and-publish hosts of ${code}: SSM, read updates/ of the inbound bucket, write the updates bucket, quarantine and audit records`);
    const s3 = (b: string, p: string) => `arn:${Aws.PARTITION}:s3:::${b}/${p}`;
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadHandedOver', actions: ['s3:GetObject'], resources: [s3(inbound, 'updates/*')] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'Publish', actions: ['s3:GetObject', 's3:PutObject'], resources: [s3(updates, '*')] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'Quarantine', actions: ['s3:PutObject'], resources: [s3(quarantine, 'updates/*')] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'AuditRecords', actions: ['s3:PutObject'], resources: [s3(archive, `updates-audit/${code}/*`)] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ArchiveKey', actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], resources: [`arn:${Aws.PARTITION}:kms:${cfg.region}:${account}:key/*`], conditions: { StringEquals: { 'kms:ViaService': `s3.${cfg.region}.amazonaws.com` } } }));
    const bundle = bundledService(this, 'Bundle', 'bin/updates.ts', 'updates.js', SOURCES);
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'Bundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    this.queue.grantConsumeMessages(this.role);
    const policy = this.role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!;
    const lit = (b: string) => b.replace(account, '<AWS::AccountId>');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${lit(inbound)}/updates/*]`, 'Artefacts handed over by the fetch service, under updates/<channel>/<vendor file name>.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${lit(updates)}/*]`, 'The updates bucket of this municipality: <channel>/<vendor file name> and each channel\'s index.json.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${lit(quarantine)}/updates/*]`, 'Quarantined artefacts, under updates/<channel>/ of the quarantine bucket.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${lit(archive)}/updates-audit/${code}/*]`, 'Audit records of this municipality\'s updates feed, one object per artefact.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${cfg.region}:<AWS::AccountId>:key/*]`, 'The log archive key, used only through S3 in this region (kms:ViaService); naming it would tie this stack to the archive stack\'s key id.');
    const sg = new ec2.SecurityGroup(this, 'HostsSg', { vpc: transfer.zoneVpc.vpc, description: 'Updates verify-and-publish hosts: no inbound; HTTPS to the transfer zone endpoints and S3 only', allowAllOutbound: false });
    sg.addEgressRule(ec2.Peer.ipv4(props.municipality.cidrs.transfer), ec2.Port.tcp(443), 'interface endpoints of the transfer zone');
    sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');
    const env = [
      'UPDATES_CHANNELS_FILE=/etc/three-tier-updates/channels.json',
      `UPDATES_QUEUE_URL=${this.queue.queueUrl}`,
      `UPDATES_BUCKET=${updates}`,
      `UPDATES_QUARANTINE_BUCKET=${quarantine}`,
      `UPDATES_AUDIT_BUCKET=${archive}`,
      `UPDATES_AUDIT_PREFIX=updates-audit/${code}/`,
      `AWS_REGION=${cfg.region}`,
    ];
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-updates-publish', cfg.region),
      // Authenticode channels need osslsigncode. Without it their artefacts fail verification and stay unpublished (fail closed); docs/updates.en.md says how to provide it.
      'dnf install -y osslsigncode || echo "osslsigncode is not available: authenticode channels stay unpublished until it is installed" >&2',
      ...channelsFileCommands(cfg),
      `cat > /etc/three-tier-updates-publish.env <<'ENV'\n${env.join('\n')}\nENV`,
      ...systemdServiceCommands('three-tier-updates-publish', 'Three-tier updates feed: verify and publish (transfer, crossing X6)', 'updates.js publish', ['MemoryMax=3G']),
    );
    this.hosts = hostGroup(this, {
      vpc: transfer.zoneVpc.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      role: this.role,
      securityGroup: sg,
      userData,
      instanceTypes: cfg.sanitizer.instanceTypes,
      minHosts: 1,
      maxHosts: 1,
      volumeGb: 16,
      availabilityZones: cfg.availabilityZones,
    }).group;
    Tags.of(this.hosts).add(ROLE_TAG, PUBLISHER_ROLE);
  }
}

export class UpdatesMirror extends Construct {
  readonly hosts: asg.AutoScalingGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(tier: ZoneStack, id: string, props: { config: ThreeTierConfig; municipality: Municipality; zone: 'lgwan' | 'mynumber' }) {
    super(tier, id);
    const cfg = props.config;
    const m = props.municipality;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const bucket = updatesBucketName(cfg.name, m.code, account, cfg.region);
    const role = ssmHostRole(this, 'Role', `Updates mirror of ${m.code} in ${props.zone}: SSM, read the updates bucket`);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadUpdates', actions: ['s3:GetObject'], resources: [`arn:${Aws.PARTITION}:s3:::${bucket}/*`] }));
    const bundle = bundledService(this, 'Bundle', 'bin/updates.ts', 'updates.js', SOURCES);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Bundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    acknowledge(role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${cfg.name}-${m.code}-updates-<AWS::AccountId>-${cfg.region}/*]`, 'Everything the verifier published for this municipality (<channel>/<file>, index.json); read only.');
    const office = m.terminals[props.zone]?.officeCidrs ?? [];
    const sources = office.length ? office : [m.cidrs[props.zone]];
    this.securityGroup = new ec2.SecurityGroup(this, 'Sg', { vpc: tier.zoneVpc.vpc, description: `Updates mirror: HTTPS from ${props.zone} terminals and servers only; out to the ${props.zone} endpoints and S3`, allowAllOutbound: false });
    for (const s of sources) this.securityGroup.addIngressRule(ec2.Peer.ipv4(s), ec2.Port.tcp(443), `updates mirror from ${s === m.cidrs[props.zone] ? `the ${props.zone} zone` : `${props.zone} terminals`}`);
    if (office.length) this.securityGroup.addIngressRule(ec2.Peer.ipv4(m.cidrs[props.zone]), ec2.Port.tcp(443), `updates mirror from servers of the ${props.zone} zone`);
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(m.cidrs[props.zone]), ec2.Port.tcp(443), `interface endpoints of the ${props.zone} zone`);
    this.securityGroup.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');
    Tags.of(this.securityGroup).add(ROLE_TAG, MIRROR_ROLE);
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-updates-mirror', cfg.region, ['openssl']),
      'install -d -m 0755 /etc/three-tier-updates-mirror',
      // Self-signed until the municipality's internal CA issues a certificate (replace both files, restart the unit; clients trust that CA).
      '[ -f /etc/three-tier-updates-mirror/tls.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 397 -subj "/CN=$(hostname -f)" -keyout /etc/three-tier-updates-mirror/tls.key -out /etc/three-tier-updates-mirror/tls.crt',
      'chown three-tier-updates-mirror /etc/three-tier-updates-mirror/tls.key && chmod 0400 /etc/three-tier-updates-mirror/tls.key',
      `cat > /etc/three-tier-updates-mirror.env <<'ENV'\nMIRROR_BUCKET=${bucket}\nMIRROR_PORT=443\nMIRROR_TLS_CERT=/etc/three-tier-updates-mirror/tls.crt\nMIRROR_TLS_KEY=/etc/three-tier-updates-mirror/tls.key\nAWS_REGION=${cfg.region}\nENV`,
      ...systemdServiceCommands('three-tier-updates-mirror', `Three-tier updates mirror (${props.zone}, crossing X6)`, 'updates.js mirror', ['AmbientCapabilities=CAP_NET_BIND_SERVICE']),
    );
    this.hosts = hostGroup(this, {
      vpc: tier.zoneVpc.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      role,
      securityGroup: this.securityGroup,
      userData,
      instanceTypes: cfg.sanitizer.instanceTypes,
      minHosts: 1,
      maxHosts: 2,
      volumeGb: 8,
      availabilityZones: cfg.availabilityZones,
    }).group;
    Tags.of(this.hosts).add(ROLE_TAG, MIRROR_ROLE);
  }
}

/** The tiers that get a mirror: lgwan always, mynumber when listed and its terminals are configured. */
export function mirrorTiers(cfg: ThreeTierConfig, m: Municipality): ('lgwan' | 'mynumber')[] {
  return cfg.updates.mirrorTiers.filter((z) => z === 'lgwan' || m.terminals.mynumber !== undefined);
}
