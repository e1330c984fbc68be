import * as fs from 'node:fs';
import { App, CloudFormationValidatePlugin, IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation, Stack } from 'aws-cdk-lib';
import type { NagPack } from 'cdk-nag';
import { ThreeTierConfig, ZONES } from '../../config/schema';
import { zoneStackName } from '../core/naming';
import { classify, ShapeClass, Template } from './shapes';

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
    return this.scope.time(this.name, () => this.run(context));
  }

  protected abstract run(context: IPolicyValidationContext): PolicyValidationPluginReport;
}

/** A template-based rulebook (e.g. the Control Tower controls) on the selected stacks only. */
export class ScopedPlugin extends WrappedPlugin {
  constructor(private readonly inner: IPolicyValidationPlugin, scope: RulebookScope) {
    super(inner, scope);
  }

  protected run(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.inner.validate(this.scope.narrow(context));
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

/** aws-cdk-lib's built-in CloudFormation validation on the selected stacks only (registered in place of the default one). */
export class ScopedCloudFormationValidate extends CloudFormationValidatePlugin {
  constructor(private readonly scope: RulebookScope) {
    super();
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.scope.time(this.name, () => super.validate(this.scope.narrow(context)));
  }
}

/** Whether aws-cdk-lib would add its built-in validation to this app (App option and CDK_VALIDATION). */
export function builtinValidationEnabled(app: App): boolean {
  return (app as unknown as { _builtinCloudFormationValidation?: boolean })._builtinCloudFormationValidation !== false && process.env.CDK_VALIDATION !== 'false';
}
