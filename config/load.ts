import { z } from 'zod';
import { configSchema, ThreeTierConfig, ThreeTierConfigInput } from './schema';

/** Raised for invalid configs; carries one line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly configName: string,
    readonly problems: string[],
  ) {
    super(`Invalid config "${configName}":\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(config)';
}

/** Turns zod's generic messages into ones that say how to fix them. */
function friendly(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return `is missing; add it (${issue.message.replace(/^Invalid input: /, '')})`;
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
  const problems = result.error.issues.map((i) => `${formatPath(i.path)}: ${friendly(i)}`);
  throw new ConfigError(name, problems);
}
