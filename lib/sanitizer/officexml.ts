import { attr, elements, is, NS, remove, textOf, unwrap, XElement, XmlWatcher } from './xml';

/**
 * Rules over parsed Office XML, shared by the package (OOXML) and flat XML
 * families. Everything is matched on the DOM by namespace URI and local
 * name, so prefixes, quoting, character references, CDATA, comments and
 * whitespace make no difference.
 */

/**
 * Field types that run another program, a macro, or pull content from
 * another file or address into the document. Word takes the first word of
 * the field code as its type, case-insensitively, after spaces (and quotes).
 */
export const DANGEROUS_FIELD = /^[\s"]*(DDEAUTO|DDE|MACROBUTTON|INCLUDETEXT|INCLUDEPICTURE|INCLUDE|IMPORT|LINK)(?![A-Za-z0-9_])/i;

const FIELD_ELEMENTS = ['fldChar', 'instrText', 'delInstrText', 'fldSimple'];
const FORMULA_ELEMENTS = ['f', 'definedName', 'formula', 'formula1', 'formula2'];
// For the watchers, called for every element of a part: sets, looked up by local name first.
const FIELD_LOCALS: ReadonlySet<string> = new Set(FIELD_ELEMENTS);
const FORMULA_LOCALS: ReadonlySet<string> = new Set(FORMULA_ELEMENTS);
const W_URIS: ReadonlySet<string> = new Set(NS.w);
const X_URIS: ReadonlySet<string> = new Set(NS.x);

interface Field {
  begin: XElement;
  separate?: XElement;
  end?: XElement;
  /** The field's own instruction text (nested fields excluded), as Word joins it. */
  instr: string;
  /** The field's type comes from a nested field (`{ {QUOTE 68 68 69} ... }`): Word computes it at run time. */
  computedType: boolean;
  /** Every node of the instruction: own instrText, and nested fields inside the instruction whole. */
  nodes: XElement[];
}

/**
 * Complex fields (fldChar begin/separate/end with instrText, in any number of
 * runs and paragraphs, nested) and simple fields (fldSimple/@instr) whose
 * type is dangerous, or computed by a nested field, are taken out: the field
 * code goes (begin, instruction, separate, end), the result text stays as
 * plain text. Works for WordprocessingML (transitional and strict) and Word
 * 2003 XML alike.
 */
export function neutraliseWordFields(root: XElement, all: XElement[] = elements(root)): string[] {
  const found: string[] = [];
  const stack: Field[] = [];
  const kill: XElement[] = [];
  const close = (f: Field) => {
    const parent = stack[stack.length - 1];
    const instr = f.instr.trim();
    const dangerous = DANGEROUS_FIELD.test(f.instr) || f.computedType;
    if (dangerous) {
      const kw = DANGEROUS_FIELD.exec(f.instr)?.[1]?.toUpperCase();
      found.push(kw ? `Word field "${kw}" (${instr.slice(0, 80)})` : `Word field whose type is computed by a nested field (${instr.slice(0, 80) || 'no text of its own'})`);
      kill.push(f.begin, ...f.nodes);
      if (f.separate) kill.push(f.separate);
      if (f.end) kill.push(f.end);
    }
    // A nested field inside its parent's instruction is part of that instruction.
    if (parent && !parent.separate) parent.nodes.push(f.begin, ...f.nodes, ...(f.separate ? [f.separate] : []), ...(f.end ? [f.end] : []));
  };
  for (const el of all) {
    if (!is(el, NS.w, FIELD_ELEMENTS)) continue;
    const top = stack[stack.length - 1];
    if (el.localName === 'fldChar') {
      const t = attr(el, NS.w, 'fldCharType');
      if (t === 'begin') {
        if (top && !top.separate && !top.instr.trim()) top.computedType = true;
        stack.push({ begin: el, instr: '', computedType: false, nodes: [] });
      } else if (t === 'separate') {
        if (top && !top.separate) top.separate = el;
      } else if (t === 'end') {
        const f = stack.pop();
        if (f) {
          f.end = el;
          close(f);
        }
      }
    } else if (el.localName === 'fldSimple') {
      const instr = attr(el, NS.w, 'instr') ?? '';
      if (DANGEROUS_FIELD.test(instr)) {
        found.push(`Word simple field "${DANGEROUS_FIELD.exec(instr)![1].toUpperCase()}" (${instr.trim().slice(0, 80)})`);
        unwrap(el);
      }
      if (top && !top.separate) top.nodes.push(el);
    } else if (top && !top.separate) {
      top.instr += textOf(el);
      top.nodes.push(el);
    }
  }
  // Fields never closed: judged on what they have (Word would not run them, but nothing dangerous may stay).
  while (stack.length) close(stack.pop()!);
  for (const el of kill) remove(el);
  return found;
}

/**
 * The bytes of a UTF-8 part can hold a field element: one of their local
 * names is in them (XML never escapes a name). Without, neutraliseWordFields
 * has nothing to look at and its watcher is not needed.
 */
export function mayHoldWordFields(part: Buffer): boolean {
  return part.includes('fldChar') || part.includes('nstrText') || part.includes('fldSimple');
}

/**
 * neutraliseWordFields's watcher for the streaming look (needsDom): the same
 * field stack, instruction text and tests on the parser's events; true when
 * the rule would take a field out (a dangerous simple field, a dangerous or
 * computed complex field, closed or not), or when a field element sits
 * inside an instruction's text (left to the DOM).
 */
export function wordFieldWatcher(): XmlWatcher {
  interface F {
    instr: string;
    separate: boolean;
    computedType: boolean;
  }
  const stack: F[] = [];
  const dangerous = (f: F) => DANGEROUS_FIELD.test(f.instr) || f.computedType;
  let inInstr = 0;
  let into: F | undefined;
  return {
    open(t) {
      if (!FIELD_LOCALS.has(t.local) || !W_URIS.has(t.uri)) return false;
      if (inInstr) return true;
      const top = stack[stack.length - 1];
      if (t.local === 'fldChar') {
        const type = t.attr(NS.w, 'fldCharType');
        if (type === 'begin') {
          if (top && !top.separate && !top.instr.trim()) top.computedType = true;
          stack.push({ instr: '', separate: false, computedType: false });
        } else if (type === 'separate') {
          if (top && !top.separate) top.separate = true;
        } else if (type === 'end') {
          const f = stack.pop();
          if (f && dangerous(f)) return true;
        }
        return false;
      }
      if (t.local === 'fldSimple') return DANGEROUS_FIELD.test(t.attr(NS.w, 'instr') ?? '');
      inInstr = 1;
      into = top && !top.separate ? top : undefined;
      return false;
    },
    close(t) {
      if (inInstr && (t.local === 'instrText' || t.local === 'delInstrText') && W_URIS.has(t.uri)) inInstr = 0;
    },
    text(s) {
      if (inInstr && into) into.instr += s;
    },
    end() {
      return stack.some(dangerous);
    },
  };
}

/** A formula that calls another program (DDE: `app|topic!item`): a pipe outside string literals. */
export function isDdeFormula(formula: string): boolean {
  return formula.replace(/"(?:[^"]|"")*"/g, '""').includes('|');
}

