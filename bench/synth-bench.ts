/**
 * `npm run bench`: synth wall time and peak memory, side by side in one run:
 *   - the floor: an empty CDK app through the same CLI;
 *   - the shipped pilot config;
 *   - generated configs of 1, 10, 50 and 200 municipalities (`synthetic-N`);
 *   - the static isolation check (`check-isolation`) on the pilot's and the
 *     200-municipality assembly, next to the synth that produced them.
 * Every synth goes through `cdk synth` with all rulebooks, as a user runs it.
 * Peak memory is the app process's own maxRSS (where synthesis happens).
 * Pass `--runs N` to repeat each case and keep the median.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 1;

interface Case {
  label: string;
  municipalities: number;
  app: string;
  config?: string;
}
const APP = 'node --import tsx bin/app.ts';
const cases: Case[] = [
  { label: 'empty CDK app, one empty stack (floor)', municipalities: 0, app: 'node --import tsx bench/empty-app.ts' },
  { label: 'pilot', municipalities: 1, app: APP, config: 'pilot' },
  { label: 'synthetic-1', municipalities: 1, app: APP, config: 'synthetic-1' },
  { label: 'synthetic-10', municipalities: 10, app: APP, config: 'synthetic-10' },
  { label: 'synthetic-50', municipalities: 50, app: APP, config: 'synthetic-50' },
  { label: 'synthetic-200', municipalities: 200, app: APP, config: 'synthetic-200' },
];
const CHECKED = new Set(['pilot', 'synthetic-200']);

interface Result extends Case {
  seconds: number;
  rssMb: number;
  stacks: number;
  largestTemplate: number;
  checkSeconds?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function runOnce(c: Case): Omit<Result, keyof Case> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const rssFile = path.join(out, '..', `${path.basename(out)}.rss`);
  const cli = [CDK, 'synth', '-q', '-a', c.app, '-o', out, ...(c.config ? ['-c', `config=${c.config}`] : [])];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cli[0], cli.slice(1), { cwd: ROOT, encoding: 'utf8', env: { ...process.env, THREE_TIER_RSS_FILE: rssFile } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${c.label}: cdk synth failed\n${r.stderr.slice(-3000)}`);
  const rssMb = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) / 1024 : NaN;
  const templates = fs.readdirSync(out).filter((f) => f.endsWith('.template.json'));
  const largestTemplate = Math.max(0, ...templates.map((f) => Object.keys(JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')).Resources ?? {}).length));
  let checkSeconds: number | undefined;
  if (CHECKED.has(c.label)) {
    const t1 = process.hrtime.bigint();
    const chk = spawnSync(process.execPath, ['--import', 'tsx', 'bin/check-isolation.ts', out], { cwd: ROOT, encoding: 'utf8' });
    checkSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    if (chk.status !== 0) throw new Error(`${c.label}: check-isolation exited ${chk.status}\n${chk.stdout.slice(-2000)}${chk.stderr.slice(-2000)}`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(rssFile, { force: true });
  return { seconds, rssMb, stacks: templates.length, largestTemplate, checkSeconds };
}

function main(): void {
  console.log(`synth benchmark: ${os.cpus().length} cores, node ${process.version}, ${runs} run(s) per case (median)\n`);
  const results: Result[] = [];
  for (const c of cases) {
    const samples = Array.from({ length: runs }, () => runOnce(c));
    const checks = samples.map((s) => s.checkSeconds).filter((x): x is number => x !== undefined);
    const r = { ...c, ...samples[0], seconds: median(samples.map((s) => s.seconds)), rssMb: median(samples.map((s) => s.rssMb)), checkSeconds: checks.length ? median(checks) : undefined };
    results.push(r);
    console.log(`  done: ${c.label} ${r.seconds.toFixed(2)} s`);
  }
  const floor = results[0];
  const one = results.find((r) => r.label === 'synthetic-1')!;
  const fifty = results.find((r) => r.label === 'synthetic-50')!;
  console.log('\n| case | municipalities | stacks | largest template (resources) | wall s | × floor | peak RSS MB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.label} | ${r.municipalities} | ${r.stacks} | ${r.largestTemplate} | ${r.seconds.toFixed(2)} | ${(r.seconds / floor.seconds).toFixed(2)} | ${r.rssMb.toFixed(0)} |`);
  }
  const marginal = (fifty.seconds - one.seconds) / (fifty.municipalities - one.municipalities);
  const marginalMb = (fifty.rssMb - one.rssMb) / (fifty.municipalities - one.municipalities);
  console.log(`\nmarginal cost per municipality (synthetic-1 → synthetic-50): ${marginal.toFixed(3)} s, ${marginalMb.toFixed(1)} MB peak RSS`);
  console.log(`pilot / floor: ${(results[1].seconds / floor.seconds).toFixed(2)}×`);
  console.log('\n| assembly | synth s | check-isolation s | check / synth |');
  console.log('|---|---:|---:|---:|');
  for (const r of results.filter((x) => x.checkSeconds !== undefined)) {
    console.log(`| ${r.label} | ${r.seconds.toFixed(2)} | ${r.checkSeconds!.toFixed(2)} | ${(r.checkSeconds! / r.seconds).toFixed(3)} |`);
  }
}

main();
