import { Construct } from 'constructs';
import { Aws, RemovalPolicy, Tags, aws_iam as iam, aws_s3 as s3 } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { accessLogsBucketName } from '../core/naming';
import { CROSSING_TAG, ROLE_TAG } from '../core/tags';

/**
 * A bucket on a crossing (X2 inbound/sanitized/quarantine, X6 updates):
 * KMS-encrypted, TLS-only, versioned, private, access-logged to the project's
 * log bucket, retained, tagged with its role and crossing. Callers pin it to
 * endpoints with `denyUnlessEndpoints` and say why it needs no Object Lock.
 */
export interface CrossingBucketProps {
  readonly config: ThreeTierConfig;
  readonly bucketName: string;
  /** Prefix of its server access logs, e.g. `buckets/131016-inbound/`. */
  readonly logsPrefix: string;
  readonly role: string;
  /** The crossing it carries (tag ThreeTier:Crossing; the pack then requires endpoint pinning); omit for a zone's own bucket. */
  readonly crossing?: string;
  readonly lifecycleRules: s3.LifecycleRule[];
  readonly noObjectLockReason: string;
  /** Why nothing reacts to its object events (omit when something does). */
  readonly noEventsReason?: string;
  /** Construct id of the imported access-log bucket. */
  readonly accessLogsId?: string;
}

export function crossingBucket(scope: Construct, id: string, props: CrossingBucketProps): s3.Bucket {
  const cfg = props.config;
  const account = cfg.account ?? Aws.ACCOUNT_ID;
  const b = new s3.Bucket(scope, id, {
    bucketName: props.bucketName,
    encryption: s3.BucketEncryption.KMS_MANAGED,
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: s3.Bucket.fromBucketName(scope, props.accessLogsId ?? `${id}AccessLogs`, accessLogsBucketName(cfg.name, account, cfg.region)),
    serverAccessLogsPrefix: props.logsPrefix,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: props.lifecycleRules,
  });
  Tags.of(b).add(ROLE_TAG, props.role);
  if (props.crossing) Tags.of(b).add(CROSSING_TAG, props.crossing);
  const cfn = b.node.defaultChild!;
  acknowledge(cfn, controlTower('s3_bucket_logging_enabled_check'), 'Server access logging is on: it targets the project access-log bucket, named with Fn::Join on the account id, which this Guard rule cannot resolve (it accepts only literals or same-template references).');
  acknowledge(cfn, controlTower('s3_bucket_object_lock_enabled_check'), props.noObjectLockReason);
  if (props.noEventsReason) acknowledge(cfn, controlTower('s3_event_notifications_enabled_check'), props.noEventsReason);
  acknowledge(b, '@aws-cdk/aws-s3:accessLogsPolicyNotAdded', 'The access-log bucket lives in the log archive stack, whose policy admits logging.s3.amazonaws.com for the project\'s buckets in this account.');
  return b;
}

/** Denies `actions` on the bucket (or its objects) to every request that does not come through one of `vpces`. */
export function denyUnlessEndpoints(b: s3.Bucket, sid: string, actions: string[], vpces: string | string[]): void {
  b.addToResourcePolicy(
    new iam.PolicyStatement({
      sid,
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources: actions.includes('s3:*') ? [b.bucketArn, b.arnForObjects('*')] : [b.arnForObjects('*')],
      conditions: { StringNotEquals: { 'aws:SourceVpce': vpces } },
    }),
  );
}
