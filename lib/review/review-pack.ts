import * as fs from 'fs';
import * as path from 'path';
import { checkAssembly, IsolationReport } from '../isolation/check';
import { Crossing, CrossingId, IsolationIntent } from '../isolation/intent';
import { MODEL_CROSSINGS } from '../isolation/models';
import { CloudModel, readAssembly } from '../isolation/model';
import { ISOLATION_RULES } from '../isolation/rules';
import { AcknowledgementRecord, acknowledgementsMarkdown, collectAcknowledgements } from './acknowledgements';
import { costMarkdown, CostEstimate, estimateCost, loadPrices } from '../cost/model';
import { channelsMarkdown } from './channels-section';
import { modelsMarkdown } from './models-section';
import { computeBlastRadius } from '../isolation/blast-radius';

/**
 * The review pack of one synthesized assembly: everything is generated from
 * the cloud assembly (templates, intent, metadata), nothing is written by hand.
 */
export type Lang = 'ja' | 'en';

const T = {
  title: { ja: '三層分離 レビューパック', en: 'Three-tier separation review pack' },
  summary: { ja: '概要', en: 'Summary' },
  diagram: { ja: 'ゾーンと境界通過の図', en: 'Zones and crossings' },
  crossings: { ja: '許可された境界通過と強制リソース', en: 'Permitted crossings and their enforcing resources' },
  trace: { ja: 'ガイドラインの対策とのトレーサビリティ', en: 'Traceability to the MIC guideline measures' },
  verdict: { ja: '静的経路解析の判定', en: 'Static path analysis verdict' },
  acks: { ja: '承認済みの指摘', en: 'Acknowledged findings' },
  cost: { ja: 'コスト見積り', en: 'Cost estimate' },
  models: { ja: 'ネットワークモデル（団体ごとの境界通過、条件、被害範囲）', en: 'Network models (crossings, conditions and blast radius per municipality)' },
  channels: { ja: 'すべての経路：DNS、AWS マネージドの入口、ゾーンごとの被害範囲', en: 'Every channel: DNS, AWS-managed doors and the blast radius per zone' },
  match: { ja: '一致（インテントどおり）', en: 'match (as intended)' },
  mismatch: { ja: '不一致（指摘あり）', en: 'mismatch (findings)' },
} as const;

/** The MIC guideline measures and what satisfies them (rules by id, resources by CloudFormation type). */
const MEASURES: { ja: string; en: string; rules: string[]; types: string[]; crossings: string[]; outside?: { ja: string; en: string } }[] = [
  { ja: '個人番号利用事務系の分離', en: 'My Number tier isolation', rules: ['ThreeTier-IS1', 'ThreeTier-IS2', 'ThreeTier-IS3', 'ThreeTier-IS4', 'ThreeTier-IS6', 'ThreeTier-IS7', 'ThreeTier-X5'], types: ['AWS::EC2::VPC', 'AWS::EC2::VPCEndpoint'], crossings: ['X5', 'X6'] },
  { ja: '端末からのデータ持ち出し禁止', en: 'No data export from terminals', rules: ['ThreeTier-ST1'], types: ['AWS::AppStream::Stack', 'AWS::EC2::LaunchTemplate'], crossings: ['X1', 'TL'], outside: { ja: 'USB・ローカル保存の端末ポリシー（README）', en: 'USB and local storage policies on terminals (README)' } },
  { ja: '二要素認証', en: 'Two-factor login', rules: [], types: ['AWS::AppStream::Stack', 'AWS::EC2::VPNConnection'], crossings: ['TL'], outside: { ja: 'SAML IdP / RADIUS で MFA を強制（CloudFormation では設定不可、README）', en: 'MFA enforced at the SAML IdP / RADIUS (CloudFormation cannot set it; README)' } },
  { ja: 'LGWAN接続系とインターネット接続系の分割', en: 'LGWAN / internet split', rules: ['ThreeTier-IS3', 'ThreeTier-IS4', 'ThreeTier-PL1'], types: ['AWS::EC2::VPCEndpointService', 'AWS::EC2::VPCEndpoint'], crossings: ['X1'] },
  { ja: '無害化された通信のみ', en: 'Only sanitized content crosses', rules: ['ThreeTier-S3P1', 'ThreeTier-S3P2'], types: ['AWS::S3::Bucket', 'AWS::S3::BucketPolicy'], crossings: ['X2', 'X3', 'X4'] },
  { ja: '自治体情報セキュリティクラウドへの集約', en: 'Aggregation in the security cloud', rules: ['ThreeTier-TG1', 'ThreeTier-FW1'], types: ['AWS::EC2::TransitGateway', 'AWS::NetworkFirewall::Firewall', 'AWS::Route53Resolver::FirewallRuleGroup'], crossings: ['X7'] },
  { ja: 'モデル固有の境界通過（α′ の名前付きクラウド、β の画面転送、β′ の移行システム）', en: 'Model crossings (α′ named cloud services, β screen transfer into lgwan, β′ moved systems)', rules: ['ThreeTier-AP1', 'ThreeTier-PL1', 'ThreeTier-CX1', 'ThreeTier-CX2'], types: ['AWS::SSM::Parameter', 'AWS::NetworkFirewall::RuleGroup', 'AWS::EC2::VPCEndpointService', 'AWS::EC2::FlowLog'], crossings: ['A1', 'B1', 'B2'], outside: { ja: 'EDR、IdP のテナント制限、TLS 検査 CA の配布（docs/models.ja.md）', en: 'EDR, tenant restrictions at the identity provider, the TLS-inspection CA on terminals (docs/models.en.md)' } },
  { ja: '監視とログ', en: 'Monitoring and logs', rules: ['ThreeTier-LG1', 'ThreeTier-LG2'], types: ['AWS::EC2::FlowLog', 'AWS::NetworkFirewall::LoggingConfiguration', 'AWS::Route53Resolver::ResolverQueryLoggingConfig', 'AWS::CloudWatch::Alarm'], crossings: [] },
];

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function mermaidId(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, '_');
}

