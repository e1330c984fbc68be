import { createHash } from 'crypto';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';

const PACKAGE_DIR = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
export const CONTROL_TOWER_RULES_DIR = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');
const TYPE_RE = /["'/^](AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)["'$/]/g;
/** Bump when what the cache stores changes. */
const CACHE_FORMAT = '1';

function listGuardFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listGuardFiles(p) : e.name.endsWith('.guard') ? [p] : [];
  });
}

interface RuleFileInfo {
  file: string;
  types: Set<string>;
  hash: string;
}
let ruleIndex: RuleFileInfo[] | undefined;
function index(): RuleFileInfo[] {
  ruleIndex ??= listGuardFiles(CONTROL_TOWER_RULES_DIR).map((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return { file, types: new Set([...text.matchAll(TYPE_RE)].map((m) => m[1])), hash: createHash('sha256').update(text).digest('hex') };
  });
  return ruleIndex;
}

function relevant(resourceTypes: Set<string>): RuleFileInfo[] {
  return index().filter((r) => r.types.size === 0 || [...r.types].some((t) => resourceTypes.has(t)));
}

/**
 * The Control Tower rule files that can apply to the given resource types.
 * A rule whose resource type is absent from a template can only SKIP there, so
 * leaving it out changes no verdict. Files that name no type are kept.
 */
export function relevantControlTowerRules(resourceTypes: Set<string>): string[] {
  return relevant(resourceTypes).map((r) => r.file);
}

export function templateResourceTypes(templatePaths: readonly string[]): Set<string> {
  const types = new Set<string>();
  for (const t of templatePaths) {
    const doc = JSON.parse(fs.readFileSync(t, 'utf8')) as { Resources?: Record<string, { Type?: string }> };
    for (const r of Object.values(doc.Resources ?? {})) if (r.Type) types.add(r.Type);
  }
  return types;
}

// ---------------------------------------------------------------------------
// The Guard evaluator: the WebAssembly build of AWS's CloudFormation validation
// engine that aws-cdk-lib itself ships and runs on every synth
// (`@aws/cloudformation-validate`, bundled inside aws-cdk-lib). Loading the
// very copy aws-cdk-lib loads means the module is compiled once per process.

interface GuardDiagnostic {
  ruleId: string;
  source?: string;
  message: string;
  ruleDescription?: string;
  propertyPath?: string;
  entity?: { logicalId?: string; entityType?: string };
}
interface CfnValidateModule {
  version(): string;
  CelEngine: new (config: { guardRules: unknown[] }) => {
    validateTemplate(template: unknown, config: { disableBuiltinRules: boolean }): { diagnostics: GuardDiagnostic[] };
    free(): void;
  };
  RuleFile: new (path: string) => unknown;
  TemplateContent: new (content: Uint8Array, name: string) => unknown;
}
let engineModule: CfnValidateModule | undefined;
function cfnValidate(): CfnValidateModule {
  // Required from aws-cdk-lib's own location, so it is the module aws-cdk-lib's
  // built-in validation uses (one compiled WebAssembly module per process).
  engineModule ??= createRequire(require.resolve('aws-cdk-lib/package.json'))('@aws/cloudformation-validate') as CfnValidateModule;
  return engineModule;
}

type Engine = InstanceType<CfnValidateModule['CelEngine']>;
const engines = new Map<string, Engine>();
function engineFor(rules: RuleFileInfo[]): Engine {
  const key = rules.map((r) => r.hash).sort().join(',');
  let e = engines.get(key);
  if (!e) {
    const m = cfnValidate();
    e = new m.CelEngine({ guardRules: rules.map((r) => new m.RuleFile(r.file)) });
    engines.set(key, e);
  }
  return e;
}

/** What is kept of a finding, in the cache and in the report. */
interface Finding {
  ruleId: string;
  logicalId: string;
  location: string;
  description: string;
  fix: string;
}

function cacheDir(): string | undefined {
  const env = process.env.THREE_TIER_GUARD_CACHE;
  if (env === 'off' || env === '0') return undefined;
  if (env) return env;
  const nm = PACKAGE_DIR.slice(0, PACKAGE_DIR.lastIndexOf(`${path.sep}node_modules${path.sep}`) + `${path.sep}node_modules`.length);
  return path.join(nm, '.cache', 'three-tier-guard');
}

function readCache(dir: string, key: string): Finding[] | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, key.slice(0, 2), `${key}.json`), 'utf8')) as Finding[];
  } catch {
    return undefined;
  }
}

