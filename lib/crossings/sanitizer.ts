import { Construct } from 'constructs';
import {
  Aws,
  CfnElement,
  Duration,
  Tags,
  aws_autoscaling as asg,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_s3 as s3,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { acknowledge } from '../compliance/acknowledge';
import { hostGroup, ssmHostRole } from '../compliance/hosts';
import { logArchiveBucketName, pascal } from '../core/naming';
import { ROLE_TAG } from '../core/tags';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { crossingBucket, denyUnlessEndpoints } from './crossing-bucket';
import { bundledService, installServiceCommands, s3PrefixListPeer, systemdServiceCommands } from './bundle';
import type { ZoneStack } from '../network/zone-stack';
import type { MailSanitizer } from './mail';

/**
 * Crossing X2, the file sanitizer of one municipality, in `transfer`:
 * - inbound bucket: written only through the internet zone's S3 endpoint
 *   (virtual-browser downloads and uploads land under the user's prefix),
 *   read only by the sanitizer through the transfer endpoint;
 * - an SQS queue fed by the inbound bucket's object-created events, with a
 *   dead-letter queue, reached through an SQS endpoint in transfer;
 * - the sanitizer hosts: an auto-scaling group that scales on queue depth and
 *   runs the sanitizer as a systemd unit, fetched from a CDK asset through
 *   the S3 endpoint;
 * - sanitized bucket: written only by the sanitizer role through transfer,
 *   read only through lgwan's endpoint (the pickup page);
 * - quarantine bucket: originals kept for the retention period, transfer only.
 * All buckets are KMS-encrypted, TLS-only and pinned to their endpoints; audit
 * records go to the log archive (sanitizer-audit/<code>/).
 */
export interface SanitizerProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly internet: ZoneStack;
  readonly lgwan: ZoneStack;
  /** The mail sanitizer of X3 in the same zone: it shares the inbound (mail/) and quarantine buckets and the SQS endpoint. */
  readonly mail?: MailSanitizer;
  /** The updates feed's verify-and-publish service: its queue takes the inbound bucket's updates/ events, its role writes quarantine. */
  readonly updates?: { readonly queue: sqs.Queue; readonly deadLetters: sqs.Queue; readonly role: iam.Role };
}

export function sanitizerBucketName(config: string, code: string, what: 'inbound' | 'sanitized' | 'quarantine', account: string, region: string): string {
  return `${config}-${code}-${what}-${account}-${region}`;
}

/**
 * A queue of the inbound bucket's object-created events, with its dead-letter
 * queue (construct ids `Queue` and `DeadLetters` under scope). Names are
 * fixed so the bucket and the queue name each other by ARN without a
 * reference cycle.
 */
export function inboundEventQueue(scope: Construct, o: { config: ThreeTierConfig; code: string; name: string; visibility: Duration; maxReceiveCount: number; sid: string }): { queue: sqs.Queue; deadLetters: sqs.Queue } {
  const cfg = o.config;
  const account = cfg.account ?? Aws.ACCOUNT_ID;
  const queueName = `${cfg.name}-${o.code}-${o.name}`;
  const queueArn = `arn:${Aws.PARTITION}:sqs:${cfg.region}:${account}:${queueName}`;
  const deadLetters = new sqs.Queue(scope, 'DeadLetters', {
    queueName: `${queueName}-dead-letters`,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.BY_QUEUE, sourceQueues: [sqs.Queue.fromQueueArn(scope, 'Source', queueArn)] },
  });
  acknowledge(deadLetters.node.defaultChild!, 'AwsSolutions-SQS3', `This is the dead-letter queue of the ${o.name} queue.`);
  const queue = new sqs.Queue(scope, 'Queue', {
    queueName,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: o.visibility,
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: o.maxReceiveCount },
  });
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: o.sid,
      principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      // The bucket by its (fixed) name: a reference would make the bucket and this policy depend on each other.
      conditions: { ArnEquals: { 'aws:SourceArn': `arn:${Aws.PARTITION}:s3:::${sanitizerBucketName(cfg.name, o.code, 'inbound', account, cfg.region)}` }, StringEquals: { 'aws:SourceAccount': account } },
    }),
  );
  return { queue, deadLetters };
}

export class Sanitizer extends Construct {
  readonly inbound: s3.Bucket;
  readonly sanitized: s3.Bucket;
  readonly quarantine: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly hosts: asg.AutoScalingGroup;
  readonly role: iam.Role;

