#!/usr/bin/env node
import * as path from 'path';
import { DEFAULT_CONFIG, loadConfigOrReport } from '../config';
import { buildThreeTier, createApp, synthThreeTier } from '../lib/app-builder';
import { writeReviewPack } from '../lib/review/review-pack';
import { tmpdir } from 'os';
import { mkdtempSync } from 'fs';

/**
 * `npm run review -- [-c config=NAME] [--out DIR]`: synthesizes the config
 * offline (with every rulebook) and writes the review pack to
 * `review/<config>/` (Japanese and English Markdown, isolation report).
 */
function main(argv: string[]): number {
  let name = DEFAULT_CONFIG;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--context') {
      const [k, v] = String(argv[++i]).split('=');
      if (k === 'config' && v) name = v;
    } else if (a.startsWith('config=')) name = a.slice('config='.length);
    else if (a === '--out') out = argv[++i];
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: npm run review -- [-c config=NAME] [--out DIR]\n');
      return 0;
    } else {
      process.stderr.write(`unknown argument ${a}; usage: npm run review -- [-c config=NAME] [--out DIR]\n`);
      return 2;
    }
  }
  const cfg = loadConfigOrReport(name);
  if (!cfg) return 2;
  const assembly = mkdtempSync(path.join(tmpdir(), `review-${cfg.name}-`));
  const app = createApp({}, assembly);
  synthThreeTier(app, buildThreeTier(app, cfg));
  const dir = out ?? path.join('review', cfg.name);
  const pack = writeReviewPack(assembly, dir, { region: cfg.region });
  process.stdout.write(`review pack for "${cfg.name}" (verdict: ${pack.report.verdict}; fixed cost: security cloud $${pack.cost.securityCloud}/month, ${Object.keys(pack.cost.municipalities).length} municipalities at $${pack.cost.averageMunicipality}/month each):\n${pack.files.map((f) => `  ${f}`).join('\n')}\n`);
  return pack.report.verdict === 'match' ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
