import * as fs from 'node:fs';
import { App, CloudFormationValidatePlugin, IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation, Stack } from 'aws-cdk-lib';
import type { NagPack } from 'cdk-nag';
import { ThreeTierConfig, ZONES } from '../../config/schema';
import { zoneStackName } from '../core/naming';
import { classify, ShapeClass, Template } from './shapes';
import { describeFiles, rulebookThread } from '../compliance/rulebook-threads';
import { engineVersion } from '../compliance/control-tower';

/**
 * Rulebooks once per shape (issue #17): AwsSolutions, the Control Tower
 * controls and aws-cdk-lib's built-in CloudFormation validation evaluate every
 * stack that is not a zone stack, and one zone stack of each shape. The zone
 * stacks of a shape differ only in their municipality's values, which the
 * config schema validates; a zone stack that differs in anything else has a
 * shape of its own and is evaluated itself (lib/scale/shapes.ts fails
 * closed). The ThreeTier pack and the path analyzer still see every stack.
 */
export class RulebookScope {
  private memo?: { key: string; selected: Set<string>; classes: ShapeClass[] };
  /** Work the rulebooks start before the first of them runs (see `prepare`). */
  private readonly ahead: ((context: IPolicyValidationContext) => void)[] = [];
  private preparedFor?: string;
  /** Seconds each rulebook took in the last synth, by plugin name (for `npm run bench`). */
  readonly seconds: Record<string, number> = {};

  /** Runs one rulebook and adds its time under its name. */
  time<T>(name: string, f: () => T): T {
    const t0 = process.hrtime.bigint();
    try {
      return f();
    } finally {
      this.seconds[name] = (this.seconds[name] ?? 0) + Number(process.hrtime.bigint() - t0) / 1e9;
    }
  }

  constructor(private readonly cfg: ThreeTierConfig) {}

  /**
   * Registers work to start as soon as the synth starts validating, before any
   * rulebook runs: the rulebooks that run in threads of their own (the Control
   * Tower controls, aws-cdk-lib's built-in validation) are handed their
   * templates then, and each plugin waits for its answer when aws-cdk-lib
   * calls it. aws-cdk-lib calls the plugins one after another and each answers
   * synchronously; started ahead, they run at the same time as each other and
   * as the rulebooks of the main thread. Each plugin still reports exactly
   * what it would have reported had it run when called.
   */
  runAhead(work: (context: IPolicyValidationContext) => void, opts: { first?: boolean } = {}): void {
    if (opts.first) this.ahead.unshift(work);
    else this.ahead.push(work);
  }

  /** Called by every plugin of this scope when it is called: the first call for a context starts the work registered ahead. */
  prepare(context: IPolicyValidationContext): void {
    const key = contextKey(context);
    if (this.preparedFor === key) return;
    this.preparedFor = key;
    for (const work of this.ahead) work(context);
  }

  /** The names of the stacks the rulebooks evaluate, out of `stacks` (name → template file). */
  select(stacks: ReadonlyMap<string, string>): Set<string> {
    const key = [...stacks.values()].join('\0');
    if (this.memo?.key === key) return this.memo.selected;
    const zoneStacks = new Set<string>();
    const complete = this.cfg.municipalities.filter((m) => {
      const names = ZONES.map((z) => zoneStackName(this.cfg.name, m.code, z));
      names.forEach((n) => zoneStacks.add(n));
      return names.every((n) => stacks.has(n));
    });
    const zoneOf = new Map<string, string>();
    const classes = classify(
      { ...this.cfg, municipalities: complete },
      (m) =>
        new Map(
          ZONES.map((z) => {
            const name = zoneStackName(this.cfg.name, m.code, z);
            zoneOf.set(name, z);
            return [name, JSON.parse(fs.readFileSync(stacks.get(name)!, 'utf8')) as Template] as const;
          }),
        ),
      (n) => zoneOf.get(n)!,
    );
    const selected = new Set([...stacks.keys()].filter((n) => !zoneStacks.has(n)));
    for (const c of classes) selected.add(c.members[0].stackName);
    // A municipality with a zone stack missing from this synth (not expected) is evaluated whole, not skipped.
    for (const n of stacks.keys()) if (zoneStacks.has(n) && !zoneOf.has(n)) selected.add(n);
    this.memo = { key, selected, classes };
    return selected;
  }

