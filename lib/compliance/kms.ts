import { aws_iam as iam, aws_kms as kms } from 'aws-cdk-lib';

/**
 * Only AWS services may create grants on a project key (Control Tower
 * CT.KMS.PR.3): deny kms:CreateGrant unless the grant is for an AWS resource
 * or the caller is an AWS service.
 */
export function denyGrantsExceptForAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
}
