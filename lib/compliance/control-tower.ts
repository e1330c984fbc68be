import { createHash } from 'crypto';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';
import { describeFiles, GuardDiagnostic, Pending, rulebookThread, runningRulebookThread } from './rulebook-threads';

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
// (`@aws/cloudformation-validate`, bundled inside aws-cdk-lib), in a worker
// thread of its own (lib/compliance/rulebook-threads.ts), so it runs while the
// other rulebooks run.

let engineVersionMemo: string | undefined;
/** The engine's version (its package's; the module's version() says the same), without loading it on this thread. */
export function engineVersion(): string {
  // Resolved from aws-cdk-lib's own location: the copy aws-cdk-lib's built-in validation uses.
  engineVersionMemo ??= (JSON.parse(fs.readFileSync(createRequire(require.resolve('aws-cdk-lib/package.json')).resolve('@aws/cloudformation-validate/package.json'), 'utf8')) as { version: string }).version;
  return engineVersionMemo;
}

/**
 * Starts the Guard thread now, so loading the engine overlaps with whatever
 * the process does until the synth validates. ControlTowerChecks calls it when
 * constructed; a CDK app run by the CDK CLI (which sets CDK_OUTDIR) calls it
 * when it loads this module, before it builds its constructs.
 */
export function startGuardEvaluator(): void {
  rulebookThread('guard');
}
if (process.env.CDK_OUTDIR) startGuardEvaluator();

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