  /** After a synth: the stacks the rulebooks evaluated. */
  get selected(): ReadonlySet<string> | undefined {
    return this.memo?.selected;
  }

  /** After a synth: how many shapes the zone stacks have, and how many zone stacks there were. */
  get summary(): { shapes: number; zoneStacks: number } | undefined {
    if (!this.memo) return undefined;
    return { shapes: this.memo.classes.length, zoneStacks: this.memo.classes.reduce((a, c) => a + c.members.length, 0) };
  }

  /** The context narrowed to the selected stacks. */
  narrow(context: IPolicyValidationContext): IPolicyValidationContext {
    const byName = new Map(context.stackTemplates.map((s) => [stackNameOf(s.stackConstructPath), s.templatePath]));
    const selected = this.select(byName);
    const stackTemplates = context.stackTemplates.filter((s) => selected.has(stackNameOf(s.stackConstructPath)));
    return { ...context, stackTemplates, templatePaths: stackTemplates.map((s) => s.templatePath) };
  }
}

/** What a plugin is given, as a key: a report prepared ahead is used only for the context it was made for. */
function contextKey(context: IPolicyValidationContext): string {
  return JSON.stringify([context.templatePaths, context.stackTemplates?.map((s) => [s.stackConstructPath, s.templatePath, s.accountId, s.region])]);
}

/** Work started ahead for one context: `wait()` gives its report, or throws what starting or running it threw (when the plugin is called, as it would have). */
interface Started {
  key: string;
  wait: () => PolicyValidationPluginReport;
}
function startAhead(context: IPolicyValidationContext, start: () => { wait(): PolicyValidationPluginReport }): Started {
  const key = contextKey(context);
  try {
    const pending = start();
    return { key, wait: () => pending.wait() };
  } catch (e) {
    return {
      key,
      wait: () => {
        throw e;
      },
    };
  }
}
/** The started work for this context, once. */
function take(started: Started | undefined, context: IPolicyValidationContext): Started | undefined {
  return started?.key === contextKey(context) ? started : undefined;
}

/** A rulebook that can hand its work to another thread and report later (the Control Tower controls). */
interface StartablePlugin extends IPolicyValidationPlugin {
  start(context: IPolicyValidationContext): { wait(): PolicyValidationPluginReport };
}
function isStartable(p: IPolicyValidationPlugin): p is StartablePlugin {
  return typeof (p as Partial<StartablePlugin>).start === 'function';
}

/** Our stacks are children of the App, named by their id. */
function stackNameOf(constructPath: string): string {
  return constructPath.split('/').filter(Boolean).pop() ?? constructPath;
}

/**
 * A rulebook wrapped to run in a scope: it keeps the inner rulebook's name,
 * version and rule ids (so reports and acknowledgements read the same), and
 * each subclass says how it runs, timed under that name.
 */
abstract class WrappedPlugin implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor(inner: { name: string; version?: string; ruleIds?: string[] }, protected readonly scope: RulebookScope) {
    this.name = inner.name;
    this.version = inner.version;
    this.ruleIds = inner.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.scope.prepare(context);
    return this.scope.time(this.name, () => this.run(context));
  }

  protected abstract run(context: IPolicyValidationContext): PolicyValidationPluginReport;
}

/**
 * A template-based rulebook (e.g. the Control Tower controls) on the selected
 * stacks only. One that can run in another thread (`start`) is started before
 * the first rulebook runs and waited for when it is called; its seconds are
 * those the main thread spends on it (starting, waiting), not the other
 * thread's.
 */
export class ScopedPlugin extends WrappedPlugin {
  private started?: Started;

  constructor(private readonly inner: IPolicyValidationPlugin, scope: RulebookScope) {
    super(inner, scope);
    const startable = isStartable(inner) ? inner : undefined;
    if (startable) scope.runAhead((context) => (this.started = startAhead(context, () => this.scope.time(this.name, () => startable.start(this.scope.narrow(context))))));
  }

  protected run(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const started = take(this.started, context);
    this.started = undefined;
    return started ? started.wait() : this.inner.validate(this.scope.narrow(context));
  }
}

