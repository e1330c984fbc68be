#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { DEFAULT_CONFIG, loadConfigOrReport } from '../config';
import { buildThreeTier, createApp, synthThreeTier } from '../lib/app-builder';
import { blastRadiusOfAssembly, formatBlastRadius } from '../lib/isolation/blast-radius';
import { IntentError } from '../lib/isolation/intent';
import { AssemblyError } from '../lib/isolation/model';

const USAGE = 'usage: npm run blast-radius -- [-c config=NAME | path/to/cdk.out] [--json]';

/**
 * `npm run blast-radius`: for a compromised host in each zone of each
 * municipality, its network reach, DNS reach, AWS API reach through the
 * endpoints (per bucket and queue: read / write / delete) and the crossings
 * its writes feed, computed from a cloud assembly and its intent. Without a
 * path it synthesizes the config offline first. Exit 0: printed; 2: the
 * config, assembly or intent cannot be read.
 */
function main(argv: string[]): number {
  let name: string | undefined;
  let dir: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--context') {
      const [k, v] = String(argv[++i] ?? '').split('=');
      if (k !== 'config' || !v) {
        process.stderr.write(`-c takes config=NAME, got "${argv[i] ?? ''}"\n${USAGE}\n`);
        return 2;
      }
      name = v;
    } else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else if (a.startsWith('-')) {
      process.stderr.write(`unknown option ${a}\n${USAGE}\n`);
      return 2;
    } else dir = a;
  }
  if (name && dir) {
    process.stderr.write(`give either -c config=NAME or an assembly directory, not both\n${USAGE}\n`);
    return 2;
  }
  if (!dir) {
    const cfg = loadConfigOrReport(name ?? DEFAULT_CONFIG);
    if (!cfg) return 2;
    dir = mkdtempSync(path.join(tmpdir(), `blast-radius-${cfg.name}-`));
    const app = createApp({}, dir);
    synthThreeTier(app, buildThreeTier(app, cfg), { rulebooks: false });
  } else if (!fs.existsSync(dir)) {
    process.stderr.write(`blast-radius: ${dir}: no such directory; pass the cdk.out directory that "npx cdk synth" wrote\n`);
    return 2;
  }
  try {
    const { radius } = blastRadiusOfAssembly(dir);
    process.stdout.write(json ? `${JSON.stringify(radius, null, 2)}\n` : `${formatBlastRadius(radius)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof AssemblyError || e instanceof IntentError) {
      process.stderr.write(`blast-radius: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
