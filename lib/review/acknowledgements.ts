import * as fs from 'fs';
import * as path from 'path';

/** One acknowledged finding, as recorded in the cloud assembly. */
export interface AcknowledgementRecord {
  readonly stack: string;
  /** Construct path of the acknowledged resource. */
  readonly resource: string;
  readonly rulebook: string;
  readonly rule: string;
  readonly reason: string;
}

const METADATA_TYPE = 'aws:cdk:acknowledged-rules';

/** Which rulebook an acknowledgement id belongs to. */
export function rulebookOf(id: string): { rulebook: string; rule: string } {
  const bare = id.replace(/^Annotation::/, '');
  if (bare.startsWith('cdk-validator-cfnguard::')) return { rulebook: 'AWS Control Tower proactive controls', rule: bare.slice('cdk-validator-cfnguard::'.length) };
  if (bare.startsWith('AwsSolutions-')) return { rulebook: 'AwsSolutions (cdk-nag)', rule: bare };
  if (bare.startsWith('ThreeTier-')) return { rulebook: 'ThreeTier isolation pack', rule: bare };
  if (bare.startsWith('CloudFormation-Validate::')) return { rulebook: 'CDK built-in template validation', rule: bare.slice('CloudFormation-Validate::'.length) };
  if (bare.startsWith('@aws-cdk/')) return { rulebook: 'CDK construct warnings', rule: bare };
  return { rulebook: 'other', rule: bare };
}

type Manifest = { artifacts?: Record<string, { type: string; additionalMetadataFile?: string; metadata?: Record<string, { type: string; data: unknown }[]> }> };

/** Reads every acknowledgement from a cloud assembly directory (cdk.out). */
export function collectAcknowledgements(assemblyDir: string): AcknowledgementRecord[] {
  const manifestPath = path.join(assemblyDir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) throw new Error(`${assemblyDir} is not a cloud assembly: manifest.json is missing (run "npx cdk synth" first)`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest;
  const out: AcknowledgementRecord[] = [];
  for (const [stack, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    let metadata = artifact.metadata ?? {};
    if (artifact.additionalMetadataFile) {
      metadata = { ...metadata, ...JSON.parse(fs.readFileSync(path.join(assemblyDir, artifact.additionalMetadataFile), 'utf8')) };
    }
    for (const [constructPath, entries] of Object.entries(metadata)) {
      for (const e of entries) {
        if (e.type !== METADATA_TYPE) continue;
        for (const [id, reason] of Object.entries(e.data as Record<string, string>)) {
          out.push({ stack, resource: constructPath.replace(/^\//, ''), ...rulebookOf(id), reason });
        }
      }
    }
  }
  return out.sort((a, b) => a.rulebook.localeCompare(b.rulebook) || a.rule.localeCompare(b.rule) || a.resource.localeCompare(b.resource));
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown (ja/en) listing of acknowledgements, grouped by rulebook. */
export function acknowledgementsMarkdown(records: AcknowledgementRecord[]): string {
  const lines = [
    '# 承認済みの指摘 / Acknowledged findings',
    '',
    '各指摘はリソース単位で、理由とともに承認されています。スタック単位の承認はありません。',
    'Every finding below is acknowledged on one resource with its reason; nothing is acknowledged per stack.',
    '',
  ];
  const books = [...new Set(records.map((r) => r.rulebook))];
  for (const book of books) {
    const rows = records.filter((r) => r.rulebook === book);
    lines.push(`## ${book} (${rows.length})`, '', '| rule | stack | resource | reason / 理由 |', '|---|---|---|---|');
    for (const r of rows) lines.push(`| ${cell(r.rule)} | ${cell(r.stack)} | \`${cell(r.resource)}\` | ${cell(r.reason)} |`);
    lines.push('');
  }
  if (books.length === 0) lines.push('(none / なし)', '');
  return lines.join('\n');
}
