import * as fs from 'fs';
import * as path from 'path';
import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';

const PACKAGE_DIR = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
export const CONTROL_TOWER_RULES_DIR = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');
const PARALLEL_GUARD = path.join(__dirname, 'cfn-guard-parallel.js');
const TYPE_RE = /["'/^](AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)["'$/]/g;

function listGuardFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listGuardFiles(p) : e.name.endsWith('.guard') ? [p] : [];
  });
}

let ruleIndex: { file: string; types: Set<string> }[] | undefined;
function index(): { file: string; types: Set<string> }[] {
  ruleIndex ??= listGuardFiles(CONTROL_TOWER_RULES_DIR).map((file) => ({
    file,
    types: new Set([...fs.readFileSync(file, 'utf8').matchAll(TYPE_RE)].map((m) => m[1])),
  }));
  return ruleIndex;
}

/**
 * The Control Tower rule files that can apply to the given resource types.
 * A rule whose resource type is absent from every template can only SKIP, so
 * leaving it out changes no verdict. Files that name no type are kept.
 */
export function relevantControlTowerRules(resourceTypes: Set<string>): string[] {
  return index()
    .filter((r) => r.types.size === 0 || [...r.types].some((t) => resourceTypes.has(t)))
    .map((r) => r.file);
}

export function templateResourceTypes(templatePaths: readonly string[]): Set<string> {
  const types = new Set<string>();
  for (const t of templatePaths) {
    const doc = JSON.parse(fs.readFileSync(t, 'utf8')) as { Resources?: Record<string, { Type?: string }> };
    for (const r of Object.values(doc.Resources ?? {})) if (r.Type) types.add(r.Type);
  }
  return types;
}

/**
 * The AWS Control Tower proactive controls (all `CT.*` Guard rules bundled
 * with @cdklabs/cdk-validator-cfnguard), run by that plugin's own cfn-guard
 * binary and result parser. Two changes make it fit for hundreds of stacks:
 * it passes only the rule files whose resource types occur in the templates,
 * and it runs cfn-guard on one chunk of templates per core. The plugin name is
 * the upstream one, so acknowledgements read `cdk-validator-cfnguard::<rule>`.
 */
export class ControlTowerChecks implements IPolicyValidationPlugin {
  readonly name = 'cdk-validator-cfnguard';
  readonly version: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  readonly ruleIds = index().map((r) => path.basename(r.file, '.guard').replace('ct-', '').replace(/-/g, ''));

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const rules = relevantControlTowerRules(templateResourceTypes(context.templatePaths));
    const inner = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules });
    if (context.templatePaths.length > 1) {
      // The upstream plugin spawns `this.guard` with cfn-guard's arguments; the
      // wrapper takes the same arguments and fans the templates out per core.
      (inner as unknown as { guard: string }).guard = PARALLEL_GUARD;
    }
    const report = inner.validate(context);
    // The upstream plugin leaves `severity` unset. CDK recomputes a report's
    // success after applying acknowledgements as "no violation has severity
    // error", so an unset severity would let every unacknowledged finding
    // pass as soon as one finding of the plugin is acknowledged. Every
    // Control Tower control is an error here.
    return { ...report, violations: report.violations.map((v) => ({ ...v, severity: v.severity ?? 'error' })) };
  }
}
