import { z } from 'zod';
import { configSchema, ThreeTierConfig, ThreeTierConfigInput } from './schema';

export { ConfigError } from './errors';
import { ConfigError } from './errors';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(config)';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: any = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[p as any];
  }
  return v;
}

/** Turns zod's generic messages into ones that say how to fix them. */
function friendly(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    return `is missing; add it (it ${issue.message.replace(/^Invalid input: /, '')})`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `has unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove them or check the spelling against config/schema.ts`;
  }
  return issue.message;
}

/** Validates a config object; throws ConfigError naming every bad field. */
export function validateConfig(input: ThreeTierConfigInput | unknown, nameHint = 'config'): ThreeTierConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const name = typeof (input as { name?: unknown })?.name === 'string' ? (input as { name: string }).name : nameHint;
  const problems = result.error.issues.map((i) => `${formatPath(i.path)}: ${friendly(i, input)}`);
  throw new ConfigError(name, problems);
}
