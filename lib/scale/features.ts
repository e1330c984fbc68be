import type { Municipality, ThreeTierConfig } from '../../config/schema';
import { configValues } from './shapes';

/**
 * Which municipalities are expected to share template shapes, from the config
 * alone (`rollout.method: shapes`): the same model, the same optional
 * features, the same list lengths, the same CIDR sizes and the same pattern of
 * equal values. The key keeps every config leaf that is not one of the
 * municipality's named values (numbers, enums, flags, ports), and replaces
 * each named value by its position among the municipality's distinct values
 * (plus its prefix length for a CIDR), so two municipalities whose values
 * coincide differently get different keys.
 *
 * The key is a prediction. The app builds the first and the last municipality
 * of each group, and writeShapes refuses the synth when those two do not share
 * their shapes exactly (fail closed); the tests compare predicted instances
 * with a full build.
 */
export function featureKey(m: Municipality): string {
  const positions = new Map<string, number>();
  for (const v of configValues(m)) if (!positions.has(v.value)) positions.set(v.value, positions.size);
  const walk = (v: unknown, path: string[]): unknown => {
    if (typeof v === 'string') {
      // The account is no template value (zone stacks under rollout.stackSets name no account); the first/last check still verifies it.
      if (path.length === 1 && ['code', 'name', 'nameEn', 'account'].includes(path[0])) return `<${path[0]}>`;
      const at = positions.get(v);
      if (at === undefined) return v;
      return `<v${at}${v.includes('/') ? `/${v.split('/')[1]}` : ''}>`;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, walk((v as Record<string, unknown>)[k], [...path, k])]));
    return v;
  };
  return JSON.stringify(walk(m, []));
}

export interface FeatureGroup {
  readonly key: string;
  readonly members: Municipality[];
}

/** The municipalities of a config grouped by feature key, in config order. */
export function featureGroups(cfg: ThreeTierConfig): FeatureGroup[] {
  const groups = new Map<string, Municipality[]>();
  for (const m of cfg.municipalities) {
    const k = featureKey(m);
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  return [...groups.entries()].map(([key, members]) => ({ key, members }));
}

/**
 * The municipalities whose zone stacks the app builds: all of them for
 * `rollout.method: stacks`; for `shapes`, the first and (to verify the shape)
 * the last of each feature group.
 */
export function builtMunicipalities(cfg: ThreeTierConfig): Municipality[] {
  if (cfg.rollout.method === 'stacks') return cfg.municipalities;
  const built = new Set<string>();
  for (const g of featureGroups(cfg)) {
    built.add(g.members[0].code);
    built.add(g.members[g.members.length - 1].code);
  }
  return cfg.municipalities.filter((m) => built.has(m.code));
}
