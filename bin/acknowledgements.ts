#!/usr/bin/env node
import * as fs from 'fs';
import { acknowledgementsMarkdown, collectAcknowledgements } from '../lib/review/acknowledgements';

/**
 * `npm run acknowledgements -- [cdk.out] [--out FILE]`: lists every
 * acknowledged finding of the three rulebooks in a cloud assembly.
 */
function main(argv: string[]): number {
  let dir = 'cdk.out';
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write('usage: npm run acknowledgements -- [cdk.out] [--out FILE]\n');
      return 0;
    } else dir = argv[i];
  }
  let md: string;
  try {
    md = acknowledgementsMarkdown(collectAcknowledgements(dir));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (out) fs.writeFileSync(out, md);
  else process.stdout.write(md);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
