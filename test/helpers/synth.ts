import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { ThreeTierConfig, ThreeTierConfigInput, validateConfig, loadConfig } from '../../config';
import { buildThreeTier, createApp, synthThreeTier, ThreeTierApp } from '../../lib/app-builder';

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
  opts: { rulebooks?: boolean; mutate?: (built: ThreeTierApp) => void } = {},
): Synthesized {
  const cfg = typeof config === 'string' ? loadConfig(config) : validateConfig(config);
  const outdir = tmpDir(cfg.name);
  const app = createApp({}, outdir);
  const built = buildThreeTier(app, cfg);
  opts.mutate?.(built);
  const assembly = synthThreeTier(app, built, { rulebooks: opts.rulebooks ?? false });
  const templates = new Map<string, CfnTemplate>();
  for (const stack of assembly.stacks) templates.set(stack.stackName, stack.template as CfnTemplate);
  return { config: cfg, app, built, outdir, templates };
}

const cache = new Map<string, Synthesized>();
/** Cached synth of a shipped config without rulebooks (for read-only assertions). */
export function synthShipped(name: string): Synthesized {
  let s = cache.get(name);
  if (!s) {
    s = synth(name);
    cache.set(name, s);
  }
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

