import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SaxesParser, SaxesTagNS } from 'saxes';
import { Quarantine } from './types';

/**
 * Every XML the sanitizer reads goes through one conforming, namespace-aware
 * parser: @xmldom/xmldom (W3C DOM Level 2 Core parser and serializer, pure
 * JavaScript, maintained, no native code). Elements and attributes are
 * matched by namespace URI and local name (never by prefix); character and
 * entity references, CDATA, comments, processing instructions, whitespace and
 * both quote styles are the parser's business, not ours.
 *
 * Safe options, fail closed:
 * - any message from the parser (warning, error, fatal error) rejects the
 *   part: the file is quarantined with the parser's message and the part name;
 * - a DOCTYPE is refused before anything is resolved (Office never writes one
 *   in its parts; it is how external entities and entity expansion bombs are
 *   declared), and xmldom itself never fetches or expands external entities;
 * - characters XML 1.0 forbids (C0 controls other than tab, CR, LF) reject
 *   the part, as a conforming reader would.
 */

// The DOM types of xmldom (structurally the W3C ones).
export type XDocument = ReturnType<DOMParser['parseFromString']>;
export type XElement = NonNullable<XDocument['documentElement']>;
export type XNode = XElement['firstChild'] & object;

export const NS = {
  /** WordprocessingML: transitional, strict, Word 2003 XML. */
  w: ['http://schemas.openxmlformats.org/wordprocessingml/2006/main', 'http://purl.oclc.org/ooxml/wordprocessingml/main', 'http://schemas.microsoft.com/office/word/2003/wordml'],
  /** SpreadsheetML: transitional and strict. */
  x: ['http://schemas.openxmlformats.org/spreadsheetml/2006/main', 'http://purl.oclc.org/ooxml/spreadsheetml/main'],
  /** Relationship references (r:id, r:embed, ...) inside parts: transitional and strict. */
  r: ['http://schemas.openxmlformats.org/officeDocument/2006/relationships', 'http://purl.oclc.org/ooxml/officeDocument/relationships'],
  /** PresentationML: transitional and strict. */
  p: ['http://schemas.openxmlformats.org/presentationml/2006/main', 'http://purl.oclc.org/ooxml/presentationml/main'],
  rels: 'http://schemas.openxmlformats.org/package/2006/relationships',
  types: 'http://schemas.openxmlformats.org/package/2006/content-types',
  office: 'urn:schemas-microsoft-com:office:office',
  /** Excel 2003 XML (SpreadsheetML 2003). */
  ss: 'urn:schemas-microsoft-com:office:spreadsheet',
  /** Word/Office 2007 flat OPC (pkg:package). */
  pkg: 'http://schemas.microsoft.com/office/2006/xmlPackage',
  customUi: ['http://schemas.microsoft.com/office/2006/01/customui', 'http://schemas.microsoft.com/office/2009/07/customui'],
} as const;

const FORBIDDEN_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/** Decodes the bytes of an XML part: UTF-8 (with or without BOM) or UTF-16 with a BOM, as Office writes them. */
export function xmlText(buf: Buffer, what: string): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = buf.toString('utf8');
  if (text.includes('\ufffd') && !buf.includes(Buffer.from([0xef, 0xbf, 0xbd]))) throw new Quarantine(`malformed XML in ${what}: not valid UTF-8`);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The text of an XML part after the checks made before any parsing: encoding, characters XML forbids, no DOCTYPE. */
function xmlSource(input: Buffer | string, what: string): string {
  const text = typeof input === 'string' ? input : xmlText(input, what);
  const bad = FORBIDDEN_CHAR.exec(text);
  if (bad) throw new Quarantine(`malformed XML in ${what}: character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} is not allowed in XML`);
  // A DOCTYPE is refused before parsing: no DTD, no entity declarations, nothing external (XXE).
  if (/<!DOCTYPE/i.test(text)) throw new Quarantine(`XML with a DOCTYPE in ${what}: document type declarations (entities, external references) are not accepted in Office XML`);
  return text;
}

