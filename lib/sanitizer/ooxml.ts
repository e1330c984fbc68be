import * as path from 'path';
import { htmlToText } from './text';
import { AUTO_NAME, ddeFormulaWatcher, mayHoldPipe, mayHoldWordFields, neutraliseDdeFormulas, neutraliseWordFields, wordFieldWatcher } from './officexml';
import { Budget, checkTime, FamilyResult, Quarantine } from './types';
import { attr, childElements, elements, is, needsDom, NS, parseXml, remove, serializeXml, textOf, XDocument, XElement, XmlWatcher } from './xml';
import { readZip, writeZip, ZipEntry } from './zip';

/**
 * OOXML (Word, Excel, PowerPoint; plain and macro-enabled; documents,
 * templates, shows, add-ins). Every XML part — [Content_Types].xml, every
 * .rels, every part — is parsed with a namespace-aware XML parser (./xml).
 *
 * Parts are kept only when their content type and the relationship that
 * reaches them are known and passive; everything else is removed with its
 * relationships and the elements that point at it, with a reason:
 * VBA projects and their data (vbaData, keyMapCustomizations,
 * attachedToolbars, signatures), ActiveX, OLE objects and embedded packages,
 * XLM macro and dialog sheets (with Auto_Open names), external link parts
 * (ddeLink), data connections and query tables, customUI with callbacks,
 * embedded fonts, SVG images (their PNG fallback stays), digital signatures,
 * sub-documents, framesets, unknown part and relationship types, and every
 * external relationship except plain hyperlinks. DDE/DDEAUTO (and other
 * importing) fields and DDE formulas are removed wherever they are spelled.
 * Imported chunks (altChunk/aFChunk) are sanitized as their own format
 * (RTF, another Office package) through the engine, HTML becomes plain text,
 * anything else is removed. Macro-enabled types always become the
 * macro-free type (content type and extension), with or without a VBA part.
 */

export const MAIN_TYPES: Record<string, { family: 'word' | 'excel' | 'powerpoint'; macro: boolean; plain?: string; ext: string; plainExt?: string }> = {
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml': { family: 'word', macro: false, ext: 'docx' },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml': { family: 'word', macro: false, ext: 'dotx' },
  'application/vnd.ms-word.document.macroenabled.main+xml': { family: 'word', macro: true, plain: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml', ext: 'docm', plainExt: 'docx' },
  'application/vnd.ms-word.template.macroenabledtemplate.main+xml': { family: 'word', macro: true, plain: 'application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml', ext: 'dotm', plainExt: 'dotx' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml': { family: 'excel', macro: false, ext: 'xlsx' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml': { family: 'excel', macro: false, ext: 'xltx' },
  'application/vnd.ms-excel.sheet.macroenabled.main+xml': { family: 'excel', macro: true, plain: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml', ext: 'xlsm', plainExt: 'xlsx' },
  'application/vnd.ms-excel.template.macroenabled.main+xml': { family: 'excel', macro: true, plain: 'application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml', ext: 'xltm', plainExt: 'xltx' },
  'application/vnd.ms-excel.addin.macroenabled.main+xml': { family: 'excel', macro: true, plain: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml', ext: 'xlam', plainExt: 'xlsx' },
  'application/vnd.ms-excel.sheet.binary.macroenabled.main': { family: 'excel', macro: false, ext: 'xlsb' },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml': { family: 'powerpoint', macro: false, ext: 'pptx' },
  'application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml': { family: 'powerpoint', macro: false, ext: 'ppsx' },
  'application/vnd.openxmlformats-officedocument.presentationml.template.main+xml': { family: 'powerpoint', macro: false, ext: 'potx' },
  'application/vnd.ms-powerpoint.presentation.macroenabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml', ext: 'pptm', plainExt: 'pptx' },
  'application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml', ext: 'ppsm', plainExt: 'ppsx' },
  'application/vnd.ms-powerpoint.template.macroenabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.template.main+xml', ext: 'potm', plainExt: 'potx' },
  'application/vnd.ms-powerpoint.addin.macroenabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml', ext: 'ppam', plainExt: 'pptx' },
};