/** The findings of the Guard rules in the engine's diagnostics, one per rule, resource and location. */
function findingsOf(diagnostics: GuardDiagnostic[]): Finding[] {
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

/** The rule files of a Guard engine, and the key that names that set (an engine is built once per key and thread). */
function engineKey(rules: RuleFileInfo[]): { key: string; rules: string[] } {
  return { key: rules.map((r) => r.hash).sort().join(','), rules: rules.map((r) => r.file) };
}

type Verdicts = { file: string; diagnostics: GuardDiagnostic[] }[];

/**
 * The verdicts of one Guard job shared by the Guard thread (`primary`) and
 * helper threads, each template exactly once:
 *   - the Guard thread's failure fails the evaluation (it names the template);
 *   - when the Guard thread answered every template, the helpers took none
 *     (one counter): nobody waits for them (a helper may still be busy with
 *     its own rulebook) and their empty answers are dropped;
 *   - a helper that fails (it may end on its own rulebook's job) is not the
 *     evaluation's failure: what it took and did not answer is evaluated again
 *     by the Guard thread (`rerun`), which fails the evaluation if it fails;
 *   - two verdicts for one template fail the evaluation.
 */
export function collectVerdicts(
  files: string[],
  primary: Pending<Verdicts>,
  helpers: Pending<Verdicts>[],
  rerun: (files: string[]) => Verdicts,
  describe: (file?: string) => string,
): Map<string, GuardDiagnostic[]> {
  const answers = new Map<string, GuardDiagnostic[]>();
  const add = (results: Verdicts): void => {
    for (const r of results) {
      if (!files.includes(r.file)) throw new Error(`${describe(r.file)}: a verdict for a template that was not asked for`);
      if (answers.has(r.file)) throw new Error(`${describe(r.file)}: two verdicts for one template`);
      answers.set(r.file, r.diagnostics);
    }
  };
  add(primary.wait());
  if (answers.size === files.length) {
    for (const h of helpers) h.abandon();
    return answers;
  }
  let helperFailed = false;
  for (const h of helpers) {
    let results: Verdicts;
    try {
      results = h.wait();
    } catch {
      helperFailed = true;
      continue;
    }
    add(results);
  }
  const missing = files.filter((f) => !answers.has(f));
  if (missing.length && helperFailed) add(rerun(missing));
  return answers;
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
  readonly name = 'cdk-validator-cfnguard';
  readonly version: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  readonly ruleIds = index().map((r) => path.basename(r.file, '.guard').replace('ct-', '').replace(/-/g, ''));

  /**
   * `ruleSelection: 'all'` evaluates every rule file on every template:
   * slower, the same findings (a test holds the two side by side).
   * `shareWithBuiltinValidation: false` keeps every template in the Guard
   * thread (tests compare the two).
   */
  constructor(private readonly opts: { ruleSelection?: 'relevant' | 'all'; shareWithBuiltinValidation?: boolean } = {}) {
    startGuardEvaluator();
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.start(context).wait();
  }

  /**
   * Hands the templates that are not in the verdict cache to the Guard thread
   * and returns at once; `wait()` blocks until the thread has answered and
   * returns the report (it throws, naming the template, if the evaluation
   * failed). RulebookScope starts it before the rulebooks that run on the
   * main thread.
   */
  start(context: IPolicyValidationContext): { wait(): PolicyValidationPluginReport } {
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
    const version = dir ? engineVersion() : '';
    const findings = new Map<string, Finding[]>();
    const misses: { file: string; bytes: Uint8Array; key: string }[] = [];
    for (const t of templates) {
      const mine = all ? rules : rules.filter((r) => r.types.size === 0 || [...r.types].some((x) => t.types.has(x)));
      if (mine.length === 0) continue;
      const key = createHash('sha256')
        .update(`${CACHE_FORMAT}\0${version}\0${mine.map((r) => r.hash).sort().join(',')}\0`)
        .update(t.bytes)
        .digest('hex');
      const cached = dir ? readCache(dir, key) : undefined;
      if (cached) findings.set(t.file, cached);
      else misses.push({ file: t.file, bytes: t.bytes, key });
    }
    // One engine with the rule files of every template here: a rule file whose
    // resource types a template lacks can only SKIP there.
    const pending = misses.length ? this.evaluate(rules, misses) : undefined;
    return {
      wait: () => {
        if (pending) {
          const answers = pending.wait();
          for (const m of misses) {
            const diagnostics = answers.get(m.file);
            if (!diagnostics) throw new Error(`Control Tower controls: the Guard evaluator returned no verdict for ${m.file}`);
            const f = findingsOf(diagnostics);
            findings.set(m.file, f);
            if (dir) writeCache(dir, m.key, f);
          }
        }
        return this.report(templates.map((t) => t.file), findings);
      },
    };
  }

  /**
   * Before the synth: has the threads that will evaluate the templates build
   * the Guard engine for the rule files these resource types select (the
   * types of the app's CloudFormation resources), while the app still
   * synthesizes. The templates' own types decide the rule files when they are
   * evaluated; if they select others, the engine is built then.
   */
  prepare(resourceTypes: Set<string>): void {
    const rules = this.opts.ruleSelection === 'all' ? index() : relevant(resourceTypes);
    const message = { type: 'guard-prepare' as const, ...engineKey(rules) };
    rulebookThread('guard').prepare(message);
    runningRulebookThread('cfn-validate')?.prepare(message);
  }

  /**
   * Hands the templates to the Guard thread and, when aws-cdk-lib's built-in
   * validation runs in its own thread, to that thread too: both take the
   * next template from one shared counter (largest first), so the thread
   * that is done with its own rulebook first takes what is left. Every
   * template gets exactly one verdict, or the evaluation fails.
   */
  private evaluate(rules: RuleFileInfo[], misses: { file: string; bytes: Uint8Array }[]): { wait(): Map<string, GuardDiagnostic[]> } {
    const templates = [...misses].sort((a, b) => b.bytes.length - a.bytes.length).map((m) => ({ file: m.file, bytes: m.bytes }));
    const describe = (file?: string): string => `Control Tower controls: the Guard evaluator failed on ${file ?? describeFiles(templates.map((m) => m.file))}`;
    const threads = [rulebookThread('guard')];
    const helper = templates.length > 1 && this.opts.shareWithBuiltinValidation !== false ? runningRulebookThread('cfn-validate') : undefined;
    if (helper) threads.push(helper);
    const engine = engineKey(rules);
    const job = { type: 'guard' as const, ...engine, templates, claim: threads.length > 1 ? new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT) : undefined };
    const [primary, ...helpers] = threads.map((t) => t.submit(job, describe));
    // A rerun goes to the Guard thread alone (a fresh one if it failed), without a counter.
    const rerun = (files: string[]) => rulebookThread('guard').submit({ type: 'guard', ...engine, templates: templates.filter((t) => files.includes(t.file)) }, describe).wait();
    return { wait: () => collectVerdicts(templates.map((t) => t.file), primary, helpers, rerun, describe) };
  }

  private report(files: string[], byTemplate: Map<string, Finding[]>): PolicyValidationPluginReport {
    const violations: PolicyViolation[] = [];
    for (const file of files) {
      const findings = byTemplate.get(file);
      if (!findings) continue;
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
          violatingResources: [...resources].map(([resourceLogicalId, locations]) => ({ resourceLogicalId, templatePath: file, locations })),
        });
      }
    }
    return { success: violations.length === 0, violations };
  }
}
