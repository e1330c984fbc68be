import { Aws, aws_iam as iam } from 'aws-cdk-lib';

/**
 * Endpoint policies for the AWS API endpoints of a zone (crossing X6).
 * None of them is open to every principal and every resource: each names
 * this account as principal, and resources are scoped wherever the service
 * has resource-level permissions.
 */

export interface EndpointPolicyContext {
  readonly account: string;
  readonly region: string;
  /** Prefix of this project's bucket names, e.g. "pilot-" (config name plus dash). */
  readonly projectBucketPrefix: string;
}

function accountPrincipal(ctx: EndpointPolicyContext): iam.IPrincipal {
  return new iam.AccountPrincipal(ctx.account);
}

/** Interface endpoint services and the statements their policies allow. */
export function interfaceEndpointStatements(service: 'ssm' | 'ssmmessages' | 'ec2messages' | 'kms' | 'logs', ctx: EndpointPolicyContext): iam.PolicyStatement[] {
  const p = accountPrincipal(ctx);
  const region = ctx.region;
  switch (service) {
    case 'ssm':
      return [
        new iam.PolicyStatement({
          sid: 'ThisAccountSsm',
          principals: [p],
          actions: ['ssm:*'],
          resources: [
            `arn:${Aws.PARTITION}:ssm:${region}:${ctx.account}:*`,
            `arn:${Aws.PARTITION}:ssm:${region}::document/*`,
            `arn:${Aws.PARTITION}:ssm:${region}::parameter/aws/*`,
            `arn:${Aws.PARTITION}:ssm:${region}:*:patchbaseline/*`,
            `arn:${Aws.PARTITION}:ec2:${region}:${ctx.account}:instance/*`,
          ],
        }),
      ];
    case 'ssmmessages':
    case 'ec2messages':
      // These APIs have no resource types (IAM requires "*"); the principal is pinned to this account.
      return [
        new iam.PolicyStatement({
          sid: `ThisAccount${service === 'ssmmessages' ? 'SsmMessages' : 'Ec2Messages'}`,
          principals: [p],
          actions: [`${service}:*`],
          resources: ['*'],
        }),
      ];
    case 'kms':
      return [
        new iam.PolicyStatement({
          sid: 'ThisAccountKeys',
          principals: [p],
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*', 'kms:DescribeKey'],
          resources: [`arn:${Aws.PARTITION}:kms:${region}:${ctx.account}:key/*`],
        }),
      ];
    case 'logs':
      return [
        new iam.PolicyStatement({
          sid: 'ThisAccountLogs',
          principals: [p],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:DescribeLogGroups', 'logs:CreateLogGroup'],
          resources: [`arn:${Aws.PARTITION}:logs:${region}:${ctx.account}:log-group:*`],
        }),
      ];
  }
}

/**
 * The buckets that Amazon Linux package managers and the SSM agent read
 * (Patch Manager, Session Manager, Run Command). Named per region by AWS.
 * Sources: Amazon Linux 2023 / 2 repository docs and the SSM agent "S3
 * bucket permissions" reference.
 */
export function awsManagedRepositoryBuckets(region: string): string[] {
  return [
    `al2023-repos-${region}-de612dc2`,
    `amazonlinux-2-repos-${region}`,
    `amazonlinux.${region}.amazonaws.com`,
    `aws-ssm-${region}`,
    `aws-windows-downloads-${region}`,
    `amazon-ssm-${region}`,
    `amazon-ssm-packages-${region}`,
    `${region}-birdwatcher-prod`,
    `aws-ssm-distributor-file-${region}`,
    `aws-ssm-document-attachments-${region}`,
    `patch-baseline-snapshot-${region}`,
    `aws-patchmanager-macos-${region}`,
  ];
}

/** The S3 gateway endpoint policy: this project's buckets for this account, and the AWS repositories (read only). */
export function s3GatewayStatements(ctx: EndpointPolicyContext): iam.PolicyStatement[] {
  const repoObjects = awsManagedRepositoryBuckets(ctx.region).map((b) => `arn:${Aws.PARTITION}:s3:::${b}/*`);
  const projectBuckets = `arn:${Aws.PARTITION}:s3:::${ctx.projectBucketPrefix}*`;
  return [
    new iam.PolicyStatement({
      sid: 'ProjectBucketsThisAccount',
      principals: [accountPrincipal(ctx)],
      actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:ListBucket', 's3:GetBucketLocation', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [projectBuckets, `${projectBuckets}/*`],
      conditions: { StringEquals: { 'aws:ResourceAccount': ctx.account } },
    }),
    new iam.PolicyStatement({
      // Hosts fetch their service bundles (CDK file assets) from the bootstrap asset bucket of this account and region, read only.
      sid: 'CdkAssetsReadOnly',
      principals: [accountPrincipal(ctx)],
      actions: ['s3:GetObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::cdk-*-assets-${ctx.account}-${ctx.region}/*`],
      conditions: { StringEquals: { 'aws:ResourceAccount': ctx.account } },
    }),
    new iam.PolicyStatement({
      // Package managers fetch repository objects without AWS credentials, so
      // the principal must be "*"; the resources are the named AWS buckets only.
      sid: 'AwsRepositoriesReadOnly',
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:GetObject'],
      resources: repoObjects,
    }),
  ];
}
