import * as fs from 'fs';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { IsolationIntent } from '../isolation/intent';
import { CredentialsError, Ec2Caller, Ec2Like, MANAGED_POLICIES, PermissionError, REQUIRED_ACTIONS, RetryOptions } from './aws';
import { discover, Inventory } from './inventory';
import { planChecks } from './plan';
import { AbortedError, CheckResult, Leftover, runChecks, RunOptions } from './run';
import { NAA_CANNOT_SEE_DNS, planDnsChecks, runDnsChecks } from './dns';

/**
 * `npm run verify`: the live check of a deployed account against the
 * isolation intent (DESIGN section 4). Exit 0: the account matches the
 * intent. 1: findings (a forbidden path exists, a permitted one does not, or
 * part of the deployment is missing). 2: the check itself could not run.
 */

export const VERIFY_SCHEMA = 'three-tier-live-verification/1';

export interface VerifyReport {
  readonly schema: typeof VERIFY_SCHEMA;
  readonly config: string;
  readonly region: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly verdict: 'match' | 'mismatch' | 'error';
  readonly exitCode: 0 | 1 | 2;
  readonly error?: string;
  readonly missingZones: string[];
  readonly counts: Record<CheckResult['status'], number>;
  readonly results: CheckResult[];
  readonly leftovers: Leftover[];
  readonly throttledRetries: number;
  readonly inventory?: Inventory;
  /** What the report cannot show (e.g. Network Access Analyzer does not see DNS). */
  readonly notes?: string[];
}

export interface VerifyOptions extends Omit<RunOptions, 'config' | 'runId'> {
  readonly intent: IsolationIntent;
  readonly region: string;
  readonly client: Ec2Like;
  readonly probes: boolean;
  readonly retry?: RetryOptions;
  readonly clock?: () => Date;
  /** SSM client for the DNS checks on the probes (lab with probes). Without it the DNS checks are not run, and the report says so. */
  readonly ssm?: Ec2Like;
  /** Public domain under which a random name is asked (default s3.amazonaws.com, which answers every name). */
  readonly dnsPublicDomain?: string;
}

function permissionHelp(e: PermissionError): string {
  const lines = [
    e.message,
    `The identity running verify needs these IAM actions (or the managed policies ${MANAGED_POLICIES.join(' and ')} plus the ec2:Describe* actions):`,
    ...Object.entries(REQUIRED_ACTIONS).map(([a, why]) => `  ${a}  — ${why}`),
  ];
  return lines.join('\n');
}

export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const clock = opts.clock ?? (() => new Date());
  const startedAt = clock().toISOString();
  const runId = randomUUID();
  const ec2 = new Ec2Caller(opts.client, { ...opts.retry, sleep: opts.retry?.sleep ?? opts.sleep });
  const config = opts.intent.config;
  const base = { schema: VERIFY_SCHEMA, config, region: opts.region, runId, startedAt } as const;
  const counts = (results: CheckResult[]) => {
    const c: Record<CheckResult['status'], number> = { pass: 0, finding: 0, missing: 0, skipped: 0, error: 0 };
    for (const r of results) c[r.status]++;
    return c;
  };
  const failed = (error: string, results: CheckResult[] = [], leftovers: Leftover[] = [], inventory?: Inventory, missingZones: string[] = []): VerifyReport => ({
    ...base,
    finishedAt: clock().toISOString(),
    verdict: 'error',
    exitCode: 2,
    error,
    missingZones,
    counts: counts(results),
    results,
    leftovers,
    throttledRetries: ec2.retries,
    inventory,
  });

  let inventory: Inventory;
  try {
    inventory = await discover(ec2, config, opts.region);
  } catch (e) {
    if (e instanceof PermissionError) return failed(permissionHelp(e));
    if (e instanceof CredentialsError) return failed(`no usable AWS credentials (${e.message}); pass --profile or set AWS_PROFILE / AWS_ACCESS_KEY_ID`);
    return failed(`could not list the deployment: ${(e as Error).message}`);
  }
  if (inventory.vpcs.length === 0) {
    return failed(`nothing of config "${config}" is deployed in ${opts.region}: no VPC is tagged ThreeTier:Config=${config}. Deploy it first ("npx cdk deploy --all -c config=${config}"), or pass the right --region / --profile.`, [], [], inventory);
  }
  const plan = planChecks(opts.intent, inventory, { probes: opts.probes });
  try {
    const outcome = await runChecks(ec2, plan.checks, { ...opts, config, runId });
    const notes = [NAA_CANNOT_SEE_DNS];
    // DNS: Network Access Analyzer cannot see it; ask each isolated zone's resolver from its probe.
    if (opts.ssm && opts.probes) {
      const dns = await runDnsChecks(new Ec2Caller(opts.ssm, { ...opts.retry, sleep: opts.retry?.sleep ?? opts.sleep }, 'ssm'), planDnsChecks(opts.intent, inventory, { region: opts.region, publicDomain: opts.dnsPublicDomain }), { runId, sleep: opts.sleep, now: opts.now });
      outcome.results.push(...dns.results);
      outcome.leftovers.push(...dns.leftovers);
    } else {
      notes.push(opts.probes ? 'The DNS checks did not run: no SSM client was given.' : 'The DNS checks need the lab probes (probes: true); this config has none, so DNS was not checked live (check-isolation checks it statically).');
    }
    const results = outcome.results;
    const c = counts(results);
    const errors = c.error > 0;
    const mismatch = c.finding > 0 || c.missing > 0 || plan.missingZones.length > 0;
    return {
      ...base,
      finishedAt: clock().toISOString(),
      verdict: errors ? 'error' : mismatch ? 'mismatch' : 'match',
      exitCode: errors ? 2 : mismatch ? 1 : 0,
      ...(errors ? { error: `${c.error} check${c.error === 1 ? '' : 's'} could not be analysed (see the table)` } : {}),
      missingZones: plan.missingZones,
      counts: c,
      results,
      leftovers: outcome.leftovers,
      throttledRetries: ec2.retries,
      inventory,
      notes,
    };
  } catch (e) {
    const extra = e as Error & { leftovers?: Leftover[]; partial?: CheckResult[] };
    const msg = e instanceof PermissionError ? permissionHelp(e) : e instanceof AbortedError ? `stopped: ${e.message}; everything created so far was deleted (see leftovers)` : e instanceof CredentialsError ? `credentials stopped working during the run: ${e.message}` : (e as Error).message;
    return failed(msg, extra.partial ?? [], extra.leftovers ?? [], inventory, plan.missingZones);
  }
}

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', finding: 'FAIL', missing: 'MISSING', skipped: 'SKIPPED', error: 'ERROR' };

