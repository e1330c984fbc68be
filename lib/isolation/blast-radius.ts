import { ROLE_TAG, CROSSING_TAG } from '../core/tags';
import { AnalysisResult, analyze, targetLabel } from './analyzer';
import { DnsReach } from './channels';
import { IsolationIntent, readIntent } from './intent';
import { CloudModel, Json, ResourceRef, asList, keyOf, readAssembly, tagsOf } from './model';
import { ZoneName } from './zones';

/**
 * The blast radius of a compromised host in each zone of each municipality
 * (DESIGN section 3, "computed, not described"): where its packets can go
 * (zones, the internet, the security cloud, the LGWAN network, office
 * segments; ports), what its resolver answers (none / allowlist / anything),
 * which AWS APIs it reaches through its endpoints, and per bucket and queue
 * whether it can read, write or delete — from the endpoint policies and the
 * bucket and queue policies of the assembly — and which crossings its writes
 * feed. Identity policies are not modelled: a cell says what the endpoint
 * and resource policies leave possible for a credential that IAM allows.
 */

export type Access = 'read' | 'write' | 'delete';

export interface ResourceAccess {
  readonly kind: 'bucket' | 'queue';
  /** Bucket name (with `${AWS::AccountId}`-style placeholders) or `stack/logicalId` of a queue. */
  readonly name: string;
  readonly role?: string;
  readonly crossing?: string;
  readonly access: Access[];
}

export interface NetworkReach {
  readonly target: string;
  readonly category: 'zone' | 'internet' | 'security cloud' | 'LGWAN network' | 'office' | 'aws-apis' | 'external';
  readonly ports: number[];
  readonly destinations: string[];
  readonly permittedBy?: string;
  readonly inspected: boolean;
}

export interface ZoneBlast {
  readonly zone: ZoneName;
  readonly municipality: string;
  readonly network: NetworkReach[];
  readonly dns: { policy: 'allowlist' | 'none' | 'public'; reach: DnsReach['reach']; names: number; reasons: string[]; forwarded: string[] };
  readonly awsApis: string[];
  readonly resources: ResourceAccess[];
  /** What its writes feed: e.g. "inbound (X2) → transfer → sanitized (X2) → lgwan". */
  readonly feeds: string[];
  /** Zones, buckets and services it reaches that no crossing permits. */
  readonly forbidden: string[];
}

export interface BlastRadius {
  readonly config: string;
  readonly zones: ZoneBlast[];
}

const ACTIONS: Record<'bucket' | 'queue', Record<Access, string[]>> = {
  bucket: { read: ['s3:GetObject'], write: ['s3:PutObject'], delete: ['s3:DeleteObject', 's3:DeleteObjectVersion'] },
  queue: { read: ['sqs:ReceiveMessage'], write: ['sqs:SendMessage'], delete: ['sqs:DeleteMessage', 'sqs:PurgeQueue'] },
};

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

function actionCovered(actions: Json, action: string): boolean {
  return asList(actions).some((a: Json) => typeof a === 'string' && glob(a).test(action));
}

/** Text of a policy value: references to buckets become their ARNs, other references placeholders. */
function text(model: CloudModel, stack: string, v: Json): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (v && typeof v === 'object') {
    if (Array.isArray(v['Fn::Join'])) {
      const [sep, parts] = v['Fn::Join'];
      return asList(parts).map((p: Json) => text(model, stack, p)).join(sep);
    }
    if (typeof v.Ref === 'string') return `\${${v.Ref}}`;
    const r = model.resolve(stack, v);
    if (r.kind === 'resource' && r.ref.type === 'AWS::S3::Bucket' && (r.attribute === 'Arn' || r.attribute === undefined)) return `arn:\${AWS::Partition}:s3:::${bucketName(model, r.ref)}`;
    if (r.kind === 'resource') return `\${${keyOf(r.ref)}${r.attribute ? `.${r.attribute}` : ''}}`;
    if (r.kind === 'literal') return text(model, stack, r.value);
  }
  return '${?}';
}

function bucketName(model: CloudModel, b: ResourceRef): string {
  return b.props.BucketName !== undefined ? text(model, b.stack, b.props.BucketName) : `\${${keyOf(b)}}`;
}

