import { createHash } from 'crypto';
import * as path from 'path';
import { flatXml, sanitizeFlatXml } from './flatxml';
import { imageKind, sanitizeImage } from './image';
import { assertNotEncryptedPackage, isCfb, sanitizeOle } from './ole';
import { isOoxml, isXps, sanitizeOoxml } from './ooxml';
import { sanitizePdf } from './pdf';
import { isRtf, sanitizeRtf } from './rtf';
import { sanitizeCsv, sanitizeHtml, sanitizeText } from './text';
import { Budget, DEFAULT_LIMITS, FamilyResult, Limits, Quarantine, Verdict } from './types';
import { isZip, readZip, writeZip, ZipEntry } from './zip';

/**
 * The engine: detects the type from the content (never from the name alone),
 * checks the name agrees, runs the family's sanitizer under the limits, and
 * returns exactly one verdict with an audit record. Any error in a family —
 * malformed input, a limit, a bug — quarantines the file with the reason;
 * nothing passes unsanitized.
 */

export const ENGINE = { name: 'three-tier-cdr', version: '1.1.0' };

export interface AuditRecord {
  readonly input: { readonly name: string; readonly sha256: string; readonly bytes: number };
  readonly output?: { readonly name: string; readonly sha256: string; readonly bytes: number };
  readonly type: string;
  readonly removed: string[];
  readonly verdict: Verdict;
  readonly reason?: string;
  readonly engine: typeof ENGINE;
  readonly durationMs: number;
  readonly at: string;
}