/** One flowchart: municipalities' zones, the security cloud, the LGWAN network and offices, with every permitted reach as an edge. */
export function mermaid(report: IsolationReport, intent: IsolationIntent, lang: Lang): string {
  const lines = ['```mermaid', 'flowchart LR'];
  const codes = [...new Set(intent.zones.map((z) => z.municipality).filter((c): c is string => !!c))];
  const shown = codes.slice(0, 6);
  for (const code of shown) {
    lines.push(`  subgraph M${code}["${lang === 'ja' ? '団体' : 'municipality'} ${code}"]`);
    for (const z of intent.zones.filter((x) => x.municipality === code)) lines.push(`    ${mermaidId(`${z.zone}@${code}`)}["${z.zone}<br/>${z.cidr}"]`);
    lines.push('  end');
  }
  lines.push(`  security_cloud{{"security cloud"}}`, `  public_internet((internet))`, `  aws_apis[("AWS APIs")]`);
  const edges = new Map<string, Set<string>>();
  for (const r of report.analyzer.reaches) {
    if (!r.permitted || r.mechanism === 'security-group' || r.mechanism === 'network-acl') continue;
    const code = /@(\d{6})$/.exec(r.from)?.[1];
    if (code && !shown.includes(code)) continue;
    const to = r.to.startsWith('aws-api:') ? 'aws_apis' : r.to === 'internet' ? 'public_internet' : r.to.startsWith('external:vgw:') ? (r.permittedBy === 'TL' ? 'office' : 'lgwan_network') : mermaidId(r.to);
    if (r.from === 'security-cloud' || r.from === 'lgwan-network') continue;
    const key = `${mermaidId(r.from)} --> ${to}`;
    const labels = edges.get(key) ?? new Set<string>();
    labels.add(r.permittedBy ?? '');
    edges.set(key, labels);
  }
  if ([...edges.keys()].some((e) => e.endsWith('office'))) lines.push(`  office[/"office / 庁舎"/]`);
  if ([...edges.keys()].some((e) => e.endsWith('lgwan_network'))) lines.push(`  lgwan_network[("LGWAN")]`);
  for (const [key, labels] of edges) {
    const [from, to] = key.split(' --> ');
    lines.push(`  ${from} -- "${[...labels].join(', ')}" --> ${to}`);
  }
  if (codes.length > shown.length) lines.push(`  more["… ${codes.length - shown.length} ${lang === 'ja' ? '団体（同じ構成）' : 'more municipalities (same shape)'}"]`);
  lines.push('```');
  return lines.join('\n');
}

