import { AssemblyError, AssemblyFiles, StackInput, readInputs } from './cfn/assembly';
import { AssemblyResolver, SyntheticTarget, TemplateError, UNRESOLVED, isUnresolved } from './cfn/resolve';

/**
 * A read-only model of a set of CloudFormation templates (a cloud assembly,
 * possibly edited by hand, or templates written elsewhere): resources
 * addressed as `stack/logicalId`. Every value is evaluated by the offline
 * resolver (`cfn/resolve.ts`): parameters and their supplied values,
 * pseudo parameters, Conditions (resources whose condition is false do not
 * exist), Mappings, `Ref`, `Fn::GetAtt`, `Fn::ImportValue` across stacks and
 * the other intrinsic functions. Both the isolation pack and the path
 * analyzer read templates only through it.
 */

export type Json = any;
export type { CfnResource, CfnTemplate, StackInput, AssemblyFiles } from './cfn/assembly';
export { AssemblyError } from './cfn/assembly';

/** A resource together with where it lives. */
export interface ResourceRef {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** The properties as written in the template (intrinsics unevaluated). */
  readonly props: Record<string, Json>;
  /** The properties with every intrinsic evaluated; unknown parts are `{ "Fn::Unresolved": reason }`. */
  readonly resolved: Record<string, Json>;
  /** true, or the reason its Condition cannot be evaluated (resources whose condition is false are not in the model). */
  readonly exists: true | string;
}

export function keyOf(r: { stack: string; logicalId: string }): string {
  return `${r.stack}/${r.logicalId}`;
}

/** Reads every stack template (with parameter files and the acknowledgement metadata) of a cloud assembly, a template folder or template files. */
export function readAssembly(dir: string | string[]): AssemblyFiles {
  return readInputs(Array.isArray(dir) ? dir : [dir]);
}

/** Resolution result of a value: a resource (with the attribute, and the list position for list attributes), a literal, or unknown (with the reason). */
export type Resolved =
  | { kind: 'resource'; ref: ResourceRef; attribute?: string; index?: number | 'any' }
  | { kind: 'literal'; value: Json }
  | { kind: 'unknown'; expr: Json; reason: string };

class Resource implements ResourceRef {
  private cache?: Record<string, Json>;
  constructor(
    readonly stack: string,
    readonly logicalId: string,
    readonly type: string,
    readonly props: Record<string, Json>,
    readonly exists: true | string,
    private readonly evaluate: (props: Record<string, Json>) => Record<string, Json>,
  ) {}
  get resolved(): Record<string, Json> {
    this.cache ??= this.evaluate(this.props);
    return this.cache;
  }
}

export interface ModelOptions {
  /** Region and account for stacks whose environment the assembly does not state. */
  readonly region?: string;
  readonly account?: string;
}

export class CloudModel {
  private readonly byKey = new Map<string, ResourceRef>();
  private readonly byType = new Map<string, ResourceRef[]>();
  private readonly resolver: AssemblyResolver;
  private readonly memo = new Map<string, WeakMap<object, Resolved>>();
  readonly stacks: StackInput[];

  constructor(stacks: StackInput[], options: ModelOptions = {}) {
    this.stacks = stacks;
    try {
      this.resolver = new AssemblyResolver(stacks, options);
    } catch (e) {
      if (e instanceof TemplateError) {
        const s = stacks.find((x) => x.name === e.stack);
        throw new AssemblyError(`${s?.parametersFile ?? s?.file ?? e.stack ?? 'template'}: ${e.message}`);
      }
      throw e;
    }
    for (const s of stacks) {
      const sr = this.resolver.stack(s.name)!;
      for (const [logicalId, r] of Object.entries(s.template.Resources ?? {})) {
        if (!r || typeof r !== 'object' || typeof r.Type !== 'string') throw new AssemblyError(`${s.file ?? s.name}: Resources.${logicalId}.Type: missing`);
        const exists = sr.exists(logicalId);
        if (exists === false) continue; // its Condition is false: CloudFormation does not create it
        const ref = new Resource(s.name, logicalId, r.Type, r.Properties ?? {}, exists, (p) => sr.value(p));
        this.byKey.set(keyOf(ref), ref);
        const list = this.byType.get(r.Type) ?? [];
        list.push(ref);
        this.byType.set(r.Type, list);
      }
    }
  }

