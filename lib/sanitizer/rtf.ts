import { Budget, checkTime, FamilyResult, Quarantine } from './types';

/**
 * RTF, with a real tokenizer (groups, control words with parameters, control
 * symbols, hex escapes and \binN raw data). Object groups (\object, with
 * \objdata, \objclass, \objemb, \objautlink, ...) are replaced by their
 * \result picture when they have one; \*\objdata, \*\objclass, \*\datastore
 * and \*\objalias destinations anywhere are removed; DDE/DDEAUTO field
 * instructions are emptied.
 *
 * The file is read as bytes, never as one big string: the tokenizer keeps
 * each group as a range of the input (with its destination, the object word
 * it holds and its child groups), and the output is the input's own byte
 * ranges with the removed groups left out, joined once. A group in which
 * nothing is removed is copied as it stands, in one piece.
 */

export function isRtf(buf: Buffer): boolean {
  // Word opens anything that starts with {\rt, so the sanitizer must treat it as RTF too.
  return buf.subarray(0, 4).toString('latin1') === '{\\rt';
}

interface Group {
  /** Offset of the opening brace. */
  readonly start: number;
  /** Offset of the closing brace. */
  end: number;
  /**
   * The child groups the output needs, in order: those replaced or with a
   * replaced group inside; every child of an object, \objclass or \result
   * group (and below them), whose text is read or re-cut. A child group that
   * is copied as it stands is not kept.
   */
  children?: Group[];
  /** A child group was opened (the destination can no longer be named). */
  opened: boolean;
  /** Every child is kept (an object, \objclass or \result group, or one inside such a group). */
  keepAll: boolean;
  /** The first control word (after `\*`), which names the destination. */
  dest?: string;
  /** An object or removable destination word seen anywhere directly in the group (not only first). */
  kill?: string;
  /** Only whitespace and `\*` so far, no child group: the next control word names the destination. */
  blank: boolean;
  /** A group inside this one (at any depth) is replaced in the output: it cannot be copied in one piece. */
  inner: boolean;
}

const REMOVE = new Set(['objdata', 'objclass', 'datastore', 'objalias', 'objsect', 'objname', 'objtime']);
/** Object words that make any group holding them an object group, wherever they stand in it. */
const OBJECT_WORDS = new Set(['object', 'objemb', 'objlink', 'objautlink', 'objsub', 'objpub', 'objicemb', 'objhtml', 'objocx']);
const MAX_RTF_DEPTH = 1024;