/** Whether a statement's Resource covers the resource (by reference, or by ARN pattern for buckets). */
function coversResource(model: CloudModel, stack: string, st: Json, res: ResourceRef, kind: 'bucket' | 'queue'): boolean {
  const sample = kind === 'bucket' ? `arn:\${AWS::Partition}:s3:::${bucketName(model, res)}/any-key` : undefined;
  return asList(st.Resource).some((r: Json) => {
    if (r === '*') return true;
    const ref = model.refTo(stack, r);
    if (ref) return ref === res;
    const t = text(model, stack, r);
    if (kind === 'bucket' && sample) return glob(t).test(sample);
    return false;
  });
}

/** Endpoint ids named by the aws:SourceVpce keys of a condition block, and whether other keys are present. */
function sourceVpceCondition(model: CloudModel, stack: string, st: Json): { op?: string; endpoints: (ResourceRef | string)[]; other: boolean } {
  let op: string | undefined;
  const endpoints: (ResourceRef | string)[] = [];
  let other = false;
  for (const [operator, block] of Object.entries<Json>(st.Condition ?? {})) {
    for (const [key, value] of Object.entries<Json>(block ?? {})) {
      if (key.toLowerCase() === 'aws:sourcevpce') {
        op = operator;
        for (const v of asList(value)) endpoints.push(model.refTo(stack, v) ?? text(model, stack, v));
      } else other = true;
    }
  }
  return { op, endpoints, other };
}

/** What an endpoint (or set of endpoints of a zone) lets a credential do to one bucket or queue. */
function accessThrough(model: CloudModel, endpoint: ResourceRef, res: ResourceRef, kind: 'bucket' | 'queue', policies: ResourceRef[]): Access[] {
  const out: Access[] = [];
  const epStatements = asList(endpoint.props.PolicyDocument?.Statement);
  for (const access of ['read', 'write', 'delete'] as Access[]) {
    const actions = ACTIONS[kind][access];
    // The endpoint policy must allow the action on the resource (no policy: everything).
    const allowedByEndpoint =
      endpoint.props.PolicyDocument === undefined ||
      actions.some((a) => epStatements.some((st: Json) => st?.Effect === 'Allow' && actionCovered(st.Action, a) && coversResource(model, endpoint.stack, st, res, kind)));
    const deniedByEndpoint = actions.every((a) => epStatements.some((st: Json) => st?.Effect === 'Deny' && !st.Condition && actionCovered(st.Action, a) && coversResource(model, endpoint.stack, st, res, kind)));
    if (!allowedByEndpoint || deniedByEndpoint) continue;
    // A resource-policy Deny that keeps the action to other endpoints closes it for this one.
    const denied = actions.every((a) =>
      policies.some((p) =>
        asList(p.props.PolicyDocument?.Statement).some((st: Json) => {
          if (st?.Effect !== 'Deny' || !actionCovered(st.Action, a) || !coversResource(model, p.stack, st, res, kind)) return false;
          const c = sourceVpceCondition(model, p.stack, st);
          if (!st.Condition || Object.keys(st.Condition).length === 0) return true;
          if (c.other || !c.op) return false; // a Deny on other conditions (TLS, principal) can be met by the attacker
          const listed = c.endpoints.includes(endpoint);
          return /notequals/i.test(c.op) ? !listed : listed;
        }),
      ),
    );
    if (!denied) out.push(access);
  }
  return out;
}

const CATEGORY = (t: string, by?: string): NetworkReach['category'] => {
  if (t === 'internet') return 'internet';
  if (t.startsWith('aws-api:')) return 'aws-apis';
  if (t === 'security-cloud') return 'security cloud';
  if (t === 'lgwan-network' || (t.startsWith('external:vgw:') && by !== 'TL' && t.includes('lgwan-network'))) return 'LGWAN network';
  if (t.startsWith('external:vgw:') && (by === 'TL' || t.includes('terminal-landing'))) return by === 'X5' || by === 'X4' ? 'LGWAN network' : 'office';
  if (/@\d{6}$/.test(t)) return 'zone';
  return 'external';
};

