import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as CFB from 'cfb';
import { unzipSync } from 'fflate';
import { SaxesParser, SaxesTagNS } from 'saxes';

/**
 * An independent detector of active content, for the tests only: it shares
 * no code with the sanitizer (another zip reader, qpdf for PDFs, and for XML
 * another conforming parser: saxes, a strict streaming namespace-aware
 * parser, where the engine uses the @xmldom/xmldom DOM). XML is judged by
 * namespace URI and local name on the parser's events, never by prefix or
 * spelling, so the two do not share a blind spot. Anything it finds in an
 * output the sanitizer let through is a test failure.
 */

const W_NS = new Set(['http://schemas.openxmlformats.org/wordprocessingml/2006/main', 'http://purl.oclc.org/ooxml/wordprocessingml/main', 'http://schemas.microsoft.com/office/word/2003/wordml']);
const X_NS = new Set(['http://schemas.openxmlformats.org/spreadsheetml/2006/main', 'http://purl.oclc.org/ooxml/spreadsheetml/main']);
const SS_NS = 'urn:schemas-microsoft-com:office:spreadsheet';
const O_NS = 'urn:schemas-microsoft-com:office:office';
const RELS_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const TYPES_NS = 'http://schemas.openxmlformats.org/package/2006/content-types';
const PKG_NS = 'http://schemas.microsoft.com/office/2006/xmlPackage';
const UI_NS = new Set(['http://schemas.microsoft.com/office/2006/01/customui', 'http://schemas.microsoft.com/office/2009/07/customui']);
/** Field types that run programs or macros or import other files (anywhere in the instruction, not only first: stricter than the engine). */
const DDE_WORD = /(^|[^A-Za-z])(DDEAUTO|DDE|MACROBUTTON|INCLUDETEXT|INCLUDEPICTURE|IMPORT)([^A-Za-z]|$)/i;
const ACTIVE_TYPE = /macroenabled(?!\.main$)|macroenabled\.main\+xml|vbaproject|vbadata|keymapcustomizations|attachedtoolbars|activex|oleobject|macrosheet|dialogsheet|externallink|obfuscated|svg/i;

/** A pipe outside string literals: DDE (`app|topic!item`). */
const ddeFormula = (f: string) => f.replace(/"[^"]*"/g, '').includes('|');

/**
 * One XML document (an OOXML part, a flat XML file) scanned with saxes.
 * Findings are plain strings; an XML that saxes refuses is a finding too
 * (the engine must never deliver something it could not parse).
 */
