#!/usr/bin/env node
import * as path from 'path';
import { DEFAULT_CONFIG, loadConfigOrReport } from '../config';
import { buildThreeTier, createApp, synthThreeTier } from '../lib/app-builder';
import { writeReviewPack } from '../lib/review/review-pack';
import { readIntent } from '../lib/isolation/intent';
import { tmpdir } from 'os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { checkAssembly } from '../lib/isolation/check';
import { CloudModel, readAssembly } from '../lib/isolation/model';
import { computeBlastRadius } from '../lib/isolation/blast-radius';
import { comparisonPage, ModelColumn } from '../lib/review/models-section';

const USAGE = 'usage: npm run review -- [-c config=NAME | --assembly CDK_OUT_DIR | --compare CONFIG_OR_DIR,CONFIG_OR_DIR,...] [--out DIR]';

/** The region of an assembly's stacks (their environment `aws://<account>/<region>`). */
function assemblyRegion(dir: string): string | undefined {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { artifacts?: Record<string, { type?: string; environment?: string }> };
  for (const a of Object.values(manifest.artifacts ?? {})) {
    const region = a.type === 'aws:cloudformation:stack' ? /^aws:\/\/[^/]+\/([a-z0-9-]+)$/.exec(a.environment ?? '')?.[1] : undefined;
    if (region && region !== 'unknown-region') return region;
  }
  return undefined;
}

/**
 * `npm run review -- [-c config=NAME] [--out DIR]`: synthesizes the config
 * offline (with every rulebook) and writes the review pack to
 * `review/<config>/` (Japanese and English Markdown, isolation report).
 * `--assembly DIR` reviews a cloud assembly that already exists (a `cdk.out`
 * from `npx cdk synth`, or one handed over), without synthesizing.
 */
function main(argv: string[]): number {
  let name = DEFAULT_CONFIG;
  let out: string | undefined;
  let assemblyArg: string | undefined;
  let configGiven = false;
  let compare: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--context') {
      const [k, v] = String(argv[++i]).split('=');
      if (k === 'config' && v) (name = v), (configGiven = true);
    } else if (a.startsWith('config=')) (name = a.slice('config='.length)), (configGiven = true);
    else if (a === '--out') out = argv[++i];
    else if (a === '--assembly') assemblyArg = argv[++i];
    else if (a === '--compare') compare = argv[++i] ?? '';
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else {
      process.stderr.write(`unknown argument ${a}; ${USAGE}\n`);
      return 2;
    }
  }
  if (compare !== undefined) {
    if (configGiven || assemblyArg !== undefined) {
      process.stderr.write(`--compare takes its own list of configs or assemblies; do not combine it with -c or --assembly; ${USAGE}\n`);
      return 2;
    }
    return compareModels(compare, out ?? path.join('review', 'models'));
  }
  if (assemblyArg !== undefined) {
    if (configGiven) {
      process.stderr.write(`pass either -c config=NAME (synthesize it) or --assembly DIR (review what is there), not both; ${USAGE}\n`);
      return 2;
    }
    if (!assemblyArg || !existsSync(path.join(assemblyArg, 'manifest.json'))) {
      process.stderr.write(`--assembly ${assemblyArg || '(empty)'}: not a cloud assembly (no manifest.json); pass the cdk.out directory of a synth\n`);
      return 2;
    }
    return report(assemblyArg, out, assemblyRegion(assemblyArg));
  }
  const cfg = loadConfigOrReport(name);
  if (!cfg) return 2;
  const assembly = mkdtempSync(path.join(tmpdir(), `review-${cfg.name}-`));
  const app = createApp({}, assembly);
  synthThreeTier(app, buildThreeTier(app, cfg));
  return report(assembly, out ?? path.join('review', cfg.name), cfg.region);
}

function report(assembly: string, dir: string | undefined, region: string | undefined): number {
  let name: string;
  try {
    name = readIntent(assembly).config;
  } catch (e) {
    process.stderr.write(`${assembly}: ${(e as Error).message}; a review needs the isolation intent this project's synth writes into the assembly\n`);
    return 2;
  }
  const pack = writeReviewPack(assembly, dir ?? path.join('review', name), { region });
  process.stdout.write(`review pack for "${name}" (verdict: ${pack.report.verdict}; fixed cost: security cloud $${pack.cost.securityCloud}/month, ${Object.keys(pack.cost.municipalities).length} municipalities at $${pack.cost.averageMunicipality}/month each):\n${pack.files.map((f) => `  ${f}`).join('\n')}\n`);
  return pack.report.verdict === 'match' ? 0 : 1;
}

/**
 * `--compare pilot,alpha-prime,beta,beta-prime`: synthesizes each config (or reads each
 * cdk.out given as a directory), checks it, and writes one page with a column per
 * municipality: its model, crossings, blast radius and conditions side by side.
 */
function compareModels(list: string, dir: string): number {
  const items = list.split(',').map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) {
    process.stderr.write(`--compare needs a comma-separated list of config names or cdk.out directories, e.g. --compare pilot,alpha-prime,beta,beta-prime; ${USAGE}\n`);
    return 2;
  }
  const columns: ModelColumn[] = [];
  for (const item of items) {
    let assembly = item;
    if (!existsSync(path.join(item, 'manifest.json'))) {
      const cfg = loadConfigOrReport(item);
      if (!cfg) return 2;
      assembly = mkdtempSync(path.join(tmpdir(), `review-${cfg.name}-`));
      const app = createApp({}, assembly);
      synthThreeTier(app, buildThreeTier(app, cfg));
    }
    let checked;
    try {
      checked = checkAssembly(assembly);
    } catch (e) {
      process.stderr.write(`${item}: ${(e as Error).message}\n`);
      return 2;
    }
    const model = new CloudModel(readAssembly(assembly).stacks);
    const radius = computeBlastRadius(model, checked.intent, checked.analysis);
    for (const m of checked.intent.models ?? []) columns.push({ title: `${checked.intent.config} / ${m.municipality}`, intent: checked.intent, model: m, radius, analysis: checked.analysis, verdict: { match: checked.report.verdict === 'match', pack: checked.report.pack.findings.length, analyzer: checked.report.analyzer.findings.length } });
  }
  mkdirSync(dir, { recursive: true });
  const files = (['ja', 'en'] as const).map((lang) => {
    const file = path.join(dir, `models.${lang}.md`);
    writeFileSync(file, comparisonPage(columns, lang));
    return file;
  });
  const mismatched = columns.filter((c) => !c.verdict?.match).map((c) => c.title);
  process.stdout.write(`models side by side (${columns.length} municipalities from ${items.length} configs${mismatched.length ? `; MISMATCH: ${mismatched.join(', ')}` : ''}):\n${files.map((f) => `  ${f}`).join('\n')}\n`);
  return mismatched.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
