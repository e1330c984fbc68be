import * as fs from 'fs';
import * as path from 'path';
import { AnalysisResult, Finding, Target, analyze, targetLabel } from './analyzer';
import { INTENT_FILE, IntentError, IsolationIntent } from './intent';
import { readIntentFile } from './intent-check';
import { AssemblyError, AssemblyFiles, CloudModel, readAssembly, tagsOf } from './model';
import { CfnTemplate, readParameterFile, readTemplateFile, StackInput } from './cfn/assembly';
import { readShapesIndex, SHAPES_DIR, SHAPES_INDEX, ShapesError } from '../scale/assembly';
import { instantiate, Template } from '../scale/shapes';
import { ZONE_TAG } from '../core/tags';
import { RuleFinding, runRules } from './rules';
import { ZONE_NAMES, ZoneIndex, ZoneName } from './zones';

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
  readonly analyzer: { findings: Finding[]; reaches: { from: string; to: string; mechanism: string; ports?: number[]; portText?: string; inspected: boolean; permitted: boolean; permittedBy?: string }[] };
  readonly matrix: { zone: string; reaches: Record<string, string> }[];
}

export interface CheckOptions {
  /** The intent file; default: isolation-intent.json in the (single) assembly directory. */
  readonly intent?: string;
  /** Region and account for stacks whose environment the input does not state. */
  readonly region?: string;
  readonly account?: string;
  /**
   * Check the zone stacks from the assembly's shapes (`shapes/`): each zone
   * stack is its shape instantiated in memory with its municipality's
   * parameter file, not its own template (issue #17: the shape is checked once by the
   * rulebooks; every municipality is still analyzed).
   */
  readonly shapes?: boolean;
  /** Municipalities per batch when an assembly of shapes is checked in parts (default BATCH_SIZE). */
  readonly batchSize?: number;
}

/** Whether the assembly has zone stacks that exist only as shape + parameter file. */
function predictedShapes(dir: string | undefined): boolean {
  if (!dir || !fs.existsSync(path.join(dir, SHAPES_DIR, SHAPES_INDEX))) return false;
  return readShapesIndex(dir).classes.some((c) => c.members.some((m) => m.predicted));
}

/** Replaces each zone stack that has a shape by the shape with that stack's parameter file (in memory). */
export function withShapes(files: AssemblyFiles): AssemblyFiles {
  const index = readShapesIndex(files.dir);
  const byStack = new Map(files.stacks.map((s) => [s.name, s]));
  const dir = path.join(files.dir, SHAPES_DIR);
  const replaced = new Map<string, StackInput>();
  for (const c of index.classes) {
    const templateFile = path.join(dir, c.template);
    const template = readTemplateFile(templateFile);
    for (const mem of c.members) {
      const original: StackInput | undefined = byStack.get(mem.stack) ?? (mem.predicted ? { name: mem.stack, template: template, account: mem.account, region: mem.region } : undefined);
      if (!original) throw new ShapesError(`${path.join(dir, SHAPES_INDEX)}: ${mem.stack} is not a stack of this assembly`);
      const parametersFile = path.join(dir, mem.parametersFile);
      const parameters = readParameterFile(parametersFile);
      if (!parameters) throw new ShapesError(`${parametersFile}: missing; the shape ${c.id} needs the values of ${mem.stack}`);
      const values: Record<string, string> = {};
      const declared = new Set(c.parameters);
      for (const [k, v] of Object.entries(parameters)) {
        if (!declared.has(k)) throw new ShapesError(`${parametersFile}: Parameters.${k}: the shape ${c.id} has no such parameter (it has: ${c.parameters.join(', ') || 'none'})`);
        if (typeof v !== 'string') throw new ShapesError(`${parametersFile}: Parameters.${k}: must be a string`);
        values[k] = v;
      }
      // In memory: the shape with this municipality's values is the template checked (the rules see plain values, as in a direct synth).
      let instance: CfnTemplate;
      try {
        instance = instantiate(template as unknown as Template, values) as unknown as CfnTemplate;
      } catch (e) {
        throw new ShapesError(`${parametersFile}: ${(e as Error).message}`);
      }
      replaced.set(mem.stack, { ...original, template: instance, file: `${templateFile} with ${parametersFile}`, parameters: undefined, parametersFile: undefined });
    }
  }
  const present = new Set(files.stacks.map((s) => s.name));
  const added = [...replaced.values()].filter((s) => !present.has(s.name));
  return { ...files, stacks: [...files.stacks.map((s) => replaced.get(s.name) ?? s), ...added] };
}

