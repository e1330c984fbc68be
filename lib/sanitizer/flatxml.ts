import * as path from 'path';
import { DOMParser } from '@xmldom/xmldom';
import { Nested, sanitizePackage } from './ooxml';
import { isDdeFormula, neutraliseWordFields } from './officexml';
import { Budget, FamilyResult, Quarantine } from './types';
import { attr, childElements, elements, is, NS, parseXml, remove, removeAttr, serializeXml, textOf, XDocument, XElement } from './xml';

/**
 * Office flat XML: Word 2003 XML (w:wordDocument), Word/Excel/PowerPoint
 * 2007+ flat OPC (pkg:package) and Excel 2003 XML (ss:Workbook). The file is
 * parsed with the namespace-aware parser (./xml) and recognised by the
 * namespace and local name of its root element, whatever the prefixes.
 *
 * A flat OPC package is sanitized by the same package rules as a zip
 * package (every part, relationship and content type, imports followed).
 * Word 2003 XML loses OLE/VBA data (w:binData other than images,
 * w:docSuppData, w:docOleData, ActiveX w:control, o:OLEObject), attached
 * templates, sub-documents, framesets and dangerous fields; Excel 2003 XML
 * loses DDE and code-calling formulas.
 */

export type FlatKind = 'word2003' | 'flat-opc' | 'excel2003';

