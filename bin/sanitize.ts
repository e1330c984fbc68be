#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { sanitize } from '../lib/sanitizer/engine';
import { DEFAULT_LIMITS, Limits } from '../lib/sanitizer/types';

const USAGE = 'usage: npm run sanitize -- --out <dir> [--max-mb N] [--timeout-ms N] <file-or-dir>...';

/**
 * `npm run sanitize -- --out <dir> <file-or-dir>...`: every input gets exactly
 * one verdict. Sanitized and clean files go to <dir> (same relative path, new
 * extension when the format changes), quarantined originals to
 * <dir>/quarantine/, one audit record per file to <dir>/audit.jsonl. Exit 0
 * when every input got a verdict (whatever it was), 2 on usage errors.
 */
export async function main(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let out: string | undefined;
  let limits: Limits = DEFAULT_LIMITS;
  const inputs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = argv[++i];
    else if (a === '--max-mb' || a === '--timeout-ms') {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) {
        io.stderr.write(`${a} takes a positive number\n${USAGE}\n`);
        return 2;
      }
      limits = a === '--max-mb' ? { ...limits, maxBytes: Math.round(n * 1024 * 1024) } : { ...limits, timeoutMs: n };
    } else if (a === '-h' || a === '--help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    } else if (a.startsWith('-')) {
      io.stderr.write(`unknown option ${a}\n${USAGE}\n`);
      return 2;
    } else inputs.push(a);
  }
  if (!out) {
    io.stderr.write(`--out <dir> is required\n${USAGE}\n`);
    return 2;
  }
  if (!inputs.length) {
    io.stderr.write(`no input files or directories given\n${USAGE}\n`);
    return 2;
  }
  const missing = inputs.filter((p) => !fs.existsSync(p));
  if (missing.length) {
    io.stderr.write(`no such file or directory: ${missing.join(', ')}\n`);
    return 2;
  }
  const outDir = path.resolve(out);
  // Every file under the inputs, with the path it keeps under --out.
  const files: { file: string; rel: string }[] = [];
  const walk = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) {
      files.push({ file: p, rel });
      return;
    }
    if (st.isDirectory()) {
      if (path.resolve(p) === outDir || path.resolve(p).startsWith(`${outDir}${path.sep}`)) return;
      for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e), path.join(rel, e));
    } else files.push({ file: p, rel });
  };
  for (const input of inputs) walk(input, path.basename(path.resolve(input)));
  fs.mkdirSync(path.join(outDir, 'quarantine'), { recursive: true });
  const audit = fs.openSync(path.join(outDir, 'audit.jsonl'), 'a');
  const used = new Set<string>();
  const unique = (p: string) => {
    let candidate = p;
    for (let n = 2; used.has(candidate) || fs.existsSync(candidate); n++) candidate = p.replace(/(\.[^./\\]*)?$/, (ext) => `.${n}${ext}`);
    used.add(candidate);
    return candidate;
  };
  const counts = { sanitized: 0, clean: 0, quarantined: 0 };
  for (const { file, rel } of files) {
    let buf: Buffer | undefined;
    let readError: string | undefined;
    try {
      const st = fs.lstatSync(file);
      if (st.isSymbolicLink()) readError = 'a symbolic link, not a file';
      else if (st.size > limits.maxBytes) readError = `larger than the limit of ${limits.maxBytes} bytes`;
      else buf = fs.readFileSync(file);
    } catch (e) {
      readError = `unreadable: ${(e as Error).message}`;
    }
    const outcome = buf ? await sanitize(buf, rel, limits) : undefined;
    const record = outcome?.record ?? { input: { name: rel, sha256: '', bytes: 0 }, type: 'unknown', removed: [], verdict: 'quarantined' as const, reason: readError, engine: undefined, durationMs: 0, at: new Date().toISOString() };
    let written: string | undefined;
    if (outcome?.output && outcome.record.output) {
      written = unique(path.join(outDir, outcome.record.output.name));
      fs.mkdirSync(path.dirname(written), { recursive: true });
      fs.writeFileSync(written, outcome.output);
    } else if (buf) {
      written = unique(path.join(outDir, 'quarantine', rel));
      fs.mkdirSync(path.dirname(written), { recursive: true });
      fs.writeFileSync(written, buf);
    }
    fs.writeSync(audit, `${JSON.stringify({ ...record, file: written ? path.relative(outDir, written) : undefined })}\n`);
    counts[record.verdict]++;
    io.stdout.write(`${record.verdict.padEnd(11)} ${rel}${record.verdict === 'quarantined' ? `  (${record.reason})` : record.removed.length ? `  (${record.removed.length} removed)` : ''}\n`);
  }
  fs.closeSync(audit);
  io.stdout.write(`\n${files.length} files: ${counts.sanitized} sanitized, ${counts.clean} clean, ${counts.quarantined} quarantined; audit: ${path.join(outDir, 'audit.jsonl')}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`sanitize: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    },
  );
}