export function scanXml(text: string, part: string): string[] {
  const found: string[] = [];
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: SaxesTagNS[] = [];
  interface F {
    instr: string;
    sep: boolean;
  }
  const fields: F[] = [];
  let inInstr = 0;
  let inFormula = 0;
  let formula = '';
  let rootSeen = false;
  const a = (t: SaxesTagNS, uri: string, local: string) => Object.values(t.attributes).find((x) => x.uri === uri && x.local === local)?.value;
  parser.on('doctype', () => found.push(`DOCTYPE in ${part}`));
  parser.on('opentag', (t) => {
    stack.push(t);
    const root = !rootSeen;
    rootSeen = true;
    if (root && t.uri === TYPES_NS) {
      // handled per Default/Override below
    }
    if (W_NS.has(t.uri)) {
      if (t.local === 'fldChar') {
        const type = Object.values(t.attributes).find((x) => W_NS.has(x.uri) && x.local === 'fldCharType')?.value;
        if (type === 'begin') fields.push({ instr: '', sep: false });
        else if (type === 'separate' && fields.length) fields[fields.length - 1].sep = true;
        else if (type === 'end') {
          const f = fields.pop();
          if (f && DDE_WORD.test(f.instr)) found.push(`DDE/importing field "${f.instr.trim().slice(0, 60)}" in ${part}`);
        }
      } else if (t.local === 'instrText' || t.local === 'delInstrText') inInstr++;
      else if (t.local === 'fldSimple') {
        const instr = Object.values(t.attributes).find((x) => W_NS.has(x.uri) && x.local === 'instr')?.value ?? '';
        if (DDE_WORD.test(instr)) found.push(`DDE simple field "${instr.trim().slice(0, 60)}" in ${part}`);
      } else if (t.local === 'binData') {
        const n = Object.values(t.attributes).find((x) => W_NS.has(x.uri) && x.local === 'name')?.value ?? '';
        if (!/\.(png|jpe?g|gif|wmf|emf|wmz|emz|bmp|tiff?)$/i.test(n)) found.push(`flat XML binData ${n} in ${part}`);
      } else if (t.local === 'docSuppData' || t.local === 'docOleData') found.push(`flat XML VBA/OLE data in ${part}`);
      else if (t.local === 'altChunk' || t.local === 'subDoc' || t.local === 'frameset') {
        // Harmless only when what they point at is gone: the relationship check below covers altChunk/subDoc; framesets never stay.
        if (t.local === 'frameset') found.push(`frameset in ${part}`);
      }
    }
    if (X_NS.has(t.uri)) {
      if (t.local === 'f' || t.local === 'definedName' || t.local === 'formula' || t.local === 'formula1' || t.local === 'formula2') {
        inFormula++;
        formula = '';
        if (t.local === 'definedName' && /^(_xlnm\.)?Auto_(Open|Close)/i.test(a(t, '', 'name') ?? '')) found.push(`Auto_Open name in ${part}`);
      }
      if (t.local === 'ddeLink' || t.local === 'oleLink') found.push(`${t.local} in ${part}`);
    }
    if (t.uri === SS_NS) {
      const f = a(t, SS_NS, 'Formula') ?? a(t, SS_NS, 'RefersTo');
      if (f !== undefined && (ddeFormula(f) || /^=\s*(DDE|CALL|EXEC|REGISTER)\s*\(/i.test(f))) found.push(`Excel XML DDE formula ${f.slice(0, 40)} in ${part}`);
    }
    if (t.uri === O_NS && t.local === 'OLEObject') found.push(`OLE object reference in ${part}`);
    if (t.uri === RELS_NS && t.local === 'Relationship') {
      const type = a(t, '', 'Type') ?? '';
      const mode = a(t, '', 'TargetMode') ?? '';
      if (/^external$/i.test(mode) && !/\/hyperlink$/.test(type)) found.push(`external relationship ${type.split('/').pop()} → ${a(t, '', 'Target')} in ${part}`);
      // A binary workbook keeps its external-link part (its sheet list needs it) with the external target removed; the DDE record check covers it.
      const xlsbLink = /\/externalLink$/.test(type) && /\.bin$/i.test(a(t, '', 'Target') ?? '');
      if (/\/(vbaProject|oleObject|package|control|activeXControlBinary|subDocument|frame|font|externalLink|attachedTemplate|xlMacrosheet|xlIntlMacrosheet|dialogsheet|wordVbaData|keyMapCustomizations)$/.test(type) && !/^external$/i.test(mode) && !xlsbLink) {
        found.push(`relationship ${type.split('/').pop()} → ${a(t, '', 'Target')} in ${part}`);
      }
    }
    if (t.uri === TYPES_NS && (t.local === 'Default' || t.local === 'Override')) {
      const ct = a(t, '', 'ContentType') ?? '';
      if (ACTIVE_TYPE.test(ct) && !/^application\/vnd\.ms-excel\.externallink$/i.test(ct)) found.push(`content type ${ct} (${a(t, '', 'Extension') ?? a(t, '', 'PartName')}) in ${part}`);
    }
    if (t.uri === PKG_NS && t.local === 'part') {
      const n = a(t, PKG_NS, 'name') ?? '';
      const ct = a(t, PKG_NS, 'contentType') ?? '';
      if (/vbaproject|vbadata|\/embeddings\/|\/activex\/|\/macrosheets\/|\/externallinks\//i.test(n) || ACTIVE_TYPE.test(ct)) found.push(`flat package part ${n} (${ct}) in ${part}`);
    }
    if (UI_NS.has(t.uri) && Object.values(t.attributes).some((x) => x.uri === '' && /^(on[A-Z]|get[A-Z]|loadImage$)/.test(x.local))) found.push(`customUI callback in ${part}`);
    if (/^script$/i.test(t.local)) found.push(`script element in ${part}`);
  });
  const onText = (s: string) => {
    if (inInstr && fields.length && !fields[fields.length - 1].sep) fields[fields.length - 1].instr += s;
    if (inFormula) formula += s;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', (t) => {
    stack.pop();
    if (W_NS.has(t.uri) && (t.local === 'instrText' || t.local === 'delInstrText')) inInstr--;
    if (X_NS.has(t.uri) && ['f', 'definedName', 'formula', 'formula1', 'formula2'].includes(t.local)) {
      inFormula--;
      if (ddeFormula(formula)) found.push(`DDE formula ${formula.slice(0, 40)} in ${part}`);
    }
  });
  try {
    parser.write(text).close();
  } catch (e) {
    return [`XML that a conforming parser refuses (${part}): ${(e as Error).message.slice(0, 160)}`];
  }
  for (const f of fields) if (DDE_WORD.test(f.instr)) found.push(`unterminated DDE/importing field "${f.instr.trim().slice(0, 60)}" in ${part}`);
  return found;
}

const xmlString = (b: Uint8Array) => {
  const buf = Buffer.from(b);
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  return buf.toString('utf8').replace(/^\ufeff/, '');
};
/** The PDF normalised by qpdf --qdf (object streams expanded, streams decoded), as latin1 text. */
export function qdf(buf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qdf-'));
  const src = path.join(dir, 'in.pdf');
  const out = path.join(dir, 'qdf.pdf');
  fs.writeFileSync(src, buf);
  try {
    execFileSync('qpdf', ['--qdf', '--object-streams=disable', '--decode-level=generalized', src, out], { stdio: 'pipe' });
  } catch (e) {
    // Exit 3: warnings only; the output is written.
    if ((e as { status?: number }).status !== 3) throw e;
  }
  const text = fs.readFileSync(out).toString('latin1');
  fs.rmSync(dir, { recursive: true, force: true });
  return text;
}

export function activeContent(buf: Buffer, name: string): string[] {
  const found: string[] = [];
  const head = Buffer.concat([buf.subarray(0, 8), Buffer.alloc(8)]);
  if (head.readUInt32LE(0) === 0x04034b50) {
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(new Uint8Array(buf));
    } catch (e) {
      return [`unreadable zip: ${(e as Error).message}`];
    }
    for (const [part, bytes] of Object.entries(files)) {
      const p = part.toLowerCase();
      if (/vbaproject|vbadata/.test(p)) found.push(`VBA part ${part}`);
      if (/(^|\/)activex\//.test(p)) found.push(`ActiveX part ${part}`);
      if (/(^|\/)embeddings\//.test(p)) found.push(`embedded object ${part}`);
      if (/(^|\/)(macrosheets|dialogsheets|intlmacrosheets)\//.test(p)) found.push(`macro sheet ${part}`);
      if (/(^|\/)externallinks\/[^/]+\.bin$/.test(p)) {
        // BrtBeginSupBook (record 0x168, bytes E8 02) with link type 1 (DDE); OLE and workbook links are caught by their external relationship.
        const b = Buffer.from(bytes);
        const at = b.indexOf(Buffer.from([0xe8, 0x02]));
        if (at >= 0 && at + 4 < b.length && b.readUInt16LE(at + 3) === 1) found.push(`DDE link part ${part}`);
      }
      if (/(^|\/)fonts\/|\.odttf$/.test(p)) found.push(`embedded font ${part}`);
      // Imported chunks stay only sanitized: HTML must have become text, RTF and packages are checked below by their magic.
      if (!/\.(xml|rels|vml)$/.test(p) && /<script\b|<iframe\b|<object\b/i.test(Buffer.from(bytes.subarray(0, 1 << 20)).toString('latin1'))) found.push(`script/object markup in ${part}`);
      if (/\.(xml|rels|vml)$/.test(p)) found.push(...scanXml(xmlString(bytes), part));
      // Archives: look inside every entry too.
      const magic = bytes.length >= 4 ? Buffer.from(bytes.subarray(0, 4)).toString('latin1') : '';
      if (magic === 'PK\x03\x04' || magic === '\xd0\xcf\x11\xe0' || magic === '%PDF' || magic === '{\\rt') found.push(...activeContent(Buffer.from(bytes), part).map((f) => `${part}: ${f}`));
    }
    return found;
  }
  if (head.readUInt32BE(0) === 0xd0cf11e0) {
    const c = CFB.read(buf, { type: 'buffer' });
    for (const p of c.FullPaths) {
      if (/\/(Macros|_VBA_PROJECT_CUR|_VBA_PROJECT|ObjectPool|MBD[0-9A-F]{8})\/$/i.test(p)) found.push(`storage ${p}`);
      if (/EncryptedPackage$/.test(p)) found.push('encrypted package');
    }
    const i = c.FullPaths.findIndex((p) => p === 'Root Entry/WordDocument');
    if (i >= 0) {
      const wd = Buffer.from(c.FileIndex[i].content as Uint8Array);
      if (/\x13\s*(DDEAUTO|DDE)\b/i.test(wd.toString('latin1')) || /\u0013\s*(DDEAUTO|DDE)\b/i.test(wd.toString('utf16le')) || /\u0013\s*(DDEAUTO|DDE)\b/i.test(wd.subarray(1).toString('utf16le'))) found.push('DDE field in WordDocument');
    }
    return found;
  }
  if (buf.subarray(0, 5).toString('latin1') === '%PDF-') {
    let text: string;
    try {
      text = qdf(buf);
    } catch (e) {
      return [`qpdf could not normalise: ${(e as Error).message.slice(0, 200)}`];
    }
    for (const key of ['JavaScript', 'JS', 'OpenAction', 'AA', 'Launch', 'EmbeddedFile', 'EmbeddedFiles', 'RichMedia', 'XFA', 'GoToR', 'GoToE', 'SubmitForm', 'ImportData', 'FileAttachment']) {
      if (new RegExp(`/${key}(?![A-Za-z0-9#])`).test(text)) found.push(`PDF /${key}`);
    }
    return found;
  }
  const latin = buf.toString('latin1');
  if (latin.startsWith('{\\rt')) {
    // A control word is a backslash not itself escaped (an odd run of backslashes).
    for (const w of ['object', 'objdata', 'objclass', 'objemb', 'objautlink']) if (new RegExp(`(?:^|[^\\\\])(?:\\\\\\\\)*\\\\${w}(?![a-z])`).test(latin)) found.push(`RTF \\${w}`);
    // Control words are case-sensitive (\fLdinst is \f then text); the DDE keyword is not.
    if (/\\fldinst(?![a-z])[^}]*\b[Dd][Dd][Ee]([Aa][Uu][Tt][Oo])?\b/.test(latin)) found.push('RTF DDE field');
    return found;
  }
  if (/^\s*(\ufeff)?<\?xml/.test(buf.toString('utf8', 0, 64)) || /\.xml$/i.test(name)) return scanXml(xmlString(buf), name);
  if (/\.csv$/i.test(name)) {
    for (const line of latin.split(/\r?\n/)) for (const cell of line.split(',')) if (/^["\s]*[=@]/.test(cell)) found.push(`CSV formula cell ${cell.slice(0, 40)}`);
    return found;
  }
  if (buf[0] === 0xff && buf[1] === 0xd8) {
    if (latin.includes('Exif\0\0')) found.push('JPEG EXIF metadata');
    const eoi = latin.lastIndexOf('\xff\xd9');
    if (eoi >= 0 && eoi + 2 < buf.length) found.push(`${buf.length - eoi - 2} bytes after the JPEG end`);
    return found;
  }
  if (head.readUInt32BE(0) === 0x89504e47) {
    if (/tEXt|iTXt|zTXt|eXIf/.test(latin)) found.push('PNG text/metadata chunk');
    return found;
  }
  if (/<script\b/i.test(latin)) found.push('script element');
  return found;
}
