import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { NagMessageLevel, NagPack, NagPackProps, NagRuleCompliance } from 'cdk-nag';
import { CloudModel, readAssembly } from './model';
import { ISOLATION_RULES, RuleContext } from './rules';
import { ZoneIndex } from './zones';
import { INTENT_FILE } from './intent';
import { readIntentFile } from './intent-check';

/**
 * The ThreeTier isolation pack (cdk-nag 3). Every rule is ERROR level and is
 * evaluated on the synthesized templates of the whole app, so cross-stack
 * rules (a VPC's flow log, an endpoint's VPC) see what CloudFormation will see.
 */
export class ThreeTierIsolationChecks extends NagPack {
  readonly name = 'ThreeTier';
  private context?: { outdir: string; ctx: RuleContext };

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, { verbose: true, ...props });
    this.packName = 'ThreeTier';
  }

  private ruleContext(node: CfnResource): RuleContext {
    const outdir = (node.node.root as App).outdir;
    if (!this.context || this.context.outdir !== outdir) {
      let files;
      try {
        files = readAssembly(outdir);
      } catch (e) {
        throw new Error(`the ThreeTier pack reads the synthesized templates; run it after app.synth() (${(e as Error).message})`);
      }
      const model = new CloudModel(files.stacks);
      // The intent is written into the assembly before synthesis (app-builder); an app without one is checked as model α.
      const intentFile = path.join(outdir, INTENT_FILE);
      const intent = fs.existsSync(intentFile) ? readIntentFile(intentFile) : undefined;
      this.context = { outdir, ctx: { model, zones: new ZoneIndex(model), intent } };
    }
    return this.context.ctx;
  }

  protected checkResource(node: CfnResource): void {
    const rules = ISOLATION_RULES.filter((r) => r.types.includes(node.cfnResourceType));
    if (rules.length === 0) return;
    const ctx = this.ruleContext(node);
    const stack = Stack.of(node);
    const logicalId = stack.resolve(node.logicalId) as string;
    const ref = ctx.model.get(stack.artifactId, logicalId);
    if (!ref) return; // removed by an override: nothing to check
    for (const rule of rules) {
      const problems = rule.check(ref, ctx);
      this.applyRule({
        ruleSuffixOverride: rule.id.replace(/^ThreeTier-/, ''),
        // cdk-nag groups violations by rule, so the info stays generic; the
        // resource path says where, and check-isolation prints the detail.
        info: rule.info,
        explanation: rule.explanation,
        level: NagMessageLevel.ERROR,
        node,
        rule: () => (problems.length ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT),
      });
    }
  }
}
