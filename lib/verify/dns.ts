import { randomBytes } from 'crypto';
import { CancelCommandCommand, GetCommandInvocationCommand, GetCommandInvocationCommandOutput, SendCommandCommand, SendCommandCommandOutput, SSMClient } from '@aws-sdk/client-ssm';
import { IsolationIntent } from '../isolation/intent';
import { CredentialsError, Ec2Caller, PermissionError, realSleep } from './aws';
import { Inventory } from './inventory';
import { Check } from './plan';
import { CheckResult } from './run';

/**
 * The live DNS check (`npm run verify`): Network Access Analyzer models
 * packets, not name resolution, so it cannot see DNS as a channel. Each
 * isolated zone's probe therefore asks its own resolver, through SSM Run
 * Command, for (1) a random name under a public domain that always resolves
 * on the internet — the DNS Firewall must refuse it — and (2) a name on the
 * zone's allowlist, which must resolve. Run Command keeps its history for 30
 * days and cannot be deleted; a command still running when the check stops
 * is cancelled, and one that cannot be cancelled is reported as a leftover.
 */

export const NAA_CANNOT_SEE_DNS = 'Network Access Analyzer does not model DNS resolution; the DNS checks query the resolver from each isolated zone\'s probe (SSM Run Command).';

/**
 * S3's legacy global endpoint answers every `<anything>.s3.amazonaws.com`
 * (virtual-hosted buckets): a random label under it resolves wherever public
 * DNS is reachable, and no allowlist of this project contains it.
 */
export const DEFAULT_PUBLIC_DOMAIN = 's3.amazonaws.com';

export interface DnsCheckSpec {
  readonly check: Check;
  readonly instanceId?: string;
  readonly refusedName: string;
  readonly allowedName?: string;
}

/** The DNS checks of an intent: one per `allowlist` zone with a deployed probe. */
export function planDnsChecks(intent: IsolationIntent, inv: Inventory, opts: { region: string; publicDomain?: string; random?: () => string } = { region: inv.region }): DnsCheckSpec[] {
  const random = opts.random ?? (() => `three-tier-dns-${randomBytes(8).toString('hex')}`);
  const out: DnsCheckSpec[] = [];
  for (const z of intent.zones) {
    if (!z.municipality || (z.dns?.policy ?? (z.isolated ? 'allowlist' : 'public')) !== 'allowlist') continue;
    const name = `${z.municipality}/${z.zone}`;
    const probe = inv.instances.find((i) => i.role === 'probe' && i.zone === z.zone && i.municipality === z.municipality);
    const refusedName = `${random()}.${opts.publicDomain ?? DEFAULT_PUBLIC_DOMAIN}`;
    // The zone's SSM endpoint name: on every allowlist, and the probe's own agent needs it.
    const allowedName = (z.dns?.names ?? []).find((n) => n === `ssm.${opts.region}.amazonaws.com`) ?? (z.dns?.names ?? []).find((n) => !n.includes('*') && n.endsWith('.amazonaws.com'));
    const check: Check = {
      id: `dns:${name}`,
      kind: 'forbidden',
      municipality: z.municipality,
      title: `${name} resolves only its allowlist (DNS)`,
      rule: 'DNS is a channel: an isolated zone resolves only its allowlist.',
      ...(probe ? {} : { missing: [`probe instance in ${name} (tag ThreeTier:Role=probe)`] }),
    };
    out.push({ check, instanceId: probe?.id, refusedName, allowedName });
  }
  return out;
}

/** The script the probe runs: one line per name, `<name> resolved|refused`. getent uses the VPC resolver like every program. */
export function dnsScript(names: string[]): string[] {
  return names.flatMap((n) => {
    if (!/^[a-z0-9.-]+$/.test(n)) throw new Error(`refusing to put "${n}" into a shell command`);
    return [`if getent ahosts ${n} >/dev/null 2>&1; then echo "DNSCHECK ${n} resolved"; else echo "DNSCHECK ${n} refused"; fi`];
  });
}

export function parseDnsOutput(stdout: string): Map<string, 'resolved' | 'refused'> {
  const out = new Map<string, 'resolved' | 'refused'>();
  for (const line of stdout.split('\n')) {
    const m = /^DNSCHECK (\S+) (resolved|refused)$/.exec(line.trim());
    if (m) out.set(m[1], m[2] as 'resolved' | 'refused');
  }
  return out;
}