const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** What a JavaScript regex calls whitespace (\s), among single bytes. */
const isSpace = (c: number) => (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0;

/** The group removes itself (or is replaced by its result picture) in the output. */
function replaced(g: Group): boolean {
  return (!!g.kill && g.dest !== g.kill) || g.dest === 'object' || (!!g.dest && REMOVE.has(g.dest));
}

function parse(src: Buffer, budget: Budget): Group[] {
  const roots: Group[] = [];
  const stack: Group[] = [];
  let cur: Group | undefined;
  let i = 0;
  let steps = 0;
  const len = src.length;
  while (i < len) {
    if (++steps % 65536 === 0) checkTime(budget);
    const ch = src[i];
    if (ch === OPEN) {
      const g: Group = { start: i, end: -1, opened: false, keepAll: false, blank: true, inner: false };
      if (cur) {
        // The parent's destination is settled now (it is named before any child group).
        if (!cur.opened) {
          cur.opened = true;
          if (cur.dest === 'object' || cur.dest === 'objclass' || cur.dest === 'result') cur.keepAll = true;
        }
        g.keepAll = cur.keepAll;
        stack.push(cur);
      } else roots.push(g);
      if (stack.length > MAX_RTF_DEPTH) throw new Quarantine(`RTF nesting deeper than ${MAX_RTF_DEPTH} groups`);
      cur = g;
      i++;
    } else if (ch === CLOSE) {
      if (!cur) throw new Quarantine('malformed RTF: a group closes that was never opened');
      cur.end = i;
      const parent = stack.pop();
      if (parent) {
        const changed = cur.inner || replaced(cur);
        if (changed) parent.inner = true;
        if (changed || parent.keepAll) (parent.children ??= []).push(cur);
      }
      cur = parent;
      i++;
    } else if (ch === BACKSLASH) {
      if (isLower(src[i + 1])) {
        // A control word: \ then 1-32 lowercase letters, an optional parameter of 1-10 digits (with a minus), an optional space.
        let j = i + 1;
        while (j < len && j - i <= 32 && isLower(src[j])) j++;
        const wordEnd = j;
        let param = 0;
        if ((src[j] === 0x2d && isDigit(src[j + 1])) || isDigit(src[j])) {
          const p0 = j;
          if (src[j] === 0x2d) j++;
          const d0 = j;
          while (j < len && j - d0 < 10 && isDigit(src[j])) j++;
          param = Number(src.toString('latin1', p0, j));
        }
        if (src[j] === 0x20) j++;
        if (cur) {
          const first = cur.dest === undefined && !cur.opened && cur.blank;
          const c1 = src[i + 1];
          // Only words that can matter are turned into strings: the first of a group, and those that may be object words.
          if (first || (!cur.kill && (c1 === 0x6f || c1 === 0x64))) {
            const word = src.toString('latin1', i + 1, wordEnd);
            if (first) cur.dest = word;
            if (!cur.kill && (OBJECT_WORDS.has(word) || REMOVE.has(word))) cur.kill = word;
          }
          cur.blank = false;
        }
        if (wordEnd - i === 4 && src[i + 1] === 0x62 && src[i + 2] === 0x69 && src[i + 3] === 0x6e) {
          // \binN: N bytes of raw data follow; braces and backslashes in them mean nothing.
          if (param < 0 || j + param > len) throw new Quarantine('malformed RTF: \\bin runs past the end of the file');
          i = j + param;
          continue;
        }
        i = j;
      } else if (src[i + 1] === 0x27) {
        // \'hh
        if (cur) cur.blank = false;
        i += 4;
      } else {
        // A control symbol; \* keeps the group's destination open.
        if (cur && src[i + 1] !== 0x2a) cur.blank = false;
        i += 2;
      }
    } else {
      // A run of plain text up to the next brace or backslash.
      let j = i;
      if (cur?.blank) {
        while (j < len && src[j] !== OPEN && src[j] !== CLOSE && src[j] !== BACKSLASH) {
          if (!isSpace(src[j])) cur.blank = false;
          j++;
        }
      } else {
        while (j < len) {
          const c = src[j];
          if (c === OPEN || c === CLOSE || c === BACKSLASH) break;
          j++;
        }
      }
      i = j;
    }
  }
  if (cur) throw new Quarantine('malformed RTF: a group is never closed (truncated?)');
  return roots;
}

/** The text of a group and every group inside it, without their braces. */
function plainText(src: Buffer, g: Group): string {
  let s = '';
  let at = g.start + 1;
  for (const c of g.children ?? []) {
    s += src.toString('latin1', at, c.start) + plainText(src, c);
    at = c.end + 1;
  }
  return s + src.toString('latin1', at, g.end);
}

const BRACES = Buffer.from('{}', 'latin1');
const OPEN_BRACE = BRACES.subarray(0, 1);
const CLOSE_BRACE = BRACES.subarray(1, 2);
const RESULT = Buffer.from('\\result', 'latin1');

/** The output: the input's byte ranges, removed groups left out (an empty group `{}` in their place). */
function emitAll(src: Buffer, roots: Group[], removed: string[]): Buffer {
  const out: Buffer[] = [];
  const emit = (g: Group): void => {
    // A destination word that is not first (text or other words in front of it) still makes the group one.
    if (g.kill && g.dest !== g.kill && !(g.dest === 'object' || (g.dest && REMOVE.has(g.dest)))) {
      removed.push(`\\${g.kill} group (not at the start of its group)`);
      out.push(BRACES);
      return;
    }
    if (g.dest === 'object') {
      const cls = g.children?.find((p) => p.dest === 'objclass');
      const name = cls ? plainText(src, cls).replace(/\\\*|\\objclass|[{}]/g, '').trim() : '?';
      const result = g.children?.find((p) => p.dest === 'result');
      removed.push(`embedded object (${name})${result ? ', kept its result picture' : ''}`);
      if (!result) {
        out.push(BRACES);
        return;
      }
      // The result's content in the object's place; each of its own text runs loses a leading \result.
      out.push(OPEN_BRACE);
      const text = (from: number, to: number) => {
        if (to - from >= RESULT.length && src.compare(RESULT, 0, RESULT.length, from, from + RESULT.length) === 0) {
          from += RESULT.length;
          if (from < to && src[from] === 0x20) from++;
        }
        if (to > from) out.push(src.subarray(from, to));
      };
      let at = result.start + 1;
      for (const c of result.children ?? []) {
        text(at, c.start);
        emit(c);
        at = c.end + 1;
      }
      text(at, result.end);
      out.push(CLOSE_BRACE);
      return;
    }
    if (g.dest && REMOVE.has(g.dest)) {
      removed.push(`\\${g.dest} destination`);
      // An empty group, not nothing: a control word in front keeps its delimiter.
      out.push(BRACES);
      return;
    }
    if (!g.inner) {
      out.push(src.subarray(g.start, g.end + 1));
      return;
    }
    let at = g.start;
    for (const c of g.children ?? []) {
      if (!c.inner && !replaced(c)) continue;
      out.push(src.subarray(at, c.start));
      emit(c);
      at = c.end + 1;
    }
    out.push(src.subarray(at, g.end + 1));
  };
  // Text outside every group is not part of the document: it is left out.
  for (const g of roots) emit(g);
  return out.length === 1 ? out[0] : Buffer.concat(out);
}

/** The number of backslashes right in front of `at`: an odd number escapes the backslash at `at`. */
function backslashesBefore(b: Buffer, at: number): number {
  let n = 0;
  while (at - n - 1 >= 0 && b[at - n - 1] === BACKSLASH) n++;
  return n;
}

/** The next `\word` at or after `from` that is a control word (not escaped, not followed by a lowercase letter); -1 if none. */
function findWord(b: Buffer, needle: Buffer, from: number): number {
  for (let q = b.indexOf(needle, from); q >= 0; q = b.indexOf(needle, q + 1)) {
    if (!isLower(b[q + needle.length]) && backslashesBefore(b, q) % 2 === 0) return q;
  }
  return -1;
}

const FLDINST = Buffer.from('\\fldinst', 'latin1');
const FIELD_WORDS = ['DDEAUTO', 'DDE', 'MACROBUTTON'];
const isWordChar = (c: number | undefined) => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f);