const IMAGE_NAME = /\.(png|jpe?g|gif|wmf|emf|wmz|emz|bmp|tiff?)$/i;
const CALLING_FORMULA = /^=\s*(DDE|CALL|EXEC|REGISTER)\s*\(/i;

function kindOf(root: XElement): FlatKind | undefined {
  if (is(root, NS.pkg, 'package')) return 'flat-opc';
  if (is(root, NS.w[2], 'wordDocument')) return 'word2003';
  if (is(root, NS.ss, 'Workbook')) return 'excel2003';
  return undefined;
}

/**
 * Office flat XML or not: files named .xml, or starting with an XML
 * declaration or an mso-application instruction, are parsed and judged by
 * their root element. A malformed .xml file is quarantined; XML that is not
 * an Office document returns undefined (the engine decides).
 */
export function flatXml(buf: Buffer, name: string): { kind: FlatKind; doc: XDocument } | undefined {
  const head = buf.subarray(0, 1024).toString('utf8').replace(/^\ufeff/, '');
  const ext = path.extname(name).slice(1).toLowerCase();
  if (!(ext === 'xml' || /^\s*<\?xml\b/.test(head) || /<\?mso-application\b/.test(head))) return undefined;
  if (!/^\s*</.test(head) && !(buf[0] === 0xff || buf[0] === 0xfe)) return undefined;
  let doc: XDocument;
  try {
    doc = parseXml(buf, name);
  } catch (e) {
    if (ext === 'xml' || /<\?mso-application\b/.test(head)) throw e;
    return undefined;
  }
  const kind = kindOf(doc.documentElement!);
  return kind ? { kind, doc } : undefined;
}

/** Back-compatible probe: the kind only. */
export function flatXmlKind(buf: Buffer, name = 'file.xml'): FlatKind | undefined {
  try {
    return flatXml(buf, name)?.kind;
  } catch {
    return undefined;
  }
}

function fromDom(doc: XDocument): Buffer {
  return serializeXml(doc);
}

async function sanitizeFlatOpc(doc: XDocument, budget: Budget, nested: Nested): Promise<{ removed: string[]; extension?: string }> {
  const root = doc.documentElement!;
  const partEls = new Map<string, XElement>();
  const parts = new Map<string, Buffer>();
  const types = new Map<string, string>();
  const parsed = new Map<string, XDocument>();
  for (const el of childElements(root)) {
    if (!is(el, NS.pkg, 'part')) throw new Quarantine(`malformed flat XML package: unexpected element ${el.tagName}`);
    const name = (attr(el, NS.pkg, 'name') ?? '').replace(/^\//, '');
    if (!name || name.split('/').includes('..')) throw new Quarantine(`malformed flat XML package: part name "${name}"`);
    if (partEls.has(name)) throw new Quarantine(`malformed flat XML package: part ${name} appears twice (ambiguous content)`);
    const body = childElements(el);
    if (body.length !== 1 || !is(body[0], NS.pkg, ['xmlData', 'binaryData'])) throw new Quarantine(`malformed flat XML package: part ${name} has no single xmlData or binaryData`);
    partEls.set(name, el);
    types.set(name, (attr(el, NS.pkg, 'contentType') ?? '').toLowerCase());
    if (body[0].localName === 'xmlData') {
      const inner = childElements(body[0]);
      if (inner.length !== 1) throw new Quarantine(`malformed flat XML package: xmlData of ${name} must hold one element`);
      // The part as its own document, so the package rules see it as a zip package's part.
      const d = new DOMParser().parseFromString('<x/>', 'application/xml');
      d.replaceChild(d.importNode(inner[0], true), d.documentElement!);
      parsed.set(name, d);
      parts.set(name, Buffer.alloc(0));
    } else {
      const b64 = textOf(body[0]).replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Quarantine(`malformed flat XML package: binaryData of ${name} is not base64`);
      parts.set(name, Buffer.from(b64, 'base64'));
    }
  }
  const r = await sanitizePackage({ parts, typeOf: (n) => types.get(n) || undefined, parsed, what: 'flat XML package' }, budget, nested);
  if (r.removed.length === 0) return { removed: [] };
  for (const name of r.dropped) {
    const el = partEls.get(name);
    if (el) remove(el);
  }
  const setBinary = (el: XElement, data: Buffer) => {
    const old = childElements(el)[0];
    const bin = doc.createElementNS(NS.pkg, `${old.prefix ? `${old.prefix}:` : ''}binaryData`);
    bin.appendChild(doc.createTextNode(data.toString('base64').replace(/.{1,76}/g, '$&\n')));
    el.replaceChild(bin, old);
  };
  for (const [name, d] of r.changedXml) {
    const el = partEls.get(name)!;
    const data = childElements(el)[0];
    if (data.localName === 'xmlData') data.replaceChild(doc.importNode(d.documentElement!, true), childElements(data)[0]);
    else setBinary(el, serializeXml(d));
  }
  for (const [name, b] of r.changedBytes) setBinary(partEls.get(name)!, b);
  for (const [name, t] of r.newTypes) partEls.get(name)?.setAttributeNS(NS.pkg, `${partEls.get(name)!.prefix ? `${partEls.get(name)!.prefix}:` : ''}contentType`, t);
  if (r.added.length) throw new Quarantine('flat XML package with a binary workbook: not supported');
  return { removed: r.removed };
}

function sanitizeWord2003(doc: XDocument): string[] {
  const removed: string[] = [];
  const root = doc.documentElement!;
  for (const el of elements(root)) {
    if (!el.parentNode) continue;
    if (is(el, NS.w[2], 'binData')) {
      const name = attr(el, NS.w[2], 'name') ?? '';
      if (IMAGE_NAME.test(name)) continue;
      removed.push(`OLE/VBA data ${name || '(unnamed binData)'}`);
      remove(el);
    } else if (is(el, NS.w[2], ['docSuppData', 'docOleData'])) {
      removed.push(`VBA/OLE data (w:${el.localName})`);
      remove(el);
    } else if (is(el, NS.w[2], 'control')) {
      removed.push(`ActiveX control ${attr(el, NS.w[2], 'name') ?? ''}`.trim());
      remove(el);
    } else if (is(el, NS.office, 'OLEObject')) {
      removed.push(`OLE object reference (${attr(el, '', 'ProgID') ?? '?'})`);
      remove(el);
    } else if (is(el, NS.w[2], 'attachedTemplate') && (attr(el, NS.w[2], 'val') ?? '').trim()) {
      removed.push(`attached template ${attr(el, NS.w[2], 'val')!.slice(0, 100)}`);
      remove(el);
    } else if (is(el, NS.w[2], ['subDoc', 'frameset'])) {
      removed.push(`${el.localName === 'subDoc' ? 'sub-document' : 'frameset'} (imports another document)`);
      remove(el);
    }
  }
  removed.push(...neutraliseWordFields(root));
  return removed;
}

function sanitizeExcel2003(doc: XDocument): string[] {
  const removed: string[] = [];
  for (const el of elements(doc.documentElement!)) {
    if (is(el, NS.ss, 'Cell')) {
      const f = attr(el, NS.ss, 'Formula');
      if (f !== undefined && (isDdeFormula(f) || CALLING_FORMULA.test(f))) {
        removed.push(`DDE formula ${f.slice(0, 80)}`);
        removeAttr(el, NS.ss, 'Formula');
      }
    } else if (is(el, NS.ss, 'NamedRange')) {
      const f = attr(el, NS.ss, 'RefersTo') ?? '';
      if (isDdeFormula(f) || CALLING_FORMULA.test(f) || /^(_xlnm\.)?Auto_(Open|Close)/i.test(attr(el, NS.ss, 'Name') ?? '')) {
        removed.push(`defined name ${attr(el, NS.ss, 'Name') ?? ''} (${f.slice(0, 60)})`);
        remove(el);
      }
    } else if (is(el, NS.office, 'OLEObject')) {
      removed.push('OLE object reference');
      remove(el);
    }
  }
  return removed;
}

export async function sanitizeFlatXml(_buf: Buffer, found: { kind: FlatKind; doc: XDocument }, budget: Budget, nested: Nested): Promise<FamilyResult> {
  const { kind, doc } = found;
  let removed: string[];
  if (kind === 'flat-opc') removed = (await sanitizeFlatOpc(doc, budget, nested)).removed;
  else if (kind === 'word2003') removed = sanitizeWord2003(doc);
  else removed = sanitizeExcel2003(doc);
  if (!removed.length) return { removed: [], type: `xml/${kind}` };
  // Keep the processing instructions in front of the root (mso-application tells Windows which program opens the file).
  return { removed, output: fromDom(doc), type: `xml/${kind}` };
}
