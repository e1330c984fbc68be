#!/usr/bin/env node
import { DEFAULT_CONFIG, loadConfigOrReport } from '../config';
import { buildThreeTier, createApp, synthThreeTier, writeAssemblyShapes } from '../lib/app-builder';
import type { RulebookScope } from '../lib/scale/rulebook-scope';

/**
 * The CDK app. Picks a config with `-c config=<name>` (default: pilot).
 * Invalid config: prints every problem with its field path and exits 1,
 * without a stack trace.
 */
function main(): void {
  const app = createApp();
  const name = String(app.node.tryGetContext('config') ?? DEFAULT_CONFIG);
  const config = loadConfigOrReport(name);
  if (!config) {
    process.exitCode = 1;
    return;
  }
  let scope: RulebookScope | undefined;
  const built = buildThreeTier(app, config);
  synthThreeTier(app, built, { onRulebooks: (s) => (scope = s) });
  // The zone stacks' shapes and parameter files (lib/scale); under rollout.stackSets, the stack sets' shapes verified.
  writeAssemblyShapes(app, built);
  if (process.env.THREE_TIER_STATS_FILE) {
    // Used by `npm run bench`: this process's peak memory and each rulebook's seconds.
    const stats = { maxRssKb: process.resourceUsage().maxRSS, rulebookSeconds: scope?.seconds ?? {}, shapes: scope?.summary };
    require('fs').writeFileSync(process.env.THREE_TIER_STATS_FILE, JSON.stringify(stats));
  }
}

main();
