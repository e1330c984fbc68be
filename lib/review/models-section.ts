import { MODEL_LABELS, NetworkModel } from '../../config/models';
import { AnalysisResult } from '../isolation/analyzer';
import { BlastRadius, blastRows, Lang } from '../isolation/blast-radius';
import { Crossing, IntentModel, IsolationIntent } from '../isolation/intent';

/**
 * The review pack's section on network models (issue #18): per municipality its
 * model, its crossing table, the guideline's conditions (which the templates make
 * true and which the municipality must make true outside CDK) and its blast radius;
 * and a side-by-side comparison of municipalities (or configs) under different
 * models. Everything is read from intents, analyses and blast radii: nothing here
 * knows what a model does.
 */

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function label(model: string): string {
  return MODEL_LABELS[model as NetworkModel] ?? model;
}

function crossingRows(crossings: readonly Crossing[]): string[] {
  return crossings.map((c) => {
    const what = [c.ports.length ? `ports ${c.ports.join(',')}` : '', c.services?.length ? c.services.join(',') : '', c.destinations?.length ? c.destinations.join(',') : '', c.fqdns?.length ? `names ${c.fqdns.join(',')}` : ''].filter(Boolean).join('; ');
    return `| ${c.id} | ${c.from} → ${c.to} | ${c.mechanism} | ${esc(what) || '-'} | ${esc(c.description)} |`;
  });
}

/** The crossings of one municipality, plus the shared ones that lead to it. */
function crossingsOf(intent: IsolationIntent, code: string): Crossing[] {
  return intent.crossings.filter((c) => c.municipality === code);
}

function modelsOf(intent: IsolationIntent): IntentModel[] {
  return intent.models ?? [];
}

/** Per municipality: model, conditions, crossing table, blast radius. */
export function modelsMarkdown(intent: IsolationIntent, radius: BlastRadius, lang: Lang): string {
  const ja = lang === 'ja';
  const out: string[] = [];
  const models = modelsOf(intent);
  if (!models.length) return ja ? 'このインテントにはモデルの情報がありません（モデル導入前の形式）。' : 'This intent has no model entries (written before models were recorded).';
  out.push(
    ja
      ? 'ガイドラインのネットワークモデル（α、α′、β、β′）は団体ごとに設定します。各モデルが加える境界通過はインテントのデータで、他の境界通過と同じ検査（ThreeTier パック、経路解析、実機検証）を受けます。「CDK の外」の条件はテンプレートでは強制できず、団体が満たす必要があります。'
      : 'The guideline\'s network models (α, α′, β, β′) are set per municipality. The crossings a model adds are data in the intent and go through the same checks as every other crossing (ThreeTier pack, path analysis, live check). Conditions marked "outside CDK" cannot be enforced by templates: the municipality must make them true.',
    '',
  );
  if (new Set(models.map((m) => m.model)).size > 1 || models.length > 1) {
    out.push(`### ${ja ? '団体ごとの比較' : 'Municipalities side by side'}`, '', comparisonTable(models.map((m) => ({ title: `${m.municipality} (${label(m.model)})`, intent, model: m, radius })), lang), '');
  }
  for (const m of models) {
    out.push(`### ${m.municipality}: ${ja ? 'モデル' : 'model'} ${label(m.model)} (\`${m.model}\`)`, '');
    out.push(`${ja ? 'モデルが加える境界通過' : 'Crossings the model adds'}: ${m.crossings.length ? m.crossings.join(', ') : ja ? 'なし（α の境界通過のみ）' : 'none (α\'s crossings only)'}`, '');
    out.push(`| ${ja ? '条件' : 'condition'} | ${ja ? '誰が満たすか' : 'made true by'} |`, '|---|---|');
    for (const c of m.conditions) out.push(`| ${esc(c[lang])} | ${c.enforced === 'cdk' ? (ja ? 'テンプレート（検査済み）' : 'the templates (checked)') : ja ? '**CDK の外**（団体）' : '**outside CDK** (the municipality)'} |`);
    out.push('', `${ja ? '境界通過' : 'Crossing table'}:`, '', `| id | from → to | ${ja ? '方式' : 'mechanism'} | ${ja ? 'ポート・宛先' : 'ports / destinations'} | ${ja ? '説明' : 'description'} |`, '|---|---|---|---|---|', ...crossingRows(crossingsOf(intent, m.municipality)), '');
    const rows = blastRows(radius, lang).filter((r) => r.zone.endsWith(`@${m.municipality}`));
    out.push(`${ja ? '被害範囲（侵害されたホスト 1 台から）' : 'Blast radius (from one compromised host)'}:`, '', `| zone | ${ja ? 'ネットワーク' : 'network'} | DNS | ${ja ? '禁止された到達' : 'forbidden reach'} |`, '|---|---|---|---|');
    for (const r of rows) out.push(`| ${r.zone} | ${esc(r.cells.network)} | ${esc(r.cells.dns)} | ${esc(r.cells.forbidden)} |`);
    out.push('');
  }
  return out.join('\n');
}

export interface ModelColumn {
  readonly title: string;
  readonly intent: IsolationIntent;
  readonly model: IntentModel;
  readonly radius: BlastRadius;
  readonly analysis?: AnalysisResult;
  /** check-isolation's verdict on the column's assembly (pack and analyzer). */
  readonly verdict?: { readonly match: boolean; readonly pack: number; readonly analyzer: number };
}

