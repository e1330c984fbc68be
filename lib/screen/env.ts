/** Settings of the virtual-browser services from their environment file: every value checked, the variable named. */
export class SettingError extends Error {}

export function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (v === undefined || v === '') throw new SettingError(`${name} is not set (see /etc/<service>.env)`);
  return v;
}

export function whole(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SettingError(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`);
  return n;
}

export function json<T>(env: NodeJS.ProcessEnv, name: string): T {
  const raw = required(env, name);
  try {
    return JSON.parse(raw) as T;
  } catch (e) {
    throw new SettingError(`${name} is not valid JSON (${(e as Error).message})`);
  }
}

export function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[]): T {
  const v = required(env, name);
  if (!values.includes(v as T)) throw new SettingError(`${name}=${JSON.stringify(v)} must be one of ${values.join(', ')}`);
  return v as T;
}