function crossingTable(intent: IsolationIntent, lang: Lang): string {
  const head = lang === 'ja' ? '| ID | 団体 | 経路 | 方式 | ポート・サービス・宛先 | 強制リソース（スタック/論理ID） | 説明 |' : '| id | municipality | from → to | mechanism | ports / services / destinations | enforcing resources (stack/logical id) | description |';
  const rows = intent.crossings.map((c: Crossing) => {
    const what = [c.ports.length ? `ports ${c.ports.join(',')}` : '', c.services?.length ? c.services.join(',') : '', c.destinations?.length ? c.destinations.join(',') : ''].filter(Boolean).join('; ');
    const enforcing = c.enforcedBy.map((e) => `\`${e.stack}/${e.logicalId ?? '?'}\` (${e.role})`).join('<br/>');
    return `| ${c.id} | ${c.municipality ?? '-'} | ${c.from} → ${c.to} | ${c.mechanism} | ${cell(what) || '-'} | ${enforcing || '-'} | ${cell(c.description)} |`;
  });
  return [head, '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

function traceability(model: CloudModel, intent: IsolationIntent, lang: Lang): string {
  const head = lang === 'ja' ? '| 対策 | ルール | リソース（件数） | 境界通過 | CDK の外 |' : '| measure | rules | resources (count) | crossings | outside CDK |';
  const rows = MEASURES.map((m) => {
    const counts = m.types.map((t) => `${t.split('::').slice(1).join('::')} ×${model.ofType(t).length}`).join(', ');
    const ids: string[] = [...new Set(intent.crossings.filter((c) => m.crossings.includes(c.id)).map((c) => c.id))];
    const known = new Set(ISOLATION_RULES.map((r) => r.id));
    const rules = m.rules.filter((r) => known.has(r)).join(', ') || '-';
    // A model's own crossings (A1, B1, B2) exist only under that model: absent is not "not built".
    const missing = m.crossings.filter((c) => !ids.includes(c) && !Object.values(MODEL_CROSSINGS).some((x) => x.includes(c as CrossingId)));
    const crossing = [ids.join(', '), missing.length ? `${lang === 'ja' ? '未構築' : 'not built yet'}: ${missing.join(', ')}` : ''].filter(Boolean).join('; ') || '-';
    return `| ${m[lang]} | ${rules} | ${counts} | ${crossing} | ${m.outside ? m.outside[lang] : '-'} |`;
  });
  return [head, '|---|---|---|---|---|', ...rows].join('\n');
}

function verdictSection(report: IsolationReport, lang: Lang): string {
  const cols = ['internet', 'aws-apis', 'same municipality', 'other municipalities', 'security cloud', 'LGWAN network', 'office', 'external', 'admits from'];
  const out = [
    `**${lang === 'ja' ? '判定' : 'Verdict'}: ${report.verdict === 'match' ? T.match[lang] : T.mismatch[lang]}** — ThreeTier pack ${report.pack.findings.length}, ${lang === 'ja' ? '経路解析' : 'path analyzer'} ${report.analyzer.findings.length}`,
    '',
    `| zone | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...report.matrix.map((r) => `| ${r.zone} | ${cols.map((c) => r.reaches[c] ?? '-').join(' | ')} |`),
  ];
  for (const f of report.pack.findings) out.push('', `- ERROR ${f.rule} \`${f.stack}/${f.logicalId}\`: ${cell(f.message)}`);
  for (const f of report.analyzer.findings) out.push('', `- ${f.kind}: ${cell(f.message)}`, ...f.hops.map((h) => `  - \`${h.resource}\` ${h.type} ${cell(h.note)}`));
  return out.join('\n');
}

export interface ReviewPack {
  readonly files: string[];
  readonly report: IsolationReport;
  readonly cost: CostEstimate;
}

/** Writes `<outDir>/review.ja.md`, `review.en.md` and `isolation-report.json` for the assembly in `assemblyDir`. */
export function writeReviewPack(assemblyDir: string, outDir: string, extra: { region?: string } = {}): ReviewPack {
  const { report, intent, analysis } = checkAssembly(assemblyDir);
  const assembly = readAssembly(assemblyDir);
  const model = new CloudModel(assembly.stacks);
  const cost = estimateCost(assembly.stacks, loadPrices(extra.region ?? 'ap-northeast-1'));
  const acks: AcknowledgementRecord[] = collectAcknowledgements(assemblyDir);
  const radius = computeBlastRadius(model, intent, analysis);
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const lang of ['ja', 'en'] as const) {
    const municipalities = new Set(intent.zones.map((z) => z.municipality).filter(Boolean)).size;
    const md = [
      `# ${T.title[lang]}: ${intent.config}`,
      '',
      lang === 'ja' ? `> このファイルは \`npm run review\` が合成済みのクラウドアセンブリから生成しました。手で編集しないでください。` : '> Generated by `npm run review` from the synthesized cloud assembly; do not edit by hand.',
      '',
      `## ${T.summary[lang]}`,
      '',
      `- config: \`${intent.config}\`, model: ${intent.model}, ${lang === 'ja' ? '団体数' : 'municipalities'}: ${municipalities}, stacks: ${model.stacks.length}, resources: ${model.all().length}`,
      `- ${T.verdict[lang]}: ${report.verdict === 'match' ? T.match[lang] : T.mismatch[lang]}`,
      `- ${T.acks[lang]}: ${acks.length}`,
      '',
      `## ${T.diagram[lang]}`,
      '',
      mermaid(report, intent, lang),
      '',
      `## ${T.crossings[lang]}`,
      '',
      crossingTable(intent, lang),
      '',
      `## ${T.trace[lang]}`,
      '',
      traceability(model, intent, lang),
      '',
      `## ${T.verdict[lang]}`,
      '',
      verdictSection(report, lang),
      '',
      `## ${T.models[lang]}`,
      '',
      modelsMarkdown(intent, radius, lang),
      '',
      `## ${T.channels[lang]}`,
      '',
      channelsMarkdown(model, intent, analysis, lang),
      '',
      `## ${T.acks[lang]}`,
      '',
      acknowledgementsMarkdown(acks).replace(/^# .*\n/, ''),
      '',
      `## ${T.cost[lang]}`,
      '',
      costMarkdown(cost, lang),
      '',
    ].join('\n');
    const file = path.join(outDir, `review.${lang}.md`);
    fs.writeFileSync(file, md);
    files.push(file);
  }
  const json = path.join(outDir, 'isolation-report.json');
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  files.push(json);
  const costJson = path.join(outDir, 'cost-estimate.json');
  fs.writeFileSync(costJson, `${JSON.stringify(cost, null, 2)}\n`);
  files.push(costJson);
  return { files, report, cost };
}