/** A rulebook that sees every stack, timed like the scoped ones. */
export class TimedPlugin extends WrappedPlugin {
  constructor(private readonly inner: IPolicyValidationPlugin, scope: RulebookScope) {
    super(inner, scope);
  }

  protected run(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.inner.validate(context);
  }
}

/** A cdk-nag pack (it walks the construct tree) on the selected stacks only. */
export class ScopedNagPack extends WrappedPlugin {
  constructor(private readonly pack: NagPack, scope: RulebookScope) {
    super(pack, scope);
  }

  protected run(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const narrowed = this.scope.narrow(context);
    const wanted = new Set(narrowed.stackTemplates.map((s) => stackNameOf(s.stackConstructPath)));
    const app = (context as IPolicyValidationContext & { appConstruct?: App }).appConstruct;
    if (!app) throw new Error('cdk-nag needs the app construct in the validation context (aws-cdk-lib too old)');
    const violations: PolicyViolation[] = [];
    for (const child of app.node.children) {
      if (Stack.isStack(child) && wanted.has(child.node.id)) violations.push(...this.pack.validateScope(child).violations);
    }
    return { success: violations.length === 0, violations };
  }
}

/**
 * aws-cdk-lib's built-in CloudFormation validation on the selected stacks only
 * (registered in place of the default one). It runs aws-cdk-lib's own plugin,
 * unchanged, in a thread of its own (lib/compliance/rulebook-threads.ts):
 * started ahead (`RulebookScope.runAhead`), it runs at the same time as the
 * Control Tower controls and the main thread's rulebooks, and its engine's
 * growing memory makes V8 collect the thread's small heap, not the app's.
 * Its seconds are the main thread's (starting, waiting).
 */
export class ScopedCloudFormationValidate extends CloudFormationValidatePlugin {
  private started?: Started;

  constructor(private readonly scope: RulebookScope) {
    super();
    startCloudFormationValidateThread();
    // First: its thread then does this job before it helps with the Guard templates (lib/compliance/control-tower.ts).
    scope.runAhead((context) => (this.started = startAhead(context, () => this.scope.time(this.name, () => this.start(this.scope.narrow(context))))), { first: true });
  }

  /**
   * The engine's version, as aws-cdk-lib's plugin reports it (the engine's
   * version() is its package's), without loading the engine on this thread:
   * aws-cdk-lib reads it for every stack's metadata, and the inherited getter
   * would instantiate the 9 MB WebAssembly module on the main thread for it.
   */
  get version(): string {
    return engineVersion();
  }

  get ruleIds(): string[] {
    return [engineVersion()];
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.scope.prepare(context);
    const started = take(this.started, context);
    this.started = undefined;
    return this.scope.time(this.name, () => (started ?? startAhead(context, () => this.start(this.scope.narrow(context)))).wait());
  }

  private start(context: IPolicyValidationContext): { wait(): PolicyValidationPluginReport } {
    const { templatePaths, stackTemplates } = context;
    return rulebookThread('cfn-validate').submit(
      { type: 'cfn-validate', context: { templatePaths, stackTemplates } },
      () => `CloudFormation Validate: the validation of ${describeFiles(templatePaths)} failed`,
    );
  }
}

/**
 * Starts the built-in validation's thread now, so loading the engine
 * overlaps with whatever the process does until the synth validates.
 * ScopedCloudFormationValidate calls it when constructed; a CDK app run by the
 * CDK CLI (which sets CDK_OUTDIR) when it loads this module, before it builds
 * its constructs (unless CDK_VALIDATION=false turns the validation off).
 */
export function startCloudFormationValidateThread(): void {
  rulebookThread('cfn-validate');
}
if (process.env.CDK_OUTDIR && process.env.CDK_VALIDATION !== 'false') startCloudFormationValidateThread();

/** Whether aws-cdk-lib would add its built-in validation to this app (App option and CDK_VALIDATION). */
export function builtinValidationEnabled(app: App): boolean {
  return (app as unknown as { _builtinCloudFormationValidation?: boolean })._builtinCloudFormationValidation !== false && process.env.CDK_VALIDATION !== 'false';
}