/** Computes the blast radius of every municipal zone from an analysis and its intent. */
export function computeBlastRadius(model: CloudModel, intent: IsolationIntent, analysis: AnalysisResult = analyze(model, intent)): BlastRadius {
  const buckets = model.ofType('AWS::S3::Bucket');
  const queues = model.ofType('AWS::SQS::Queue');
  const bucketPolicies = model.ofType('AWS::S3::BucketPolicy');
  const queuePolicies = model.ofType('AWS::SQS::QueuePolicy');
  const zones: ZoneBlast[] = [];
  const endpointsOf = (vpc: ResourceRef, service: 's3' | 'sqs') =>
    model.ofType('AWS::EC2::VPCEndpoint').filter((e) => keyOf(model.refTo(e.stack, e.props.VpcId) ?? { stack: '', logicalId: '' }) === keyOf(vpc) && text(model, e.stack, e.props.ServiceName).endsWith(`.${service}`));
  for (const zv of analysis.zones) {
    if (!zv.municipality) continue;
    const vpcKey = keyOf(zv.vpc);
    // Network: routed and PrivateLink reaches of this VPC, with the ports of the crossing that permits them.
    const network = new Map<string, NetworkReach>();
    const forbidden: string[] = [];
    for (const v of analysis.verdicts) {
      const r = v.reach;
      if (r.from.vpc !== vpcKey || r.mechanism === 'security-group' || r.mechanism === 'network-acl' || r.mechanism === 'vpc-endpoint') continue;
      const target = targetLabel(r.to);
      // The crossing that permits it: same id and source, and the destination this reach arrives at.
      const candidates = intent.crossings.filter((c) => c.id === v.permittedBy && c.from === zv.zone && (!c.municipality || c.municipality === zv.municipality) && c.to !== 'aws-apis');
      const toZone = r.to.kind === 'zone' ? r.to.zone : r.to.kind === 'internet' ? 'public-internet' : undefined;
      const crossing =
        candidates.find((c) => r.routeDest !== undefined && (c.destinations ?? []).includes(r.routeDest)) ??
        candidates.find((c) => toZone !== undefined && c.to === toZone) ??
        candidates.find((c) => c.to === 'office') ??
        candidates[0];
      const ports = r.ports?.length ? r.ports : crossing?.ports ?? [];
      const destinations = crossing?.destinations ?? (r.routeDest ? [r.routeDest] : []);
      const key = `${target}|${v.permittedBy ?? ''}`;
      const prev = network.get(key);
      network.set(key, { target, category: CATEGORY(target, v.permittedBy), ports: [...new Set([...(prev?.ports ?? []), ...ports])], destinations: [...new Set([...(prev?.destinations ?? []), ...destinations])], permittedBy: v.permittedBy, inspected: r.inspected || !!prev?.inspected });
      if (!v.permittedBy) forbidden.push(`${target} via ${r.mechanism}`);
    }
    const dnsReach = analysis.channels?.dns.find((d) => d.vpc === vpcKey);
    if (dnsReach?.reach === 'anything' && zv.zone !== 'internet') forbidden.push('public-internet via dns');
    for (const d of analysis.channels?.doors ?? []) if (d.zone === zv.zone && d.municipality === zv.municipality && d.permittedBy === undefined) forbidden.push(`door ${d.kind}`);
    const awsApis = [...new Set(analysis.verdicts.filter((v) => v.reach.from.vpc === vpcKey && v.reach.to.kind === 'aws-api').map((v) => (v.reach.to as { service: string }).service))].sort();
    for (const v of analysis.verdicts) if (v.reach.from.vpc === vpcKey && v.reach.to.kind === 'aws-api' && !v.permittedBy) forbidden.push(`aws-api:${(v.reach.to as { service: string }).service}`);
    // AWS data: each project bucket and queue through this zone's endpoints.
    const resources: ResourceAccess[] = [];
    const s3Endpoints = endpointsOf(zv.vpc, 's3');
    const sqsEndpoints = endpointsOf(zv.vpc, 'sqs');
    for (const b of buckets) {
      const policies = bucketPolicies.filter((p) => model.refTo(p.stack, p.props.Bucket) === b);
      const access = [...new Set(s3Endpoints.flatMap((ep) => accessThrough(model, ep, b, 'bucket', policies)))];
      if (access.length) resources.push({ kind: 'bucket', name: bucketName(model, b), role: tagsOf(b.props)[ROLE_TAG], crossing: tagsOf(b.props)[CROSSING_TAG], access: sortAccess(access) });
    }
    for (const q of queues) {
      const policies = queuePolicies.filter((p) => asList(p.props.Queues).some((x: Json) => model.refTo(p.stack, x) === q));
      const access = [...new Set(sqsEndpoints.flatMap((ep) => accessThrough(model, ep, q, 'queue', policies)))];
      if (access.length) resources.push({ kind: 'queue', name: keyOf(q), role: tagsOf(q.props)[ROLE_TAG], crossing: tagsOf(q.props)[CROSSING_TAG], access: sortAccess(access) });
    }
    zones.push({
      zone: zv.zone,
      municipality: zv.municipality,
      network: [...network.values()].sort((a, b) => a.target.localeCompare(b.target)),
      dns: { policy: intent.zones.find((x) => x.zone === zv.zone && x.municipality === zv.municipality)?.dns?.policy ?? (zv.zone === 'internet' ? 'public' : 'allowlist'), reach: dnsReach?.reach ?? 'anything', names: dnsReach?.allowed.length ?? 0, reasons: dnsReach?.reasons ?? ['no resolver analysis'], forwarded: dnsReach?.forwarded ?? [] },
      awsApis,
      resources,
      feeds: [],
      forbidden: [...new Set(forbidden)],
    });
  }
  // Feeds: follow each written bucket to the zones that read it, and on through what those zones write on the same crossing.
  for (const z of zones) {
    const mine = zones.filter((o) => o.municipality === z.municipality);
    const readers = (name: string) => mine.filter((o) => o !== z && o.resources.some((r) => r.name === name && r.access.includes('read'))).map((o) => o.zone);
    for (const w of z.resources.filter((r) => r.kind === 'bucket' && r.access.includes('write') && r.crossing)) {
      const chain = [`${w.role ?? w.name} (${w.crossing})`];
      const seen = new Set<string>([z.zone]);
      let frontier = readers(w.name).filter((x) => !seen.has(x));
      if (frontier.length === 0) continue;
      for (let step = 0; step < 4 && frontier.length; step++) {
        chain.push(frontier.join(' + '));
        frontier.forEach((f) => seen.add(f));
        // What the readers write on the same crossing (e.g. the sanitizer writes the sanitized bucket).
        const next = mine.filter((o) => frontier.includes(o.zone)).flatMap((o) => o.resources.filter((r) => r.kind === 'bucket' && r.crossing === w.crossing && r.access.includes('write') && r.name !== w.name && r.role !== w.role));
        const onward = next.filter((r) => mine.some((o) => !seen.has(o.zone) && o.resources.some((x) => x.name === r.name && x.access.includes('read'))));
        if (!onward.length) break;
        chain.push(onward.map((r) => `${r.role ?? r.name} (${r.crossing})`).join(' + '));
        frontier = [...new Set(onward.flatMap((r) => mine.filter((o) => !seen.has(o.zone) && o.resources.some((x) => x.name === r.name && x.access.includes('read'))).map((o) => o.zone)))];
      }
      const sanitized = chain.length > 3 && chain[1] === 'transfer';
      z.feeds.push(`${chain.join(' → ')}${sanitized ? ` (reaches ${chain[chain.length - 1]} only after sanitizing)` : ''}`);
    }
  }
  return { config: intent.config, zones };
}