  constructor(transfer: ZoneStack, id: string, props: SanitizerProps) {
    super(transfer, id);
    const cfg = props.config;
    const code = props.municipality.code;
    const sz = cfg.sanitizer;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    const zone = transfer.zoneVpc;
    const transferS3 = zone.s3Endpoint.vpcEndpointId;
    const internetS3 = props.internet.zoneVpc.s3Endpoint.vpcEndpointId;
    const lgwanS3 = props.lgwan.zoneVpc.s3Endpoint.vpcEndpointId;

    const bucket = (what: 'inbound' | 'sanitized' | 'quarantine', days: number, noEventsReason?: string) =>
      crossingBucket(this, pascal(what), {
        config: cfg,
        bucketName: sanitizerBucketName(cfg.name, code, what, account, cfg.region),
        logsPrefix: `buckets/${code}-${what}/`,
        role: what,
        crossing: 'X2',
        lifecycleRules: [{ id: 'retention', expiration: Duration.days(days), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
        noObjectLockReason: `Files in transit through the sanitizer expire after ${days} days; Object Lock would keep them past that and block the cleanup. The audit records are in the log archive, which has Object Lock.`,
        noEventsReason,
      });
    this.inbound = bucket('inbound', sz.inboundRetentionDays);
    this.sanitized = bucket('sanitized', sz.sanitizedRetentionDays, 'Staff pick sanitized files up on the pickup page; nothing reacts to individual objects.');
    this.quarantine = bucket('quarantine', sz.quarantineRetentionDays, 'Quarantined originals are examined on request; nothing reacts to individual objects.');
    const writes = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:RestoreObject'];
    denyUnlessEndpoints(this.inbound, 'OnlyThroughInternetAndTransfer', ['s3:*'], [internetS3, transferS3]);
    denyUnlessEndpoints(this.inbound, 'WritesOnlyFromInternet', writes, [internetS3]);
    denyUnlessEndpoints(this.inbound, 'ReadsOnlyFromTransfer', ['s3:GetObject', 's3:GetObjectVersion'], [transferS3]);
    denyUnlessEndpoints(this.sanitized, 'OnlyThroughTransferAndLgwan', ['s3:*'], [transferS3, lgwanS3]);
    denyUnlessEndpoints(this.sanitized, 'WritesOnlyFromTransfer', writes, [transferS3]);
    denyUnlessEndpoints(this.sanitized, 'ReadsOnlyFromLgwan', ['s3:GetObject', 's3:GetObjectVersion'], [lgwanS3]);
    denyUnlessEndpoints(this.quarantine, 'OnlyThroughTransfer', ['s3:*'], [transferS3]);
    // Only the sanitizer role writes results, whatever other roles in transfer may be granted.
    this.role = ssmHostRole(this, 'Role', `Sanitizer hosts of ${code}: SSM, the X2 buckets and queue, audit records into the log archive`);
    for (const b of [this.sanitized, this.quarantine]) {
      // The quarantine also keeps the mail sanitizer's originals (mail/).
      const writers = b === this.quarantine && (props.mail || props.updates) ? [this.role.roleArn, ...(props.mail ? [props.mail.role.roleArn] : []), ...(props.updates ? [props.updates.role.roleArn] : [])] : this.role.roleArn;
      b.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'WritesOnlyBySanitizer',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: writes,
          resources: [b.arnForObjects('*')],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
        }),
      );
    }

    // The queue of object-created events (files under users/), and its dead letters.
    ({ queue: this.queue, deadLetters: this.deadLetters } = inboundEventQueue(this, { config: cfg, code, name: 'sanitizer', visibility: Duration.minutes(5), maxReceiveCount: 5, sid: 'InboundBucketEvents' }));
    // Notifications as a bucket property (no custom resource, no Lambda in the isolated zone).
    const inboundCfn = this.inbound.node.defaultChild as s3.CfnBucket;
    // Files under users/ go to the file sanitizer; mail under mail/ (X3) to the mail sanitizer.
    const prefix = (value: string) => ({ s3Key: { rules: [{ name: 'prefix', value }] } });
    inboundCfn.notificationConfiguration = {
      queueConfigurations: [
        { event: 's3:ObjectCreated:*', queue: this.queue.queueArn, filter: prefix('users/') },
        ...(props.mail ? [{ event: 's3:ObjectCreated:*', queue: props.mail.queue.queueArn, filter: prefix('mail/') }] : []),
        ...(props.updates ? [{ event: 's3:ObjectCreated:*', queue: props.updates.queue.queueArn, filter: prefix('updates/') }] : []),
      ],
    };
    for (const q of [this.queue, ...(props.mail ? [props.mail.queue] : []), ...(props.updates ? [props.updates.queue] : [])]) {
      const queuePolicy = q.node.tryFindChild('Policy');
      if (queuePolicy) inboundCfn.node.addDependency(queuePolicy);
    }

