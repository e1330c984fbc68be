import { Construct } from 'constructs';
import { Tags, aws_ssm as ssm } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';

export const PATCH_GROUP_TAG = 'PatchGroup';

/**
 * X6 patching without internet: a Patch Manager baseline for Amazon Linux 2023
 * and a maintenance window that runs AWS-RunPatchBaseline on every host of
 * the zone (selected by its patch-group tag, which the stack puts on every
 * instance). Agents and package repositories are reached through the zone's
 * endpoints only (SSM interface endpoints, S3 gateway endpoint naming the
 * Amazon Linux repository buckets).
 */
export class ZonePatching extends Construct {
  readonly patchGroup: string;
  readonly baseline: ssm.CfnPatchBaseline;
  readonly window: ssm.CfnMaintenanceWindow;

  constructor(scope: Construct, id: string, props: { config: ThreeTierConfig; code: string; zone: string }) {
    super(scope, id);
    const p = props.config.patching;
    this.patchGroup = `${props.config.name}-${props.code}-${props.zone}`;
    // Every instance the zone's stack creates carries the group, so every host is covered.
    Tags.of(scope).add(PATCH_GROUP_TAG, this.patchGroup, { includeResourceTypes: ['AWS::EC2::Instance', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::EC2::LaunchTemplate'] });
    this.baseline = new ssm.CfnPatchBaseline(this, 'Baseline', {
      name: `${this.patchGroup}-al2023`,
      description: `Amazon Linux 2023 patches for the ${props.zone} zone of ${props.code}, approved ${p.approveAfterDays} days after release`,
      operatingSystem: 'AMAZON_LINUX_2023',
      patchGroups: [this.patchGroup],
      approvalRules: {
        patchRules: [
          {
            approveAfterDays: p.approveAfterDays,
            complianceLevel: 'CRITICAL',
            enableNonSecurity: false,
            patchFilterGroup: { patchFilters: [{ key: 'CLASSIFICATION', values: ['Security', 'Bugfix'] }, { key: 'SEVERITY', values: ['Critical', 'Important', 'Medium', 'Low'] }] },
          },
        ],
      },
    });
    this.window = new ssm.CfnMaintenanceWindow(this, 'Window', {
      name: `${this.patchGroup}-patching`,
      description: `Patch window of the ${props.zone} zone of ${props.code} (through VPC endpoints only)`,
      schedule: p.maintenanceWindow,
      duration: 3,
      cutoff: 1,
      allowUnassociatedTargets: false,
    });
    const target = new ssm.CfnMaintenanceWindowTarget(this, 'Target', {
      windowId: this.window.ref,
      resourceType: 'INSTANCE',
      targets: [{ key: `tag:${PATCH_GROUP_TAG}`, values: [this.patchGroup] }],
      name: 'zone-hosts',
    });
    new ssm.CfnMaintenanceWindowTask(this, 'Task', {
      windowId: this.window.ref,
      taskArn: 'AWS-RunPatchBaseline',
      taskType: 'RUN_COMMAND',
      priority: 1,
      maxConcurrency: '25%',
      maxErrors: '10%',
      targets: [{ key: 'WindowTargetIds', values: [target.ref] }],
      taskInvocationParameters: { maintenanceWindowRunCommandParameters: { parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] } } },
    });
  }
}
