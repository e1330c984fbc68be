import { lab } from './lab';
import { alphaPrime, beta, betaPrime } from './models-shipped';
import { MAX_SYNTHETIC, syntheticConfig } from './layout';
import { ConfigError, validateConfig } from './load';
import { national } from './national';
import { pilot } from './pilot';
import { prefecture } from './prefecture';
import { ThreeTierConfig, ThreeTierConfigInput } from './schema';

export { ConfigError, validateConfig } from './load';
export * from './schema';

/** The configs shipped in this folder, by the name given to `-c config=`. */
export const SHIPPED_CONFIGS: Record<string, ThreeTierConfigInput> = { pilot, lab, prefecture, 'alpha-prime': alphaPrime, beta, 'beta-prime': betaPrime, national };
export const DEFAULT_CONFIG = 'pilot';

/**
 * Resolves a config name: a shipped config, or `synthetic-<N>` for a
 * generated config of N municipalities (1-1741), used for scale tests.
 */
export function loadConfig(name: string = DEFAULT_CONFIG): ThreeTierConfig {
  const shipped = SHIPPED_CONFIGS[name];
  if (shipped) return validateConfig(shipped, name);
  const synthetic = /^synthetic-(\d+)$/.exec(name);
  if (synthetic) {
    const n = Number(synthetic[1]);
    if (n < 1 || n > MAX_SYNTHETIC) throw new ConfigError(name, [`config: synthetic configs take 1-${MAX_SYNTHETIC} municipalities (Japan has ${MAX_SYNTHETIC}), got ${n}`]);
    return validateConfig(syntheticConfig(n), name);
  }
  const known = [...Object.keys(SHIPPED_CONFIGS), 'synthetic-<N>'].join(', ');
  throw new ConfigError(name, [`config: there is no config named "${name}"; use one of ${known} (-c config=<name>)`]);
}

/**
 * For command-line entry points: the config, or undefined after printing every
 * problem to stderr (no stack trace). Other errors propagate.
 */
export function loadConfigOrReport(name: string): ThreeTierConfig | undefined {
  try {
    return loadConfig(name);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return undefined;
    }
    throw e;
  }
}
