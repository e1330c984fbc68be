#!/usr/bin/env node
import * as path from 'path';
import { checkAssembly, formatReport, writeReport } from '../lib/isolation/check';
import { IntentError } from '../lib/isolation/intent';
import { AssemblyError } from '../lib/isolation/model';

/**
 * `npm run check-isolation -- <cdk.out> [--report FILE] [--json]`
 * Exit 0: the assembly matches its intent. 1: findings. 2: the assembly or
 * its intent cannot be read.
 */
function main(argv: string[]): number {
  let dir: string | undefined;
  let reportFile: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--report') reportFile = argv[++i];
    else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: npm run check-isolation -- <cdk.out dir> [--report FILE] [--json]\n');
      return 0;
    } else if (a.startsWith('-')) {
      process.stderr.write(`unknown option ${a}; usage: npm run check-isolation -- <cdk.out dir> [--report FILE] [--json]\n`);
      return 2;
    } else dir = a;
  }
  if (!dir) {
    process.stderr.write('usage: npm run check-isolation -- <cdk.out dir> [--report FILE] [--json]\n(no assembly directory given; "npx cdk synth" writes cdk.out)\n');
    return 2;
  }
  try {
    const { report } = checkAssembly(dir);
    const file = reportFile ?? path.join(dir, 'isolation-report.json');
    writeReport(file, report);
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\nreport: ${file}\n`);
    return report.verdict === 'match' ? 0 : 1;
  } catch (e) {
    if (e instanceof AssemblyError || e instanceof IntentError) {
      process.stderr.write(`check-isolation: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
