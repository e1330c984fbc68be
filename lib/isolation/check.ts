import * as fs from 'fs';
import * as path from 'path';
import { AnalysisResult, Finding, analyze, targetLabel } from './analyzer';
import { IsolationIntent, readIntent } from './intent';
import { CloudModel, readAssembly } from './model';
import { RuleFinding, runRules } from './rules';
import { ZoneIndex } from './zones';

/**
 * Both verdicts for one cloud assembly: the ThreeTier pack's per-resource
 * rules (honouring the acknowledgements recorded in the assembly) and the
 * path analyzer's comparison with the intent.
 */
export interface IsolationReport {
  readonly assembly: string;
  readonly config: string;
  readonly verdict: 'match' | 'mismatch';
  readonly pack: { findings: RuleFinding[]; acknowledged: (RuleFinding & { reason: string })[] };
  readonly analyzer: { findings: Finding[]; reaches: { from: string; to: string; mechanism: string; ports?: number[]; inspected: boolean; permitted: boolean; permittedBy?: string }[] };
  readonly matrix: { zone: string; reaches: Record<string, string> }[];
}

export function checkAssembly(dir: string): { report: IsolationReport; analysis: AnalysisResult; intent: IsolationIntent } {
  const files = readAssembly(dir);
  const intent = readIntent(dir);
  const model = new CloudModel(files.stacks);
  const zones = new ZoneIndex(model);
  const raw = runRules({ model, zones });
  const ackFor = (f: RuleFinding) => files.acknowledgements.find((a) => a.id === f.rule && a.stack === f.stack && a.logicalId === f.logicalId);
  const findings = raw.filter((f) => !ackFor(f));
  const acknowledged = raw.filter((f) => ackFor(f)).map((f) => ({ ...f, reason: ackFor(f)!.reason }));
  const analysis = analyze(model, intent);
  const reaches = analysis.verdicts.map(({ reach: r, permittedBy }) => ({
    from: r.from.municipality ? `${r.from.zone}@${r.from.municipality}` : r.from.zone,
    to: targetLabel(r.to),
    mechanism: r.mechanism,
    ports: r.ports,
    inspected: r.inspected,
    permitted: permittedBy !== undefined,
    permittedBy,
  }));
  const matrix = buildMatrix(analysis);
  const verdict = findings.length === 0 && analysis.findings.length === 0 ? 'match' : 'mismatch';
  return { report: { assembly: path.resolve(dir), config: intent.config, verdict, pack: { findings, acknowledged }, analyzer: { findings: analysis.findings, reaches }, matrix }, analysis, intent };
}

/** One row per zone; columns are the kinds of destination; cells say which crossing permits the reach, or FORBIDDEN. */
function buildMatrix(analysis: AnalysisResult): IsolationReport['matrix'] {
  return analysis.zones.map((z) => {
    const vpc = `${z.vpc.stack}/${z.vpc.logicalId}`;
    const mine = analysis.verdicts.filter((v) => v.reach.from.vpc === vpc || (v.reach.to.kind === 'zone' && v.reach.to.vpc === vpc && (v.reach.mechanism === 'security-group' || v.reach.mechanism === 'network-acl')));
    const cell = (pred: (t: string, by?: string) => boolean): string => {
      const hits = mine.filter((v) => v.reach.from.vpc === vpc && pred(targetLabel(v.reach.to), v.permittedBy));
      if (hits.length === 0) return '-';
      if (hits.some((v) => !v.permittedBy)) return 'FORBIDDEN';
      return `ok ${[...new Set(hits.map((v) => v.permittedBy))].join(',')}`;
    };
    const inbound = mine.filter((v) => v.reach.from.vpc !== vpc);
    return {
      zone: z.municipality ? `${z.zone}@${z.municipality}` : z.zone,
      reaches: {
        internet: cell((t) => t === 'internet'),
        'aws-apis': cell((t) => t.startsWith('aws-api:')),
        'same municipality': cell((t) => z.municipality !== undefined && t !== `${z.zone}@${z.municipality}` && t.endsWith(`@${z.municipality}`)),
        'other municipalities': cell((t) => /@\d{6}$/.test(t) && !(z.municipality && t.endsWith(`@${z.municipality}`))),
        'security cloud': cell((t) => t === 'security-cloud'),
        // A zone's one VPN gateway may serve both its office and the LGWAN network: the crossing that permits the route says which.
        'LGWAN network': cell((t, by) => t === 'lgwan-network' || (t.startsWith('external:vgw:') && (by === 'X5' || by === 'X4'))),
        office: cell((t, by) => t.startsWith('external:vgw:') && by === 'TL'),
        external: cell((t, by) => (t.startsWith('external:') && (!t.startsWith('external:vgw:') || by === undefined)) || t.startsWith('untagged-vpc:')),
        'admits from': inbound.length === 0 ? '-' : inbound.some((v) => !v.permittedBy) ? 'FORBIDDEN' : 'ok',
      },
    };
  });
}

export function writeReport(file: string, report: IsolationReport): void {
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Human-readable summary: the matrix, then every finding hop by hop. */
export function formatReport(report: IsolationReport): string {
  const lines: string[] = [];
  lines.push(`isolation check of ${report.assembly} (config "${report.config}")`, '');
  const cols = ['internet', 'aws-apis', 'same municipality', 'other municipalities', 'security cloud', 'LGWAN network', 'office', 'external', 'admits from'];
  const width = Math.max(4, ...report.matrix.map((r) => r.zone.length));
  const w = (c: string): number => Math.max(c.length, ...report.matrix.map((r) => (r.reaches[c] ?? '-').length));
  lines.push(`${'zone'.padEnd(width)} | ${cols.map((c) => c.padEnd(w(c))).join(' | ')}`);
  lines.push(`${'-'.repeat(width)}-+-${cols.map((c) => '-'.repeat(w(c))).join('-+-')}`);
  for (const r of report.matrix) lines.push(`${r.zone.padEnd(width)} | ${cols.map((c) => (r.reaches[c] ?? '-').padEnd(w(c))).join(' | ')}`);
  lines.push('');
  lines.push(`ThreeTier pack: ${report.pack.findings.length} finding(s), ${report.pack.acknowledged.length} acknowledged`);
  for (const f of report.pack.findings) lines.push(`  ERROR ${f.rule} ${f.stack}/${f.logicalId} (${f.type}): ${f.message}`);
  lines.push(`path analyzer: ${report.analyzer.findings.length} finding(s)`);
  for (const f of report.analyzer.findings) {
    lines.push(`  ${f.kind.toUpperCase()} ${f.message}`);
    for (const h of f.hops) lines.push(`      -> ${h.resource} [${h.type}] ${h.note}`);
  }
  lines.push('', report.verdict === 'match' ? 'verdict: the assembly matches its isolation intent' : 'verdict: the assembly does NOT match its isolation intent');
  return lines.join('\n');
}