/** Parses one XML part; anything a conforming parser would reject quarantines the file, naming the part. */
export function parseXml(input: Buffer | string, what: string): XDocument {
  const text = xmlSource(input, what);
  let doc: XDocument;
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        throw new Quarantine(`malformed XML in ${what}: ${level} ${String(message).split('\n')[0].slice(0, 160)}`);
      },
    }).parseFromString(text, 'application/xml');
  } catch (e) {
    if (e instanceof Quarantine) throw e;
    const m = (e as Error).message ?? String(e);
    const q = /Reporting \w+ "(.*?)" caused/.exec(m);
    throw new Quarantine(q ? `malformed XML in ${what}: ${q[1].slice(0, 160)}` : `malformed XML in ${what}: ${m.split('\n')[0].slice(0, 160)}`);
  }
  if (!doc.documentElement) throw new Quarantine(`malformed XML in ${what}: no root element`);
  if (doc.doctype) throw new Quarantine(`XML with a DOCTYPE in ${what}: not accepted in Office XML`);
  return doc;
}

/** Serializes a parsed part back to UTF-8 bytes, with the XML declaration Office writes. */
export function serializeXml(doc: XDocument): Buffer {
  let s = new XMLSerializer().serializeToString(doc);
  if (!s.startsWith('<?xml')) s = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n${s}`;
  else s = s.replace(/^<\?xml[^?]*\?>/, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>');
  return Buffer.from(s, 'utf8');
}

const ELEMENT = 1;

export function isElement(n: unknown): n is XElement {
  return !!n && (n as { nodeType?: number }).nodeType === ELEMENT;
}

/** True when the element is in one of the namespaces and has the local name. */
export function is(el: XElement, ns: string | readonly string[], local: string | readonly string[]): boolean {
  const uri = el.namespaceURI ?? '';
  const inNs = typeof ns === 'string' ? uri === ns : ns.includes(uri);
  if (!inNs) return false;
  return typeof local === 'string' ? el.localName === local : local.includes(el.localName ?? '');
}

/** Every element under `root` (root included), in document order, collected first (callers may then remove any of them); no recursion, so deep documents do not overflow the stack. */
export function elements(root: XElement): XElement[] {
  const out: XElement[] = [];
  let n: XNode | null = root as XNode;
  while (n) {
    if (isElement(n)) out.push(n);
    if (n.firstChild) {
      n = n.firstChild as XNode;
      continue;
    }
    while (n !== (root as XNode) && !n.nextSibling) n = n.parentNode as XNode;
    if (n === (root as XNode)) break;
    n = n.nextSibling as XNode;
  }
  return out;
}

/** The value of an attribute by namespace URI(s) and local name ('' namespace: an unprefixed attribute). */
export function attr(el: XElement, ns: string | readonly string[], local: string): string | undefined {
  const list = typeof ns === 'string' ? [ns] : ns;
  for (const uri of list) {
    const a = el.getAttributeNodeNS(uri === '' ? null : uri, local);
    if (a) return a.value;
  }
  return undefined;
}

/** Removes an attribute by namespace URI(s) and local name. */
export function removeAttr(el: XElement, ns: string | readonly string[], local: string): void {
  for (const uri of typeof ns === 'string' ? [ns] : ns) {
    const a = el.getAttributeNodeNS(uri === '' ? null : uri, local);
    if (a) el.removeAttributeNode(a);
  }
}

/** The text content of an element (character data and CDATA of all descendants). */
export function textOf(el: XElement): string {
  return el.textContent ?? '';
}

export function remove(n: XNode | XElement): void {
  n.parentNode?.removeChild(n);
}

/** Replaces an element by its children (keeps the content, drops the wrapper). */
export function unwrap(el: XElement): void {
  const parent = el.parentNode;
  if (!parent) return;
  while (el.firstChild) parent.insertBefore(el.firstChild, el);
  parent.removeChild(el);
}

export function childElements(el: XElement): XElement[] {
  const out: XElement[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) if (isElement(c)) out.push(c);
  return out;
}

/** An element as the streaming look (needsDom) sees it: namespace URI, local name, attributes by namespace. */
export interface ScanTag {
  readonly uri: string;
  readonly local: string;
  /** The value of an attribute by namespace URI(s) and local name ('' namespace: an unprefixed attribute), as attr() reads it. */
  attr(ns: string | readonly string[], local: string): string | undefined;
}

/**
 * One rule's side of the streaming look: told of every element opening and
 * closing and of all character data (text and CDATA) in document order; any
 * call that returns true means the rule may change the part, so the part
 * goes through the DOM and the rule itself.
 */
export interface XmlWatcher {
  open?(tag: ScanTag): boolean | void;
  close?(tag: ScanTag): boolean | void;
  text?(text: string): boolean | void;
  /** The end of the document. */
  end?(): boolean | void;
}

const STOP = Symbol('needs the DOM');

/**
 * saxes checks each name is an XML Name; the DOM parser also wants each side
 * of a prefixed name to be a name without a colon (`w:2x`, `2p:x`, `a:`):
 * such a part goes to the DOM parser, which refuses it.
 */
function qnameOk(name: string): boolean {
  const colon = name.indexOf(':');
  if (colon < 0) return true;
  if (colon === 0 || colon === name.length - 1 || name.indexOf(':', colon + 1) >= 0) return false;
  // The first character of the local part: a name character that may not start a name.
  return !/^[-.0-9\u00b7\u0300-\u036f\u203f\u2040]/.test(name.slice(colon + 1, colon + 2));
}
const CHUNK = 256 * 1024;
const DOCTYPE = /<!DOCTYPE/i;

/**
 * A streaming look at one XML part, without building its DOM (a DOM of a
 * large worksheet costs about a second per megabyte of XML; this a few
 * hundredths): the bytes decoded piece by piece and read by saxes, a strict
 * conforming namespace-aware parser, with the rules' watchers.
 *
 * False: the part is well-formed UTF-8 XML with no DOCTYPE and no character
 * XML forbids, and no watcher saw anything its rule would act on, so the
 * rules would leave the part exactly as it is; it is kept byte for byte
 * without a DOM. True: the part goes through parseXml and the rules as
 * before (and any quarantine comes from there, with the same message): a
 * watcher saw something; or saxes refused the part; or it is UTF-16, holds
 * U+FFFD (not valid UTF-8, or a replacement character the DOM parser
 * refuses), a forbidden character or the text `<!DOCTYPE` anywhere.
 */
export function needsDom(input: Buffer, watchers: readonly XmlWatcher[]): boolean {
  if (input.length >= 2 && ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff))) return true;
  const parser = new SaxesParser({ xmlns: true, position: false });
  // One tag object, refilled for every element (watchers read it during the call only).
  let raw: SaxesTagNS | undefined;
  const tag = {
    uri: '',
    local: '',
    attr: (ns: string | readonly string[], local: string): string | undefined => {
      for (const uri of typeof ns === 'string' ? [ns] : ns) {
        for (const a of Object.values(raw!.attributes)) if (a.local === local && a.uri === uri) return a.value;
      }
      return undefined;
    },
  };
  const fill = (t: SaxesTagNS): ScanTag => {
    raw = t;
    tag.uri = t.uri;
    tag.local = t.local;
    return tag;
  };
  const opens = watchers.filter((w) => w.open);
  const closes = watchers.filter((w) => w.close);
  const texts = watchers.filter((w) => w.text);
  parser.on('error', (e) => {
    throw e;
  });
  parser.on('opentag', (t) => {
    if (!qnameOk(t.name)) throw STOP;
    for (const a in t.attributes) if (!qnameOk(a)) throw STOP;
    if (!opens.length) return;
    fill(t);
    for (const w of opens) if (w.open!(tag)) throw STOP;
  });
  if (closes.length) {
    parser.on('closetag', (t) => {
      fill(t);
      for (const w of closes) if (w.close!(tag)) throw STOP;
    });
  }
  if (texts.length) {
    const onText = (s: string) => {
      for (const w of texts) if (w.text!(s)) throw STOP;
    };
    parser.on('text', onText);
    parser.on('cdata', onText);
  }
  const suspicious = (s: string, tail: string) => s.includes('\ufffd') || FORBIDDEN_CHAR.test(s) || DOCTYPE.test(s) || DOCTYPE.test(tail + s.slice(0, 8));
  let tail = '';
  try {
    for (let at = 0; at < input.length; ) {
      // Pieces of about CHUNK bytes, never cutting a UTF-8 sequence (a piece ends before a lead byte).
      let end = Math.min(at + CHUNK, input.length);
      for (let k = 0; k < 3 && end < input.length && (input[end] & 0xc0) === 0x80; k++) end--;
      let s = input.toString('utf8', at, end);
      if (at === 0 && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      if (suspicious(s, tail)) return true;
      tail = s.slice(-8);
      parser.write(s);
      at = end;
    }
    parser.close();
    for (const w of watchers) if (w.end?.()) return true;
  } catch {
    // STOP from a watcher, or saxes found the part not well-formed (the DOM parser then decides, with its message).
    return true;
  }
  return false;
}