/** The field keyword (DDEAUTO, DDE, MACROBUTTON; any case) that starts exactly at `at` and ends at a word boundary, if any. */
function keywordAt(b: Buffer, at: number): string | undefined {
  for (const w of FIELD_WORDS) {
    if (at + w.length > b.length) continue;
    let k = 0;
    while (k < w.length && (b[at + k] & 0xdf) === w.charCodeAt(k)) k++;
    if (k === w.length && !isWordChar(b[at + w.length])) return b.toString('latin1', at, at + w.length);
  }
  return undefined;
}

/**
 * One instruction region: from the end of a \fldinst word to the end of the
 * group that holds it (its closing brace, or the end of the data). Returns
 * that end, and the start and end of every \fldinst inside the region (each
 * one's own span ends where the group holding it closes), in one pass.
 */
function instructionRegion(b: Buffer, from: number): { end: number; inner: [number, number][] } {
  const inner: [number, number][] = [];
  const open: number[][] = [[]]; // by depth: starts of inner instructions waiting for their group to close
  let next = findWord(b, FLDINST, from);
  let depth = 0;
  let i = from;
  const close = (list: number[], end: number) => {
    for (const s of list) inner.push([s, end]);
    list.length = 0;
  };
  for (; i < b.length; i++) {
    while (next >= 0 && next + FLDINST.length <= i) {
      open[depth].push(next + FLDINST.length);
      next = findWord(b, FLDINST, next + FLDINST.length);
    }
    const c = b[i];
    if (c === BACKSLASH) {
      i++;
      continue;
    }
    if (c === OPEN) {
      depth++;
      open[depth] ??= [];
    } else if (c === CLOSE) {
      close(open[depth], i);
      if (depth === 0) break;
      depth--;
    }
  }
  const end = Math.min(i, b.length);
  if (end === b.length) {
    while (next >= 0 && next + FLDINST.length <= end) {
      open[depth].push(next + FLDINST.length);
      next = findWord(b, FLDINST, next + FLDINST.length);
    }
    for (const list of open) close(list, end);
  }
  inner.sort((x, y) => x[0] - y[0]);
  return { end, inner };
}