function writeCache(dir: string, key: string, findings: Finding[]): void {
  try {
    const d = path.join(dir, key.slice(0, 2));
    fs.mkdirSync(d, { recursive: true });
    const tmp = path.join(d, `${key}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(findings));
    fs.renameSync(tmp, path.join(d, `${key}.json`));
  } catch {
    // A cache that cannot be written only costs time.
  }
}

/** The rule's `<< >>` message as the upstream plugin reads it: the [FIX] line, and the last other line. */
function messageOf(d: GuardDiagnostic): { description: string; fix: string } {
  let description: string | undefined;
  let fix: string | undefined;
  for (const line of (d.ruleDescription ?? '').split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (line.startsWith('[FIX]')) fix = line.replace(/^\[FIX\]:\s*/, '');
    else description = line;
  }
  return { description: description ?? d.message, fix: fix ?? (d.ruleDescription?.trim() || 'N/A') };
}

function evaluate(engine: Engine, templatePath: string, bytes: Buffer): Finding[] {
  const m = cfnValidate();
  let diagnostics: GuardDiagnostic[];
  try {
    diagnostics = engine.validateTemplate(new m.TemplateContent(new Uint8Array(bytes), templatePath), { disableBuiltinRules: true }).diagnostics;
  } catch (e) {
    // Fail closed: a template the evaluator cannot read is not "compliant".
    throw new Error(`Control Tower controls: the Guard evaluator failed on ${templatePath}: ${(e as Error).message}`);
  }
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const d of diagnostics) {
    if (d.source !== 'GUARD') continue;
    const logicalId = d.entity?.logicalId ?? '';
    const section = !d.entity || d.entity.entityType === 'Resource' ? 'Resources' : `${d.entity.entityType}s`;
    const location = `/${section}/${logicalId}${d.propertyPath ? `/${d.propertyPath.split('.').join('/')}` : ''}`;
    const key = `${d.ruleId}\0${logicalId}\0${location}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ruleId: d.ruleId, logicalId, location, ...messageOf(d) });
  }
  return out;
}

/**
 * The AWS Control Tower proactive controls: every `CT.*` Guard rule file
 * bundled with @cdklabs/cdk-validator-cfnguard, unchanged, evaluated by the
 * Guard evaluator in AWS's CloudFormation validation engine (the WebAssembly
 * build aws-cdk-lib ships) instead of that plugin's cfn-guard 3.1.1 binary.
 * The binary is a static musl build: on this project's templates about three
 * quarters of its time went to the allocator and to unmapping memory, and the
 * evaluator reports the same findings in a fifth of the time
 * (test/rulebooks.test.ts compares the two on a broken assembly).
 *
 * Each template is evaluated with the rule files whose resource types it holds
 * (a rule can only SKIP on a template without them). Findings are cached on
 * disk by the engine version, those rule files' contents and the template's
 * bytes (`node_modules/.cache/three-tier-guard`; THREE_TIER_GUARD_CACHE=off
 * disables it, =<dir> moves it), so an unchanged template is not evaluated
 * again. The report has the upstream plugin's name and shape, so
 * acknowledgements read `cdk-validator-cfnguard::<rule>`.
 */
export class ControlTowerChecks implements IPolicyValidationPlugin {
  /**
   * `all` evaluates every rule file on every template: slower, the same
   * findings (a test holds the two side by side).
   */
  constructor(private readonly opts: { ruleSelection?: 'relevant' | 'all' } = {}) {}
  readonly name = 'cdk-validator-cfnguard';
  readonly version: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  readonly ruleIds = index().map((r) => path.basename(r.file, '.guard').replace('ct-', '').replace(/-/g, ''));

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const templates = context.templatePaths.map((file) => {
      const bytes = fs.readFileSync(file);
      const doc = JSON.parse(bytes.toString('utf8')) as { Resources?: Record<string, { Type?: string }> };
      const types = new Set<string>();
      for (const r of Object.values(doc.Resources ?? {})) if (r?.Type) types.add(r.Type);
      return { file, bytes, types };
    });
    const union = new Set(templates.flatMap((t) => [...t.types]));
    const all = this.opts.ruleSelection === 'all';
    const rules = all ? index() : relevant(union);
    const dir = cacheDir();
    const engineVersion = cfnValidate().version();
    let engine: Engine | undefined;
    const violations: PolicyViolation[] = [];
    for (const t of templates) {
      const mine = all ? rules : rules.filter((r) => r.types.size === 0 || [...r.types].some((x) => t.types.has(x)));
      if (mine.length === 0) continue;
      const key = createHash('sha256')
        .update(`${CACHE_FORMAT}\0${engineVersion}\0${mine.map((r) => r.hash).sort().join(',')}\0`)
        .update(t.bytes)
        .digest('hex');
      let findings = dir ? readCache(dir, key) : undefined;
      if (!findings) {
        engine ??= engineFor(rules);
        findings = evaluate(engine, t.file, t.bytes);
        if (dir) writeCache(dir, key, findings);
      }
      // One violation per rule, template and fix, as the upstream plugin reports them.
      const groups = new Map<string, { f: Finding; resources: Map<string, string[]> }>();
      for (const f of findings) {
        const g = groups.get(`${f.ruleId}\0${f.fix}`) ?? { f, resources: new Map<string, string[]>() };
        groups.set(`${f.ruleId}\0${f.fix}`, g);
        g.resources.set(f.logicalId, [...(g.resources.get(f.logicalId) ?? []), f.location]);
      }
      for (const { f, resources } of groups.values()) {
        violations.push({
          ruleName: f.ruleId,
          description: f.description,
          fix: f.fix,
          // Every Control Tower control is an error here. CDK recomputes a
          // report's success after acknowledgements as "no violation has
          // severity error", so an unset severity would let findings pass.
          severity: 'error',
          ruleMetadata: { DocumentationUrl: 'https://github.com/cdklabs/cdk-validator-cfnguard#bundled-control-tower-rules' },
          violatingResources: [...resources].map(([resourceLogicalId, locations]) => ({ resourceLogicalId, templatePath: t.file, locations })),
        });
      }
    }
    return { success: violations.length === 0, violations };
  }
}
