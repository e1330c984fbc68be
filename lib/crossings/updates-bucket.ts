import { Construct } from 'constructs';
import { Aws, Duration, aws_ec2 as ec2, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { updatesBucketName } from '../core/naming';
import { crossingBucket, denyUnlessEndpoints } from './crossing-bucket';

/**
 * X6: the distribution bucket of a municipality for signature databases and
 * application updates that the updates feed verified (lib/crossings/updates.ts).
 * It lives in `transfer`; only the transfer zone's S3 endpoint (and, when
 * given, only the verify-and-publish role) may write it, and only the
 * isolated zones' S3 endpoints (mynumber, lgwan, transfer) may read it. The
 * tiers' mirrors read it through their S3 gateway endpoint.
 */
export class UpdatesBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: { config: ThreeTierConfig; code: string; writerEndpoint: ec2.IGatewayVpcEndpoint; readerEndpoints: ec2.IGatewayVpcEndpoint[]; writerRoleArn?: string }) {
    super(scope, id);
    const cfg = props.config;
    const account = cfg.account ?? Aws.ACCOUNT_ID;
    this.bucket = crossingBucket(this, 'Bucket', {
      config: cfg,
      bucketName: updatesBucketName(cfg.name, props.code, account, cfg.region),
      logsPrefix: `buckets/${props.code}-updates/`,
      role: 'updates',
      crossing: 'X6',
      lifecycleRules: [{ id: 'old-versions', noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      noObjectLockReason: 'Update packages are replaced by newer sanitized versions; versioning keeps old ones for 90 days, and Object Lock would block that cleanup.',
      noEventsReason: 'Hosts pull updates in their maintenance window; no process reacts to individual objects.',
      accessLogsId: 'AccessLogs',
    });
    const all = [props.writerEndpoint, ...props.readerEndpoints].map((e) => e.vpcEndpointId);
    denyUnlessEndpoints(this.bucket, 'OnlyThroughTheZonesEndpoints', ['s3:*'], all);
    const writes = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl'];
    denyUnlessEndpoints(this.bucket, 'WritesOnlyFromTransfer', writes, props.writerEndpoint.vpcEndpointId);
    if (props.writerRoleArn) {
      // Only the verify-and-publish service writes, whatever other roles in transfer may be granted.
      this.bucket.addToResourcePolicy(new iam.PolicyStatement({ sid: 'WritesOnlyByPublisher', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: writes, resources: [this.bucket.arnForObjects('*')], conditions: { ArnNotEquals: { 'aws:PrincipalArn': props.writerRoleArn } } }));
    }
  }
}
