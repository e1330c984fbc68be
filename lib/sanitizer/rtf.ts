import { Budget, checkTime, FamilyResult, Quarantine } from './types';

/**
 * RTF, with a real tokenizer (groups, control words with parameters, control
 * symbols, hex escapes and \binN raw data). Object groups (\object, with
 * \objdata, \objclass, \objemb, \objautlink, ...) are replaced by their
 * \result picture when they have one; \*\objdata, \*\objclass, \*\datastore
 * and \*\objalias destinations anywhere are removed; DDE/DDEAUTO field
 * instructions are emptied.
 */

export function isRtf(buf: Buffer): boolean {
  // Word opens anything that starts with {\rt, so the sanitizer must treat it as RTF too.
  return buf.subarray(0, 4).toString('latin1') === '{\\rt';
}

interface Group {
  readonly start: number;
  parts: (string | Group)[];
  /** The first control word (after `\*`), which names the destination. */
  dest?: string;
  /** An object or removable destination word seen anywhere directly in the group (not only first). */
  kill?: string;
  starred: boolean;
}

const REMOVE = new Set(['objdata', 'objclass', 'datastore', 'objalias', 'objsect', 'objname', 'objtime']);
/** Object words that make any group holding them an object group, wherever they stand in it. */
const OBJECT_WORDS = new Set(['object', 'objemb', 'objlink', 'objautlink', 'objsub', 'objpub', 'objicemb', 'objhtml', 'objocx']);
const MAX_RTF_DEPTH = 1024;

function parse(src: string, budget: Budget): Group {
  const root: Group = { start: 0, parts: [], starred: false };
  const stack: Group[] = [];
  let cur: Group | undefined;
  let i = 0;
  let steps = 0;
  let text = '';
  const flush = () => {
    if (text && cur) cur.parts.push(text);
    text = '';
  };
  while (i < src.length) {
    if (++steps % 65536 === 0) checkTime(budget);
    const ch = src[i];
    if (ch === '{') {
      flush();
      const g: Group = { start: i, parts: [], starred: false };
      if (cur) {
        cur.parts.push(g);
        stack.push(cur);
      } else root.parts.push(g);
      if (stack.length > MAX_RTF_DEPTH) throw new Quarantine(`RTF nesting deeper than ${MAX_RTF_DEPTH} groups`);
      cur = g;
      i++;
    } else if (ch === '}') {
      flush();
      if (!cur) throw new Quarantine('malformed RTF: a group closes that was never opened');
      cur = stack.pop();
      i++;
    } else if (ch === '\\') {
      const m = /^\\([a-z]{1,32})(-?\d{1,10})? ?/.exec(src.slice(i, i + 48));
      if (m) {
        const word = m[1];
        if (cur && cur.dest === undefined && cur.parts.length === 0 && /^(\s|\\\*)*$/.test(text)) cur.dest = word;
        if (cur && !cur.kill && (OBJECT_WORDS.has(word) || REMOVE.has(word))) cur.kill = word;
        if (word === 'bin') {
          const n = Number(m[2] ?? 0);
          if (n < 0 || i + m[0].length + n > src.length) throw new Quarantine('malformed RTF: \\bin runs past the end of the file');
          text += src.slice(i, i + m[0].length + n);
          i += m[0].length + n;
          continue;
        }
        text += m[0];
        i += m[0].length;
      } else if (src[i + 1] === "'") {
        text += src.slice(i, i + 4);
        i += 4;
      } else {
        if (src[i + 1] === '*' && cur && cur.dest === undefined) cur.starred = true;
        text += src.slice(i, i + 2);
        i += 2;
      }
    } else {
      // A run of plain text up to the next brace or backslash, in one slice.
      let j = i + 1;
      while (j < src.length) {
        const c = src.charCodeAt(j);
        if (c === 0x7b || c === 0x7d || c === 0x5c) break;
        j++;
      }
      text += src.slice(i, j);
      i = j;
    }
  }
  flush();
  if (cur) throw new Quarantine('malformed RTF: a group is never closed (truncated?)');
  return root;
}

function plainText(g: Group): string {
  return g.parts.map((p) => (typeof p === 'string' ? p : plainText(p))).join('');
}

/**
 * Field instructions: from every \fldinst word to the end of the group that
 * holds it (nested groups included), DDE, DDEAUTO and MACROBUTTON keywords are
 * removed, so the field does nothing; its result text stays.
 */
function neutraliseFieldInstructions(rtf: string, removed: string[]): string {
  let out = rtf;
  const re = /(?:^|[^\\])(?:\\\\)*\\fldinst(?![a-z])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(out))) {
    let depth = 0;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < out.length; i++) {
      const c = out[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === '{') depth++;
      else if (c === '}') {
        if (depth === 0) break;
        depth--;
      }
    }
    const span = out.slice(start, i);
    const cleaned = span.replace(/\b(DDEAUTO|DDE|MACROBUTTON)\b/gi, (w) => {
      removed.push(`field instruction ${w.toUpperCase()} (${span.replace(/[{}]/g, '').trim().slice(0, 60)})`);
      return '';
    });
    if (cleaned !== span) {
      out = out.slice(0, start) + cleaned + out.slice(i);
      re.lastIndex = start + cleaned.length;
    }
  }
  return out;
}

export function sanitizeRtf(buf: Buffer, budget: Budget): FamilyResult {
  const src = buf.toString('latin1');
  const root = parse(src, budget);
  const removed: string[] = [];
  const emit = (g: Group): string => {
    // A destination word that is not first (text or other words in front of it) still makes the group one.
    if (g.kill && g.dest !== g.kill && !(g.dest === 'object' || (g.dest && REMOVE.has(g.dest)))) {
      removed.push(`\\${g.kill} group (not at the start of its group)`);
      return '{}';
    }
    if (g.dest === 'object') {
      const cls = g.parts.find((p): p is Group => typeof p !== 'string' && p.dest === 'objclass');
      const name = cls ? plainText(cls).replace(/\\\*|\\objclass|[{}]/g, '').trim() : '?';
      const result = g.parts.find((p): p is Group => typeof p !== 'string' && p.dest === 'result');
      removed.push(`embedded object (${name})${result ? ', kept its result picture' : ''}`);
      return result ? `{${result.parts.map((p) => (typeof p === 'string' ? p.replace(/^\\result ?/, '') : emit(p))).join('')}}` : '{}';
    }
    if (g.dest && REMOVE.has(g.dest)) {
      removed.push(`\\${g.dest} destination`);
      // An empty group, not nothing: a control word in front keeps its delimiter.
      return '{}';
    }
    return `{${g.parts.map((p) => (typeof p === 'string' ? p : emit(p))).join('')}}`;
  };
  const out = neutraliseFieldInstructions(root.parts.map((p) => (typeof p === 'string' ? p : emit(p))).join(''), removed);
  // Defence in depth: no object or data word may be left anywhere (e.g. outside any group).
  const left = /(?:^|[^\\])(?:\\\\)*\\(object|objdata|objclass|objemb|objlink|objautlink|datastore)(?![a-z])/.exec(out);
  if (left) throw new Quarantine(`RTF still holds \\${left[1]} outside a group that could be removed (malformed structure)`);
  if (!removed.length) return { removed: [], type: 'rtf' };
  return { removed, output: Buffer.from(out, 'latin1'), type: 'rtf' };
}
