import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { loadConfig, validateConfig } from '../config';
import { alphaPrime, beta, betaPrime } from '../config/models-shipped';
import { pilot } from '../config/pilot';
import { zoneStackName, securityCloudStackName } from '../lib/core/naming';
import { buildIntent } from '../lib/isolation/intent';
import { MODEL_CROSSINGS } from '../lib/isolation/models';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkIsolationCli } from '../lib/isolation/cli';
import { writeReviewPack } from '../lib/review/review-pack';
import { synthShipped, tmpDir } from './helpers/synth';

const ROOT = path.resolve(__dirname, '..');

/** The intent of a config, without synthesizing it. */
function intentOf(name: string) {
  const cfg = loadConfig(name);
  return buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));
}

describe('the model of each municipality is data in the intent', () => {
  test('pilot is model α: no model crossings, the α conditions', () => {
    const i = intentOf('pilot');
    assert.equal(i.model, 'alpha');
    assert.deepEqual(i.models?.map((m) => [m.municipality, m.model, m.crossings]), [['131016', 'alpha', []]]);
    assert.ok(i.models![0].conditions.some((c) => c.id === 'terminals-lgwan' && c.enforced === 'cdk'));
    assert.ok(!i.crossings.some((c) => ['A1', 'B1', 'B2'].includes(c.id)), 'α has none of the other models\' crossings');
  });
  test('each shipped model config names its model, and the conditions carry the municipality\'s own values', () => {
    const ap = intentOf('alpha-prime').models![0];
    assert.equal(ap.model, 'alpha-prime');
    const tenant = ap.conditions.find((c) => c.id === 'tenant-restriction')!;
    assert.equal(tenant.enforced, 'outside');
    assert.match(tenant.en, /00000000-0000-4000-8000-000000131016/);
    assert.match(ap.conditions.find((c) => c.id === 'named-services')!.en, /chiyodacity\.sharepoint\.com/);
    const b = intentOf('beta').models![0];
    assert.equal(b.model, 'beta');
    const edr = b.conditions.find((c) => c.id === 'edr')!;
    assert.equal(edr.enforced, 'outside');
    assert.match(edr.en, /Microsoft Defender for Endpoint \(MsSense 10\.8\)/);
    assert.match(edr.ja, /EDR/);
    const bp = intentOf('beta-prime').models![0];
    assert.equal(bp.model, 'beta-prime');
    assert.match(bp.conditions.find((c) => c.id === 'moved-systems')!.en, /payroll \(ports 443\), finance \(ports 443\)/);
    for (const m of [ap, b, bp]) {
      assert.ok(m.conditions.every((c) => c.en.length > 20 && c.ja.length > 10), 'every condition in both languages');
      assert.deepEqual(m.crossings, [...MODEL_CROSSINGS[m.model as keyof typeof MODEL_CROSSINGS]], `${m.model}: the intent lists the model's crossings`);
    }
  });
  test('a config with several models says so, and lists each municipality\'s model', () => {
    const second = { ...beta.municipalities[0], code: '131024', name: '中央区', nameEn: 'Chuo', lgwanMailDomains: ['city.chuo.lg.jp'], cidrs: { mynumber: '10.2.0.0/20', lgwan: '10.2.16.0/20', internet: '10.2.32.0/20', transfer: '10.2.48.0/20' }, mail: undefined, pickup: undefined, specificCommunications: undefined, dnsAllow: {}, terminals: { internet: { officeCidrs: ['192.168.31.0/24'], connection: { type: 'vpn' as const, customerGatewayIp: '192.0.2.31', bgpAsn: 65031 } } }, beta: { screenSystems: [{ name: 'records', address: '10.2.16.40', port: 3389 }], edr: { product: 'EDR', agent: 'agent 1' } } };
    const cfg = validateConfig({ ...pilot, name: 'mixed', municipalities: [pilot.municipalities[0], second] }, 'mixed');
    const i = buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));
    assert.equal(i.model, 'mixed (α, β)');
    assert.deepEqual(i.models!.map((m) => [m.municipality, m.model]), [['131016', 'alpha'], ['131024', 'beta']]);
  });
  test('the shipped model configs differ from the pilot only in the model and its section', () => {
    for (const c of [alphaPrime, beta, betaPrime]) {
      const m = c.municipalities[0] as Record<string, unknown>;
      const p = pilot.municipalities[0] as Record<string, unknown>;
      const extra = Object.keys(m).filter((k) => !(k in p)).sort();
      assert.ok(extra.includes('model'));
      for (const k of Object.keys(p)) assert.deepEqual(m[k], p[k], `${c.name}: ${k} is the pilot's`);
    }
  });
});

