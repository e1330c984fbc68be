/**
 * `npm run bench:guard`: where the Control Tower Guard evaluation spends its
 * time, rule file by rule file (issue #17: "time each rule file").
 *
 * Synthesizes a config (default `pilot`; `--config <name>`) without rulebooks
 * into a temporary directory, selects the templates the rulebooks evaluate
 * (every stack that is not a zone stack, one zone stack per shape), and with
 * AWS's CloudFormation validation engine (the WebAssembly build aws-cdk-lib
 * ships, the one the synth uses) measures, best of `--runs N` (default 3):
 *   - each template with one engine holding every rule file the synth would
 *     give it (what the synth does);
 *   - each template with each of those rule files alone (net of a call with no
 *     rule file), split into rule files whose resource types occur in that
 *     template and those that occur only in another template (they can only
 *     SKIP there).
 * Prints per-template totals and the most expensive rule files. Nothing here
 * changes what a rule checks: it times the unchanged files.
 */
import { createRequire } from 'module';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../config';
import { buildThreeTier, createApp, synthThreeTier } from '../lib/app-builder';
import { relevantControlTowerRules, templateResourceTypes } from '../lib/compliance/control-tower';
import { applyWasmTieringBudget } from '../lib/compliance/rulebook-threads';
import { RulebookScope } from '../lib/scale/rulebook-scope';

interface Report {
  status?: string;
  performance?: { ruleEvaluation?: { durationMs: number }; validateTotal?: { durationMs: number } };
}
interface Engine {
  validateTemplate(t: unknown, o: unknown): Report;
  free(): void;
}
interface EngineModule {
  CelEngine: new (c: unknown) => Engine;
  RuleFile: new (f: string) => unknown;
  TemplateContent: new (b: Uint8Array, n: string) => unknown;
  TemplateModel: new (c: unknown) => { free(): void };
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const configName = opt('--config') ?? 'pilot';
const runs = Number(opt('--runs')) || 3;
const top = Number(opt('--top')) || 15;

function main(): void {
  applyWasmTieringBudget();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-guard-'));
  try {
    const cfg = loadConfig(configName);
    const app = createApp({}, out, { builtinValidation: false });
    const built = buildThreeTier(app, cfg);
    synthThreeTier(app, built, { rulebooks: false });
    const stacks = new Map(
      fs
        .readdirSync(out)
        .filter((f) => f.endsWith('.template.json'))
        .map((f) => [f.replace(/\.template\.json$/, ''), path.join(out, f)] as const),
    );
    const selected = new RulebookScope(cfg).select(stacks);
    const files = [...stacks].filter(([name]) => selected.has(name)).map(([, file]) => file);
    const union = templateResourceTypes(files);
    const rules = relevantControlTowerRules(union);

    const E = createRequire(require.resolve('aws-cdk-lib/package.json'))('@aws/cloudformation-validate') as EngineModule;
    // Grow the engine's memory once (see lib/compliance/rulebook-thread.js), so no timing below includes V8's collections for it.
    const block = new Uint8Array(384 * 1024 * 1024);
    block[0] = 0x7b;
    try {
      new E.TemplateModel(new E.TemplateContent(block, 'presize')).free();
    } catch {
      // refused, as intended
    }
    const time = (engine: Engine, file: string, bytes: Uint8Array): number => {
      let best = Infinity;
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = engine.validateTemplate(new E.TemplateContent(bytes, file), { disableBuiltinRules: true });
        if (r.status !== undefined && r.status !== 'OK') throw new Error(`${file}: the engine reported ${r.status}`);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return best;
    };
    const templates = files.map((file) => ({ file, name: path.basename(file, '.template.json'), bytes: fs.readFileSync(file), types: templateResourceTypes([file]), resources: Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).Resources ?? {}).length }));

    console.log(`Guard rule files, ${configName}: ${templates.length} templates evaluated by the rulebooks, ${rules.length} rule files selected (best of ${runs})\n`);
    const t0 = process.hrtime.bigint();
    const all = new E.CelEngine({ guardRules: rules.map((f) => new E.RuleFile(f)) });
    const engineMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const together = new Map(templates.map((t) => [t.file, time(all, t.file, t.bytes)]));
    all.free();

    // What one call costs with no rule file at all (reading the template, building its model): subtracted from each single rule's time below.
    const none = new E.CelEngine({ guardRules: [] });
    const base = new Map(templates.map((t) => [t.file, time(none, t.file, t.bytes)]));
    none.free();
    const single = new Map<string, Map<string, number>>(); // rule file → template → ms, net of `base`
    let engines = 0;
    for (const rule of rules) {
      const e = new E.CelEngine({ guardRules: [new E.RuleFile(rule)] });
      engines++;
      single.set(rule, new Map(templates.map((t) => [t.file, Math.max(0, time(e, t.file, t.bytes) - base.get(t.file)!)])));
      e.free();
    }
    const applies = (rule: string, t: { types: Set<string> }): boolean => relevantControlTowerRules(t.types).includes(rule);

    console.log(`engine with all ${rules.length} rule files built in ${engineMs.toFixed(0)} ms (${engines} single-rule engines built for the table below)\n`);
    console.log('Each rule file alone is timed net of a call with no rule file (the per-call cost, its own column).\n');
    console.log('| template | resources | call without rules ms | all rule files together ms | each alone, summed ms | of which rule files for its resource types ms (count) | of which other rule files ms (count) |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    let sumTogether = 0;
    for (const t of templates) {
      let mine = 0;
      let other = 0;
      let nMine = 0;
      let nOther = 0;
      for (const rule of rules) {
        const ms = single.get(rule)!.get(t.file)!;
        if (applies(rule, t)) {
          mine += ms;
          nMine++;
        } else {
          other += ms;
          nOther++;
        }
      }
      sumTogether += together.get(t.file)!;
      console.log(`| ${t.name} | ${t.resources} | ${base.get(t.file)!.toFixed(1)} | ${together.get(t.file)!.toFixed(0)} | ${(mine + other).toFixed(0)} | ${mine.toFixed(0)} (${nMine}) | ${other.toFixed(0)} (${nOther}) |`);
    }
    console.log(`| total | | | ${sumTogether.toFixed(0)} | | | |\n`);

    const byRule = [...single].map(([rule, m]) => ({ rule: path.basename(rule, '.guard'), total: [...m.values()].reduce((a, b) => a + b, 0), max: Math.max(...m.values()) })).sort((a, b) => b.total - a.total);
    console.log(`| rule file (top ${top} of ${byRule.length}) | all templates ms | largest template ms |`);
    console.log('|---|---:|---:|');
    for (const r of byRule.slice(0, top)) console.log(`| ${r.rule} | ${r.total.toFixed(0)} | ${r.max.toFixed(0)} |`);
    const totals = byRule.map((r) => r.total);
    console.log(`\nper rule file over all templates: median ${totals[Math.floor(totals.length / 2)].toFixed(0)} ms, min ${Math.min(...totals).toFixed(0)} ms, max ${Math.max(...totals).toFixed(0)} ms`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main();