/** Refuses zone tags that name no zone: a typo would otherwise make a VPC silently zoneless. */
function checkZoneTags(files: AssemblyFiles, model: CloudModel): void {
  for (const vpc of model.ofType('AWS::EC2::VPC')) {
    const zone = tagsOf(vpc.resolved)[ZONE_TAG];
    if (zone !== undefined && !ZONE_NAMES.includes(zone as ZoneName)) {
      const file = files.stacks.find((s) => s.name === vpc.stack)?.file ?? vpc.stack;
      throw new AssemblyError(`${file}: Resources.${vpc.logicalId}.Properties.Tags: ${ZONE_TAG} "${zone}" is not a zone; zones are ${ZONE_NAMES.join(', ')}`);
    }
  }
}

export function checkAssembly(input: string | string[], options: CheckOptions = {}): { report: IsolationReport; analysis: AnalysisResult; intent: IsolationIntent } {
  const inputs = Array.isArray(input) ? input : [input];
  const read = readAssembly(inputs);
  // An assembly of rollout.method "shapes" holds most municipalities only as parameter files: it is always checked from its shapes.
  const shaped = options.shapes || predictedShapes(read.dir);
  const files = shaped ? withShapes(read) : read;
  const intentFile = options.intent ?? (inputs.length === 1 && fs.existsSync(inputs[0]) && fs.statSync(inputs[0]).isDirectory() ? path.join(inputs[0], INTENT_FILE) : undefined);
  if (!intentFile) throw new IntentError(`no isolation intent: pass --intent FILE (a cdk.out holds its own ${INTENT_FILE})`);
  const intent = readIntentFile(intentFile);
  const assembly = inputs.map((i) => path.resolve(i)).join(', ');
  const batches = shaped ? municipalityBatches(files, options.batchSize ?? BATCH_SIZE) : undefined;
  if (!batches) {
    const one = checkFiles(files, intent, options);
    return { report: { assembly, config: intent.config, ...one.report }, analysis: one.analysis, intent };
  }
  // Many municipalities: each batch is checked with every stack that is not a zone stack (hub, log archive, ...) and the
  // zone stacks of its municipalities only. What one municipality can reach does not depend on another's zone stacks:
  // tenants meet only in the hub, which every batch holds, with at least two tenants (docs/shapes.en.md).
  const parts = batches.map((b) => checkFiles({ ...files, stacks: b.stacks }, narrowIntent(intent, b.codes), options));
  const uniq = <T>(xs: T[]): T[] => {
    const seen = new Set<string>();
    return xs.filter((x) => {
      const k = JSON.stringify(x);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  const findings = uniq(parts.flatMap((p) => p.report.pack.findings));
  const acknowledged = uniq(parts.flatMap((p) => p.report.pack.acknowledged));
  const analysis: AnalysisResult = {
    reaches: uniq(parts.flatMap((p) => p.analysis.reaches)),
    verdicts: uniq(parts.flatMap((p) => p.analysis.verdicts)),
    findings: uniq(parts.flatMap((p) => p.analysis.findings)),
    zones: uniq(parts.flatMap((p) => p.analysis.zones)),
    channels: { dns: uniq(parts.flatMap((p) => p.analysis.channels?.dns ?? [])), doors: uniq(parts.flatMap((p) => p.analysis.channels?.doors ?? [])), findings: uniq(parts.flatMap((p) => p.analysis.channels?.findings ?? [])) },
  };
  const verdict = findings.length === 0 && analysis.findings.length === 0 ? 'match' : 'mismatch';
  const report: IsolationReport = {
    assembly,
    config: intent.config,
    verdict,
    pack: { findings, acknowledged },
    analyzer: { findings: analysis.findings, reaches: uniq(parts.flatMap((p) => p.report.analyzer.reaches)) },
    matrix: uniq(parts.flatMap((p) => p.report.matrix)),
  };
  return { report, analysis, intent };
}

/** Municipalities per batch when an assembly of shapes is checked in parts. */
export const BATCH_SIZE = 25;

/**
 * The stacks of each batch: every stack that is no municipality's zone stack,
 * plus the zone stacks of the batch's municipalities. Undefined when one batch
 * holds them all. Batches are of near-equal size, never one municipality alone.
 */
function municipalityBatches(files: AssemblyFiles, size: number): { stacks: StackInput[]; codes: Set<string> }[] | undefined {
  const index = readShapesIndex(files.dir);
  const codeOf = new Map<string, string>();
  for (const c of index.classes) for (const m of c.members) codeOf.set(m.stack, m.code);
  const codes = [...new Set(codeOf.values())];
  if (codes.length <= Math.max(2, size)) return undefined;
  // Near-equal batches of at least two municipalities each (tenants meet in the hub: each batch has two to meet).
  const count = Math.ceil(codes.length / Math.max(2, size));
  const shared = files.stacks.filter((s) => !codeOf.has(s.name));
  const out: { stacks: StackInput[]; codes: Set<string> }[] = [];
  for (let b = 0; b < count; b++) {
    const mine = new Set(codes.slice(Math.floor((b * codes.length) / count), Math.floor(((b + 1) * codes.length) / count)));
    out.push({ stacks: [...shared, ...files.stacks.filter((s) => mine.has(codeOf.get(s.name) ?? ''))], codes: mine });
  }
  return out;
}

/** The intent of some municipalities (and everything that names none). */
function narrowIntent(intent: IsolationIntent, codes: Set<string>): IsolationIntent {
  const keep = (x: { municipality?: string }) => x.municipality === undefined || codes.has(x.municipality);
  return {
    ...intent,
    zones: intent.zones.filter(keep),
    crossings: intent.crossings.filter(keep),
    ingress: intent.ingress?.filter(keep),
    doors: intent.doors?.filter(keep),
    models: intent.models?.filter(keep),
  };
}

/** The pack's rules and the analyzer on one set of stacks. */
function checkFiles(files: AssemblyFiles, intent: IsolationIntent, options: CheckOptions): { report: Omit<IsolationReport, 'assembly' | 'config'>; analysis: AnalysisResult } {
  const model = new CloudModel(files.stacks, { region: options.region, account: options.account });
  checkZoneTags(files, model);
  const zones = new ZoneIndex(model);
  const raw = runRules({ model, zones, intent });
  const ackFor = (f: RuleFinding) => files.acknowledgements.find((a) => a.id === f.rule && a.stack === f.stack && a.logicalId === f.logicalId);
  const findings = raw.filter((f) => !ackFor(f));
  const acknowledged = raw.filter((f) => ackFor(f)).map((f) => ({ ...f, reason: ackFor(f)!.reason }));
  const analysis = analyze(model, intent);
  const reaches = analysis.verdicts.map(({ reach: r, permittedBy }) => ({
    from: r.from.municipality ? `${r.from.zone}@${r.from.municipality}` : r.from.zone,
    to: targetLabel(r.to),
    mechanism: r.mechanism,
    ports: r.ports,
    portText: r.portText,
    inspected: r.inspected,
    permitted: permittedBy !== undefined,
    permittedBy,
  }));
  const matrix = buildMatrix(analysis);
  const verdict = findings.length === 0 && analysis.findings.length === 0 ? 'match' : 'mismatch';
  return { report: { verdict, pack: { findings, acknowledged }, analyzer: { findings: analysis.findings, reaches }, matrix }, analysis };
}

const FILTERS = ['security-group', 'network-acl'];

/**
 * One row per zone VPC (two VPCs with the same zone and municipality get a
 * row each, named by their VPC); columns are the kinds of destination; cells
 * say which crossing permits the reach, or FORBIDDEN. Security-group and NACL
 * openings are the destination's business: they show in the destination's
 * row, under "admits from", with the source and the ports.
 */
function buildMatrix(analysis: AnalysisResult): IsolationReport['matrix'] {
  const labelOf = (z: { zone: string; municipality?: string }): string => (z.municipality ? `${z.zone}@${z.municipality}` : z.zone);
  const counts = new Map<string, number>();
  for (const z of analysis.zones) counts.set(labelOf(z), (counts.get(labelOf(z)) ?? 0) + 1);
  return analysis.zones.map((z) => {
    const vpc = `${z.vpc.stack}/${z.vpc.logicalId}`;
    const outgoing = analysis.verdicts.filter((v) => v.reach.from.vpc === vpc && !FILTERS.includes(v.reach.mechanism));
    const cell = (pred: (t: Target, by?: string) => boolean): string => {
      const hits = outgoing.filter((v) => pred(v.reach.to, v.permittedBy));
      if (hits.length === 0) return '-';
      if (hits.some((v) => !v.permittedBy)) return 'FORBIDDEN';
      return `ok ${[...new Set(hits.map((v) => v.permittedBy))].join(',')}`;
    };
    const zoneTarget = (t: Target): t is Extract<Target, { kind: 'zone' }> => t.kind === 'zone' && t.vpc !== vpc;
    const inbound = analysis.verdicts.filter((v) => FILTERS.includes(v.reach.mechanism) && v.reach.to.kind === 'zone' && v.reach.to.vpc === vpc);
    const inboundText = (): string => {
      if (inbound.length === 0) return '-';
      const bad = inbound.filter((v) => !v.permittedBy);
      const describe = (v: (typeof inbound)[number]): string => `${v.reach.from.zone === 'public-internet' ? 'anywhere' : labelOf(v.reach.from)} ${v.reach.portText ?? ''}`.trim();
      if (bad.length) return `FORBIDDEN ${[...new Set(bad.map(describe))].join('; ')}`;
      return `ok ${[...new Set(inbound.map((v) => v.permittedBy))].join(',')}`;
    };
    const base = labelOf(z);
    return {
      zone: (counts.get(base) ?? 0) > 1 ? `${base} (${vpc})` : base,
      reaches: {
        internet: cell((t) => t.kind === 'internet'),
        'aws-apis': cell((t) => t.kind === 'aws-api'),
        // Another VPC of the same municipality, including a second VPC of the same zone.
        'same municipality': cell((t) => zoneTarget(t) && t.zone !== 'security-cloud' && z.municipality !== undefined && t.municipality === z.municipality),
        'other municipalities': cell((t) => zoneTarget(t) && t.zone !== 'security-cloud' && t.municipality !== undefined && t.municipality !== z.municipality),
        // The shared hub, and a municipality's own VPC in the security cloud (the α′ proxy).
        'security cloud': cell((t) => zoneTarget(t) && t.zone === 'security-cloud'),
        // A zone's one VPN gateway may serve both its office and the LGWAN network: the crossing that permits the route says which.
        'LGWAN network': cell((t, by) => (zoneTarget(t) && t.zone === 'lgwan-network') || (t.kind === 'external' && t.what.startsWith('vgw:') && (by === 'X5' || by === 'X4'))),
        office: cell((t, by) => t.kind === 'external' && t.what.startsWith('vgw:') && by === 'TL'),
        external: cell((t, by) => (t.kind === 'external' && (!t.what.startsWith('vgw:') || by === undefined)) || t.kind === 'unknown-vpc' || (zoneTarget(t) && t.municipality === undefined && !['security-cloud', 'lgwan-network'].includes(t.zone))),
        'admits from': inboundText(),
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
