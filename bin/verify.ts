#!/usr/bin/env node
import * as path from 'path';
import { ConfigError, DEFAULT_CONFIG, loadConfig, ThreeTierConfig } from '../config';
import { securityCloudStackName, zoneStackName } from '../lib/core/naming';
import { buildIntent } from '../lib/isolation/intent';
import { ec2Client } from '../lib/verify/aws';
import { ssmClient } from '../lib/verify/dns';
import { ProgressEvent } from '../lib/verify/run';
import { formatVerifyTable, verify, writeVerifyReports } from '../lib/verify/verify';

const USAGE = 'usage: npm run verify -- [-c config=NAME] [--region R] [--profile P] [--out DIR] [--concurrency N] [--timeout MINUTES] [--json]';

/**
 * `npm run verify`: checks a deployed account against the isolation intent of
 * a config with Network Access Analyzer and Reachability Analyzer. Exit 0:
 * match, 1: findings, 2: errors (usage, config, credentials, permissions,
 * failed analyses).
 */
export async function main(argv: string[], env: { client?: Parameters<typeof verify>[0]['client']; ssm?: Parameters<typeof verify>[0]['ssm']; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; sleep?: (ms: number) => Promise<void> } = {}): Promise<number> {
  const stdout = env.stdout ?? process.stdout;
  const stderr = env.stderr ?? process.stderr;
  let name = process.env.THREE_TIER_CONFIG ?? DEFAULT_CONFIG;
  let region: string | undefined;
  let profile: string | undefined;
  let out: string | undefined;
  let concurrency = 4;
  let timeoutMinutes = 20;
  let json = false;
  const number = (flag: string, v: string | undefined, min: number, max: number): number | undefined => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      stderr.write(`${flag} takes a whole number from ${min} to ${max}, got "${v ?? ''}"\n${USAGE}\n`);
      return undefined;
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--context') {
      const [k, v] = String(argv[++i]).split('=');
      if (k !== 'config' || !v) {
        stderr.write(`-c takes config=NAME, got "${argv[i] ?? ''}"\n${USAGE}\n`);
        return 2;
      }
      name = v;
    } else if (a === '--region') region = argv[++i];
    else if (a === '--profile') profile = argv[++i];
    else if (a === '--out') out = argv[++i];
    else if (a === '--concurrency') {
      const n = number(a, argv[++i], 1, 20);
      if (n === undefined) return 2;
      concurrency = n;
    } else if (a === '--timeout') {
      const n = number(a, argv[++i], 1, 180);
      if (n === undefined) return 2;
      timeoutMinutes = n;
    } else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      stdout.write(`${USAGE}\n`);
      return 0;
    } else {
      stderr.write(`unknown argument ${a}\n${USAGE}\n`);
      return 2;
    }
    if ((a === '--region' || a === '--profile' || a === '--out') && !argv[i]) {
      stderr.write(`${a} needs a value\n${USAGE}\n`);
      return 2;
    }
  }
  let cfg: ThreeTierConfig;
  try {
    cfg = loadConfig(name);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    stderr.write(`${e.message}\n`);
    return 2;
  }
  const intent = buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));
  const theRegion = region ?? process.env.AWS_REGION ?? cfg.region;
  const tty = (stderr as NodeJS.WriteStream).isTTY === true;
  const seen = new Set<string>();
  const onProgress = (e: ProgressEvent) => {
    const line = `[${String(e.index).padStart(String(e.total).length)}/${e.total}] ${e.check.kind === 'forbidden' ? 'NAA' : 'RA '} ${e.check.title}: ${e.state === 'done' ? e.status : e.state}${e.elapsedSeconds ? ` (${e.elapsedSeconds} s)` : ''}`;
    if (tty) stderr.write(`\r\x1b[2K${line}${e.state === 'done' ? '\n' : ''}`);
    else if (e.state === 'done' || !seen.has(`${e.index}:${e.state}`)) stderr.write(`${line}\n`);
    seen.add(`${e.index}:${e.state}`);
  };
  let aborted = false;
  const onSigint = () => {
    if (aborted) process.exit(130);
    aborted = true;
    stderr.write('\ninterrupted: stopping and deleting the scopes and paths created so far (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    stderr.write(`verify: config "${cfg.name}", region ${theRegion}${profile ? `, profile ${profile}` : ''}\n`);
    const report = await verify({
      intent,
      region: theRegion,
      client: env.client ?? ec2Client(theRegion, profile),
      // DNS checks on the probes (an injected EC2 client without an SSM one runs without them).
      ssm: env.ssm ?? (env.client ? undefined : ssmClient(theRegion)),
      probes: cfg.probes,
      concurrency,
      timeoutMs: timeoutMinutes * 60_000,
      onProgress,
      aborted: () => aborted,
      sleep: env.sleep,
      ...(env.sleep ? { retry: { sleep: env.sleep } } : {}),
    });
    const files = writeVerifyReports(out ?? path.join('verify', cfg.name), report);
    stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatVerifyTable(report)}\n\nreports:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
    return report.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`verify: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    },
  );
}
