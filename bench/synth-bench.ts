/**
 * `npm run bench`: synth through `cdk synth` with every rulebook, as a user
 * runs it, side by side in one run:
 *   - the floor: an empty CDK app (one empty stack) through the same CLI;
 *   - the shipped pilot config;
 *   - generated configs (`synthetic-N`) and, when shipped, `national`.
 * For each: wall seconds, the app process's peak memory (maxRSS), stacks,
 * the largest template, the zone stacks' shapes and instances, the seconds of
 * each rulebook (they evaluate one zone stack per shape), and
 * `check-isolation --shapes` on the assembly (every municipality, from its
 * shape and parameter file), also per municipality.
 *
 * `--only pilot,synthetic-50` picks cases (the floor always runs);
 * `--runs N` runs N rounds (every case once per round, so the floor and
 * the cases alternate) and keeps each case's median. The default cases are
 * the ones issue #17 asks for; the big ones take minutes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SHIPPED_CONFIGS } from '../config';

const ROOT = path.resolve(__dirname, '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(opt('--runs')) || 1;
const only = opt('--only')?.split(',').map((s) => s.trim());

interface Case {
  label: string;
  app: string;
  config?: string;
}
const APP = 'node --import tsx bin/app.ts';
const FLOOR: Case = { label: 'floor (empty app, one empty stack)', app: 'node --import tsx bench/empty-app.ts' };
const CONFIGS = ['pilot', 'synthetic-1', 'synthetic-50', 'synthetic-200', 'synthetic-1741', ...('national' in SHIPPED_CONFIGS ? ['national'] : [])];
const cases: Case[] = [FLOOR, ...CONFIGS.filter((c) => !only || only.includes(c)).map((config) => ({ label: config, app: APP, config }))];

interface Sample {
  seconds: number;
  rssMb: number;
  municipalities: number;
  stacks: number;
  largestTemplate: number;
  largestParameters: number;
  shapes?: number;
  instances?: number;
  rulebookSeconds: Record<string, number>;
  checkSeconds?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function runOnce(c: Case): Sample {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const statsFile = `${out}.stats.json`;
  const cli = [CDK, 'synth', '-q', '-a', c.app, '-o', out, ...(c.config ? ['-c', `config=${c.config}`] : [])];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cli[0], cli.slice(1), { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, THREE_TIER_STATS_FILE: statsFile } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${c.label}: cdk synth failed\n${r.stderr.slice(-3000)}`);
  const stats = JSON.parse(fs.readFileSync(statsFile, 'utf8')) as { maxRssKb: number; rulebookSeconds: Record<string, number> };
  const templates = fs.readdirSync(out).filter((f) => f.endsWith('.template.json')).map((f) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')));
  const largestTemplate = Math.max(0, ...templates.map((t) => Object.keys(t.Resources ?? {}).length));
  const indexFile = path.join(out, 'shapes', 'index.json');
  const index = fs.existsSync(indexFile) ? (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { classes: { template: string; members: { code: string }[] }[] }) : undefined;
  const shapeParams = (index?.classes ?? []).map((k) => Object.keys(JSON.parse(fs.readFileSync(path.join(out, 'shapes', k.template), 'utf8')).Parameters ?? {}).length);
  const largestParameters = Math.max(0, ...templates.map((t) => Object.keys(t.Parameters ?? {}).length), ...shapeParams);
  const municipalities = new Set((index?.classes ?? []).flatMap((k) => k.members.map((m) => m.code))).size;
  let checkSeconds: number | undefined;
  if (c.config) {
    const t1 = process.hrtime.bigint();
    const chk = spawnSync(process.execPath, ['--import', 'tsx', 'bin/check-isolation.ts', out, '--shapes'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30 });
    checkSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    if (chk.status !== 0) throw new Error(`${c.label}: check-isolation --shapes exited ${chk.status}\n${chk.stdout.slice(-2000)}${chk.stderr.slice(-2000)}`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(statsFile, { force: true });
  return {
    seconds,
    rssMb: stats.maxRssKb / 1024,
    municipalities,
    stacks: templates.length,
    largestTemplate,
    largestParameters,
    shapes: index?.classes.length,
    instances: index?.classes.reduce((a, k) => a + k.members.length, 0),
    rulebookSeconds: stats.rulebookSeconds,
    checkSeconds,
  };
}

function main(): void {
  console.log(`synth benchmark: ${os.cpus().length} cores, node ${process.version}, ${runs} run(s) per case (median); verdict cache: ${process.env.THREE_TIER_GUARD_CACHE ?? 'on'}\n`);
  // Rounds: every case once per round, so the floor and each case see the machine in the same state.
  const samples = new Map<Case, Sample[]>(cases.map((c) => [c, []]));
  for (let round = 1; round <= runs; round++) {
    for (const c of cases) {
      const s = runOnce(c);
      samples.get(c)!.push(s);
      console.log(`  ${runs > 1 ? `round ${round}: ` : ''}${c.label} ${s.seconds.toFixed(2)} s`);
    }
  }
  const results: (Case & Sample)[] = cases.map((c) => {
    const mine = samples.get(c)!;
    const pick = mine.find((s) => s.seconds === median(mine.map((x) => x.seconds)))!;
    return { ...c, ...pick, rssMb: median(mine.map((s) => s.rssMb)) };
  });
  const floor = results[0];
  console.log('\n| case | municipalities | stacks | shapes / zone stacks | largest template (resources / parameters) | synth s | × floor | peak RSS MB | rulebooks s | check --shapes s | check s per municipality |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const rb = Object.values(r.rulebookSeconds).reduce((a, b) => a + b, 0);
    const per = r.checkSeconds !== undefined && r.municipalities ? (r.checkSeconds / r.municipalities).toFixed(3) : '';
    console.log(`| ${r.label} | ${r.municipalities} | ${r.stacks} | ${r.shapes !== undefined ? `${r.shapes} / ${r.instances}` : ''} | ${r.largestTemplate} / ${r.largestParameters} | ${r.seconds.toFixed(2)} | ${(r.seconds / floor.seconds).toFixed(2)} | ${r.rssMb.toFixed(0)} | ${rb ? rb.toFixed(2) : ''} | ${r.checkSeconds?.toFixed(2) ?? ''} | ${per} |`);
  }
  console.log('\nrulebook seconds by rulebook:');
  for (const r of results.filter((x) => Object.keys(x.rulebookSeconds).length)) {
    console.log(`  ${r.label}: ${Object.entries(r.rulebookSeconds).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  }
  const pilot = results.find((r) => r.label === 'pilot');
  if (pilot) {
    console.log(`\npilot / floor: ${(pilot.seconds / floor.seconds).toFixed(2)}× (medians; target ≤ 2.0×)`);
    const pilotCase = cases.find((c) => c.label === 'pilot')!;
    if (runs > 1) console.log(`pilot / floor by round: ${samples.get(pilotCase)!.map((s, i) => (s.seconds / samples.get(cases[0])![i].seconds).toFixed(2)).join(', ')}`);
  }
}

main();
