import * as fs from 'fs';
import * as path from 'path';
import { yamlParse } from 'yaml-cfn';

/**
 * Reading what a reviewer hands the analyzer: a cloud assembly (`cdk.out`),
 * a folder of CloudFormation templates, or template files, in JSON or YAML
 * (short-form tags such as `!Ref` and `!GetAtt` included), each with the
 * parameter values supplied for its stack. Every problem is an
 * `AssemblyError` that names the file and the field.
 *
 * Parameter file: `<stack>.parameters.json` beside the template (in a
 * `cdk.out`: `<stack name>.parameters.json`; beside `foo.yaml` or
 * `foo.template.json`: `foo.parameters.json`). Two formats are accepted,
 * the ones AWS tools already use:
 *   - `{ "Parameters": { "Name": "value", "Subnets": ["a", "b"] } }`
 *     (CodePipeline's template configuration file; `Tags` and
 *     `StackPolicy` are allowed and ignored);
 *   - `[ { "ParameterKey": "Name", "ParameterValue": "value" } ]`
 *     (`aws cloudformation create-stack --parameters file://…`).
 */

export type Json = any;

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
  readonly Condition?: string;
}

export interface CfnTemplate {
  Parameters?: Record<string, Json>;
  Mappings?: Record<string, Json>;
  Conditions?: Record<string, Json>;
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json; Export?: { Name: Json }; Condition?: string }>;
}

export interface StackInput {
  readonly name: string;
  readonly template: CfnTemplate;
  /** Where the template was read from, for messages. */
  readonly file?: string;
  /** Values supplied for the template's parameters, and the file they came from. */
  readonly parameters?: Record<string, string | string[]>;
  readonly parametersFile?: string;
  /** The stack's environment, when the assembly states it (cdk.out manifest). */
  readonly region?: string;
  readonly account?: string;
}

export class AssemblyError extends Error {}

export interface Acknowledgement {
  readonly stack: string;
  readonly constructPath: string;
  readonly logicalId?: string;
  readonly id: string;
  readonly reason: string;
}

export interface AssemblyFiles {
  readonly dir: string;
  readonly stacks: StackInput[];
  /** Acknowledged rules by construct path, from the assembly metadata. */
  readonly acknowledgements: Acknowledgement[];
  /** True when the input was a cloud assembly (manifest.json). */
  readonly isCloudAssembly?: boolean;
}