/** Who may open connections into a zone of this municipality (crossings whose target is that zone). */
function into(intent: IsolationIntent, code: string, zone: string): string {
  const cs = intent.crossings.filter((c) => c.to === zone && (c.municipality === code || !c.municipality) && c.from !== zone);
  return cs.map((c) => `${c.from} ${c.id}${c.ports.length ? ` :${c.ports.join(',')}` : ''}`).join('; ') || '-';
}

function outOf(intent: IsolationIntent, code: string, zone: string): string {
  const cs = intent.crossings.filter((c) => c.from === zone && c.municipality === code && c.to !== 'aws-apis');
  return cs.map((c) => `${c.to} ${c.id}${c.ports.length ? ` :${c.ports.join(',')}` : ''}${c.fqdns?.length ? ` (${c.fqdns.length} names)` : ''}`).join('; ') || '-';
}

/** A table with one column per municipality or config: what differs between models. */
export function comparisonTable(columns: readonly ModelColumn[], lang: Lang): string {
  const ja = lang === 'ja';
  const rowsOf = (c: ModelColumn) => blastRows(c.radius, lang).filter((r) => r.zone.endsWith(`@${c.model.municipality}`));
  const cellOf = (c: ModelColumn, zone: string, key: 'network' | 'dns' | 'forbidden') => rowsOf(c).find((r) => r.zone === `${zone}@${c.model.municipality}`)?.cells[key] ?? '-';
  const rows: [string, (c: ModelColumn) => string][] = [
    [ja ? 'モデル' : 'model', (c) => `${label(c.model.model)} (\`${c.model.model}\`)`],
    [ja ? 'モデルが加える境界通過' : 'crossings the model adds', (c) => c.model.crossings.join(', ') || '-'],
    [ja ? 'lgwan へ接続を開始できるもの' : 'who may initiate into lgwan', (c) => into(c.intent, c.model.municipality, 'lgwan')],
    [ja ? 'lgwan から出る境界通過' : 'crossings out of lgwan', (c) => outOf(c.intent, c.model.municipality, 'lgwan')],
    [ja ? 'internet から出る境界通過' : 'crossings out of internet', (c) => outOf(c.intent, c.model.municipality, 'internet')],
    [ja ? 'mynumber から出る境界通過' : 'crossings out of mynumber', (c) => outOf(c.intent, c.model.municipality, 'mynumber')],
    [ja ? '被害範囲: lgwan のホスト' : 'blast radius: a host in lgwan', (c) => cellOf(c, 'lgwan', 'network')],
    [ja ? '被害範囲: internet のホスト' : 'blast radius: a host in internet', (c) => cellOf(c, 'internet', 'network')],
    [ja ? '被害範囲: mynumber のホスト' : 'blast radius: a host in mynumber', (c) => cellOf(c, 'mynumber', 'network')],
    [ja ? '禁止された到達（あってはならない）' : 'forbidden reach (must be none)', (c) => ['mynumber', 'lgwan', 'internet', 'transfer'].map((z) => cellOf(c, z, 'forbidden')).filter((x) => x !== '-').join('; ') || '-'],
    [ja ? 'テンプレートが満たす条件' : 'conditions the templates make true', (c) => c.model.conditions.filter((x) => x.enforced === 'cdk').map((x) => x.id).join(', ') || '-'],
    [ja ? 'CDK の外で団体が満たす条件' : 'conditions the municipality makes true outside CDK', (c) => c.model.conditions.filter((x) => x.enforced === 'outside').map((x) => `${x.id}: ${x[lang]}`).join('<br/>') || '-'],
  ];
  return [`| | ${columns.map((c) => esc(c.title)).join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`, ...rows.map(([name, f]) => `| ${name} | ${columns.map((c) => esc(f(c))).join(' | ')} |`)].join('\n');
}

/** The page that puts models side by side across configs (`npm run review -- --compare ...`). */
export function comparisonPage(columns: readonly ModelColumn[], lang: Lang): string {
  const ja = lang === 'ja';
  return [
    `# ${ja ? 'ネットワークモデルの比較' : 'Network models side by side'}`,
    '',
    ja ? '> `npm run review -- --compare` が合成したアセンブリから生成しました。手で編集しないでください。' : '> Generated by `npm run review -- --compare` from synthesized assemblies; do not edit by hand.',
    '',
    ja
      ? '各列は 1 つの構成の 1 団体です。境界通過と被害範囲はインテントと解析結果から、条件はインテントのモデル情報から作っています。モデルの説明は docs/models.ja.md を参照してください。'
      : 'Each column is one municipality of one config. Crossings and blast radius come from the intent and the analysis, conditions from the intent\'s model entries. docs/models.en.md explains the models.',
    '',
    comparisonTable(columns, lang),
    '',
    `## ${ja ? '検査の判定' : 'Check verdicts'}`,
    '',
    ...columns.map((c) => `- ${c.title}: ${c.verdict ? `${c.verdict.match ? (ja ? '一致' : 'match') : ja ? '**不一致**' : '**mismatch**'} (ThreeTier pack ${c.verdict.pack}, ${ja ? '経路解析' : 'path analyzer'} ${c.verdict.analyzer})` : '-'}`),
    '',
  ].join('\n');
}
