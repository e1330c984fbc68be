import { Construct } from 'constructs';
import { Aws, Duration, RemovalPolicy, Tags, aws_ec2 as ec2, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { accessLogsBucketName, updatesBucketName } from '../core/naming';
import { CROSSING_TAG, ROLE_TAG } from '../core/tags';

/**
 * X6: the distribution bucket of a municipality for application updates that
 * passed the sanitizer. It lives in `transfer`; only the transfer zone's S3
 * endpoint may write it, and only the isolated zones' S3 endpoints
 * (mynumber, lgwan, transfer) may read it. Hosts fetch updates through their
 * S3 gateway endpoint, whose policy already names the project's buckets.
 */
export class UpdatesBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: { config: ThreeTierConfig; code: string; writerEndpoint: ec2.IGatewayVpcEndpoint; readerEndpoints: ec2.IGatewayVpcEndpoint[] }) {
    super(scope, id);
    const cfg = props.config;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: updatesBucketName(cfg.name, props.code, account, cfg.region),
      encryption: s3.BucketEncryption.KMS_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: s3.Bucket.fromBucketName(this, 'AccessLogs', accessLogsBucketName(cfg.name, account, cfg.region)),
      serverAccessLogsPrefix: `buckets/${props.code}-updates/`,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'old-versions', noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    Tags.of(this.bucket).add(ROLE_TAG, 'updates');
    Tags.of(this.bucket).add(CROSSING_TAG, 'X6');
    const all = [props.writerEndpoint, ...props.readerEndpoints].map((e) => e.vpcEndpointId);
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyThroughTheZonesEndpoints',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
        conditions: { StringNotEquals: { 'aws:SourceVpce': all } },
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'WritesOnlyFromTransfer',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { StringNotEquals: { 'aws:SourceVpce': props.writerEndpoint.vpcEndpointId } },
      }),
    );
    const cfn = this.bucket.node.defaultChild!;
    acknowledge(cfn, controlTower('s3_bucket_object_lock_enabled_check'), 'Update packages are replaced by newer sanitized versions; versioning keeps old ones for 90 days, and Object Lock would block that cleanup.');
    acknowledge(cfn, controlTower('s3_event_notifications_enabled_check'), 'Hosts pull updates in their maintenance window; no process reacts to individual objects.');
    acknowledge(cfn, controlTower('s3_bucket_logging_enabled_check'), 'Server access logging is on: it targets the project access-log bucket, named with Fn::Join on the account id, which this Guard rule cannot resolve (it accepts only literals or same-template references).');
    acknowledge(this.bucket, '@aws-cdk/aws-s3:accessLogsPolicyNotAdded', 'The access-log bucket lives in the log archive stack, whose policy admits logging.s3.amazonaws.com for the project\'s buckets in this account.');
  }
}