function readJson(file: string, what: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AssemblyError(`${file}: unreadable ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AssemblyError(`${file}: unreadable ${what} (not valid JSON: ${(e as Error).message})`);
  }
}

/** Parses a template file (JSON, or YAML with CloudFormation's short-form tags) and checks its shape. */
export function readTemplateFile(file: string): CfnTemplate {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AssemblyError(`${file}: cannot read the template (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let template: Json;
  const json = text.trimStart().startsWith('{');
  try {
    template = json ? JSON.parse(text) : yamlParse(text);
  } catch (e) {
    throw new AssemblyError(`${file}: the template is not valid ${json ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  checkTemplate(file, template);
  return template;
}

/** A template must be an object whose Resources are objects with a Type; anything else is refused, not skipped. */
export function checkTemplate(file: string, t: Json): asserts t is CfnTemplate {
  if (!t || typeof t !== 'object' || Array.isArray(t)) throw new AssemblyError(`${file}: not a CloudFormation template (expected an object with Resources)`);
  if (!t.Resources || typeof t.Resources !== 'object' || Array.isArray(t.Resources)) throw new AssemblyError(`${file}: Resources: missing or not an object; a template declares at least one resource`);
  for (const [id, r] of Object.entries<Json>(t.Resources)) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new AssemblyError(`${file}: Resources.${id}: not an object`);
    if (typeof r.Type !== 'string' || r.Type === '') throw new AssemblyError(`${file}: Resources.${id}.Type: missing; every resource needs a Type such as "AWS::EC2::Route"`);
    if (r.Properties !== undefined && (typeof r.Properties !== 'object' || Array.isArray(r.Properties) || r.Properties === null)) throw new AssemblyError(`${file}: Resources.${id}.Properties: not an object`);
    if (r.Condition !== undefined && (typeof r.Condition !== 'string' || !(r.Condition in (t.Conditions ?? {})))) throw new AssemblyError(`${file}: Resources.${id}.Condition: ${JSON.stringify(r.Condition)} is not declared in Conditions`);
  }
  for (const key of ['Parameters', 'Mappings', 'Conditions', 'Outputs']) {
    if (t[key] !== undefined && (typeof t[key] !== 'object' || Array.isArray(t[key]) || t[key] === null)) throw new AssemblyError(`${file}: ${key}: not an object`);
  }
}

/** Reads a parameter file in either accepted format; undefined when there is none. */
export function readParameterFile(file: string): Record<string, string | string[]> | undefined {
  if (!fs.existsSync(file)) return undefined;
  const data = readJson(file, 'parameter file');
  const value = (v: Json, where: string): string | string[] => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
    throw new AssemblyError(`${file}: ${where}: must be a string (or a list of strings for a list parameter), got ${JSON.stringify(v)}`);
  };
  const out: Record<string, string | string[]> = {};
  if (Array.isArray(data)) {
    data.forEach((p, i) => {
      if (!p || typeof p !== 'object' || typeof p.ParameterKey !== 'string') throw new AssemblyError(`${file}: [${i}].ParameterKey: missing; each entry is {"ParameterKey": "...", "ParameterValue": "..."}`);
      if (p.UsePreviousValue) throw new AssemblyError(`${file}: [${i}].UsePreviousValue: the previous value of ${p.ParameterKey} is in a deployed stack and cannot be known offline; give ParameterValue`);
      if (p.ParameterValue === undefined) throw new AssemblyError(`${file}: [${i}].ParameterValue: missing for ${p.ParameterKey}`);
      out[p.ParameterKey] = value(p.ParameterValue, `[${i}].ParameterValue`);
    });
    return out;
  }
  if (!data || typeof data !== 'object') throw new AssemblyError(`${file}: expected {"Parameters": {...}} or [{"ParameterKey": ..., "ParameterValue": ...}]`);
  for (const k of Object.keys(data)) {
    if (!['Parameters', 'Tags', 'StackPolicy'].includes(k)) throw new AssemblyError(`${file}: ${k}: unknown key; a parameter file has "Parameters" (and optionally "Tags", "StackPolicy")`);
  }
  const params = data.Parameters ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) throw new AssemblyError(`${file}: Parameters: must be an object of name → value`);
  for (const [k, v] of Object.entries(params)) out[k] = value(v, `Parameters.${k}`);
  return out;
}

/** The parameter file that belongs beside a template file. */
export function parameterFileFor(templateFile: string): string {
  const base = path.basename(templateFile).replace(/(\.template)?\.(json|ya?ml|template)$/i, '');
  return path.join(path.dirname(templateFile), `${base}.parameters.json`);
}

function parseEnvironment(env: Json): { region?: string; account?: string } {
  const m = typeof env === 'string' ? /^aws:\/\/([^/]+)\/(.+)$/.exec(env) : null;
  if (!m) return {};
  return { account: m[1].startsWith('unknown') ? undefined : m[1], region: m[2].startsWith('unknown') ? undefined : m[2] };
}

/** Reads every stack template (with parameter files and acknowledgement metadata) of a cloud assembly directory. */
export function readCloudAssembly(dir: string): AssemblyFiles {
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = readJson(manifestPath, 'cloud assembly manifest');
  if (!manifest || typeof manifest !== 'object' || (manifest.artifacts !== undefined && typeof manifest.artifacts !== 'object')) throw new AssemblyError(`${manifestPath}: artifacts: not an object`);
  const stacks: StackInput[] = [];
  const acknowledgements: Acknowledgement[] = [];
  for (const [name, artifact] of Object.entries<Json>(manifest.artifacts ?? {})) {
    if (artifact?.type !== 'aws:cloudformation:stack') continue;
    const file = path.join(dir, artifact.properties?.templateFile ?? `${name}.template.json`);
    if (!fs.existsSync(file)) throw new AssemblyError(`${file}: missing; manifest.json artifacts.${name}.properties.templateFile names it`);
    const template = readJson(file, `template for stack ${name}`);
    checkTemplate(file, template);
    const parametersFile = path.join(dir, `${name}.parameters.json`);
    const parameters = readParameterFile(parametersFile);
    stacks.push({ name, template, file, parameters, parametersFile: parameters ? parametersFile : undefined, ...parseEnvironment(artifact.environment) });
    let metadata: Record<string, Json[]> = artifact.metadata ?? {};
    if (artifact.additionalMetadataFile) {
      const mf = path.join(dir, artifact.additionalMetadataFile);
      if (fs.existsSync(mf)) metadata = { ...metadata, ...readJson(mf, 'stack metadata') };
    }
    const logicalIds = new Map<string, string>();
    for (const [p, entries] of Object.entries(metadata)) {
      for (const e of entries ?? []) if (e?.type === 'aws:cdk:logicalId') logicalIds.set(p, String(e.data));
    }
    for (const [p, entries] of Object.entries(metadata)) {
      for (const e of entries ?? []) {
        if (e?.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries<string>(e.data ?? {})) {
          const constructPath = p.replace(/^\//, '');
          acknowledgements.push({ stack: name, constructPath, logicalId: logicalIds.get(p) ?? logicalIds.get(`${p}/Resource`), id: id.replace(/^Annotation::/, ''), reason });
        }
      }
    }
  }
  if (stacks.length === 0) throw new AssemblyError(`${dir}: the assembly holds no CloudFormation stack`);
  return { dir, stacks, acknowledgements, isCloudAssembly: true };
}

const TEMPLATE_FILE = /\.(json|ya?ml|template)$/i;
const NOT_TEMPLATES = /(\.parameters\.json|\.intent\.json|isolation-intent\.json|isolation-report\.json|manifest\.json|tree\.json|cdk\.out|\.assets\.json|\.metadata\.json|package(-lock)?\.json)$/i;

function stackNameOf(file: string): string {
  return path.basename(file).replace(/(\.template)?\.(json|ya?ml|template)$/i, '');
}

/**
 * Reads what was handed over: a `cdk.out` directory, a directory of template
 * files (JSON or YAML), or one or more template files. Stacks are named after
 * their files; `Fn::ImportValue` works across all of them.
 */
export function readInputs(inputs: readonly string[]): AssemblyFiles {
  if (inputs.length === 0) throw new AssemblyError('no input given; pass a cdk.out directory, a directory of templates, or template files');
  const stacks: StackInput[] = [];
  const acknowledgements: Acknowledgement[] = [];
  let isCloudAssembly = false;
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new AssemblyError(`${input}: no such directory; pass the cdk.out directory that "npx cdk synth" wrote (or CloudFormation template files)`);
    if (fs.statSync(input).isDirectory()) {
      if (fs.existsSync(path.join(input, 'manifest.json'))) {
        const a = readCloudAssembly(input);
        stacks.push(...a.stacks);
        acknowledgements.push(...a.acknowledgements);
        isCloudAssembly = true;
        continue;
      }
      const files = fs.readdirSync(input).filter((f) => TEMPLATE_FILE.test(f) && !NOT_TEMPLATES.test(f)).sort();
      if (files.length === 0) throw new AssemblyError(`${input}: not a cloud assembly (manifest.json is missing) and holds no template files (*.json, *.yaml); pass the cdk.out directory that "npx cdk synth" wrote`);
      for (const f of files) stacks.push(templateStack(path.join(input, f)));
    } else stacks.push(templateStack(input));
  }
  const seen = new Map<string, string>();
  for (const s of stacks) {
    const other = seen.get(s.name);
    if (other) throw new AssemblyError(`${s.file}: stack name ${s.name} is used twice (also ${other}); rename one of the files`);
    seen.set(s.name, s.file ?? '?');
  }
  return { dir: inputs.length === 1 ? inputs[0] : path.dirname(inputs[0]), stacks, acknowledgements, isCloudAssembly };
}

function templateStack(file: string): StackInput {
  const template = readTemplateFile(file);
  const parametersFile = parameterFileFor(file);
  const parameters = readParameterFile(parametersFile);
  return { name: stackNameOf(file), template, file, parameters, parametersFile: parameters ? parametersFile : undefined };
}
