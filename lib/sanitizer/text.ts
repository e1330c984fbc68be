import { Budget, checkTime, FamilyResult, Quarantine } from './types';

/**
 * Text, CSV and HTML. CSV cells that a spreadsheet would run as a formula
 * (=, @, and + or - when not a plain number; DDE like =cmd|'/c calc'!A0) get
 * a leading apostrophe so they stay text. HTML becomes plain text: scripts,
 * styles and embedded content dropped, link targets kept in brackets.
 */

function assertText(buf: Buffer, what: string): void {
  if (buf.includes(0)) throw new Quarantine(`binary content (NUL bytes) in a ${what} file`);
}

const NUMBER = /^[+-]?(\d[\d,]*)?(\.\d+)?([eE][+-]?\d+)?%?$/;

/** First characters a dangerous cell can start with: whitespace and quotes (skipped), =, @, +, -. Any other: not dangerous. */
const MAY_START = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x22, 0x3d, 0x40, 0x2b, 0x2d]);

function dangerousCell(cell: string): boolean {
  if (!MAY_START.has(cell.charCodeAt(0))) return false;
  const v = cell.replace(/^[\s"]+/, '');
  if (!v) return false;
  if (/^[=@\t\r]/.test(cell) || /^[=@]/.test(v)) return true;
  if (/^[+-]/.test(v)) return !NUMBER.test(v.replace(/"$/, '').trim());
  return false;
}

const APOSTROPHE = Buffer.from("'", 'latin1');

export function sanitizeCsv(buf: Buffer, budget: Budget): FamilyResult {
  assertText(buf, 'CSV');
  // latin1 keeps every byte (UTF-8 and Shift_JIS never put a comma, quote or newline in a trail byte).
  const src = buf.toString('latin1');
  // Fast path: no cell can start with a formula character.
  if (!/(^|[,\r\n])["\s]*[=+\-@\t]/.test(src)) return { removed: [], type: 'text/csv' };
  const removed: string[] = [];
  const inserts: number[] = [];
  const cell = /("(?:[^"]|"")*"[^,\r\n]*|[^,\r\n"]*(?:"[^,\r\n]*)?)(,|\r\n|\n|\r|$)/y;
  let row = 1;
  let col = 1;
  let i = 0;
  let steps = 0;
  while (i <= src.length) {
    if (++steps % 65536 === 0) checkTime(budget);
    cell.lastIndex = i;
    const m = cell.exec(src);
    if (!m) throw new Quarantine(`malformed CSV near row ${row}`);
    const value = m[1];
    if (value.startsWith('"') && !/"[^,\r\n]*$/.test(value.slice(1))) throw new Quarantine(`malformed CSV: a quoted cell on row ${row} never closes`);
    if (dangerousCell(value)) {
      removed.push(`formula in row ${row}, column ${col}: ${value.slice(0, 60)}`);
      inserts.push(value.startsWith('"') ? i + 1 : i);
    }
    if (!m[2]) break;
    if (m[2] === ',') col++;
    else {
      row++;
      col = 1;
    }
    i = m.index + m[0].length;
    if (m[0].length === 0) break;
  }
  if (!removed.length) return { removed: [], type: 'text/csv' };
  // The input's own bytes (latin1 keeps offsets), an apostrophe in front of each formula, joined once.
  const parts: Buffer[] = [];
  let last = 0;
  for (const at of inserts) {
    parts.push(buf.subarray(last, at), APOSTROPHE);
    last = at;
  }
  parts.push(buf.subarray(last));
  return { removed, output: Buffer.concat(parts), type: 'text/csv' };
}

export function sanitizeText(buf: Buffer): FamilyResult {
  assertText(buf, 'text');
  return { removed: [], type: 'text/plain' };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', yen: '¥' };

export function htmlToText(html: string): string {
  let s = html.replace(/<!--[\s\S]*?-->/g, '');
  s = s.replace(/<(script|style|noscript|iframe|object|embed|applet|template|svg|math)\b[\s\S]*?<\/\1\s*>/gi, '');
  s = s.replace(/<(script|style|iframe|object|embed|applet|link|meta|base|form|input|button)\b[^>]*>/gi, '');
  s = s.replace(/<a\b[^>]*?\bhref\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi, (_m, _q, d, sq, bare, text) => {
    const url = (d ?? sq ?? bare ?? '').trim();
    const label = text.replace(/<[^>]*>/g, '').trim();
    return /^(https?:|mailto:)/i.test(url) && url !== label ? `${label} [ ${url} ]` : label;
  });
  s = s.replace(/<br\s*\/?>/gi, '\n').replace(/<li\b[^>]*>/gi, '\n- ').replace(/<\/(p|div|h[1-6]|tr|ul|ol|table|blockquote|pre|section|article|header|footer)\s*>/gi, '\n').replace(/<\/t[dh]\s*>/gi, '\t');
  s = s.replace(/<[^>]*>/g, '');
  s = s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(cp) && cp > 0 && cp < 0x110000 ? String.fromCodePoint(cp) : '';
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
  return s.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim() + '\n';
}

export function sanitizeHtml(buf: Buffer): FamilyResult {
  assertText(buf, 'HTML');
  const text = htmlToText(buf.toString('utf8'));
  return { removed: ['HTML converted to plain text (scripts, styles, forms and embedded content dropped; link targets kept)'], output: Buffer.from(text, 'utf8'), extension: 'txt', type: 'text/html' };
}
