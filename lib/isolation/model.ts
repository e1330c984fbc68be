import * as fs from 'fs';
import * as path from 'path';

/**
 * A read-only model of a set of CloudFormation templates (a cloud assembly,
 * possibly edited by hand): resources addressed as `stack/logicalId`, with
 * `Ref`, `Fn::GetAtt` and `Fn::ImportValue` resolved across stacks. Both the
 * isolation pack and the path analyzer read templates only through it.
 */

export type Json = any;

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
}

export interface CfnTemplate {
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

export interface StackInput {
  readonly name: string;
  readonly template: CfnTemplate;
  /** Where the template was read from, for messages. */
  readonly file?: string;
}

/** A resource together with where it lives. */
export interface ResourceRef {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly props: Record<string, Json>;
}

export function keyOf(r: { stack: string; logicalId: string }): string {
  return `${r.stack}/${r.logicalId}`;
}

export class AssemblyError extends Error {}

export interface AssemblyFiles {
  readonly dir: string;
  readonly stacks: StackInput[];
  /** Acknowledged rules by construct path, from the assembly metadata. */
  readonly acknowledgements: { stack: string; constructPath: string; logicalId?: string; id: string; reason: string }[];
}

/** Reads every stack template (and the acknowledgement metadata) of a cloud assembly directory. */
export function readAssembly(dir: string): AssemblyFiles {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(dir)) throw new AssemblyError(`${dir}: no such directory; pass the cdk.out directory that "npx cdk synth" wrote`);
  if (!fs.existsSync(manifestPath)) throw new AssemblyError(`${dir}: not a cloud assembly (manifest.json is missing); pass the cdk.out directory that "npx cdk synth" wrote`);
  let manifest: Json;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    throw new AssemblyError(`${manifestPath}: unreadable (${(e as Error).message})`);
  }
  const stacks: StackInput[] = [];
  const acknowledgements: AssemblyFiles['acknowledgements'] = [];
  for (const [name, artifact] of Object.entries<Json>(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const file = path.join(dir, artifact.properties?.templateFile ?? `${name}.template.json`);
    let template: CfnTemplate;
    try {
      template = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new AssemblyError(`${file}: unreadable template for stack ${name} (${(e as Error).message})`);
    }
    stacks.push({ name, template, file });
    let metadata: Record<string, Json[]> = artifact.metadata ?? {};
    if (artifact.additionalMetadataFile) {
      const mf = path.join(dir, artifact.additionalMetadataFile);
      if (fs.existsSync(mf)) metadata = { ...metadata, ...JSON.parse(fs.readFileSync(mf, 'utf8')) };
    }
    const logicalIds = new Map<string, string>();
    for (const [p, entries] of Object.entries(metadata)) {
      for (const e of entries) if (e.type === 'aws:cdk:logicalId') logicalIds.set(p, String(e.data));
    }
    for (const [p, entries] of Object.entries(metadata)) {
      for (const e of entries) {
        if (e.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries<string>(e.data ?? {})) {
          const constructPath = p.replace(/^\//, '');
          acknowledgements.push({ stack: name, constructPath, logicalId: logicalIds.get(p) ?? logicalIds.get(`${p}/Resource`), id: id.replace(/^Annotation::/, ''), reason });
        }
      }
    }
  }
  if (stacks.length === 0) throw new AssemblyError(`${dir}: the assembly holds no CloudFormation stack`);
  return { dir, stacks, acknowledgements };
}

/** Resolution result of a value: a resource, a literal, or unknown. */
export type Resolved = { kind: 'resource'; ref: ResourceRef; attribute?: string } | { kind: 'literal'; value: Json } | { kind: 'unknown'; expr: Json };

export class CloudModel {
  private readonly byKey = new Map<string, ResourceRef>();
  private readonly byType = new Map<string, ResourceRef[]>();
  private readonly exports = new Map<string, { stack: string; value: Json }>();
  readonly stacks: StackInput[];

  constructor(stacks: StackInput[]) {
    this.stacks = stacks;
    for (const s of stacks) {
      for (const [logicalId, r] of Object.entries(s.template.Resources ?? {})) {
        if (!r || typeof r !== 'object' || typeof r.Type !== 'string') continue;
        const ref: ResourceRef = { stack: s.name, logicalId, type: r.Type, props: r.Properties ?? {} };
        this.byKey.set(keyOf(ref), ref);
        const list = this.byType.get(r.Type) ?? [];
        list.push(ref);
        this.byType.set(r.Type, list);
      }
      for (const out of Object.values(s.template.Outputs ?? {})) {
        const name = out.Export?.Name;
        if (typeof name === 'string') this.exports.set(name, { stack: s.name, value: out.Value });
      }
    }
  }

  static fromAssembly(dir: string): CloudModel {
    return new CloudModel(readAssembly(dir).stacks);
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

  /** Resolves Ref / GetAtt / ImportValue (across stacks) to a resource or a literal. */
  resolve(stack: string, value: Json, depth = 0): Resolved {
    if (depth > 10) return { kind: 'unknown', expr: value };
    if (value === null || typeof value !== 'object') return { kind: 'literal', value };
    if (Array.isArray(value)) return { kind: 'literal', value };
    if ('Ref' in value) {
      const r = this.get(stack, String(value.Ref));
      return r ? { kind: 'resource', ref: r } : { kind: 'unknown', expr: value };
    }
    if ('Fn::GetAtt' in value) {
      const ga = value['Fn::GetAtt'];
      const [id, attr] = Array.isArray(ga) ? ga : String(ga).split('.');
      const r = this.get(stack, String(id));
      return r ? { kind: 'resource', ref: r, attribute: String(attr) } : { kind: 'unknown', expr: value };
    }
    if ('Fn::ImportValue' in value) {
      const name = value['Fn::ImportValue'];
      if (typeof name === 'string') {
        const exp = this.exports.get(name);
        if (exp) return this.resolve(exp.stack, exp.value, depth + 1);
      }
      return { kind: 'unknown', expr: value };
    }
    if ('Fn::Select' in value) {
      const [index, list] = value['Fn::Select'];
      const resolvedList = this.resolve(stack, list, depth + 1);
      if (resolvedList.kind === 'literal' && Array.isArray(resolvedList.value)) return this.resolve(stack, resolvedList.value[Number(index)], depth + 1);
      if (resolvedList.kind === 'resource') return resolvedList; // e.g. Select of GetAtt Firewall.EndpointIds
      return { kind: 'unknown', expr: value };
    }
    return { kind: 'unknown', expr: value };
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
}

export function tagsOf(props: Record<string, Json>): Record<string, string> {
  const out: Record<string, string> = {};
  const tags = props.Tags;
  if (Array.isArray(tags)) {
    for (const t of tags) if (t && typeof t.Key === 'string') out[t.Key] = String(t.Value);
  } else if (tags && typeof tags === 'object') {
    for (const [k, v] of Object.entries(tags)) out[k] = String(v);
  }
  return out;
}

export function asList<T = Json>(v: T | T[] | undefined | null): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}