  static fromAssembly(dir: string, options: ModelOptions = {}): CloudModel {
    return new CloudModel(readAssembly(dir).stacks, options);
  }

  get(stack: string, logicalId: string): ResourceRef | undefined {
    return this.byKey.get(`${stack}/${logicalId}`);
  }

  ofType(...types: string[]): ResourceRef[] {
    return types.flatMap((t) => this.byType.get(t) ?? []);
  }

  all(): ResourceRef[] {
    return [...this.byKey.values()];
  }

  /** Evaluates a value of a stack completely (intrinsics, parameters, imports); unknown parts are `{ "Fn::Unresolved": reason }`. */
  value(stack: string, value: Json): Json {
    const sr = this.resolver.stack(stack);
    return sr ? sr.value(value) : value;
  }

  /** What a synthetic physical id (from `Ref` / `Fn::GetAtt`) stands for. */
  target(id: string): SyntheticTarget | undefined {
    return this.resolver.ids.lookup(id);
  }

  /** Resolves a value to a resource (Ref / GetAtt / ImportValue and every function around them), a literal, or unknown. */
  resolve(stack: string, value: Json): Resolved {
    if (value !== null && typeof value === 'object') {
      let m = this.memo.get(stack);
      if (!m) this.memo.set(stack, (m = new WeakMap()));
      const hit = m.get(value);
      if (hit) return hit;
      const r = this.resolveUncached(stack, value);
      m.set(value, r);
      return r;
    }
    return this.resolveUncached(stack, value);
  }

  private resolveUncached(stack: string, value: Json): Resolved {
    const v = this.value(stack, value);
    if (isUnresolved(v)) return { kind: 'unknown', expr: value, reason: v[UNRESOLVED] };
    if (typeof v === 'string') {
      const t = this.resolver.ids.lookup(v.includes(':') && !v.startsWith('arn:') ? v.slice(v.lastIndexOf(':') + 1) : v);
      const ref = t && this.get(t.stack, t.logicalId);
      if (t && ref) return { kind: 'resource', ref, attribute: t.attribute, index: t.index };
    }
    return { kind: 'literal', value: v };
  }

  /** The resource a property refers to, if it refers to one. */
  refTo(stack: string, value: Json): ResourceRef | undefined {
    const r = this.resolve(stack, value);
    return r.kind === 'resource' ? r.ref : undefined;
  }

  /** A literal string, if the value resolves to one. */
  literal(stack: string, value: Json): string | undefined {
    const r = this.resolve(stack, value);
    return r.kind === 'literal' && (typeof r.value === 'string' || typeof r.value === 'number') ? String(r.value) : undefined;
  }

  /** Why a value cannot be resolved offline, or undefined when it can. */
  unresolvedReason(stack: string, value: Json): string | undefined {
    const r = this.resolve(stack, value);
    return r.kind === 'unknown' ? r.reason : undefined;
  }
}

export function tagsOf(props: Record<string, Json>): Record<string, string> {
  const out: Record<string, string> = {};
  const tags = props.Tags;
  if (Array.isArray(tags)) {
    for (const t of tags) if (t && typeof t.Key === 'string' && (typeof t.Value !== 'object' || t.Value === null)) out[t.Key] = String(t.Value);
  } else if (tags && typeof tags === 'object') {
    // An unevaluated or unresolvable value is not a tag value: it is left out (the analyzer reports unresolved zone tags).
    for (const [k, v] of Object.entries(tags)) if (typeof v !== 'object' || v === null) out[k] = String(v);
  }
  return out;
}

export function asList<T = Json>(v: T | T[] | undefined | null): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}