export interface SanitizeOutcome {
  readonly record: AuditRecord;
  /** The bytes to deliver (sanitized or clean); undefined when quarantined. */
  readonly output?: Buffer;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const EXTENSIONS: Record<string, string[]> = {
  ooxml: ['docx', 'docm', 'dotx', 'dotm', 'xlsx', 'xlsm', 'xltx', 'xltm', 'xlam', 'xlsb', 'pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm'],
  ole: ['doc', 'dot', 'xls', 'xlt', 'xla', 'ppt', 'pps', 'pot'],
  pdf: ['pdf'],
  rtf: ['rtf'],
  jpeg: ['jpg', 'jpeg', 'jpe', 'jfif'],
  png: ['png'],
  zip: ['zip'],
  xml: ['xml'],
  csv: ['csv'],
  text: ['txt', 'text', 'log', 'md'],
  html: ['html', 'htm'],
};

function extOf(name: string): string {
  return path.extname(name).slice(1).toLowerCase();
}

function expectExtension(family: string, name: string, what: string): void {
  const ext = extOf(name);
  if (!EXTENSIONS[family].includes(ext)) {
    throw new Quarantine(`wrong or disguised extension: the content is ${what} but the name ends in ${ext ? `.${ext}` : 'no extension'} (expected ${EXTENSIONS[family].map((e) => `.${e}`).join(', ')})`);
  }
}

function looksLikeHtml(buf: Buffer): boolean {
  return /^\s*(\ufeff)?(<!doctype html|<html\b)/i.test(buf.subarray(0, 512).toString('utf8'));
}

async function dispatch(buf: Buffer, name: string, budget: Budget, depth: number): Promise<FamilyResult> {
  const { limits } = budget;
  if (buf.length === 0) throw new Quarantine('empty file: nothing to deliver');
  if (buf.length > limits.maxBytes) throw new Quarantine(`larger than the limit of ${limits.maxBytes} bytes`);
  if (isCfb(buf)) {
    // An encrypted OOXML document is a compound file with an EncryptedPackage: say so rather than "wrong extension".
    if (EXTENSIONS.ooxml.includes(extOf(name))) assertNotEncryptedPackage(buf);
    expectExtension('ole', name, 'an OLE compound file (Office 97-2003)');
    return sanitizeOle(buf, budget);
  }
  if (isZip(buf)) {
    const entries = readZip(buf, budget, EXTENSIONS.ooxml.includes(extOf(name)) ? 'Office document' : 'zip archive');
    if (isXps(entries)) throw new Quarantine('unsupported format: XPS (fixed-layout document); print it to PDF instead');
    if (isOoxml(entries)) {
      expectExtension('ooxml', name, 'an Office Open XML package');
      return sanitizeOoxml(buf, budget, entries, nestedIn(budget, depth, name));
    }
    if (entries.some((e) => e.name === 'mimetype' && e.data.toString('latin1').startsWith('application/vnd.oasis.opendocument'))) {
      throw new Quarantine('unsupported format: OpenDocument (ODF) is not sanitized yet; export it as Office Open XML or PDF');
    }
    expectExtension('zip', name, 'a zip archive');
    return sanitizeArchive(entries, name, budget, depth);
  }
  if (buf.subarray(0, 1024).includes(Buffer.from('%PDF-'))) {
    if (buf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Quarantine('polyglot: the PDF header does not start the file (data in front of it)');
    expectExtension('pdf', name, 'PDF');
    return sanitizePdf(buf, budget);
  }
  if (isRtf(buf)) {
    expectExtension('rtf', name, 'RTF');
    return sanitizeRtf(buf, budget);
  }
  const img = imageKind(buf);
  if (img) {
    if (img === 'jpeg' || img === 'png') expectExtension(img, name, `a ${img.toUpperCase()} image`);
    return sanitizeImage(buf, budget);
  }
  if (buf.subarray(0, 4).toString('latin1') === 'ID;P') throw new Quarantine('unsupported format: SYLK spreadsheet (can carry Excel 4 macros)');
  const flat = flatXml(buf, name);
  if (flat) {
    expectExtension('xml', name, 'Office flat XML');
    return sanitizeFlatXml(buf, flat, budget, nestedIn(budget, depth, name));
  }
  if (extOf(name) === 'xml') throw new Quarantine('XML that is not an Office document (Word 2003/2007 XML, Excel 2003 XML): not accepted');
  const ext = extOf(name);
  if (ext === 'csv') return sanitizeCsv(buf, budget);
  if (EXTENSIONS.html.includes(ext) || looksLikeHtml(buf)) {
    expectExtension('html', name, 'HTML');
    return sanitizeHtml(buf);
  }
  if (EXTENSIONS.text.includes(ext)) return sanitizeText(buf);
  throw new Quarantine(`unknown or unsupported type${ext ? ` (.${ext})` : ''}: only Office, PDF, RTF, JPEG/PNG, CSV, text, HTML and zip are accepted`);
}

/**
 * What a document imports (altChunk parts: RTF, another Office package) goes
 * through the engine as its own file, one level deeper, under the same
 * budget (size, decompressed total, time) and depth limit.
 */
function nestedIn(budget: Budget, depth: number, outer: string): (buf: Buffer, name: string) => Promise<FamilyResult> {
  return async (buf, name) => {
    if (depth + 1 > budget.limits.maxDepth) throw new Quarantine(`imports nested deeper than ${budget.limits.maxDepth} levels in ${path.basename(outer)}`);
    return dispatch(buf, name, budget, depth + 1);
  };
}

/** A zip archive: every entry through the engine; one quarantined entry quarantines the archive. */
async function sanitizeArchive(entries: ZipEntry[], name: string, budget: Budget, depth: number): Promise<FamilyResult> {
  if (depth + 1 > budget.limits.maxDepth) throw new Quarantine(`nesting deeper than ${budget.limits.maxDepth} archives`);
  const removed: string[] = [];
  const out: ZipEntry[] = [];
  let changed = false;
  for (const e of entries) {
    if (e.name.endsWith('/')) {
      out.push(e);
      continue;
    }
    if (e.name.split('/').includes('..') || e.name.startsWith('/')) throw new Quarantine(`archive entry "${e.name}" escapes the archive (path traversal)`);
    let r: FamilyResult;
    try {
      r = await dispatch(e.data, e.name, budget, depth + 1);
    } catch (err) {
      if (err instanceof Quarantine) throw new Quarantine(`archive entry "${e.name}" in ${path.basename(name)}: ${err.reason}`);
      throw err;
    }
    if (r.output) {
      changed = true;
      const renamed = r.extension ? e.name.replace(/\.[^./]*$/, '') + `.${r.extension}` : e.name;
      removed.push(...r.removed.map((x) => `${e.name}: ${x}`));
      out.push({ name: renamed, data: r.output });
    } else out.push(e);
  }
  if (!changed) return { removed: [], type: 'zip' };
  return { removed, output: writeZip(out), type: 'zip' };
}

function outputName(name: string, ext: string | undefined): string {
  if (!ext) return name;
  const base = path.basename(name);
  const dot = base.lastIndexOf('.');
  return path.join(path.dirname(name), `${dot > 0 ? base.slice(0, dot) : base}.${ext}`);
}

/** Sanitizes one file. Never throws for bad input: every input gets a verdict. */
export async function sanitize(buf: Buffer, name: string, limits: Limits = DEFAULT_LIMITS, clock: () => number = Date.now): Promise<SanitizeOutcome> {
  const started = clock();
  const budget: Budget = { limits, deadline: started + limits.timeoutMs, inflated: 0 };
  const input = { name, sha256: sha256(buf), bytes: buf.length };
  const finish = (r: Omit<AuditRecord, 'input' | 'engine' | 'durationMs' | 'at'>, output?: Buffer): SanitizeOutcome => ({
    record: { input, ...r, engine: ENGINE, durationMs: Math.round((clock() - started) * 100) / 100, at: new Date().toISOString() },
    output,
  });
  try {
    const r = await dispatch(buf, name, budget, 0);
    if (clock() > budget.deadline) throw new Quarantine(`time limit: took longer than ${limits.timeoutMs} ms`);
    if (!r.output) {
      return finish({ output: { name, sha256: input.sha256, bytes: buf.length }, type: r.type ?? 'unknown', removed: [], verdict: 'clean' }, buf);
    }
    const outName = outputName(name, r.extension);
    return finish({ output: { name: outName, sha256: sha256(r.output), bytes: r.output.length }, type: r.type ?? 'unknown', removed: r.removed, verdict: 'sanitized' }, r.output);
  } catch (e) {
    const reason = e instanceof Quarantine ? e.reason : `sanitizer error (${(e as Error)?.message ?? String(e)}): quarantined rather than passed`;
    return finish({ type: 'unknown', removed: [], verdict: 'quarantined', reason });
  }
}