/**
 * Field instructions: from every \fldinst word to the end of the group that
 * holds it (nested groups included), DDE, DDEAUTO and MACROBUTTON keywords are
 * removed, so the field does nothing; its result text stays. One pass: each
 * outermost instruction is searched once, and every \fldinst inside it where
 * it starts (`\fldinstDDE`: the word right after it).
 */
function neutraliseFieldInstructions(out: Buffer, removed: string[]): Buffer {
  const cuts: [number, number][] = [];
  const describe = (s: number, e: number) => out.toString('latin1', s, e).replace(/[{}]/g, '').trim().slice(0, 60);
  for (let q = findWord(out, FLDINST, 0); q >= 0; ) {
    const start = q + FLDINST.length;
    const { end, inner } = instructionRegion(out, start);
    const span = out.toString('latin1', start, end);
    let what: string | undefined;
    for (const m of span.matchAll(/\b(DDEAUTO|DDE|MACROBUTTON)\b/gi)) {
      what ??= describe(start, end);
      removed.push(`field instruction ${m[0].toUpperCase()} (${what})`);
      cuts.push([start + m.index!, start + m.index! + m[0].length]);
    }
    for (const [s, e] of inner) {
      const w = keywordAt(out, s);
      if (!w) continue;
      removed.push(`field instruction ${w.toUpperCase()} (${describe(s, e)})`);
      cuts.push([s, s + w.length]);
    }
    q = findWord(out, FLDINST, Math.max(end, start));
  }
  if (!cuts.length) return out;
  cuts.sort((a, b) => a[0] - b[0]);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const [s, e] of cuts) {
    pieces.push(out.subarray(at, s));
    at = e;
  }
  pieces.push(out.subarray(at));
  return Buffer.concat(pieces);
}

const OBJ = Buffer.from('\\obj', 'latin1');
const DATASTORE = Buffer.from('\\datastore', 'latin1');
const LEFTOVER_OBJ_WORDS = ['object', 'objdata', 'objclass', 'objemb', 'objlink', 'objautlink'];

/** The first object or data word left in the output (a control word, not escaped), if any. */
function leftover(out: Buffer): string | undefined {
  let first = -1;
  let word: string | undefined;
  for (let q = out.indexOf(OBJ); q >= 0; q = out.indexOf(OBJ, q + 1)) {
    let e = q + 1;
    while (e < out.length && e - q <= 32 && isLower(out[e])) e++;
    const w = out.toString('latin1', q + 1, Math.min(e, q + 11));
    const hit = LEFTOVER_OBJ_WORDS.find((x) => w.startsWith(x) && !isLower(out[q + 1 + x.length]));
    if (hit && backslashesBefore(out, q) % 2 === 0) {
      first = q;
      word = hit;
      break;
    }
  }
  const d = findWord(out, DATASTORE, 0);
  if (d >= 0 && (first < 0 || d < first)) word = 'datastore';
  return word;
}

export function sanitizeRtf(buf: Buffer, budget: Budget): FamilyResult {
  const roots = parse(buf, budget);
  const removed: string[] = [];
  const out = neutraliseFieldInstructions(emitAll(buf, roots, removed), removed);
  // Defence in depth: no object or data word may be left anywhere (e.g. outside any group).
  const word = leftover(out);
  if (word) throw new Quarantine(`RTF still holds \\${word} outside a group that could be removed (malformed structure)`);
  if (!removed.length) return { removed: [], type: 'rtf' };
  return { removed, output: out, type: 'rtf' };
}
