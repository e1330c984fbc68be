import * as path from 'path';
import { Budget, checkTime, FamilyResult, Quarantine } from './types';
import { readZip, writeZip, ZipEntry } from './zip';

/**
 * OOXML (Word, Excel, PowerPoint; plain and macro-enabled; documents,
 * templates, shows, add-ins). Removes VBA projects, XLM macro and dialog
 * sheets (with their workbook entries and Auto_Open names), DDE/DDEAUTO
 * fields in any case, DDE formulas, external link parts (ddeLink), ActiveX,
 * OLE embeddings, customUI with callbacks, and every relationship with
 * TargetMode="External" except plain hyperlinks. Macro-enabled content types
 * become their plain equivalents and the extension follows.
 */

const MAIN_TYPES: Record<string, { family: 'word' | 'excel' | 'powerpoint'; macro: boolean; plain?: string; ext: string; plainExt?: string }> = {
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml': { family: 'word', macro: false, ext: 'docx' },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml': { family: 'word', macro: false, ext: 'dotx' },
  'application/vnd.ms-word.document.macroEnabled.main+xml': { family: 'word', macro: true, plain: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml', ext: 'docm', plainExt: 'docx' },
  'application/vnd.ms-word.template.macroEnabledTemplate.main+xml': { family: 'word', macro: true, plain: 'application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml', ext: 'dotm', plainExt: 'dotx' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml': { family: 'excel', macro: false, ext: 'xlsx' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml': { family: 'excel', macro: false, ext: 'xltx' },
  'application/vnd.ms-excel.sheet.macroEnabled.main+xml': { family: 'excel', macro: true, plain: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml', ext: 'xlsm', plainExt: 'xlsx' },
  'application/vnd.ms-excel.template.macroEnabled.main+xml': { family: 'excel', macro: true, plain: 'application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml', ext: 'xltm', plainExt: 'xltx' },
  'application/vnd.ms-excel.addin.macroEnabled.main+xml': { family: 'excel', macro: true, plain: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml', ext: 'xlam', plainExt: 'xlsx' },
  'application/vnd.ms-excel.sheet.binary.macroEnabled.main': { family: 'excel', macro: false, ext: 'xlsb' },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml': { family: 'powerpoint', macro: false, ext: 'pptx' },
  'application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml': { family: 'powerpoint', macro: false, ext: 'ppsx' },
  'application/vnd.openxmlformats-officedocument.presentationml.template.main+xml': { family: 'powerpoint', macro: false, ext: 'potx' },
  'application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml', ext: 'pptm', plainExt: 'pptx' },
  'application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml', ext: 'ppsm', plainExt: 'ppsx' },
  'application/vnd.ms-powerpoint.template.macroEnabled.main+xml': { family: 'powerpoint', macro: true, plain: 'application/vnd.openxmlformats-officedocument.presentationml.template.main+xml', ext: 'potm', plainExt: 'potx' },
};

export function isXps(entries: ZipEntry[]): boolean {
  const rels = entries.find((e) => e.name === '_rels/.rels')?.data.toString('utf8') ?? '';
  return /xps\/[^"]*fixedrepresentation|FixedDocumentSequence|\/fixedrepresentation"/i.test(rels) || entries.some((e) => /\.fdseq$/i.test(e.name));
}

export function isOoxml(entries: { name: string }[]): boolean {
  return entries.some((e) => e.name === '[Content_Types].xml');
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`).exec(tag);
  return m ? (m[2] ?? m[3]) : undefined;
};

const decodeXml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16))).replace(/&amp;/g, '&');

/** The part a relationship target points at, from the part that owns the .rels. */
function resolveTarget(relsName: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const owner = relsName.replace(/_rels\/([^/]*)\.rels$/, '$1');
  const base = path.posix.dirname(owner);
  return path.posix.normalize(path.posix.join(base === '.' ? '' : base, target)).replace(/^\.\//, '');
}

function relsOwner(relsName: string): string {
  return relsName.replace(/_rels\/([^/]*)\.rels$/, '$1');
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
    if (!/^(_xlnm\.)?Auto_(Open|Close|Activate|Deactivate)/i.test(name)) continue;
    names.push(name);
    data.writeUInt32LE(data.readUInt32LE(off) & ~(0x20 | 0x02 | 0x08), off);
    data.write(`X${'x'.repeat(cch - 1)}`, off + 13, 'utf16le');
  }
  return { data, names };
}

/** A part's content type: its Override, else the Default for its extension. */
function contentTypeOf(types: string, part: string): string | undefined {
  const q = part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const o = new RegExp(`<Override\\b[^>]*PartName\\s*=\\s*"/${q}"[^>]*>`, 'i').exec(types)?.[0];
  if (o) return attr(o, 'ContentType');
  const ext = part.split('.').pop() ?? '';
  const d = new RegExp(`<Default\\b[^>]*Extension\\s*=\\s*"${ext.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>`, 'i').exec(types)?.[0];
  return d ? attr(d, 'ContentType') : undefined;
}

/** The DDE-style instructions to neutralise in Word field codes. */
const DANGEROUS_FIELD = /^\s*(DDEAUTO|DDE|MACROBUTTON)\b/i;

/**
 * Blanks the instruction text of every field whose combined instruction
 * (across runs, nested fields kept apart) starts with DDE, DDEAUTO or
 * MACROBUTTON; and `w:fldSimple` with such an instruction.
 */
export function neutraliseWordFields(xml: string): { xml: string; found: string[] } {
  const found: string[] = [];
  const token = /<w:fldChar\b[^>]*?w:fldCharType\s*=\s*"(begin|separate|end)"[^>]*>|<w:instrText\b[^>]*>([\s\S]*?)<\/w:instrText>|<w:instrText\b[^>]*\/>/g;
  interface Field {
    instr: string;
    spans: [number, number][];
    separated: boolean;
  }
  const stack: Field[] = [];
  const blank: [number, number][] = [];
  let m: RegExpExecArray | null;
  while ((m = token.exec(xml))) {
    if (m[1] === 'begin') stack.push({ instr: '', spans: [], separated: false });
    else if (m[1] === 'separate') {
      if (stack.length) stack[stack.length - 1].separated = true;
    } else if (m[1] === 'end') {
      const f = stack.pop();
      if (f && DANGEROUS_FIELD.test(f.instr)) {
        found.push(`Word field "${f.instr.trim().split(/\s+/)[0].toUpperCase()}" (${f.instr.trim().slice(0, 60)})`);
        blank.push(...f.spans);
      }
    } else if (m[2] !== undefined && stack.length) {
      const f = stack[stack.length - 1];
      if (!f.separated) {
        f.instr += decodeXml(m[2]);
        const open = m[0].indexOf('>') + 1;
        f.spans.push([m.index + open, m.index + m[0].length - '</w:instrText>'.length]);
      }
    }
  }
  let out = xml;
  for (const [a, b] of blank.sort((x, y) => y[0] - x[0])) out = out.slice(0, a) + out.slice(b);
  out = out.replace(/(<w:fldSimple\b[^>]*?\bw:instr\s*=\s*")([^"]*)(")/g, (all, pre, instr, post) => {
    if (!DANGEROUS_FIELD.test(decodeXml(instr))) return all;
    found.push(`Word simple field "${decodeXml(instr).trim().slice(0, 60)}"`);
    return `${pre}${post}`;
  });
  return { xml: out, found };
}

/** Spreadsheet formulas that call another program (DDE: `app|topic!item`). */
function neutraliseDdeFormulas(xml: string): { xml: string; found: string[] } {
  const found: string[] = [];
  const out = xml.replace(/<f\b[^>]*>([\s\S]*?)<\/f>/g, (all, body) => {
    if (!decodeXml(body).includes('|')) return all;
    found.push(`DDE formula ${decodeXml(body).slice(0, 60)}`);
    return '';
  });
  return { xml: out, found };
}

export function sanitizeOoxml(buf: Buffer, budget: Budget, entriesIn?: ZipEntry[]): FamilyResult {
  const entries = entriesIn ?? readZip(buf, budget, 'Office document');
  const byName = new Map(entries.map((e) => [e.name, e]));
  const ct = byName.get('[Content_Types].xml');
  if (!ct) throw new Quarantine('not an Office document: [Content_Types].xml is missing');
  let types = ct.data.toString('utf8');
  // The main part: the target of the officeDocument relationship of the package.
  const rootRels = byName.get('_rels/.rels')?.data.toString('utf8') ?? '';
  const mainRel = /<Relationship\b[^>]*\/officeDocument"[^>]*>/.exec(rootRels)?.[0] ?? /<Relationship\b[^>]*Type="[^"]*\/officeDocument"[^>]*>/.exec(rootRels)?.[0];
  if (!mainRel) {
    if (/fixedrepresentation|FixedDocumentSequence/i.test(rootRels)) throw new Quarantine('unsupported format: XPS (zip with a fixed-document package), not a Word/Excel/PowerPoint document');
    throw new Quarantine('not an Office document: the package has no officeDocument relationship');
  }
  const mainPart = resolveTarget('_rels/.rels', attr(mainRel, 'Target') ?? '');
  const mainType = contentTypeOf(types, mainPart);
  const kind = mainType ? MAIN_TYPES[mainType] : undefined;
  if (!kind) throw new Quarantine(`unsupported Office package: main part ${mainPart} has content type ${mainType ?? 'none'}`);
  if (!byName.has(mainPart)) throw new Quarantine(`malformed Office document: the main part ${mainPart} is missing`);
  const binaryWorkbook = kind.ext === 'xlsb';

  const removed: string[] = [];
  const drop = new Map<string, string>(); // part → why
  const partType = (name: string): string => contentTypeOf(types, name) ?? '';
  for (const e of entries) {
    checkTime(budget);
    const n = e.name;
    const lower = n.toLowerCase();
    const t = partType(n).toLowerCase();
    if (/vbaprojectsignature/.test(lower) || t.includes('vbaprojectsignature')) drop.set(n, 'VBA project signature');
    else if (/vbaproject/.test(lower) || t.includes('vbaproject')) drop.set(n, 'VBA project');
    else if (/vbadata\.xml$/.test(lower) || t.includes('vbadata')) drop.set(n, 'VBA data');
    else if (/(^|\/)activex\//.test(lower) || t.includes('activex')) drop.set(n, 'ActiveX control');
    else if (/(^|\/)embeddings\//.test(lower)) drop.set(n, 'embedded object (OLE/package)');
    else if (/(^|\/)(macrosheets|intlmacrosheets)\//.test(lower) || t.includes('macrosheet')) drop.set(n, 'XLM (Excel 4) macro sheet');
    else if (/(^|\/)dialogsheets\//.test(lower) || t.includes('dialogsheet')) drop.set(n, 'Excel 5 dialog sheet');
    else if (/(^|\/)externallinks\/[^/]+$/.test(lower)) {
      const body = lower.endsWith('.xml') ? e.data.toString('utf8') : '';
      drop.set(n, /<ddelink\b/i.test(body) ? `DDE link (${/ddeService="([^"]*)"/i.exec(body)?.[1] ?? '?'} ${/ddeTopic="([^"]*)"/i.exec(body)?.[1] ?? ''})`.trim() : 'external workbook link');
    } else if (/(^|\/)customui\/[^/]+\.xml$/.test(lower)) {
      const body = e.data.toString('utf8');
      if (/\b(on[A-Z][A-Za-z]*|get[A-Z][A-Za-z]*|loadImage)\s*=/.test(body)) drop.set(n, 'customUI ribbon with callbacks');
    }
  }
  // The relationships of a removed part go with it.
  for (const n of [...drop.keys()]) {
    const rels = `${path.posix.dirname(n) === '.' ? '' : `${path.posix.dirname(n)}/`}_rels/${path.posix.basename(n)}.rels`;
    if (byName.has(rels)) drop.set(rels, `relationships of ${n}`);
  }
  // Binary workbooks (xlsb) list their sheets in workbook.bin by position: a macro or dialog sheet is
  // replaced by an empty worksheet in the same place, so every sheet index stays right.
  const replaced = new Map<string, string>();
  const extraParts: ZipEntry[] = [];
  const newDataEarly = new Map<string, Buffer>();
  if (binaryWorkbook) {
    const wbRels = byName.get(`xl/_rels/${path.posix.basename(mainPart)}.rels`)?.data.toString('utf8') ?? '';
    let n = 0;
    for (const rel of wbRels.match(/<Relationship\b[^>]*>/g) ?? []) {
      if (!/\/(xlMacrosheet|xlIntlMacrosheet|dialogsheet)"/.test(rel)) continue;
      const part = resolveTarget(`xl/_rels/${path.posix.basename(mainPart)}.rels`, attr(rel, 'Target') ?? '');
      if (!byName.has(part)) continue;
      const target = `xl/worksheets/removed-macro-sheet${++n}.bin`;
      replaced.set(part, target);
      extraParts.push({ name: target, data: BLANK_XLSB_SHEET });
      drop.set(part, 'XLM (Excel 4) macro sheet');
      removed.push(`macro sheet ${part} replaced by an empty worksheet (the binary workbook keeps its sheet list)`);
    }
    for (const [part, why] of [...drop]) {
      if (!/DDE link|external workbook/.test(why)) continue;
      const sbt = supBookType(byName.get(part)!.data);
      if (sbt === 1) throw new Quarantine(`DDE link (${part}) inside a binary workbook: the program and topic sit in binary records that cannot be rewritten safely`);
      // An external workbook or OLE link: the part stays (the workbook lists it); its external target is removed below, so it points nowhere.
      drop.delete(part);
      const rels = `${path.posix.dirname(part)}/_rels/${path.posix.basename(part)}.rels`;
      drop.delete(rels);
    }
    if (replaced.size) {
      const r = disableAutoNames(byName.get(mainPart)!.data);
      if (r.names.length) {
        newDataEarly.set(mainPart, r.data);
        removed.push(...r.names.map((x) => `defined name ${x} disabled (renamed in place, builtin flag cleared)`));
      }
    }
  }
  for (const [n, why] of drop) if (!why.startsWith('relationships of') && !replaced.has(n)) removed.push(`${why}: ${n}`);

  // Relationships: drop those to removed parts and every external one except hyperlinks.
  const removedRelIds = new Map<string, Set<string>>(); // owner part → rel ids
  const newData = newDataEarly;
  for (const e of entries) {
    if (!e.name.endsWith('.rels') || drop.has(e.name)) continue;
    const owner = relsOwner(e.name);
    let xml = e.data.toString('utf8');
    let changed = false;
    xml = xml.replace(/<Relationship\b[^>]*?(\/>|>\s*<\/Relationship>)/g, (rel) => {
      const id = attr(rel, 'Id') ?? '';
      const type = attr(rel, 'Type') ?? '';
      const target = attr(rel, 'Target') ?? '';
      const external = (attr(rel, 'TargetMode') ?? '').toLowerCase() === 'external';
      let why: string | undefined;
      const resolved = external ? '' : resolveTarget(e.name, target);
      if (replaced.has(resolved)) {
        changed = true;
        const to = path.posix.relative(path.posix.dirname(owner), replaced.get(resolved)!);
        return rel.replace(/Type="[^"]*"/, 'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"').replace(/Target="[^"]*"/, `Target="${to}"`);
      }
      if (external && !/\/hyperlink$/.test(type)) why = `external relationship ${type.split('/').pop()} → ${target.slice(0, 100)}`;
      else if (!external && drop.has(resolveTarget(e.name, target))) why = '';
      if (why === undefined) return rel;
      if (why) removed.push(`${why} (from ${owner || 'package'})`);
      const set = removedRelIds.get(owner) ?? new Set<string>();
      set.add(id);
      removedRelIds.set(owner, set);
      changed = true;
      return '';
    });
    if (changed) newData.set(e.name, Buffer.from(xml, 'utf8'));
  }

  // Parts that referenced removed relationships, and Word/Excel active content inside parts.
  const removedSheets: string[] = [];
  for (const e of entries) {
    checkTime(budget);
    if (drop.has(e.name) || !/\.xml$/i.test(e.name) || e.name === '[Content_Types].xml') continue;
    let xml = (newData.get(e.name) ?? e.data).toString('utf8');
    const before = xml;
    const ids = removedRelIds.get(e.name);
    if (ids?.size) {
      for (const id of ids) {
        const q = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        // Self-closing references that would dangle: OLE objects, ActiveX controls, templates, external references, sheets.
        xml = xml.replace(new RegExp(`<(o:OLEObject|w:control|w:attachedTemplate|externalReference|sheet|oleObject|control)\\b[^>]*\\br:id\\s*=\\s*"${q}"[^>]*/>`, 'g'), (el) => {
          if (el.startsWith('<sheet')) removedSheets.push(decodeXml(attr(el, 'name') ?? ''));
          return '';
        });
        xml = xml.replace(new RegExp(`<(oleObject|control)\\b[^>]*\\br:id\\s*=\\s*"${q}"[^>]*>[\\s\\S]*?</\\1>`, 'g'), '');
      }
      xml = xml.replace(/<externalReferences>\s*<\/externalReferences>/g, '').replace(/<oleObjects>\s*<\/oleObjects>/g, '').replace(/<controls>\s*<\/controls>/g, '');
    }
    if (kind.family === 'word') {
      const r = neutraliseWordFields(xml);
      xml = r.xml;
      removed.push(...r.found.map((f) => `${f} in ${e.name}`));
    }
    if (kind.family === 'excel' && /^xl\/worksheets\//.test(e.name)) {
      const r = neutraliseDdeFormulas(xml);
      xml = r.xml;
      removed.push(...r.found.map((f) => `${f} in ${e.name}`));
    }
    if (xml !== before) newData.set(e.name, Buffer.from(xml, 'utf8'));
  }
  // Workbook: Auto_Open-style names and names that point into removed sheets.
  if (kind.family === 'excel' && !binaryWorkbook) {
    const wb = (newData.get(mainPart) ?? byName.get(mainPart)!.data).toString('utf8');
    const out = wb
      .replace(/<definedName\b[^>]*>([\s\S]*?)<\/definedName>/g, (el, body) => {
        const name = decodeXml(attr(el, 'name') ?? '');
        const refs = decodeXml(body);
        const auto = /^_xlnm\.(Auto_Open|Auto_Close|Auto_Activate|Auto_Deactivate)/i.test(name) || /^Auto_(Open|Close)/i.test(name);
        const intoRemoved = removedSheets.some((s) => s && (refs.includes(`'${s}'!`) || refs.includes(`${s}!`)));
        if (!auto && !intoRemoved) return el;
        removed.push(`defined name ${name} (${refs.slice(0, 40)})`);
        return '';
      })
      .replace(/<definedNames>\s*<\/definedNames>/g, '');
    if (out !== wb) newData.set(mainPart, Buffer.from(out, 'utf8'));
  }
  if (removed.length === 0) return { removed: [], type: `ooxml/${kind.ext}` };

  // Content types: no overrides for removed parts; macro-enabled main type → plain.
  for (const n of drop.keys()) types = types.replace(new RegExp(`<Override\\b[^>]*PartName\\s*=\\s*"/${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*/>`, 'i'), '');
  if (kind.macro && kind.plain && mainType) {
    types = types.split(mainType).join(kind.plain);
    removed.push(`macro-enabled content type ${kind.ext} → ${kind.plainExt}`);
  }
  for (const p of extraParts) types = types.replace('</Types>', `<Override PartName="/${p.name}" ContentType="application/vnd.ms-excel.worksheet"/></Types>`);
  newData.set('[Content_Types].xml', Buffer.from(types, 'utf8'));
  const out: ZipEntry[] = [];
  const ordered = [entries.find((e) => e.name === '[Content_Types].xml')!, ...entries.filter((e) => e.name !== '[Content_Types].xml')];
  for (const e of ordered) if (!drop.has(e.name)) out.push({ ...e, data: newData.get(e.name) ?? e.data });
  out.push(...extraParts);
  return { removed, output: writeZip(out), extension: kind.macro ? kind.plainExt : kind.ext, type: `ooxml/${kind.ext}` };
}
