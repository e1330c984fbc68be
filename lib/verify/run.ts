import { randomUUID } from 'crypto';
import {
  AnalysisComponent,
  CreateNetworkInsightsAccessScopeCommand,
  CreateNetworkInsightsAccessScopeCommandOutput,
  CreateNetworkInsightsPathCommand,
  CreateNetworkInsightsPathCommandOutput,
  DeleteNetworkInsightsAccessScopeAnalysisCommand,
  DeleteNetworkInsightsAccessScopeCommand,
  DeleteNetworkInsightsAnalysisCommand,
  DeleteNetworkInsightsPathCommand,
  DescribeNetworkInsightsAccessScopeAnalysesCommand,
  DescribeNetworkInsightsAccessScopeAnalysesCommandOutput,
  DescribeNetworkInsightsAnalysesCommand,
  DescribeNetworkInsightsAnalysesCommandOutput,
  Explanation,
  GetNetworkInsightsAccessScopeAnalysisFindingsCommand,
  GetNetworkInsightsAccessScopeAnalysisFindingsCommandOutput,
  PathComponent,
  StartNetworkInsightsAccessScopeAnalysisCommand,
  StartNetworkInsightsAccessScopeAnalysisCommandOutput,
  StartNetworkInsightsAnalysisCommand,
  StartNetworkInsightsAnalysisCommandOutput,
  Tag,
} from '@aws-sdk/client-ec2';
import { CONFIG_TAG } from '../core/tags';
import { CredentialsError, Ec2Caller, PermissionError, realSleep } from './aws';
import { Check } from './plan';

/**
 * Runs the checks of a plan: creates each scope or path, starts its
 * analysis, polls with backoff, collects findings hop by hop, and deletes
 * everything it created, also when a check fails or the run is aborted.
 */

export type CheckStatus = 'pass' | 'finding' | 'missing' | 'skipped' | 'error';

export interface Hop {
  readonly seq: number;
  readonly id: string;
  readonly note: string;
}

export interface CheckResult {
  readonly check: Check;
  readonly status: CheckStatus;
  readonly detail: string;
  /** Forbidden: one hop list per finding. Permitted: the path found, or where it stops. */
  readonly paths: Hop[][];
  readonly seconds: number;
}

export interface ProgressEvent {
  readonly index: number;
  readonly total: number;
  readonly check: Check;
  readonly state: 'creating' | 'running' | 'done';
  readonly elapsedSeconds: number;
  readonly status?: CheckStatus;
}

export interface RunOptions {
  readonly config: string;
  readonly concurrency?: number;
  readonly firstPollMs?: number;
  readonly maxPollMs?: number;
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** Checked between polls: when it returns true the run stops and cleans up. */
  readonly aborted?: () => boolean;
  readonly runId?: string;
}

export interface Leftover {
  readonly type: 'network-insights-access-scope' | 'network-insights-access-scope-analysis' | 'network-insights-path' | 'network-insights-analysis' | 'ssm-command';
  readonly id: string;
  readonly error: string;
}

export interface RunOutcome {
  readonly results: CheckResult[];
  /** What could not be deleted (listed in the report, with ids). */
  readonly leftovers: Leftover[];
  readonly created: number;
}

export class AbortedError extends Error {}