/**
 * SpreadsheetML formulas: cell formulas (shared ones with every cell that
 * uses them), defined names, conditional-format and validation formulas that
 * call another program via DDE are removed; the cached cell values stay.
 */
export function neutraliseDdeFormulas(root: XElement, all: XElement[] = elements(root)): string[] {
  const found: string[] = [];
  const sharedIds = new Set<string>();
  const sharedCells: XElement[] = [];
  for (const el of all) {
    if (!is(el, NS.x, FORMULA_ELEMENTS)) continue;
    const text = textOf(el);
    if (el.localName === 'f' && attr(el, '', 't') === 'shared') sharedCells.push(el);
    if (!isDdeFormula(text)) continue;
    found.push(`DDE formula ${text.trim().slice(0, 80)}`);
    if (el.localName === 'f') {
      if (attr(el, '', 't') === 'shared' && attr(el, '', 'si') !== undefined) sharedIds.add(attr(el, '', 'si')!);
      remove(el);
    } else if (el.localName === 'definedName') remove(el);
    else if (el.parentNode) remove(el.parentNode as XElement);
  }
  for (const el of sharedCells) if (sharedIds.has(attr(el, '', 'si') ?? '') && el.parentNode) remove(el);
  return found;
}

/**
 * The bytes of a UTF-8 part can hold a pipe in character data: a `|`, or a
 * character reference (`&#124;`); with no DTD there are no other entities.
 * Without, no formula can be a DDE formula and its watcher is not needed.
 */
export function mayHoldPipe(part: Buffer): boolean {
  return part.includes(0x7c) || part.includes('&#');
}

/**
 * neutraliseDdeFormulas's watcher for the streaming look (needsDom): true at
 * any pipe in the text of a formula element (a DDE formula has one outside
 * its string literals; a pipe inside a literal sends the part to the rule
 * too, which then judges it).
 */
export function ddeFormulaWatcher(): XmlWatcher {
  let inside = 0;
  return {
    open(t) {
      if (FORMULA_LOCALS.has(t.local) && X_URIS.has(t.uri)) inside++;
    },
    close(t) {
      if (inside && FORMULA_LOCALS.has(t.local) && X_URIS.has(t.uri)) inside--;
    },
    text(s) {
      return inside > 0 && s.includes('|');
    },
  };
}

/** Auto_Open-style names (run a macro when the workbook opens). */
export const AUTO_NAME = /^(_xlnm\.)?Auto_(Open|Close|Activate|Deactivate)/i;