function sortAccess(a: Access[]): Access[] {
  return (['read', 'write', 'delete'] as Access[]).filter((x) => a.includes(x));
}

export function blastRadiusOfAssembly(dir: string): { radius: BlastRadius; analysis: AnalysisResult } {
  const model = new CloudModel(readAssembly(dir).stacks);
  const intent = readIntent(dir);
  const analysis = analyze(model, intent);
  return { radius: computeBlastRadius(model, intent, analysis), analysis };
}

// --- rendering ------------------------------------------------------------------

export type Lang = 'ja' | 'en';

const H = {
  zone: { ja: 'ゾーン', en: 'zone' },
  network: { ja: 'ネットワーク到達先（ポート）', en: 'network reach (ports)' },
  dns: { ja: 'DNS 到達', en: 'DNS reach' },
  apis: { ja: 'AWS API（エンドポイント経由）', en: 'AWS APIs (through endpoints)' },
  data: { ja: 'バケット・キュー（r 読取 / w 書込 / d 削除）', en: 'buckets and queues (r read / w write / d delete)' },
  feeds: { ja: '供給できる境界通過', en: 'crossings it can feed' },
  forbidden: { ja: '許可されていない到達', en: 'not permitted' },
} as const;

function networkCell(n: NetworkReach[]): string {
  if (!n.length) return 'none';
  return n
    .map((x) => {
      const what = x.category === 'zone' ? x.target : x.category === 'external' ? x.target : `${x.category}${x.category === 'LGWAN network' || x.category === 'office' ? ` ${x.destinations.join(',')}` : ''}`;
      return `${what.trim()}${x.ports.length ? ` :${x.ports.join(',')}` : ''}${x.permittedBy ? ` [${x.permittedBy}]` : ' [FORBIDDEN]'}${x.category === 'internet' ? (x.inspected ? ' (inspected)' : ' (NOT inspected)') : ''}`;
    })
    .join('; ');
}

