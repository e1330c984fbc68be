import { Construct } from 'constructs';
import {
  Aws,
  Duration,
  RemovalPolicy,
  Stack,
  StackProps,
  Tags,
  aws_iam as iam,
  aws_kms as kms,
  aws_s3 as s3,
} from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { modelOf } from '../../config/models';
import { denyGrantsExceptForAwsServices } from '../compliance/kms';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { accessLogsBucketName, logArchiveBucketName } from '../core/naming';
import { ROLE_TAG, tagZone } from '../core/tags';

export interface LogArchiveStackProps extends StackProps {
  readonly config: ThreeTierConfig;
}

/** Key prefix under which VPC flow logs land: `vpc-flow-logs/<code>/<zone>/`. */
export const FLOW_LOG_PREFIX = 'vpc-flow-logs';
/** Key prefix of the α′ proxies' access logs: `proxy-access/<code>/`, written by the proxy hosts themselves. */
export const PROXY_LOG_PREFIX = 'proxy-access';
/** Prefixes that AWS log delivery may write: VPC flow logs, Network Firewall logs, DNS query logs. */
export const LOG_DELIVERY_PREFIXES = [FLOW_LOG_PREFIX, 'network-firewall', 'dns-query-logs'];

/**
 * The log archive (DESIGN section 3, "Logs"): one KMS-encrypted, TLS-only,
 * versioned bucket with S3 Object Lock and a default retention from config.
 * Its name is deterministic so that every zone stack, in this account or
 * another, can deliver flow logs to it without cross-stack references.
 */
export class LogArchiveStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: LogArchiveStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const retention = Duration.days(cfg.logArchive.retentionDays);
    tagZone(this, cfg.name, 'security-cloud');

    // Accounts whose VPCs deliver flow logs here: the archive's, the security cloud's (hub and firewall logs) and the municipalities'.
    const scAccount = cfg.securityCloud.account ?? cfg.account;
    const sourceAccounts = [
      ...new Set([cfg.account ?? Aws.ACCOUNT_ID, ...(scAccount ? [scAccount] : []), ...cfg.municipalities.map((m) => m.account).filter((a): a is string => !!a)]),
    ];
    const logDelivery = new iam.ServicePrincipal('delivery.logs.amazonaws.com');
    // rollout.stackSets: deliveries on behalf of any account of the organization (a list of 1,741 accounts passes the 20 kB bucket policy limit).
    const orgId = cfg.rollout.stackSets?.organizationId;
    const fromSources = orgId ? { 'aws:SourceOrgID': orgId } : { 'aws:SourceAccount': sourceAccounts };

    this.key = new kms.Key(this, 'ArchiveKey', {
      description: `Three-tier ${cfg.name}: log archive encryption`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowVpcFlowLogDelivery',
        principals: [logDelivery],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: fromSources },
      }),
    );

    denyGrantsExceptForAwsServices(this.key);

    // Server access logs of the archive itself. S3 delivers access logs only to
    // SSE-S3 buckets without Object Lock default retention, hence the
    // acknowledgements below.
    this.accessLogs = new s3.Bucket(this, 'ArchiveAccessLogs', {
      bucketName: accessLogsBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region),
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: retention,
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    // Server access logs of the project's other buckets (e.g. the update distribution buckets) in this account.
    this.accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsFromProjectBuckets',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogs.arnForObjects('buckets/*')],
        conditions: { StringEquals: fromSources },
      }),
    );
    const accessLogsResource = this.accessLogs.node.defaultChild!;
    acknowledge(accessLogsResource, 'AwsSolutions-S1', 'This bucket receives the server access logs of the log archive; logging it to itself would loop.');
    acknowledge(accessLogsResource, controlTower('s3_bucket_logging_enabled_check'), 'This bucket is the server access log target of the log archive; logging it to itself would loop.');
    acknowledge(accessLogsResource, controlTower('s3_bucket_default_encryption_kms_check'), 'S3 server access logging can only deliver to buckets encrypted with SSE-S3, not SSE-KMS.');
    acknowledge(accessLogsResource, controlTower('s3_bucket_object_lock_enabled_check'), 'S3 server access logging cannot deliver to a bucket with an Object Lock default retention.');
    acknowledge(accessLogsResource, controlTower('s3_event_notifications_enabled_check'), 'Access logs are read by investigators on demand; nothing consumes per-object events from this bucket.');

    this.bucket = new s3.Bucket(this, 'Archive', {
      bucketName: logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        cfg.logArchive.objectLockMode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(retention)
          : s3.ObjectLockRetention.governance(retention),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'log-archive/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-after-retention',
          expiration: retention,
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    Tags.of(this.bucket).add(ROLE_TAG, 'log-archive');
    acknowledge(
      this.bucket.node.defaultChild!,
      controlTower('s3_event_notifications_enabled_check'),
      'The log archive is write-once evidence; the SOC reads it by query, and no process reacts to individual log objects.',
    );

    // VPC flow log delivery (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AWSLogDeliveryWrite',
        principals: [logDelivery],
        actions: ['s3:PutObject'],
        resources: LOG_DELIVERY_PREFIXES.map((p) => this.bucket.arnForObjects(`${p}/*`)),
        conditions: {
          StringEquals: { ...fromSources, 's3:x-amz-acl': 'bucket-owner-full-control' },
        },
      }),
    );
    // α′: the proxy hosts in the security cloud account write their access logs themselves. In the same
    // account their role suffices; from another account the bucket and its key must admit that account,
    // for this prefix only and through S3 only.
    const proxies = cfg.municipalities.some((m) => modelOf(cfg, m) === 'alpha-prime');
    if (proxies && scAccount && cfg.account && scAccount !== cfg.account) {
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ProxyAccessLogsFromTheSecurityCloud',
          principals: [new iam.AccountPrincipal(scAccount)],
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects(`${PROXY_LOG_PREFIX}/*`)],
        }),
      );
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ProxyAccessLogsKeyFromTheSecurityCloud',
          principals: [new iam.AccountPrincipal(scAccount)],
          actions: ['kms:GenerateDataKey', 'kms:Encrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${cfg.region}.amazonaws.com` } },
        }),
      );
    }
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AWSLogDeliveryAclCheck',
        principals: [logDelivery],
        actions: ['s3:GetBucketAcl', 's3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringEquals: fromSources },
      }),
    );
  }
}