/** Content types of active parts (lowercase substring → reason). */
const ACTIVE_TYPES: [RegExp, string][] = [
  [/vbaprojectsignature/, 'VBA project signature'],
  [/vbaproject/, 'VBA project'],
  [/vbadata/, 'VBA data'],
  [/keymapcustomizations/, 'Word key map customizations (macro shortcuts)'],
  [/attachedtoolbars/, 'attached toolbars (macro buttons)'],
  [/activex/, 'ActiveX control'],
  [/oleobject/, 'embedded OLE object'],
  [/macrosheet/, 'XLM (Excel 4) macro sheet'],
  [/dialogsheet/, 'Excel 5 dialog sheet'],
  [/externallink/, 'external workbook link'],
  [/spreadsheetml\.connections|\.connections\+xml/, 'external data connections'],
  [/querytable/, 'query table (external data)'],
  [/controlproperties|ctrlprops/, 'form control (can run a macro)'],
  [/volatiledependencies/, 'real-time data (RTD) server links'],
  [/obfuscatedfont|obfuscated-opentype|fontdata|^application\/x-font|^font\//, 'embedded font'],
  [/^image\/svg/, 'SVG image (scripts and external references; the PNG fallback stays)'],
  [/digital-signature/, 'digital signature (no longer valid after sanitizing)'],
  [/webextension/, 'Office add-in (web extension)'],
];

/** Passive content types kept (after their XML is checked). */
const SAFE_TYPES = [
  /^application\/vnd\.openxmlformats-officedocument\.(wordprocessingml|spreadsheetml|presentationml|drawingml)\.[a-z0-9.-]+\+xml$/,
  /^application\/vnd\.openxmlformats-officedocument\.(theme|themeoverride|drawing|extended-properties|custom-properties|customxmlproperties)\+xml$/,
  /^application\/vnd\.openxmlformats-officedocument\.vmldrawing$/,
  /^application\/vnd\.openxmlformats-officedocument\.(spreadsheetml|wordprocessingml|presentationml)\.printersettings$/,
  /^application\/vnd\.openxmlformats-package\.(core-properties|relationships)\+xml$/,
  /^application\/vnd\.ms-word\.styleswitheffects\+xml$/,
  /^application\/vnd\.ms-office\.(chartstyle|chartcolorstyle|drawingml\.diagramdrawing)\+xml$/,
  /^application\/vnd\.ms-excel\.(worksheet|styles|sharedstrings|calcchain|binindexws|binindexms|person\+xml|threadedcomments\+xml|sheetmetadata|table|comments|chartsheet)$/,
  /^application\/vnd\.ms-excel\.(person|threadedcomments)\+xml$/,
  /^image\/(png|jpeg|gif|tiff|bmp|x-emf|x-wmf|emf|wmf|vnd\.ms-photo|x-pict|pict|x-icon)$/,
  /^application\/xml$|^text\/xml$/,
  /^text\/plain$/,
];

const PACKAGE_TYPES: Record<string, string> = {
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-word.document.macroenabled.12': 'docm',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.template': 'dotx',
  'application/vnd.ms-word.template.macroenabled.12': 'dotm',
};

/** Relationship types (last segment of the URI) that reach passive parts. */
const SAFE_RELS = new Set(
  (
    'officeDocument extended-properties core-properties thumbnail custom-properties customXml customXmlProps styles stylesWithEffects settings webSettings fontTable theme themeOverride ' +
    'numbering footnotes endnotes comments header footer image glossaryDocument people commentsExtended commentsIds commentsExtensible ' +
    'worksheet chartsheet sharedStrings calcChain table tableSingleCells pivotTable pivotCacheDefinition pivotCacheRecords drawing chart chartUserShapes chartStyle chartColorStyle ' +
    'vmlDrawing printerSettings xlBinaryIndex sheetMetadata person threadedComment slide slideLayout slideMaster notesSlide notesMaster handoutMaster presProps viewProps ' +
    'tableStyles commentAuthors tags diagramData diagramLayout diagramQuickStyle diagramColors diagramDrawing hdphoto'
  ).split(' '),
);
const REL_NAMESPACES = /^http:\/\/(schemas\.openxmlformats\.org\/(officeDocument\/2006|package\/2006)\/relationships|purl\.oclc\.org\/ooxml\/officeDocument\/relationships|schemas\.microsoft\.com\/office\/[0-9/]+\/relationships)\//;

/** Active relationship types (last segment of the URI) → reason; their targets go with them. */
const ACTIVE_RELS: Record<string, string> = {
  vbaProject: 'VBA project',
  wordVbaData: 'VBA data',
  keyMapCustomizations: 'Word key map customizations (macro shortcuts)',
  attachedToolbars: 'attached toolbars (macro buttons)',
  vbaProjectSignature: 'VBA project signature',
  oleObject: 'embedded OLE object',
  package: 'embedded package',
  control: 'ActiveX control',
  activeXControlBinary: 'ActiveX control',
  ctrlProp: 'form control (can run a macro)',
  xlMacrosheet: 'XLM (Excel 4) macro sheet',
  xlIntlMacrosheet: 'XLM (Excel 4) macro sheet',
  dialogsheet: 'Excel 5 dialog sheet',
  externalLink: 'external workbook link',
  connections: 'external data connections',
  queryTable: 'query table (external data)',
  volatileDependencies: 'real-time data (RTD) server links',
  subDocument: 'sub-document (master document import)',
  frame: 'frame with a source document',
  font: 'embedded font',
  attachedTemplate: 'attached template',
  recipientData: 'mail-merge recipient data',
  mailMergeSource: 'mail-merge data source',
  dataSource: 'data source',
  video: 'video',
  audio: 'audio',
  media: 'media',
  'digital-signature': 'digital signature',
  signature: 'digital signature',
  origin: 'digital signature',
};

const relKind = (type: string) => type.split('/').pop() ?? '';

export function isXps(entries: ZipEntry[]): boolean {
  if (entries.some((e) => /\.fdseq$/i.test(e.name))) return true;
  const rels = entries.find((e) => e.name === '_rels/.rels');
  if (!rels) return false;
  // Only a hint for a clearer message; the package is parsed properly afterwards.
  return /fixedrepresentation|FixedDocumentSequence/i.test(rels.data.toString('utf8'));
}

export function isOoxml(entries: { name: string }[]): boolean {
  return entries.some((e) => e.name === '[Content_Types].xml');
}

/** An empty BIFF12 worksheet: BrtBeginSheet, BrtWsDim (A1), BrtBeginSheetData, BrtEndSheetData, BrtEndSheet. */
const BLANK_XLSB_SHEET = Buffer.from([0x81, 0x01, 0x00, 0x94, 0x01, 0x10, ...new Array(16).fill(0), 0x91, 0x01, 0x00, 0x92, 0x01, 0x00, 0x82, 0x01, 0x00]);

/** The records of a BIFF12 part: [type, data offset, data length]. */
function biff12Records(b: Buffer): [number, number, number][] {
  const out: [number, number, number][] = [];
  let i = 0;
  while (i < b.length) {
    let t = b[i++];
    if (t & 0x80) {
      if (i >= b.length) throw new Quarantine('malformed binary workbook part: a record type runs past the end');
      t = (t & 0x7f) | ((b[i++] & 0x7f) << 7);
    }
    let size = 0;
    for (let k = 0; k < 4; k++) {
      if (i >= b.length) throw new Quarantine('malformed binary workbook part: a record size runs past the end');
      const c = b[i++];
      size |= (c & 0x7f) << (7 * k);
      if (!(c & 0x80)) break;
    }
    if (i + size > b.length) throw new Quarantine('malformed binary workbook part: a record runs past the end');
    out.push([t, i, size]);
    i += size;
  }
  return out;
}

/** The link type of an external link part (BrtBeginSupBook sbt: 0 workbook, 1 DDE, 2 OLE); -1 if none. */
function supBookType(part: Buffer): number {
  const rec = biff12Records(part).find(([t]) => t === 0x168);
  return rec && rec[2] >= 2 ? part.readUInt16LE(rec[1]) : -1;
}

/** Renames Auto_Open-style defined names in workbook.bin in place (same length) and clears their builtin/function flags. */
function disableAutoNames(wb: Buffer): { data: Buffer; names: string[] } {
  const data = Buffer.from(wb);
  const names: string[] = [];
  for (const [t, off, len] of biff12Records(data)) {
    if (t !== 0x27 || len < 13) continue;
    const cch = data.readUInt32LE(off + 9);
    if (cch > 255 || off + 13 + cch * 2 > off + len) continue;
    const name = data.subarray(off + 13, off + 13 + cch * 2).toString('utf16le');
    if (!AUTO_NAME.test(name)) continue;
    names.push(name);
    data.writeUInt32LE(data.readUInt32LE(off) & ~(0x20 | 0x02 | 0x08), off);
    data.write(`X${'x'.repeat(cch - 1)}`, off + 13, 'utf16le');
  }
  return { data, names };
}

// ---------------------------------------------------------------------------------------------
// The package model, shared by zip packages and flat OPC (pkg:package) documents.

export interface Rel {
  readonly el: XElement;
  readonly id: string;
  readonly type: string;
  readonly target: string;
  readonly external: boolean;
  /** The part the target resolves to (internal relationships), as a part name without the leading slash. */
  readonly part: string;
}

export interface PackageIn {
  /** Every part (not [Content_Types].xml), by name without the leading slash, in package order. */
  readonly parts: Map<string, Buffer>;
  /** The content type of a part (lowercase), or undefined. */
  readonly typeOf: (name: string) => string | undefined;
  /** Parts already parsed by the caller (flat OPC), by name. */
  readonly parsed?: Map<string, XDocument>;
  readonly what: string;
}

export interface PackageOut {
  readonly removed: string[];
  readonly dropped: Set<string>;
  /** Parts whose DOM changed (serialize them) or whose bytes were replaced. */
  readonly changedXml: Map<string, XDocument>;
  readonly changedBytes: Map<string, Buffer>;
  readonly added: { name: string; data: Buffer; type: string }[];
  /** New content types for kept parts (macro-free main part, converted chunks). */
  readonly newTypes: Map<string, string>;
  readonly kind: (typeof MAIN_TYPES)[string];
  readonly mainPart: string;
}

/** Sanitizes one imported file through the engine (the caller checks depth and size). */
export type Nested = (buf: Buffer, name: string) => Promise<FamilyResult>;

function relsOwner(relsName: string): string {
  const m = /^(.*?)_rels\/([^/]*)\.rels$/.exec(relsName);
  return m ? `${m[1]}${m[2]}` : '';
}

function relsOf(part: string): string {
  const dir = path.posix.dirname(part);
  return `${dir === '.' ? '' : `${dir}/`}_rels/${path.posix.basename(part)}.rels`;
}

function resolveTarget(owner: string, target: string): string {
  let t = target.split('#')[0];
  try {
    t = decodeURI(t);
  } catch {
    // keep as written
  }
  if (t.startsWith('/')) return path.posix.normalize(t).slice(1);
  const base = path.posix.dirname(owner);
  return path.posix.normalize(path.posix.join(base === '.' ? '' : base, t)).replace(/^\.\//, '');
}

function typeReason(t: string): string | undefined {
  for (const [re, why] of ACTIVE_TYPES) if (re.test(t)) return why;
  return undefined;
}

/**
 * The streaming look before the DOM for the kept XML parts (step 5 of
 * sanitizePackage). Tests turn it off to check it changes nothing: the same
 * verdicts, removals and bytes with every part parsed into a DOM; `kept`
 * counts the parts it kept without one.
 */
export const XML_FAST_PATH = { enabled: true, kept: 0 };

/** The frameset rule's watcher (step 5): any w:frameset. */
const W_URIS: ReadonlySet<string> = new Set(NS.w);
const framesetWatcher = (): XmlWatcher => ({ open: (t) => t.local === 'frameset' && W_URIS.has(t.uri) });

const isXmlType = (t: string, name: string) => /\+xml$|^application\/xml$|^text\/xml$|vmldrawing$/.test(t) || /\.(xml|rels|vml)$/i.test(name);

export async function sanitizePackage(pkg: PackageIn, budget: Budget, nested: Nested): Promise<PackageOut> {
  const removed: string[] = [];
  const dropped = new Map<string, string>(); // part → why ('' when the reason is reported elsewhere)
  const docs = new Map<string, XDocument>(pkg.parsed ?? []);
  const changedXml = new Map<string, XDocument>();
  const changedBytes = new Map<string, Buffer>();
  const newTypes = new Map<string, string>();
  const lower = new Map([...pkg.parts.keys()].map((n) => [n.toLowerCase(), n]));
  const real = (name: string) => lower.get(name.toLowerCase());
  const doc = (name: string): XDocument => {
    let d = docs.get(name);
    if (!d) {
      d = parseXml(pkg.parts.get(name)!, `${pkg.what} part ${name}`);
      docs.set(name, d);
    }
    return d;
  };

  // 1. Relationships, every .rels parsed.
  const rels = new Map<string, Rel[]>(); // .rels part → its relationships
  for (const name of pkg.parts.keys()) {
    if (!name.endsWith('.rels')) continue;
    checkTime(budget);
    const root = doc(name).documentElement!;
    if (!is(root, NS.rels, 'Relationships')) throw new Quarantine(`malformed ${pkg.what}: ${name} is not a relationships part (root ${root.tagName})`);
    const owner = relsOwner(name);
    const list: Rel[] = [];
    for (const el of childElements(root)) {
      if (!is(el, NS.rels, 'Relationship')) throw new Quarantine(`malformed ${pkg.what}: unexpected element ${el.tagName} in ${name}`);
      const target = attr(el, '', 'Target') ?? '';
      const external = (attr(el, '', 'TargetMode') ?? '').toLowerCase() === 'external';
      list.push({ el, id: attr(el, '', 'Id') ?? '', type: attr(el, '', 'Type') ?? '', target, external, part: external ? '' : resolveTarget(owner, target) });
    }
    rels.set(name, list);
  }
  const root = rels.get('_rels/.rels') ?? [];
  const mainRel = root.find((r) => relKind(r.type) === 'officeDocument' && !r.external);
  if (!mainRel) {
    if (root.some((r) => /fixedrepresentation/i.test(r.type))) throw new Quarantine('unsupported format: XPS (zip with a fixed-document package), not a Word/Excel/PowerPoint document');
    throw new Quarantine(`not an Office document: the package has no officeDocument relationship`);
  }
  const mainPart = real(mainRel.part) ?? mainRel.part;
  const mainType = pkg.typeOf(mainPart);
  const kind = mainType ? MAIN_TYPES[mainType] : undefined;
  if (!kind) throw new Quarantine(`unsupported Office package: main part ${mainPart} has content type ${mainType ?? 'none'}`);
  if (!pkg.parts.has(mainPart)) throw new Quarantine(`malformed Office document: the main part ${mainPart} is missing`);
  const binaryWorkbook = kind.ext === 'xlsb';

  // What the relationships reach from the package root (parts only reachable through removed ones go with them).
  const reach = (skip: (p: string) => boolean): Set<string> => {
    const seen = new Set<string>();
    const todo = [''];
    while (todo.length) {
      const owner = todo.pop()!;
      for (const r of rels.get(owner ? real(relsOf(owner)) ?? '' : '_rels/.rels') ?? []) {
        const p = r.external ? undefined : real(r.part);
        if (!p || seen.has(p) || skip(p)) continue;
        seen.add(p);
        todo.push(p);
      }
    }
    return seen;
  };
  const reachable = reach(() => false);

  // 2. Parts by content type.
  const drop = (part: string, why: string) => {
    if (!dropped.has(part)) dropped.set(part, why);
  };
  for (const name of pkg.parts.keys()) {
    if (name.endsWith('.rels')) continue;
    const t = pkg.typeOf(name);
    if (t === undefined) {
      drop(name, `part without a content type`);
      continue;
    }
    const why = typeReason(t) ?? (/(^|\/)embeddings\//i.test(name) ? 'embedded object or package' : undefined);
    if (why) {
      if (why === 'external workbook link' && isXmlType(t, name)) {
        const link = elements(doc(name).documentElement!).find((e) => is(e, NS.x, 'ddeLink'));
        drop(name, link ? `DDE link (${attr(link, '', 'ddeService') ?? '?'} ${attr(link, '', 'ddeTopic') ?? ''})`.trim() : why);
      } else drop(name, why);
    } else if (!MAIN_TYPES[t] && !SAFE_TYPES.some((re) => re.test(t))) {
      // Imported packages and chunks are decided by the relationship that reaches them (below); anything else is unknown.
      const viaChunk = [...rels.values()].some((list) => list.some((r) => !r.external && relKind(r.type) === 'aFChunk' && real(r.part) === name));
      if (!viaChunk) drop(name, `unknown part type ${t}`);
    }
  }

  // 3. Relationships: active and unknown types take their target along; altChunks are sanitized as their own format.
  for (const [relsName, list] of rels) {
    const owner = relsOwner(relsName);
    if (owner && dropped.has(real(owner) ?? owner)) continue;
    for (const r of list) {
      const k = relKind(r.type);
      if (r.external) continue;
      const part = real(r.part);
      if (!part || dropped.has(part)) continue; // a dangling relationship: removed below
      if (k === 'aFChunk') {
        await importChunk(part);
        continue;
      }
      if (k === 'customUI' || /ui\/extensibility$|\/ui\/userCustomization$/.test(r.type)) {
        const ui = doc(part).documentElement!;
        const callbacks = elements(ui).some((e) => Array.from({ length: e.attributes.length }, (_, i) => e.attributes.item(i)!).some((a) => !a.namespaceURI && /^(on[A-Z]|get[A-Z]|loadImage$)/.test(a.localName ?? '')));
        if (callbacks) drop(part, 'customUI ribbon with callbacks');
        continue;
      }
      if (ACTIVE_RELS[k] && REL_NAMESPACES.test(r.type)) drop(part, ACTIVE_RELS[k]);
      else if (!SAFE_RELS.has(k) || !REL_NAMESPACES.test(r.type)) drop(part, `part reached by an unknown relationship type ${r.type} (from ${owner || 'package'})`);
    }
  }

  async function importChunk(part: string): Promise<void> {
    const t = pkg.typeOf(part) ?? '';
    const data = pkg.parts.get(part)!;
    const label = `altChunk ${part}`;
    if (/^(application|text)\/rtf$/.test(t) || (/^application\/octet-stream$/.test(t) && /\.rtf$/i.test(part))) {
      const r = await nested(data, 'chunk.rtf').catch(rethrow(label));
      if (r.output) {
        changedBytes.set(part, r.output);
        removed.push(...r.removed.map((x) => `${label} (RTF): ${x}`));
      }
    } else if (PACKAGE_TYPES[t] || /wordprocessingml\.(document|template)$/.test(t)) {
      const r = await nested(data, `chunk.${PACKAGE_TYPES[t] ?? 'docx'}`).catch(rethrow(label));
      if (r.output) {
        changedBytes.set(part, r.output);
        removed.push(...r.removed.map((x) => `${label} (Word document): ${x}`));
        if (r.extension && r.extension !== PACKAGE_TYPES[t]) newTypes.set(part, Object.keys(PACKAGE_TYPES).find((k) => PACKAGE_TYPES[k] === r.extension) ?? 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      }
    } else if (/^(text\/html|application\/xhtml\+xml)$/.test(t)) {
      if (data.includes(0)) throw new Quarantine(`${label}: binary content in an HTML chunk`);
      changedBytes.set(part, Buffer.from(htmlToText(data.toString('utf8')), 'utf8'));
      newTypes.set(part, 'text/plain');
      removed.push(`${label}: HTML chunk converted to plain text (scripts, styles, forms and embedded content dropped)`);
    } else if (t === 'text/plain') {
      if (data.includes(0)) throw new Quarantine(`${label}: binary content in a text chunk`);
    } else drop(part, `imported chunk of type ${t || 'unknown'} (MHT, XML or other formats are not imported)`);
  }

  // Binary workbooks (xlsb) list their sheets in workbook.bin by position: a macro or dialog sheet is
  // replaced by an empty worksheet in the same place, so every sheet index stays right.
  const replaced = new Map<string, string>();
  const added: { name: string; data: Buffer; type: string }[] = [];
  if (binaryWorkbook) {
    const wbRels = rels.get(relsOf(mainPart)) ?? [];
    let n = 0;
    for (const r of wbRels) {
      if (!/^(xlMacrosheet|xlIntlMacrosheet|dialogsheet)$/.test(relKind(r.type)) || r.external) continue;
      const part = real(r.part);
      if (!part) continue;
      const target = `xl/worksheets/removed-macro-sheet${++n}.bin`;
      replaced.set(part, target);
      added.push({ name: target, data: BLANK_XLSB_SHEET, type: 'application/vnd.ms-excel.worksheet' });
      drop(part, '');
      removed.push(`macro sheet ${part} replaced by an empty worksheet (the binary workbook keeps its sheet list)`);
      r.el.setAttribute('Type', 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet');
      r.el.setAttribute('Target', path.posix.relative(path.posix.dirname(mainPart), target));
      changedXml.set(relsOf(mainPart), doc(relsOf(mainPart)));
    }
    for (const [part, why] of [...dropped]) {
      if (!/DDE link|external workbook/.test(why)) continue;
      const sbt = supBookType(pkg.parts.get(part)!);
      if (sbt === 1) throw new Quarantine(`DDE link (${part}) inside a binary workbook: the program and topic sit in binary records that cannot be rewritten safely`);
      // An external workbook or OLE link: the part stays (the workbook lists it); its external target is removed below, so it points nowhere.
      dropped.delete(part);
    }
    if (replaced.size) {
      const r = disableAutoNames(pkg.parts.get(mainPart)!);
      if (r.names.length) {
        changedBytes.set(mainPart, r.data);
        removed.push(...r.names.map((x) => `defined name ${x} disabled (renamed in place, builtin flag cleared)`));
      }
    }
  }
  const still = reach((p) => dropped.has(p));
  for (const p of reachable) if (!still.has(p) && !dropped.has(p)) drop(p, '');
  // The relationships of a removed part go with it.
  for (const n of [...dropped.keys()]) {
    const rn = real(relsOf(n));
    if (rn) dropped.set(rn, '');
  }
  for (const [n, why] of dropped) if (why) removed.push(`${why}: ${n}`);

  // 4. Relationships out: to removed or missing parts, active types, every external one except hyperlinks.
  const removedIds = new Map<string, Set<string>>(); // owner part → relationship ids
  for (const [relsName, list] of rels) {
    if (dropped.has(relsName)) continue;
    const owner = relsOwner(relsName);
    for (const r of list) {
      if (replaced.has(real(r.part) ?? '')) continue;
      let why: string | undefined;
      const k = relKind(r.type);
      if (r.external) {
        if (k !== 'hyperlink') why = `external relationship ${k} → ${r.target.slice(0, 100)}`;
      } else if (!real(r.part)) {
        if (ACTIVE_RELS[k] || k === 'aFChunk' || !SAFE_RELS.has(k)) why = `relationship ${k} to a missing part ${r.part}`;
      } else if (dropped.has(real(r.part)!)) why = '';
      if (why === undefined) continue;
      if (why) removed.push(`${why} (from ${owner || 'package'})`);
      remove(r.el);
      changedXml.set(relsName, doc(relsName));
      const set = removedIds.get(owner) ?? new Set<string>();
      set.add(r.id);
      removedIds.set(owner, set);
    }
  }

  // 5. Every kept XML part: parsed; elements pointing at removed relationships go; fields, formulas, framesets.
  const removedSheets: string[] = [];
  for (const name of pkg.parts.keys()) {
    checkTime(budget);
    if (dropped.has(name) || name.endsWith('.rels') || changedBytes.has(name)) continue;
    const t = pkg.typeOf(name) ?? '';
    if (!isXmlType(t, name)) continue;
    const ids = removedIds.get(name);
    // A part not parsed yet, with no removed relationship to follow: the streaming look first; only a part the
    // rules below may change (or that saxes refuses) is parsed into a DOM. The others stay byte for byte, as the rules would leave them.
    if (XML_FAST_PATH.enabled && !docs.has(name) && !ids?.size) {
      // A watcher only where the part's bytes can hold what it looks for (names are never escaped; a UTF-16 part goes to the DOM anyway).
      const data = pkg.parts.get(name)!;
      const watchers: XmlWatcher[] = [];
      if (mayHoldWordFields(data)) watchers.push(wordFieldWatcher());
      if (data.includes('frameset')) watchers.push(framesetWatcher());
      if (kind.family === 'excel' && mayHoldPipe(data)) watchers.push(ddeFormulaWatcher());
      if (!needsDom(data, watchers)) {
        XML_FAST_PATH.kept++;
        continue;
      }
    }
    const d = doc(name);
    const rootEl = d.documentElement!;
    let all = elements(rootEl);
    let changed = false;
    if (ids?.size) {
      for (const el of all) {
        for (let i = el.attributes.length - 1; i >= 0; i--) {
          const a = el.attributes.item(i)!;
          if (!NS.r.includes(a.namespaceURI as (typeof NS.r)[number]) || !ids.has(a.value)) continue;
          if (is(el, NS.x, 'sheet')) removedSheets.push(attr(el, '', 'name') ?? '');
          remove(el);
          changed = true;
          break;
        }
      }
      // Containers left empty would make the part invalid.
      for (const el of elements(rootEl)) {
        if ((is(el, NS.x, ['externalReferences', 'oleObjects', 'controls']) || is(el, NS.p, ['embeddedFontLst'])) && childElements(el).length === 0) remove(el);
        else if (is(el, NS.p, 'embeddedFont') && !childElements(el).some((c) => !is(c, NS.p, 'font'))) remove(el);
      }
      all = elements(rootEl);
    }
    const fields = neutraliseWordFields(rootEl, all);
    if (fields.length) {
      removed.push(...fields.map((f) => `${f} in ${name}`));
      changed = true;
      all = elements(rootEl);
    }
    if (kind.family === 'excel') {
      const f = neutraliseDdeFormulas(rootEl, all);
      if (f.length) {
        removed.push(...f.map((x) => `${x} in ${name}`));
        changed = true;
      }
    }
    for (const el of all) {
      if (is(el, NS.w, 'frameset') && el.parentNode) {
        removed.push(`frameset (frames load other documents) in ${name}`);
        remove(el);
        changed = true;
      }
    }
    if (changed) changedXml.set(name, d);
  }
  // Workbook: Auto_Open-style names and names that point into removed sheets.
  if (kind.family === 'excel' && !binaryWorkbook) {
    const d = doc(mainPart);
    let changed = false;
    for (const el of elements(d.documentElement!)) {
      if (!is(el, NS.x, 'definedName')) continue;
      const name = attr(el, '', 'name') ?? '';
      const refs = textOf(el);
      const intoRemoved = removedSheets.some((s) => s && (refs.includes(`'${s}'!`) || refs.includes(`${s}!`)));
      if (!AUTO_NAME.test(name) && !intoRemoved) continue;
      removed.push(`defined name ${name} (${refs.slice(0, 40)})`);
      remove(el);
      changed = true;
    }
    for (const el of elements(d.documentElement!)) if (is(el, NS.x, 'definedNames') && childElements(el).length === 0) remove(el);
    if (changed) changedXml.set(mainPart, d);
  }
  if (kind.macro && kind.plain) {
    newTypes.set(mainPart, kind.plain);
    removed.push(`macro-enabled type .${kind.ext} → .${kind.plainExt} (main content type ${kind.plain.split('.').slice(-2).join('.')})`);
  }
  return { removed, dropped: new Set(dropped.keys()), changedXml, changedBytes, added, newTypes, kind, mainPart };
}

function rethrow(label: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof Quarantine) throw new Quarantine(`${label}: ${e.reason}`);
    throw e;
  };
}

// ---------------------------------------------------------------------------------------------
// Zip packages.

/** Default content-type mappings that make a package able to hold active content. */
const ACTIVE_DEFAULT = /vbaproject|vbadata|keymapcustomizations|attachedtoolbars|activex|oleobject|macrosheet/;

export async function sanitizeOoxml(buf: Buffer, budget: Budget, entriesIn: ZipEntry[] | undefined, nested: Nested): Promise<FamilyResult> {
  const entries = entriesIn ?? readZip(buf, budget, 'Office document');
  const ct = entries.find((e) => e.name === '[Content_Types].xml');
  if (!ct) throw new Quarantine('not an Office document: [Content_Types].xml is missing');
  const typesDoc = parseXml(ct.data, 'Office document part [Content_Types].xml');
  const typesRoot = typesDoc.documentElement!;
  if (!is(typesRoot, NS.types, 'Types')) throw new Quarantine(`malformed Office document: [Content_Types].xml has root ${typesRoot.tagName}`);
  const defaults = new Map<string, string>();
  const overrides = new Map<string, string>();
  for (const el of childElements(typesRoot)) {
    if (is(el, NS.types, 'Default')) defaults.set((attr(el, '', 'Extension') ?? '').toLowerCase(), (attr(el, '', 'ContentType') ?? '').toLowerCase());
    else if (is(el, NS.types, 'Override')) overrides.set((attr(el, '', 'PartName') ?? '').replace(/^\//, '').toLowerCase(), (attr(el, '', 'ContentType') ?? '').toLowerCase());
    else throw new Quarantine(`malformed Office document: unexpected element ${el.tagName} in [Content_Types].xml`);
  }
  const typeOf = (name: string) => overrides.get(name.toLowerCase()) ?? defaults.get(path.posix.extname(name).slice(1).toLowerCase());
  const parts = new Map<string, Buffer>();
  for (const e of entries) {
    if (e.name === '[Content_Types].xml' || e.name.endsWith('/')) continue;
    if (e.name.split('/').includes('..') || e.name.startsWith('/')) throw new Quarantine(`malformed Office document: part name "${e.name}" escapes the package`);
    parts.set(e.name, e.data);
  }
  const r = await sanitizePackage({ parts, typeOf, what: 'Office document' }, budget, nested);

  // Content types: no overrides for removed parts, no active default mappings, the new types.
  let typesChanged = false;
  const byLower = new Map([...parts.keys()].map((p) => [p.toLowerCase(), p]));
  for (const el of childElements(typesRoot)) {
    if (is(el, NS.types, 'Override')) {
      const name = (attr(el, '', 'PartName') ?? '').replace(/^\//, '');
      const real = byLower.get(name.toLowerCase());
      if (real && r.dropped.has(real)) {
        remove(el);
        typesChanged = true;
      } else if (real && r.newTypes.has(real)) {
        el.setAttribute('ContentType', r.newTypes.get(real)!);
        r.newTypes.delete(real);
        typesChanged = true;
      } else if (!real && ACTIVE_DEFAULT.test((attr(el, '', 'ContentType') ?? '').toLowerCase())) {
        r.removed.push(`content-type mapping for a missing active part ${name}`);
        remove(el);
        typesChanged = true;
      }
    }
  }
  for (const [part, type] of r.newTypes) {
    const o = typesDoc.createElementNS(NS.types, 'Override');
    o.setAttribute('PartName', `/${part}`);
    o.setAttribute('ContentType', type);
    typesRoot.appendChild(o);
    overrides.set(part.toLowerCase(), type);
    typesChanged = true;
  }
  r.newTypes.clear();
  // Default mappings to active or macro-enabled types go when no kept part relies on them (those that did were removed or got an Override).
  for (const el of childElements(typesRoot)) {
    if (!is(el, NS.types, 'Default')) continue;
    const t = (attr(el, '', 'ContentType') ?? '').toLowerCase();
    if (!(ACTIVE_DEFAULT.test(t) || typeReason(t) || (/macroenabled/.test(t) && !MAIN_TYPES[t]))) continue;
    const ext = (attr(el, '', 'Extension') ?? '').toLowerCase();
    const used = [...parts.keys()].some((p) => !r.dropped.has(p) && path.posix.extname(p).slice(1).toLowerCase() === ext && !overrides.has(p.toLowerCase()));
    if (used) continue;
    r.removed.push(`content-type mapping .${attr(el, '', 'Extension')} → ${attr(el, '', 'ContentType')}`);
    remove(el);
    typesChanged = true;
  }
  for (const p of r.added) {
    const o = typesDoc.createElementNS(NS.types, 'Override');
    o.setAttribute('PartName', `/${p.name}`);
    o.setAttribute('ContentType', p.type);
    typesRoot.appendChild(o);
    typesChanged = true;
  }
  if (r.removed.length === 0) return { removed: [], type: `ooxml/${r.kind.ext}` };

  const out: ZipEntry[] = [typesChanged ? { name: ct.name, data: serializeXml(typesDoc) } : ct];
  for (const e of entries) {
    if (e === ct || r.dropped.has(e.name)) continue;
    const x = r.changedXml.get(e.name);
    const b = r.changedBytes.get(e.name);
    // Unchanged parts keep their compressed bytes (writeZip reuses them).
    out.push(x ? { name: e.name, data: serializeXml(x) } : b ? { name: e.name, data: b } : e);
  }
  out.push(...r.added.map((p) => ({ name: p.name, data: p.data })));
  return { removed: r.removed, output: writeZip(out), extension: r.kind.macro ? r.kind.plainExt : r.kind.ext, type: `ooxml/${r.kind.ext}` };
}
