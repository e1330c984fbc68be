import * as fs from 'fs';
import * as path from 'path';
import { checkAssembly, formatReport, writeReport } from './check';
import { IntentError } from './intent';
import { AssemblyError } from './model';

/** Where the command writes: the process's streams, or a test's buffers. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/**
 * `npm run check-isolation -- <cdk.out | template folder | template files…> [--intent FILE]
 *   [--region R] [--account A] [--report FILE] [--json] [--shapes]`
 * `--shapes` checks each zone stack as its shape (cdk.out/shapes/) instantiated
 * with its municipality's parameter file, instead of its own template.
 * Exit 0: the templates match their intent. 1: findings. 2: the input or the
 * intent cannot be read (the message names the file and the field), or the
 * check itself failed: never 1, which means findings.
 */
const USAGE = 'usage: npm run check-isolation -- <cdk.out dir | template dir | template files...> [--intent FILE] [--region REGION] [--account ACCOUNT] [--report FILE] [--json] [--shapes]';

export function checkIsolationCli(argv: string[], io: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): number {
  const inputs: string[] = [];
  let reportFile: string | undefined;
  let intent: string | undefined;
  let region: string | undefined;
  let account: string | undefined;
  let json = false;
  let shapes = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string | undefined => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) {
        io.err(`${a} needs a value\n${USAGE}\n`);
        return undefined;
      }
      return v;
    };
    if (a === '--report') {
      if ((reportFile = value()) === undefined) return 2;
    } else if (a === '--intent') {
      if ((intent = value()) === undefined) return 2;
    } else if (a === '--region') {
      if ((region = value()) === undefined) return 2;
    } else if (a === '--account') {
      if ((account = value()) === undefined) return 2;
    } else if (a === '--json') json = true;
    else if (a === '--shapes') shapes = true;
    else if (a === '-h' || a === '--help') {
      io.out(`${USAGE}\n`);
      return 0;
    } else if (a.startsWith('-')) {
      io.err(`unknown option ${a}\n${USAGE}\n`);
      return 2;
    } else inputs.push(a);
  }
  if (inputs.length === 0) {
    io.err(`${USAGE}\n(no input given; "npx cdk synth" writes cdk.out)\n`);
    return 2;
  }
  try {
    const { report } = checkAssembly(inputs, { intent, region, account, shapes });
    const single = inputs.length === 1 && fs.statSync(inputs[0]).isDirectory() ? inputs[0] : undefined;
    const file = reportFile ?? (single ? path.join(single, 'isolation-report.json') : 'isolation-report.json');
    writeReport(file, report);
    io.out(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\nreport: ${file}\n`);
    return report.verdict === 'match' ? 0 : 1;
  } catch (e) {
    if (e instanceof AssemblyError || e instanceof IntentError) {
      io.err(`check-isolation: ${e.message}\n`);
      return 2;
    }
    // A failure of the check itself is not a finding: it must not read as exit 1.
    io.err(`check-isolation: the check failed (${(e as Error).stack ?? String(e)})\n`);
    return 2;
  }
}

