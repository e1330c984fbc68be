import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS, corpusFile } from './helpers/sanitizer-fixtures';
import { eicar } from './helpers/eicar';

/** The fixture manifest says exactly what test/fixtures/corpus holds, and the tests read nothing outside the repository. */
const ROOT = path.resolve(__dirname, '..');
const rows = fs
  .readFileSync(path.join(CORPUS, 'MANIFEST.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map(([rel, bytes, sha, active, source]) => ({ rel, bytes: Number(bytes), sha, active, source }));
const generated = (r: { source: string }) => r.source.startsWith('generated at test time');

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !['node_modules', '.git', 'cdk.out', '.bench', 'review', 'verify'].includes(e.name))
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : []));
}

describe('test fixtures', () => {
  test('every row of the manifest names a file of that size and hash (generated files: what the generator makes)', () => {
    expect(rows.length).toBeGreaterThan(100);
    for (const r of rows) {
      const onDisk = fs.existsSync(path.join(CORPUS, r.rel));
      expect({ rel: r.rel, committed: onDisk }).toEqual({ rel: r.rel, committed: !generated(r) });
      const bytes = corpusFile(r.rel);
      expect({ rel: r.rel, bytes: bytes.length, sha: createHash('sha256').update(bytes).digest('hex').slice(0, 16) }).toEqual({ rel: r.rel, bytes: r.bytes, sha: r.sha });
      expect(r.active.length).toBeGreaterThan(0);
      expect(r.source.length).toBeGreaterThan(0);
    }
  });

  test('every committed fixture file is in the manifest', () => {
    const listed = new Set(rows.map((r) => r.rel));
    const files = walk(CORPUS).map((f) => path.relative(CORPUS, f)).filter((f) => f !== 'MANIFEST.tsv' && f !== 'README.md');
    expect(files.filter((f) => !listed.has(f))).toEqual([]);
  });

  test('licenses travel with the files', () => {
    expect(fs.readFileSync(path.join(CORPUS, 'oletools', 'LICENSE.md'), 'utf8')).toMatch(/Permission is hereby granted|Redistribution and use/);
  });

  test('no committed file carries the EICAR string (it is generated at test time)', () => {
    const needle = eicar();
    const offenders = walk(ROOT)
      .filter((f) => fs.readFileSync(f).includes(needle))
      .map((f) => path.relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  test('no test, benchmark, script or program reads outside the repository', () => {
    const sources = ['test', 'bench', 'scripts', 'bin', 'lib', 'config'].flatMap((d) => walk(path.join(ROOT, d))).filter((f) => /\.(ts|js|mjs|sh)$/.test(f) && f !== __filename);
    // '../shared', or three '..' segments joined from a file one level down, leave the clone.
    const outside = sources.filter((f) => /\.\.\/+shared\b|shared\/corpus|['"]\.\.['"]\s*,\s*['"]\.\.['"]\s*,\s*['"]\.\.['"]/.test(fs.readFileSync(f, 'utf8')));
    expect(outside.map((f) => path.relative(ROOT, f))).toEqual([]);
  });
});