describe('each model config, synthesized with every rulebook, matches its intent', () => {
  for (const name of ['alpha-prime', 'beta', 'beta-prime']) {
    test(`check-isolation exits 0 on ${name}`, () => {
      let out = '';
      const status = checkIsolationCli([synthShipped(name).outdir], { out: (x) => (out += x), err: (x) => (out += x) });
      assert.equal(status, 0, out);
      assert.match(out, /match/);
    });
  }
});

describe('reviewing models', () => {
  test('the review pack shows, per municipality, its model, crossing table, conditions (in CDK or outside) and blast radius', () => {
    const out = tmpDir('review-beta');
    writeReviewPack(synthShipped('beta').outdir, out);
    const en = fs.readFileSync(path.join(out, 'review.en.md'), 'utf8');
    const section = en.slice(en.indexOf('## Network models'), en.indexOf('## Every channel'));
    assert.match(section, /### 131016: model β \(`beta`\)/);
    assert.match(section, /Crossings the model adds: B1/);
    assert.match(section, /\| EDR on every internet-tier terminal: Microsoft Defender for Endpoint \(MsSense 10\.8\).* \| \*\*outside CDK\*\* \(the municipality\) \|/);
    assert.match(section, /\| B1 \| internet → lgwan \| privatelink \| ports 3389 \|/);
    assert.match(section, /\| lgwan@131016 \| .*\| allowlist/);
    const ja = fs.readFileSync(path.join(out, 'review.ja.md'), 'utf8');
    assert.match(ja, /## ネットワークモデル/);
    assert.match(ja, /\*\*CDK の外\*\*（団体）/);
  });
  test('npm run review -- --compare puts α, α′, β and β′ side by side from their assemblies', () => {
    const out = tmpDir('review-compare');
    const dirs = ['pilot', 'alpha-prime', 'beta', 'beta-prime'].map((n) => synthShipped(n).outdir);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/review.ts', '--compare', dirs.join(','), '--out', out], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /models side by side \(4 municipalities from 4 configs\)/);
    const en = fs.readFileSync(path.join(out, 'models.en.md'), 'utf8');
    const row = (name: string) => en.split('\n').find((l) => l.startsWith(`| ${name} |`))!.split(' | ').slice(1);
    assert.deepEqual(row('model').map((c) => c.replace(/ \|$/, '')), ['α (`alpha`)', 'α′ (`alpha-prime`)', 'β (`beta`)', 'β′ (`beta-prime`)']);
    assert.deepEqual(row('crossings the model adds').map((c) => c.replace(/ \|$/, '')), ['-', 'A1', 'B1', 'B1, B2']);
    const into = row('who may initiate into lgwan');
    assert.equal(into[0], '-');
    assert.equal(into[1], '-');
    assert.match(into[2], /internet B1 :3389/);
    assert.match(row('crossings out of lgwan')[1], /security-cloud A1 :3128 \(4 names\)/);
    assert.deepEqual(row('forbidden reach (must be none)').map((c) => c.replace(/ \|$/, '')), ['-', '-', '-', '-']);
    assert.match(row('conditions the municipality makes true outside CDK')[2], /edr: EDR on every internet-tier terminal/);
    assert.match(en, /- beta \/ 131016: match \(ThreeTier pack 0, path analyzer 0\)/);
    assert.ok(fs.existsSync(path.join(out, 'models.ja.md')));
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'bin/review.ts', '--compare', ''], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--compare needs a comma-separated list/);
  });
});