/** The verdict table for the terminal. */
export function formatVerifyTable(r: VerifyReport): string {
  const rows = r.results.map((x, i) => [String(i + 1), x.check.kind, x.check.crossing ?? '-', MARK[x.status], x.check.title, x.detail]);
  const head = ['#', 'kind', 'crossing', 'result', 'check', 'detail'];
  const width = head.map((h, i) => Math.min(i === 5 ? 70 : 80, Math.max(h.length, ...rows.map((row) => row[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => (c.length > width[i] ? `${c.slice(0, width[i] - 1)}…` : c.padEnd(width[i]))).join('  ');
  const out = [`live verification of "${r.config}" in ${r.region}: ${r.verdict.toUpperCase()} (exit ${r.exitCode})`];
  if (r.error) out.push(`error: ${r.error}`);
  if (r.missingZones.length) out.push(`missing zones: ${r.missingZones.join(', ')}`);
  if (rows.length) out.push('', line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line));
  out.push('', `pass ${r.counts.pass}, fail ${r.counts.finding}, missing ${r.counts.missing}, skipped ${r.counts.skipped}, error ${r.counts.error}; throttled calls retried: ${r.throttledRetries}`);
  for (const n of r.notes ?? []) out.push(`note: ${n}`);
  for (const x of r.results.filter((y) => y.status === 'finding')) {
    out.push('', `FAIL ${x.check.title}`);
    x.paths.forEach((hops, i) => {
      out.push(`  path ${i + 1}:`);
      for (const h of hops) out.push(`    ${h.seq}. ${h.id}${h.note ? `  ${h.note}` : ''}`);
    });
  }
  if (r.leftovers.length) out.push('', 'could not delete (delete by hand):', ...r.leftovers.map((l) => `  ${l.type} ${l.id}: ${l.error}`));
  return out.join('\n');
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, '<br/>');
}

/** The report in Markdown (headings in Japanese and English). */
export function verifyMarkdown(r: VerifyReport): string {
  const out = [
    `# ライブ検証レポート / Live verification report: ${r.config}`,
    '',
    `- 判定 / verdict: **${r.verdict}** (exit ${r.exitCode})`,
    `- リージョン / region: ${r.region}`,
    `- 実行 / run: ${r.runId}, ${r.startedAt} → ${r.finishedAt}`,
    `- 合格 / pass ${r.counts.pass}, 不合格 / fail ${r.counts.finding}, 未配備 / missing ${r.counts.missing}, 対象外 / skipped ${r.counts.skipped}, エラー / error ${r.counts.error}`,
  ];
  for (const n of r.notes ?? []) out.push(`- 注 / note: ${n === NAA_CANNOT_SEE_DNS ? 'Network Access Analyzer は名前解決（DNS）を見ません。DNS は各分離ゾーンのプローブから SSM Run Command でリゾルバーに問い合わせて確かめます。 / ' : ''}${n}`);
  if (r.error) out.push('', '## エラー / Error', '', '```', r.error, '```');
  if (r.missingZones.length) out.push('', '## 未配備のゾーン / Zones not deployed', '', ...r.missingZones.map((z) => `- ${z}`));
  out.push('', '## 判定表 / Verdict table', '', '| # | 種別 / kind | 境界通過 / crossing | 結果 / result | 検査 / check | 詳細 / detail |', '|---|---|---|---|---|---|');
  r.results.forEach((x, i) => out.push(`| ${i + 1} | ${x.check.kind === 'forbidden' ? '禁止 / forbidden' : '許可 / permitted'} | ${x.check.crossing ?? '-'} | ${MARK[x.status]} | ${cell(x.check.title)} | ${cell(x.detail)} |`));
  const findings = r.results.filter((x) => x.status === 'finding');
  if (findings.length) {
    out.push('', '## 指摘の経路（ホップごと） / Findings hop by hop');
    for (const x of findings) {
      out.push('', `### ${cell(x.check.title)}`, '', x.check.rule ? `> ${x.check.rule}` : '', '');
      x.paths.forEach((hops, i) => {
        out.push(`${i + 1}. ${hops.map((h) => `\`${h.id}\`${h.note ? ` (${cell(h.note)})` : ''}`).join(' → ')}`);
      });
    }
  }
  if (r.leftovers.length) out.push('', '## 削除できなかったもの / Not deleted', '', ...r.leftovers.map((l) => `- ${l.type} \`${l.id}\`: ${cell(l.error)}`));
  return `${out.join('\n')}\n`;
}

export function writeVerifyReports(dir: string, r: VerifyReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'verify-report.json');
  const md = path.join(dir, 'verify-report.md');
  fs.writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  fs.writeFileSync(md, verifyMarkdown(r));
  return [json, md];
}