function dnsCell(d: ZoneBlast['dns'], lang: Lang): string {
  if (d.reach === 'none') return 'none';
  if (d.reach === 'allowlist') return `allowlist (${d.names} ${lang === 'ja' ? '名前' : 'names'})`;
  if (d.policy === 'public') return lang === 'ja' ? 'インターネットの名前（セキュリティクラウドのブロックリストで絞り込み）' : 'public names (filtered by the security cloud\'s block lists)';
  return `ANYTHING: ${d.reasons.join('; ')}`;
}

function dataCell(r: ResourceAccess[]): string {
  if (!r.length) return '-';
  const short = (name: string) => name.replace(/-\$\{AWS::AccountId\}-[a-z0-9-]+$/, '').replace(/^[^/]+\//, '');
  return r.map((x) => `${x.kind === 'queue' ? 'queue ' : ''}${short(x.name).replace(/[0-9A-F]{8}$/, '')} ${x.access.map((a) => a[0]).join('')}`).join('; ');
}

export interface BlastRow {
  readonly zone: string;
  readonly cells: Record<keyof typeof H, string>;
}

export function blastRows(b: BlastRadius, lang: Lang): BlastRow[] {
  return b.zones.map((z) => ({
    zone: `${z.zone}@${z.municipality}`,
    cells: {
      zone: `${z.zone}@${z.municipality}`,
      network: networkCell(z.network),
      dns: dnsCell(z.dns, lang),
      apis: z.awsApis.join(', ') || '-',
      data: dataCell(z.resources),
      feeds: z.feeds.join('; ') || '-',
      forbidden: z.forbidden.join('; ') || '-',
    },
  }));
}

/** A Markdown table (review pack, docs). */
export function blastRadiusMarkdown(b: BlastRadius, lang: Lang): string {
  const cols = Object.keys(H) as (keyof typeof H)[];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${cols.map((c) => H[c][lang]).join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...blastRows(b, lang).map((r) => `| ${cols.map((c) => esc(r.cells[c])).join(' | ')} |`)].join('\n');
}

/** The terminal form: one block per zone, one line per aspect. */
export function formatBlastRadius(b: BlastRadius): string {
  const out = [`blast radius of a compromised host, per zone (config "${b.config}")`, ''];
  const cols = (Object.keys(H) as (keyof typeof H)[]).filter((c) => c !== 'zone');
  const width = Math.max(...cols.map((c) => H[c].en.length));
  for (const r of blastRows(b, 'en')) {
    out.push(r.zone);
    for (const c of cols) out.push(`  ${H[c].en.padEnd(width)} | ${r.cells[c]}`);
    out.push('');
  }
  return out.join('\n');
}