/** One line for a hop: what it is and why the packet went on (route, rule, listener). */
export function describeHop(c: PathComponent | Explanation, seq: number): Hop {
  const comp: AnalysisComponent | undefined = c.Component;
  const notes: string[] = [];
  const x = c as PathComponent & Explanation;
  if (x.ExplanationCode) notes.push(x.ExplanationCode);
  if (x.Vpc?.Id) notes.push(`vpc ${x.Vpc.Id}`);
  if (x.Subnet?.Id) notes.push(`subnet ${x.Subnet.Id}`);
  if (x.RouteTableRoute) notes.push(`route ${x.RouteTableRoute.DestinationCidr ?? x.RouteTableRoute.DestinationPrefixListId ?? '?'} → ${x.RouteTableRoute.GatewayId ?? x.RouteTableRoute.TransitGatewayId ?? x.RouteTableRoute.NatGatewayId ?? x.RouteTableRoute.VpcPeeringConnectionId ?? x.RouteTableRoute.NetworkInterfaceId ?? 'local'}`);
  if (x.TransitGatewayRouteTableRoute) notes.push(`tgw route ${x.TransitGatewayRouteTableRoute.DestinationCidr ?? '?'} → ${x.TransitGatewayRouteTableRoute.AttachmentId ?? '?'}`);
  if (x.SecurityGroupRule) notes.push(`sg ${x.SecurityGroupRule.Direction ?? ''} ${x.SecurityGroupRule.Cidr ?? x.SecurityGroupRule.SecurityGroupId ?? x.SecurityGroupRule.PrefixListId ?? ''} ${x.SecurityGroupRule.Protocol ?? ''}${x.SecurityGroupRule.PortRange ? `:${x.SecurityGroupRule.PortRange.From}-${x.SecurityGroupRule.PortRange.To}` : ''}`.replace(/\s+/g, ' ').trim());
  if (x.AclRule) notes.push(`nacl ${x.AclRule.Egress ? 'egress' : 'ingress'} #${x.AclRule.RuleNumber ?? '?'} ${x.AclRule.RuleAction ?? ''} ${x.AclRule.Cidr ?? ''}`.trim());
  if (x.FirewallStatefulRule) notes.push(`firewall stateful ${x.FirewallStatefulRule.RuleAction ?? ''}`.trim());
  if (x.ElasticLoadBalancerListener?.Id) notes.push(`listener ${x.ElasticLoadBalancerListener.Id}`);
  if (x.ServiceName) notes.push(`service ${x.ServiceName}`);
  return { seq, id: comp?.Id ?? comp?.Arn ?? '?', note: notes.join('; ') };
}

