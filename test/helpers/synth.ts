import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { ThreeTierConfig, ThreeTierConfigInput, validateConfig, loadConfig } from '../../config';
import { buildThreeTier, createApp, synthThreeTier, ThreeTierApp, writeAssemblyShapes } from '../../lib/app-builder';
import { readShapesIndex } from '../../lib/scale/assembly';
import { instantiate, Template } from '../../lib/scale/shapes';

export type CfnTemplate = {
  Resources: Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
};

export interface Synthesized {
  readonly config: ThreeTierConfig;
  readonly app: App;
  readonly built: ThreeTierApp;
  readonly outdir: string;
  /** Templates by stack name. */
  readonly templates: Map<string, CfnTemplate>;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `three-tier-${prefix}-`));
}

/**
 * Builds and synthesizes a config. `rulebooks: true` registers AwsSolutions
 * and the Control Tower controls exactly as the CLI app does (synth then
 * throws when they find anything unacknowledged).
 */
export function synth(
  config: string | ThreeTierConfigInput,
  opts: { rulebooks?: boolean; builtinValidation?: boolean; treeMetadata?: boolean; mutate?: (built: ThreeTierApp) => void } = {},
): Synthesized {
  const cfg = typeof config === 'string' ? loadConfig(config) : validateConfig(config);
  const outdir = tmpDir(cfg.name);
  const app = createApp({}, outdir, { builtinValidation: opts.builtinValidation, treeMetadata: opts.treeMetadata });
  const built = buildThreeTier(app, cfg);
  opts.mutate?.(built);
  const assembly = synthThreeTier(app, built, { rulebooks: opts.rulebooks ?? false });
  // As the CLI app does: shapes and parameter files into the assembly.
  writeAssemblyShapes(app, built);
  const templates = new Map<string, CfnTemplate>();
  for (const stack of assembly.stacks) templates.set(stack.stackName, stack.template as CfnTemplate);
  return { config: cfg, app, built, outdir, templates };
}

/**
 * Where synthesized shipped configs are shared between test files (and runs):
 * one folder per hash of everything that shapes a template. Jest runs test
 * files in separate module registries and workers; without this each file
 * would synthesize the pilot again.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const CACHE_ROOT = path.join(ROOT, 'test', '.tmp', 'assemblies');

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : []))
    .sort();
}

let sourceHashMemo: string | undefined;
/** SHA-256 over the app's sources, configs, cdk.json and the locked dependencies. */
export function sourceHash(): string {
  if (!sourceHashMemo) {
    const h = createHash('sha256');
    const files = [...['lib', 'config', 'bin'].flatMap((d) => filesUnder(path.join(ROOT, d))), path.join(ROOT, 'cdk.json'), path.join(ROOT, 'package-lock.json')];
    for (const f of files) h.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f)).update('\0');
    sourceHashMemo = h.digest('hex').slice(0, 24);
  }
  return sourceHashMemo;
}

function templatesOf(outdir: string): Map<string, CfnTemplate> {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const templates = new Map<string, CfnTemplate>();
  for (const a of Object.values<any>(manifest.artifacts)) {
    if (a.type !== 'aws:cloudformation:stack') continue;
    templates.set(a.properties.stackName ?? a.displayName, JSON.parse(fs.readFileSync(path.join(outdir, a.properties.templateFile), 'utf8')));
  }
  return templates;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Two jest workers that need the same shipped config at the same time would
 * both synthesize it. The first takes a lock file and synthesizes; the others
 * wait for its `.complete` marker. Returns the release function when this
 * process must synthesize, or undefined when another process finished it. A
 * lock whose process has died is taken over.
 */
function awaitOrLock(dir: string): (() => void) | undefined {
  const lock = `${dir}.lock`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  for (;;) {
    if (fs.existsSync(path.join(dir, '.complete'))) return undefined;
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(fs.readFileSync(lock, 'utf8') || 'NaN');
    if (Number.isInteger(owner) && owner !== process.pid && !alive(owner)) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    sleepSync(250);
  }
}

const cache = new Map<string, Synthesized>();
/**
 * Synth of a shipped config with every rulebook (it throws if one fails), shared through the on-disk cache
 * (read-only: copy it with freshAssembly() before editing). `app` and `built`
 * are synthesized in-process on first use only.
 */
export function synthShipped(name: string): Synthesized {
  let s = cache.get(name);
  if (s) return s;
  const dir = path.join(CACHE_ROOT, sourceHash(), name);
  const release = fs.existsSync(path.join(dir, '.complete')) ? undefined : awaitOrLock(dir);
  if (release) {
    let fresh: Synthesized;
    try {
      // With every rulebook: each shipped config is synthesized once per run, and
      // rulebooks.test reads this synth's validation report instead of a second synth.
      fresh = synth(name, { rulebooks: true });
    } catch (e) {
      release();
      throw e;
    }
    const staging = `${dir}.${process.pid}.tmp`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.cpSync(fresh.outdir, staging, { recursive: true });
    fs.writeFileSync(path.join(staging, '.complete'), '');
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    try {
      fs.renameSync(staging, dir);
    } catch {
      // Another worker finished the same synth first; its copy is identical.
      fs.rmSync(staging, { recursive: true, force: true });
    }
    release();
    s = { ...fresh, outdir: dir };
  } else {
    let inProcess: Synthesized | undefined;
    const load = () => (inProcess ??= synth(name));
    s = {
      config: loadConfig(name),
      outdir: dir,
      templates: templatesOf(dir),
      get app() {
        return load().app;
      },
      get built() {
        return load().built;
      },
    };
  }
  cache.set(name, s);
  return s;
}

export function resources(t: CfnTemplate, type: string): [string, Record<string, any>][] {
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

export function tagValue(props: Record<string, any>, key: string): string | undefined {
  const tags = props.Tags as { Key: string; Value: string }[] | undefined;
  return tags?.find((t) => t.Key === key)?.Value;
}


/**
 * Every zone stack of a config by name, including those an assembly of
 * shapes (rollout.method "shapes") holds only as a shape and a parameter
 * file: each is its shape instantiated with its municipality's values.
 */
export function allTemplates(s: Synthesized): Map<string, CfnTemplate> {
  const out = new Map(s.templates);
  const file = path.join(s.outdir, 'shapes', 'index.json');
  if (!fs.existsSync(file)) return out;
  for (const c of readShapesIndex(s.outdir).classes) {
    const shape = JSON.parse(fs.readFileSync(path.join(s.outdir, 'shapes', c.template), 'utf8')) as Template;
    for (const m of c.members) {
      if (out.has(m.stack)) continue;
      const values = JSON.parse(fs.readFileSync(path.join(s.outdir, 'shapes', m.parametersFile), 'utf8')).Parameters;
      out.set(m.stack, instantiate(shape, values) as unknown as CfnTemplate);
    }
  }
  return out;
}
