import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pilot } from '../config/pilot';
import { writeReviewPack } from '../lib/review/review-pack';
import { synth, synthShipped, tmpDir } from './helpers/synth';

const ROOT = path.resolve(__dirname, '..');

describe('review pack (generated from the assembly, ja/en)', () => {
  const base = synthShipped('pilot');
  const out = tmpDir('review');
  const pack = writeReviewPack(base.outdir, out);
  const en = fs.readFileSync(path.join(out, 'review.en.md'), 'utf8');
  const ja = fs.readFileSync(path.join(out, 'review.ja.md'), 'utf8');
  test('writes Japanese and English Markdown and the isolation report', () => {
    assert.deepEqual(pack.files.map((f) => path.basename(f)), ['review.ja.md', 'review.en.md', 'isolation-report.json', 'cost-estimate.json']);
    assert.match(ja, /^# 三層分離 レビューパック: pilot/);
    assert.match(en, /^# Three-tier separation review pack: pilot/);
  });
  test('has a Mermaid diagram whose edges are the permitted reaches', () => {
    assert.match(en, /```mermaid\nflowchart LR/);
    assert.match(en, /lgwan_131016 -- "X1" --> internet_131016/);
    assert.match(en, /internet_131016 -- "X7" --> public_internet/);
    assert.doesNotMatch(en, /mynumber_131016 -- "[^"]*" --> public_internet/);
  });
  test('lists every crossing with its enforcing resources by stack and logical id', () => {
    assert.match(en, /\| X1 \| 131016 \| lgwan → internet \| privatelink \| ports 8443 \| `Pilot-131016-Lgwan\/ScreenTransferEndpoint[0-9A-F]+`/);
    assert.match(en, /\| X5 \| 131016 \| mynumber → lgwan-network \|/);
  });
  test('maps the MIC measures to rules and resources, with the analyzer verdict and the acknowledgements', () => {
    assert.match(ja, /\| 個人番号利用事務系の分離 \| ThreeTier-IS1/);
    assert.match(en, /\| Aggregation in the security cloud \| ThreeTier-TG1, ThreeTier-FW1 \| EC2::TransitGateway ×1/);
    assert.match(en, /\*\*Verdict: match \(as intended\)\*\*/);
    assert.match(en, /## AWS Control Tower proactive controls \(\d+\)/);
  });
  test('shows every channel: the DNS allowlist per zone, the doors, the blast radius per zone and what the checks cannot see (ja/en)', () => {
    assert.match(en, /## Every channel: DNS, AWS-managed doors and the blast radius per zone/);
    assert.match(ja, /## すべての経路：DNS、AWS マネージドの入口、ゾーンごとの被害範囲/);
    assert.match(en, /\| mynumber@131016 \| allowlist \| allowlist \| .*`ssm\.ap-northeast-1\.amazonaws\.com`/);
    assert.match(en, /\| lgwan@131016 \| allowlist \| allowlist \| .*`\*\.city\.chiyoda\.lg\.jp`/);
    assert.match(en, /\| internet@131016 \| public \| public \| - \|/);
    assert.match(en, /Doors the intent lists: none\. Doors found in the assembly: none\./);
    assert.match(en, /\| zone \| network reach \(ports\) \| DNS reach \|/);
    assert.match(en, /\| internet@131016 \| .* \| inbound \(X2\) → transfer → sanitized \(X2\) → lgwan \(reaches lgwan only after sanitizing\)/);
    assert.match(ja, /\| ゾーン \| ネットワーク到達先（ポート） \| DNS 到達 \|/);
    assert.match(en, /Covert timing and similar channels inside permitted crossings/);
    assert.match(ja, /許可された境界通過の中のタイミング等の隠れチャネル/);
  });
  test('a change of config changes the review', () => {
    const cfg = structuredClone(pilot) as any;
    cfg.screenTransfer.port = 9443;
    cfg.municipalities[0].specificCommunications.destinations.push({ name: 'tax', address: '172.20.1.20', port: 8080, protocol: 'tcp' });
    const other = synth(cfg);
    const out2 = tmpDir('review2');
    writeReviewPack(other.outdir, out2);
    const en2 = fs.readFileSync(path.join(out2, 'review.en.md'), 'utf8');
    assert.notEqual(en2, en);
    assert.match(en2, /\| X1 \| 131016 \| lgwan → internet \| privatelink \| ports 9443 \|/);
    assert.match(en2, /172\.20\.1\.10\/32,172\.20\.1\.20\/32/);
  });
  test('the cost section is generated from the assembly and follows the config', () => {
    assert.match(en, /## Cost estimate\n\nMonthly fixed cost \(Asia Pacific \(Tokyo\) ap-northeast-1, USD, price table recorded \d{4}-\d{2}-\d{2}/);
    assert.match(ja, /### 47 問題：団体あたりの月額/);
    assert.match(en, /\| 1,741 \| \$[\d,.]+ \| \$[\d,.]+ \| \$[\d,.]+ \|/);
    assert.match(en, /\| networkFirewall\.endpointHour \| 0\.48 \/ endpoint-hour \| .* \| https:\/\/aws\.amazon\.com\/network-firewall\/pricing\/ \| unverified \|/);
    const cfg = structuredClone(pilot) as any;
    cfg.securityCloud.mailGateway = { ...(cfg.securityCloud.mailGateway ?? {}), minHosts: 3, maxHosts: 4 };
    const more = synth(cfg);
    const out3 = tmpDir('review3');
    const pack3 = writeReviewPack(more.outdir, out3);
    const c6i = 0.107 * 730;
    // One more MX host: one more c6i.large-month and its 16 GB volume, nothing else.
    assert.equal(Math.round((pack3.cost.securityCloud - pack.cost.securityCloud) * 100) / 100, Math.round((c6i + 16 * 0.096) * 100) / 100);
    assert.notEqual(fs.readFileSync(path.join(out3, 'review.en.md'), 'utf8').match(/## Cost estimate[\s\S]*/)![0], en.match(/## Cost estimate[\s\S]*/)![0]);
  });
  test('npm run review works offline on every other shipped config (lab synthesized by the CLI, prefecture from its cdk.out with --assembly), cost included', () => {
    for (const name of ['lab', 'prefecture']) {
      const dir = tmpDir(`review-cli-${name}`);
      // The prefecture's rulebooks are checked in test/rulebooks.test.ts; here its assembly is reviewed as handed over.
      const source = name === 'lab' ? ['-c', `config=${name}`] : ['--assembly', synthShipped(name).outdir];
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/review.ts', ...source, '--out', dir], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`review pack for "${name}" \\(verdict: match; fixed cost: security cloud \\$[\\d.]+/month`));
      const en = fs.readFileSync(path.join(dir, 'review.en.md'), 'utf8');
      assert.match(en, /### The 47 problem/);
      assert.match(en, /```mermaid/);
      if (name === 'prefecture') {
        // A config with several models: the municipalities side by side, then each one's model, conditions and crossings.
        assert.match(en, /### Municipalities side by side/);
        assert.match(en, /\| model \| α \(`alpha`\) \| α′ \(`alpha-prime`\) \| β \(`beta`\) \| β′ \(`beta-prime`\) \| α \(`alpha`\)/);
        assert.match(en, /### 142018: model β′ \(`beta-prime`\)/);
        assert.match(en, /EDR on every internet-tier terminal: CrowdStrike Falcon \(falcon-sensor 7\)/);
        assert.match(fs.readFileSync(path.join(dir, 'review.ja.md'), 'utf8'), /### 団体ごとの比較/);
      }
      const cost = JSON.parse(fs.readFileSync(path.join(dir, 'cost-estimate.json'), 'utf8'));
      assert.ok(cost.securityCloud > 0 && cost.averageMunicipality > 0);
    }
  });
  test('npm run review refuses an unknown config, a folder that is not an assembly, and both at once, with exit 2', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/review.ts', '-c', 'config=nope'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /there is no config named "nope"/);
    const notAssembly = spawnSync(process.execPath, ['--import', 'tsx', 'bin/review.ts', '--assembly', tmpDir('not-an-assembly')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(notAssembly.status, 2);
    assert.match(notAssembly.stderr, /not a cloud assembly \(no manifest\.json\); pass the cdk\.out directory/);
    const both = spawnSync(process.execPath, ['--import', 'tsx', 'bin/review.ts', '-c', 'config=lab', '--assembly', base.outdir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /either -c config=NAME .* or --assembly DIR/);
  });
});