export interface DnsRunOptions {
  readonly runId: string;
  readonly firstPollMs?: number;
  readonly maxPolls?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface DnsLeftover {
  readonly type: 'ssm-command';
  readonly id: string;
  readonly error: string;
}

const RUNNING = new Set(['Pending', 'InProgress', 'Delayed']);

/** Runs the DNS checks one probe at a time (a command each); cancels what does not finish. */
export async function runDnsChecks(ssm: Ec2Caller, specs: DnsCheckSpec[], opts: DnsRunOptions): Promise<{ results: CheckResult[]; leftovers: DnsLeftover[] }> {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const results: CheckResult[] = [];
  const leftovers: DnsLeftover[] = [];
  for (const spec of specs) {
    const started = now();
    const done = (status: CheckResult['status'], detail: string) => results.push({ check: spec.check, status, detail, paths: [], seconds: Math.round((now() - started) / 100) / 10 });
    if (spec.check.missing?.length || !spec.instanceId) {
      done('missing', `not deployed: ${(spec.check.missing ?? ['probe']).join('; ')}`);
      continue;
    }
    const names = [spec.refusedName, ...(spec.allowedName ? [spec.allowedName] : [])];
    let commandId: string | undefined;
    let finished = false;
    try {
      const sent = await ssm.send<SendCommandCommandOutput>(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [spec.instanceId],
          Comment: `three-tier verify ${opts.runId} ${spec.check.id}`.slice(0, 100),
          TimeoutSeconds: 60,
          Parameters: { commands: dnsScript(names) },
        }),
      );
      commandId = sent.Command?.CommandId;
      if (!commandId) throw new Error('SendCommand returned no command id');
      let inv: GetCommandInvocationCommandOutput | undefined;
      const maxPolls = opts.maxPolls ?? 30;
      for (let poll = 0; poll < maxPolls; poll++) {
        await sleep(Math.min(10_000, (opts.firstPollMs ?? 2000) * (poll + 1)));
        try {
          inv = await ssm.send<GetCommandInvocationCommandOutput>(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: spec.instanceId }));
        } catch (e) {
          // Right after SendCommand the invocation may not exist yet.
          if ((e as { name?: string }).name === 'InvocationDoesNotExist') continue;
          throw e;
        }
        if (!RUNNING.has(String(inv.Status))) break;
      }
      if (!inv || RUNNING.has(String(inv.Status))) {
        done('error', `the probe did not answer within ${maxPolls} polls (command ${commandId})`);
        continue;
      }
      finished = true;
      if (inv.Status !== 'Success') {
        done('error', `Run Command ${inv.Status}${inv.StatusDetails ? ` (${inv.StatusDetails})` : ''} on ${spec.instanceId}: ${(inv.StandardErrorContent ?? '').trim().slice(0, 200)}`);
        continue;
      }
      const answers = parseDnsOutput(inv.StandardOutputContent ?? '');
      const refused = answers.get(spec.refusedName);
      const allowed = spec.allowedName ? answers.get(spec.allowedName) : 'resolved';
      if (refused === undefined || allowed === undefined) {
        done('error', `the probe's output did not answer for every name: ${JSON.stringify((inv.StandardOutputContent ?? '').slice(0, 300))}`);
      } else if (refused === 'resolved') {
        done('finding', `${spec.refusedName} RESOLVED: the zone can resolve public names (DNS is an open channel)${allowed === 'refused' ? `; ${spec.allowedName} did not resolve either` : ''}`);
      } else if (allowed === 'refused') {
        done('finding', `${spec.refusedName} refused, but the allowlisted ${spec.allowedName} did not resolve: the allowlist is broken (hosts cannot reach their endpoints)`);
      } else {
        done('pass', `${spec.refusedName} refused; ${spec.allowedName ?? 'no allowlisted name to try'} resolved`);
      }
    } catch (e) {
      if (e instanceof PermissionError || e instanceof CredentialsError) throw Object.assign(e, { partialDns: results, dnsLeftovers: leftovers });
      done('error', (e as Error).message);
    } finally {
      if (commandId && !finished) {
        try {
          await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [spec.instanceId] }));
        } catch (e) {
          leftovers.push({ type: 'ssm-command', id: commandId, error: (e as Error).message });
        }
      }
    }
  }
  return { results, leftovers };
}

/** The real client, with retries left to the caller (one attempt each). */
export function ssmClient(region: string): SSMClient {
  return new SSMClient({ region, maxAttempts: 1 });
}