export async function runChecks(ec2: Ec2Caller, checks: Check[], opts: RunOptions): Promise<RunOutcome> {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const firstPoll = opts.firstPollMs ?? 2000;
  const maxPoll = opts.maxPollMs ?? 15_000;
  const timeout = opts.timeoutMs ?? 20 * 60_000;
  const runId = opts.runId ?? randomUUID();
  const tags: Tag[] = [
    { Key: CONFIG_TAG, Value: opts.config },
    { Key: 'ThreeTier:Verify', Value: runId },
  ];
  // Everything created and not yet deleted, in creation order; analyses are deleted before their scope or path.
  const live: { type: Leftover['type']; id: string }[] = [];
  const leftovers: Leftover[] = [];
  let created = 0;
  const results: CheckResult[] = new Array(checks.length);
  const total = checks.length;

  const remember = (type: Leftover['type'], id: string) => {
    live.push({ type, id });
    created++;
  };
  const forget = async (type: Leftover['type'], id: string): Promise<void> => {
    try {
      if (type === 'network-insights-access-scope-analysis') await ec2.send(new DeleteNetworkInsightsAccessScopeAnalysisCommand({ NetworkInsightsAccessScopeAnalysisId: id }));
      else if (type === 'network-insights-access-scope') await ec2.send(new DeleteNetworkInsightsAccessScopeCommand({ NetworkInsightsAccessScopeId: id }));
      else if (type === 'network-insights-analysis') await ec2.send(new DeleteNetworkInsightsAnalysisCommand({ NetworkInsightsAnalysisId: id }));
      else await ec2.send(new DeleteNetworkInsightsPathCommand({ NetworkInsightsPathId: id }));
      const i = live.findIndex((l) => l.id === id);
      if (i >= 0) live.splice(i, 1);
    } catch (e) {
      const i = live.findIndex((l) => l.id === id);
      if (i >= 0) live.splice(i, 1);
      leftovers.push({ type, id, error: (e as Error).message });
    }
  };

  /** Polls until the analysis leaves `running`, with a growing interval. */
  async function poll<T extends { Status?: string }>(fetch: () => Promise<T | undefined>, progress: (elapsed: number) => void, started: number): Promise<T> {
    let wait = firstPoll;
    for (;;) {
      if (fatal !== undefined) throw new AbortedError('stopped: another check failed fatally');
      if (opts.aborted?.()) throw new AbortedError('aborted by the user');
      await sleep(wait);
      const a = await fetch();
      if (!a) throw new Error('the analysis disappeared while running');
      if (a.Status !== 'running') return a;
      const elapsed = now() - started;
      if (elapsed > timeout) throw new Error(`the analysis is still running after ${Math.round(elapsed / 1000)} s; raise --timeout or look in the console`);
      progress(Math.round(elapsed / 1000));
      wait = Math.min(maxPoll, Math.round(wait * 1.5));
    }
  }

  async function runOne(index: number): Promise<void> {
    const check = checks[index];
    const started = now();
    const emit = (state: ProgressEvent['state'], status?: CheckStatus) => opts.onProgress?.({ index: index + 1, total, check, state, elapsedSeconds: Math.round((now() - started) / 1000), status });
    const done = (status: CheckStatus, detail: string, paths: Hop[][] = []) => {
      results[index] = { check, status, detail, paths, seconds: Math.round((now() - started) / 100) / 10 };
      emit('done', status);
    };
    if (check.skipped) return done('skipped', check.skipped);
    if (check.missing?.length) return done('missing', `not deployed: ${check.missing.join('; ')}`);
    emit('creating');
    try {
      if (check.scope) {
        const scope = await ec2.send<CreateNetworkInsightsAccessScopeCommandOutput>(
          new CreateNetworkInsightsAccessScopeCommand({
            MatchPaths: check.scope.matchPaths,
            ExcludePaths: check.scope.excludePaths.length ? check.scope.excludePaths : undefined,
            ClientToken: randomUUID(),
            TagSpecifications: [{ ResourceType: 'network-insights-access-scope', Tags: [...tags, { Key: 'Name', Value: check.id.slice(0, 255) }] }],
          }),
        );
        const scopeId = scope.NetworkInsightsAccessScope?.NetworkInsightsAccessScopeId;
        if (!scopeId) throw new Error('CreateNetworkInsightsAccessScope returned no scope id');
        remember('network-insights-access-scope', scopeId);
        const start = await ec2.send<StartNetworkInsightsAccessScopeAnalysisCommandOutput>(new StartNetworkInsightsAccessScopeAnalysisCommand({ NetworkInsightsAccessScopeId: scopeId, ClientToken: randomUUID() }));
        const analysisId = start.NetworkInsightsAccessScopeAnalysis?.NetworkInsightsAccessScopeAnalysisId;
        if (!analysisId) throw new Error('StartNetworkInsightsAccessScopeAnalysis returned no analysis id');
        remember('network-insights-access-scope-analysis', analysisId);
        emit('running');
        try {
          const analysis = await poll(
            async () => (await ec2.send<DescribeNetworkInsightsAccessScopeAnalysesCommandOutput>(new DescribeNetworkInsightsAccessScopeAnalysesCommand({ NetworkInsightsAccessScopeAnalysisIds: [analysisId] }))).NetworkInsightsAccessScopeAnalyses?.[0],
            () => emit('running'),
            started,
          );
          if (analysis.Status !== 'succeeded') return done('error', `Network Access Analyzer: ${analysis.Status ?? 'unknown status'}${analysis.StatusMessage ? ` (${analysis.StatusMessage})` : ''}`);
          const paths: Hop[][] = [];
          let token: string | undefined;
          do {
            const page = await ec2.send<GetNetworkInsightsAccessScopeAnalysisFindingsCommandOutput>(new GetNetworkInsightsAccessScopeAnalysisFindingsCommand({ NetworkInsightsAccessScopeAnalysisId: analysisId, NextToken: token }));
            for (const f of page.AnalysisFindings ?? []) {
              paths.push([...(f.FindingComponents ?? [])].sort((a, b) => (a.SequenceNumber ?? 0) - (b.SequenceNumber ?? 0)).map((c, i) => describeHop(c, c.SequenceNumber ?? i + 1)));
            }
            token = page.NextToken;
          } while (token);
          if (paths.length) return done('finding', `${paths.length} forbidden path${paths.length === 1 ? '' : 's'} found`, paths);
          return done('pass', 'no path');
        } finally {
          await forget('network-insights-access-scope-analysis', analysisId);
          await forget('network-insights-access-scope', scopeId);
        }
      }
      if (check.path) {
        const p = check.path;
        const path = await ec2.send<CreateNetworkInsightsPathCommandOutput>(
          new CreateNetworkInsightsPathCommand({
            Source: p.source,
            Destination: p.destination,
            DestinationIp: p.destinationIp,
            DestinationPort: p.port,
            Protocol: p.protocol,
            ClientToken: randomUUID(),
            TagSpecifications: [{ ResourceType: 'network-insights-path', Tags: [...tags, { Key: 'Name', Value: check.id.slice(0, 255) }] }],
          }),
        );
        const pathId = path.NetworkInsightsPath?.NetworkInsightsPathId;
        if (!pathId) throw new Error('CreateNetworkInsightsPath returned no path id');
        remember('network-insights-path', pathId);
        const start = await ec2.send<StartNetworkInsightsAnalysisCommandOutput>(new StartNetworkInsightsAnalysisCommand({ NetworkInsightsPathId: pathId, ClientToken: randomUUID() }));
        const analysisId = start.NetworkInsightsAnalysis?.NetworkInsightsAnalysisId;
        if (!analysisId) throw new Error('StartNetworkInsightsAnalysis returned no analysis id');
        remember('network-insights-analysis', analysisId);
        emit('running');
        try {
          const a = await poll(
            async () => (await ec2.send<DescribeNetworkInsightsAnalysesCommandOutput>(new DescribeNetworkInsightsAnalysesCommand({ NetworkInsightsAnalysisIds: [analysisId] }))).NetworkInsightsAnalyses?.[0],
            () => emit('running'),
            started,
          );
          if (a.Status !== 'succeeded') return done('error', `Reachability Analyzer: ${a.Status ?? 'unknown status'}${a.StatusMessage ? ` (${a.StatusMessage})` : ''}`);
          if (a.NetworkPathFound) {
            const hops = [...(a.ForwardPathComponents ?? [])].sort((x, y) => (x.SequenceNumber ?? 0) - (y.SequenceNumber ?? 0)).map((c, i) => describeHop(c, c.SequenceNumber ?? i + 1));
            return done('pass', `reachable in ${hops.length} hops`, [hops]);
          }
          const why = (a.Explanations ?? []).map((e, i) => describeHop(e, i + 1));
          return done('finding', `not reachable: ${why.map((h) => `${h.id} ${h.note}`).join(' | ') || 'no explanation given'}`, [why]);
        } finally {
          await forget('network-insights-analysis', analysisId);
          await forget('network-insights-path', pathId);
        }
      }
      return done('error', 'the check has neither a scope nor a path');
    } catch (e) {
      // Aborts, permission and credential problems end the run (they would fail every check the same way).
      if (e instanceof AbortedError || e instanceof PermissionError || e instanceof CredentialsError) throw e;
      return done('error', (e as Error).message);
    }
  }

  let next = 0;
  let fatal: unknown;
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, checks.length)) }, async () => {
    while (next < checks.length && fatal === undefined && !opts.aborted?.()) {
      const i = next++;
      try {
        await runOne(i);
      } catch (e) {
        fatal ??= e;
      }
    }
  });
  await Promise.allSettled(workers);
  // Anything still live (a check that threw before its own cleanup, or an abort): analyses first.
  const order = (t: Leftover['type']) => (t.endsWith('analysis') ? 0 : 1);
  for (const l of [...live].sort((a, b) => order(a.type) - order(b.type))) await forget(l.type, l.id);
  if (fatal === undefined && opts.aborted?.()) fatal = new AbortedError('aborted by the user');
  if (fatal !== undefined) throw Object.assign(fatal as Error, { leftovers, partial: results.filter(Boolean) });
  return { results, leftovers, created };
}
