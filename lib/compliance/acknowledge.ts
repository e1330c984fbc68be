import { IConstruct } from 'constructs';
import { App, Stack, Stage, Validations } from 'aws-cdk-lib';

/**
 * Acknowledges one rule on one resource, with a reason a reviewer can read.
 * Never call this on a Stack or the App: acknowledgements are per resource.
 * The acknowledgement shows up in cdk.out/validation-report.json.
 */
export function acknowledge(resource: IConstruct, id: string, reason: string): void {
  if (Stack.isStack(resource) || App.isApp(resource) || Stage.isStage(resource)) {
    throw new Error(`acknowledgement of ${id} on ${resource.node.path}: acknowledge per resource, never per stack or app`);
  }
  if (reason.trim().length < 20) {
    throw new Error(`acknowledgement of ${id} on ${resource.node.path} needs a real reason (got "${reason}")`);
  }
  Validations.of(resource).acknowledge({ id, reason });
}

/** Rule ids of the Control Tower proactive controls as the cfn-guard plugin names them. */
export function controlTower(ruleName: string): string {
  return `cdk-validator-cfnguard::${ruleName}`;
}