    // SQS endpoint in transfer, its policy naming this queue only.
    const sqsEndpoint = zone.vpc.addInterfaceEndpoint('Sqs', {
      service: ec2.InterfaceVpcEndpointAwsService.SQS,
      privateDnsEnabled: true,
      open: false,
      securityGroups: zone.endpointSecurityGroup ? [zone.endpointSecurityGroup] : undefined,
      subnets: { subnetGroupName: SUBNET_GROUPS.endpoints, availabilityZones: zone.endpointAzs.length ? zone.endpointAzs : undefined },
    });
    sqsEndpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ThisAccountSanitizerQueue',
        principals: [new iam.AccountPrincipal(account)],
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [this.queue.queueArn, this.deadLetters.queueArn, ...(props.mail ? [props.mail.queue.queueArn, props.mail.deadLetters.queueArn] : []), ...(props.updates ? [props.updates.queue.queueArn, props.updates.deadLetters.queueArn] : [])],
      }),
    );

    // The hosts.
    const archive = logArchiveBucketName(cfg.name, account, cfg.region);
    const bundle = bundledService(this, 'WorkerBundle', 'bin/sanitizer-worker.ts', 'sanitizer-worker.js');
    const objects = (b: s3.Bucket) => b.arnForObjects('*');
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadInbound', actions: ['s3:GetObject'], resources: [objects(this.inbound)] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteResults', actions: ['s3:PutObject'], resources: [objects(this.sanitized), objects(this.quarantine)] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'AuditRecords', actions: ['s3:PutObject'], resources: [`arn:${Aws.PARTITION}:s3:::${archive}/sanitizer-audit/${code}/*`] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'ArchiveKey', actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], resources: [`arn:${Aws.PARTITION}:kms:${cfg.region}:${account}:key/*`], conditions: { StringEquals: { 'kms:ViaService': `s3.${cfg.region}.amazonaws.com` } } }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'WorkerBundle', actions: ['s3:GetObject'], resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)] }));
    this.queue.grantConsumeMessages(this.role);
    const stack = transfer;
    const arnOf = (b: s3.Bucket) => `<${stack.getLogicalId(b.node.defaultChild as CfnElement)}.Arn>/*`;
    const policy = this.role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!;
    for (const b of [this.inbound, this.sanitized, this.quarantine]) {
      acknowledge(policy, `AwsSolutions-IAM5[Resource::${arnOf(b)}]`, `Objects of this municipality's own ${b === this.inbound ? 'inbound bucket (read: files to sanitize)' : b === this.sanitized ? 'sanitized bucket (write: results under the uploader\'s prefix)' : 'quarantine bucket (write: originals)'}; object keys are the users' file names, unknown in advance.`);
    }
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${cfg.name}-log-archive-${cfg.account ?? '<AWS::AccountId>'}-${cfg.region}/sanitizer-audit/${code}/*]`, 'Audit records of this municipality only, one object per file, under its own prefix of the log archive.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${cfg.region}:${cfg.account ?? '<AWS::AccountId>'}:key/*]`, 'The log archive key, used only through S3 in this region (kms:ViaService); naming it would tie this stack to the archive stack\'s key id.');
    const sg = new ec2.SecurityGroup(this, 'HostsSg', { vpc: zone.vpc, description: 'Sanitizer hosts: no inbound; HTTPS to the transfer zone endpoints only', allowAllOutbound: false });
    sg.addEgressRule(ec2.Peer.ipv4(props.municipality.cidrs.transfer), ec2.Port.tcp(443), 'interface endpoints of the transfer zone');
    // S3 is reached through the gateway endpoint, i.e. S3's addresses (the region's prefix list).
    sg.addEgressRule(s3PrefixListPeer(this, 'S3PrefixList', cfg.region), ec2.Port.tcp(443), 'S3 through the gateway endpoint (the S3 prefix list of the region)');
    const env = [
      `SANITIZER_QUEUE_URL=${this.queue.queueUrl}`,
      `SANITIZER_SANITIZED_BUCKET=${this.sanitized.bucketName}`,
      `SANITIZER_QUARANTINE_BUCKET=${this.quarantine.bucketName}`,
      `SANITIZER_AUDIT_BUCKET=${archive}`,
      `SANITIZER_AUDIT_PREFIX=sanitizer-audit/${code}/`,
      `AWS_REGION=${cfg.region}`,
      'AWS_USE_FIPS_ENDPOINT=false',
    ];
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...installServiceCommands(bundle, 'three-tier-sanitizer', cfg.region),
      `cat > /etc/three-tier-sanitizer.env <<'ENV'\n${env.join('\n')}\nENV`,
      ...systemdServiceCommands('three-tier-sanitizer', 'Three-tier file sanitizer (crossing X2)', 'sanitizer-worker.js', ['MemoryMax=3G']),
    );
    this.hosts = hostGroup(this, {
      vpc: zone.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.workload },
      role: this.role,
      securityGroup: sg,
      userData,
      instanceTypes: sz.instanceTypes,
      minHosts: sz.minHosts,
      maxHosts: sz.maxHosts,
      volumeGb: 16,
      availabilityZones: cfg.availabilityZones,
    }).group;
    Tags.of(this.hosts).add(ROLE_TAG, 'sanitizer');
    // Scale on queue depth: target tracking keeps the waiting files near 20 (more hosts when files pile up, fewer when idle).
    this.hosts.scaleToTrackMetric('QueueDepth', { metric: this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }), targetValue: 20 });
  }
}
