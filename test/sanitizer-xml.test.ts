import { describe, test, expect } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sanitize, SanitizeOutcome } from '../lib/sanitizer/engine';
import { XML_FAST_PATH } from '../lib/sanitizer/ooxml';
import { needsDom, parseXml } from '../lib/sanitizer/xml';
import { activeContent } from './helpers/active-content';
import * as fx from './helpers/sanitizer-fixtures';
import { fileVariant, VARIANT_KINDS, VariantKind, variantPlan, xmlVariant } from './helpers/xml-variants';

/**
 * The sanitizer parses XML (issue #15): every spelling of the same content
 * is caught and removed, imports are followed, macro-enabled types become
 * macro-free. The differential part writes each active sample that carries
 * XML in many equivalent spellings (test/helpers/xml-variants.ts) and
 * requires, for every variant: the engine removes exactly what it removes
 * from the original, the independent detector (saxes) finds the content in
 * the variant and nothing in the output.
 */

const quarantined = async (buf: Buffer, name: string, reason: RegExp) => {
  const o = await sanitize(buf, name);
  assert.equal(o.record.verdict, 'quarantined', `${name}: ${o.record.verdict} ${o.record.removed.join('; ')}`);
  assert.match(o.record.reason!, reason);
  assert.equal(o.output, undefined);
};

describe('XML is parsed, not matched', () => {
  test('a DOCTYPE (external entity, XXE) in an OOXML part, in flat XML, or malformed XML quarantines the file with the part named', async () => {
    const xxe = fx.docxOf({ document: '<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>' });
    const parts = fx.unzip(xxe);
    parts['word/document.xml'] = Buffer.from(parts['word/document.xml'].toString().replace('<w:document', '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><w:document'));
    await quarantined(fx.zipOf(parts), 'xxe.docx', /DOCTYPE in Office document part word\/document\.xml/);
    await quarantined(Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "DDE">]><w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml">&a;</w:wordDocument>'), 'bomb.xml', /DOCTYPE/);
    const broken = fx.unzip(fx.corpusFile('oletools/test-data/msodde/dde-test.docx'));
    broken['word/document.xml'] = Buffer.from(broken['word/document.xml'].toString().replace('</w:body>', '</w:bdy>'));
    await quarantined(fx.zipOf(broken), 'broken.docx', /malformed XML in Office document part word\/document\.xml/);
    const rels = fx.unzip(fx.corpusFile('oletools/test-data/msodde/harmless-clean.docx'));
    rels['_rels/.rels'] = Buffer.from(rels['_rels/.rels'].toString().replace('Target=', 'Target=x '));
    await quarantined(fx.zipOf(rels), 'rels.docx', /malformed XML in Office document part _rels\/\.rels/);
    await quarantined(Buffer.from('<?xml version="1.0"?><w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml"><w:body>\u0001</w:body></w:wordDocument>'), 'ctl.xml', /not allowed in XML/);
    await quarantined(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), 'pic.xml', /XML that is not an Office document/);
  });

  test('Word 2003 XML with another prefix, DDE formulas in cells, shared formulas and names: removed, cached values kept', async () => {
    const w = await sanitize(fx.word2003Xml(), 'w.xml');
    assert.equal(w.record.verdict, 'sanitized');
    assert.deepEqual(w.record.removed, ['Word field "DDEAUTO" (DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe")', 'Word simple field "DDE" (DDE cmd x)']);
    assert.deepEqual(activeContent(w.output!, 'w.xml'), []);
    const x = await sanitize(fx.xlsxWithDdeFormulas(), 'f.xlsx');
    assert.equal(x.record.removed.length, 3, x.record.removed.join('\n'));
    const sheet = fx.unzip(x.output!)['xl/worksheets/sheet1.xml'].toString();
    assert.doesNotMatch(sheet, /cmd|msexcel|t="shared"/);
    assert.match(sheet, /<f>SUM\(B1,1\)<\/f>/, 'formulas without DDE stay');
    assert.match(sheet, /<c r="A1"><v>0<\/v><\/c>/, 'the cached value stays');
    const wb = fx.unzip(x.output!)['xl/workbook.xml'].toString();
    assert.doesNotMatch(wb, /Payload/);
    assert.match(wb, /Plain/);
  });
});

describe('what documents import is followed', () => {
  test('an altChunk RTF carrying an OLE object comes out without the object; the audit record says so', async () => {
    const input = fx.docxWithAltChunkRtf();
    assert.ok(activeContent(input, 'in.docx').some((f) => /RTF \\object/.test(f)), 'the fixture really imports an object');
    const o = await sanitize(input, 'letter.docx');
    assert.equal(o.record.verdict, 'sanitized');
    assert.ok(o.record.removed.some((x) => /^altChunk word\/afchunk\.rtf \(RTF\): embedded object \(Package\)/.test(x)), o.record.removed.join('\n'));
    assert.ok(o.record.removed.some((x) => /^altChunk word\/afchunk\.rtf \(RTF\): field instruction DDEAUTO/.test(x)));
    const chunk = fx.unzip(o.output!)['word/afchunk.rtf'].toString('latin1');
    assert.doesNotMatch(chunk, /\\object|\\objdata|DDEAUTO/);
    assert.match(chunk, /Before the object/);
    assert.deepEqual(activeContent(o.output!, 'letter.docx'), []);
  });

  test('altChunk HTML becomes text, MHT is removed with its relationship and reference; a nested docm is sanitized as its own document', async () => {
    const o = await sanitize(fx.docxWithAltChunkHtmlMht(), 'h.docx');
    const files = fx.unzip(o.output!);
    assert.equal(files['word/chunk.htm'].toString(), 'Imported text\n');
    assert.equal(files['word/chunk.mht'], undefined);
    assert.doesNotMatch(files['word/_rels/document.xml.rels'].toString(), /chunk\.mht/);
    assert.doesNotMatch(files['word/document.xml'].toString(), /rIdMht/);
    assert.match(files['[Content_Types].xml'].toString(), /PartName="\/word\/chunk\.htm" ContentType="text\/plain"/);
    assert.ok(o.record.removed.some((x) => /imported chunk of type message\/rfc822.*word\/chunk\.mht/.test(x)));
    const n = await sanitize(fx.docxWithAltChunkDocx(), 'n.docx');
    assert.ok(n.record.removed.some((x) => /^altChunk word\/inner\.docm \(Word document\): VBA project/.test(x)), n.record.removed.join('\n'));
    assert.ok(n.record.removed.some((x) => /^altChunk word\/inner\.docm \(Word document\): Word field "DDEAUTO"/.test(x)));
    assert.deepEqual(activeContent(n.output!, 'n.docx'), []);
    // Deeper than the limit: quarantined, not passed.
    const deep = await sanitize(fx.docxWithAltChunkDocx(), 'n.docx', { maxBytes: 100 * 1024 * 1024, maxEntries: 10_000, maxRatio: 200, maxDepth: 0, timeoutMs: 30_000 });
    assert.equal(deep.record.verdict, 'quarantined');
    assert.match(deep.record.reason!, /altChunk word\/inner\.docm: imports nested deeper than 0 levels/);
  });

  test('sub-documents, framesets, glossary documents, embedded fonts, SVG, unknown part and relationship types: removed with a reason', async () => {
    const o = await sanitize(fx.docxWithImports(), 'imports.docx');
    const why = o.record.removed.join('\n');
    for (const re of [/embedded font: word\/fonts\/font1\.odttf/, /word\/sub\.docx/, /unknown part type application\/x-mystery: word\/mystery\.bin/, /SVG image.*word\/media\/pic\.svg/, /external relationship frame/, /frameset/, /Word field "DDE" .* in word\/glossary\/document\.xml/, /Word simple field "DDEAUTO"/, /computed by a nested field/]) assert.match(why, re);
    const files = fx.unzip(o.output!);
    for (const gone of ['word/fonts/font1.odttf', 'word/sub.docx', 'word/mystery.bin', 'word/media/pic.svg']) assert.equal(files[gone], undefined, gone);
    const doc = files['word/document.xml'].toString();
    assert.doesNotMatch(doc, /subDoc|rIdOdd|QUOTE|DDEAUTO/);
    assert.match(doc, /simple/, 'a simple field keeps its result');
    assert.doesNotMatch(files['word/fontTable.xml'].toString(), /embedRegular/);
    assert.doesNotMatch(files['[Content_Types].xml'].toString(), /svg|obfuscatedFont|x-mystery/);
    assert.deepEqual(activeContent(o.output!, 'imports.docx'), []);
  });

  test('a .docm without macros comes out as .docx with the macro-free content type and no vbaProject mapping or relationship', async () => {
    const o = await sanitize(fx.docmWithoutMacros(), '通知.docm');
    assert.equal(o.record.verdict, 'sanitized');
    assert.equal(o.record.output!.name, '通知.docx');
    const files = fx.unzip(o.output!);
    const types = files['[Content_Types].xml'].toString();
    assert.match(types, /PartName="\/word\/document\.xml" ContentType="application\/vnd\.openxmlformats-officedocument\.wordprocessingml\.document\.main\+xml"/);
    assert.doesNotMatch(types, /macroEnabled|vbaProject/i);
    assert.doesNotMatch(files['word/_rels/document.xml.rels'].toString(), /vbaProject/);
    // Every macro-enabled type of the corpus becomes its macro-free type.
    for (const [rel, ext] of [['oletools/test-data/msodde/harmless-clean.docm', 'docx'], ['oletools/test-data/oleobj/embedded-simple-2007.dotm', 'dotx'], ['oletools/test-data/oleobj/embedded-simple-2007.xlam', 'xlsx'], ['oletools/test-data/oleobj/embedded-simple-2007.xltm', 'xltx'], ['oletools/test-data/oleobj/embedded-simple-2007.ppsm', 'ppsx'], ['oletools/test-data/oleobj/embedded-simple-2007.potm', 'potx']]) {
      const r = await sanitize(fx.corpusFile(rel), path.basename(rel));
      assert.equal(path.extname(r.record.output!.name), `.${ext}`, rel);
      assert.doesNotMatch(fx.unzip(r.output!)['[Content_Types].xml'].toString(), /macroEnabled/i, rel);
    }
  });
});

/** Every active sample that carries XML: corpus and generated, each family (OOXML Word/Excel/PowerPoint, flat OPC, Word 2003 XML, Excel 2003 XML). */
const SAMPLES: { name: string; buf: () => Buffer }[] = [
  ...[
    'oletools/test-data/msodde/dde-test.docx',
    'oletools/test-data/msodde/dde-test.docm',
    'oletools/test-data/msodde/dde-test.xlsx',
    'oletools/decrypted/msodde/dde-in-word2003.xml',
    'oletools/decrypted/msodde/dde-in-word2007.xml',
    'oletools/test-data/msodde/dde-in-excel2003.xml',
    'oletools/test-data/oleobj/embedded-simple-2007.xml',
    'oletools/test-data/oleobj/embedded-simple-2007-as2003.xml',
    'oletools/test-data/oleobj/external_link/sample_with_external_link_to_doc.docx',
    'oletools/test-data/oleobj/embedded-simple-2007.pptx',
    'oletools/test-data/excel4-macros/excel4_sample_macro.xlsm',
  ].map((rel) => ({ name: rel, buf: () => fx.corpusFile(rel) })),
  { name: 'links.docx', buf: fx.docxWithLinks },
  { name: 'altchunk-rtf.docx', buf: fx.docxWithAltChunkRtf },
  { name: 'imports.docx', buf: fx.docxWithImports },
  { name: 'formulas.xlsx', buf: fx.xlsxWithDdeFormulas },
  { name: 'word2003.xml', buf: fx.word2003Xml },
];

describe('differential: equivalent spellings of every active XML sample', () => {
  const COUNT = Number(process.env.VARIANTS ?? 2000);
  const originals = new Map<string, { buf: Buffer; removed: string[] }>();
  const sorted = (x: string[]) => [...x].sort();

  test('the generator really changes the spelling (prefixes, default namespace, character references, CDATA, quotes, order, whitespace, comments, split runs)', () => {
    const src = '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:r><w:instrText xml:space="preserve">DDEAUTO cmd</w:instrText></w:r><w:fldSimple w:instr="DDE x" w:b="1"/></w:document>';
    const v = (k: VariantKind[]) => xmlVariant(src, new Set(k));
    expect(v(['prefixes'])).toMatch(/<document xmlns:ns0="http:\/\/schemas\.openxmlformats\.org\/wordprocessingml\/2006\/main" xmlns="http:\/\/schemas.openxmlformats.org\/wordprocessingml\/2006\/main">/);
    expect(v(['prefixes'])).toMatch(/<fldSimple ns0:instr="DDE x"/);
    expect(v(['charref-dec'])).toContain('&#68;&#68;&#69;&#65;&#85;&#84;&#79;');
    expect(v(['charref-hex'])).toContain('w:instr="&#x44;&#x44;&#x45; x"');
    expect(v(['cdata'])).toContain('<![CDATA[DDEAUTO cmd]]>');
    expect(v(['single-quotes'])).toContain("w:instr='DDE x'");
    expect(v(['reorder'])).toContain('<w:fldSimple w:b="1" w:instr="DDE x"/>');
    expect(v(['whitespace'])).toMatch(/w:instr = "DDE x"/);
    expect(v(['comments'])).toContain('<w:instrText xml:space="preserve"><!-- variant -->DDEAUTO cmd<!-- variant --></w:instrText>');
    expect(v(['split-chars'])).toContain('>D</w:instrText></w:r><w:r><w:instrText xml:space="preserve">D</w:instrText>');
    expect(v(['split-runs'])).toContain('>DDE</w:instrText></w:r><w:r><w:instrText xml:space="preserve">AUT</w:instrText>');
  });

  test(`${COUNT} variants: the engine removes the same content in each, the independent detector finds it in the variant and nothing in the output`, async () => {
    for (const s of SAMPLES) {
      const buf = s.buf();
      const o = await sanitize(buf, path.basename(s.name));
      assert.equal(o.record.verdict, 'sanitized', `${s.name}: ${o.record.reason}`);
      originals.set(s.name, { buf, removed: sorted(o.record.removed) });
    }
    const started = Date.now();
    const perKind: Record<string, number> = {};
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'variants-'));
    const forOffice: string[] = [];
    // Every kind alone on every sample first, then random combinations.
    const plan: { sample: (typeof SAMPLES)[number]; kinds: ReadonlySet<VariantKind> }[] = [];
    for (const k of VARIANT_KINDS) for (const sample of SAMPLES) plan.push({ sample, kinds: new Set([k]) });
    // Random combinations on the small samples (every family is among them), so 2,000 variants stay fast in npm test.
    const small = SAMPLES.filter((x) => originals.get(x.name)!.buf.length < 6_000);
    let i = 0;
    for (const kinds of variantPlan(Math.max(0, COUNT - plan.length))) plan.push({ sample: small[i++ % small.length], kinds });
    for (const [n, { sample, kinds }] of plan.entries()) {
      const orig = originals.get(sample.name)!;
      const name = path.basename(sample.name);
      const variant = fileVariant(orig.buf, name, kinds);
      const label = `${sample.name} [${[...kinds].join('+')}]`;
      const found = activeContent(variant, name);
      assert.ok(found.length > 0, `${label}: the detector sees nothing in the variant`);
      assert.ok(!found.some((f) => /conforming parser refuses/.test(f)), `${label}: the variant is not well-formed: ${found.join('; ')}`);
      const o = await sanitize(variant, name);
      assert.equal(o.record.verdict, 'sanitized', `${label}: ${o.record.reason}`);
      assert.deepEqual(sorted(o.record.removed), orig.removed, label);
      assert.deepEqual(activeContent(o.output!, o.record.output!.name), [], label);
      for (const k of kinds) perKind[k] = (perKind[k] ?? 0) + 1;
      // A small sample of variant outputs goes to LibreOffice (below), one of each Office family.
      if (n % 97 === 5 && forOffice.length < 8 && /\.(docx|docm|xlsx|xlsm|pptx|xml)$/.test(name)) {
        const file = path.join(outDir, `${n}-${o.record.output!.name}`);
        fs.writeFileSync(file, o.output!);
        forOffice.push(file);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`differential: ${plan.length} variants of ${SAMPLES.length} samples in ${seconds.toFixed(1)} s; per kind ${JSON.stringify(perKind)}`);
    assert.ok(plan.length >= COUNT);
    for (const k of VARIANT_KINDS) assert.ok(perKind[k] >= SAMPLES.length, k);
    // The sanitized variants still open (one LibreOffice process for the batch).
    assert.ok(forOffice.length >= 4, `${forOffice.length} variant outputs for LibreOffice`);
    const pdfDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-variants-'));
    const r = spawnSync('soffice', ['--headless', '--norestore', `-env:UserInstallation=file://${pdfDir}/profile`, '--convert-to', 'pdf', '--outdir', pdfDir, ...forOffice], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.error, undefined, `soffice: ${r.error?.message}`);
    const missing = forOffice.filter((f) => {
      const pdf = path.join(pdfDir, `${path.basename(f).replace(/\.[^.]+$/, '')}.pdf`);
      return !fs.existsSync(pdf) || fs.statSync(pdf).size < 500;
    });
    assert.deepEqual(missing.map((f) => path.basename(f)), [], r.stdout + r.stderr);
  }, 600_000);
});

describe('large parts without a DOM: the streaming look before the DOM changes nothing', () => {
  const X = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
  const RT = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  /** A workbook whose one sheet holds `rows` (sheetData content). */
  const xlsx = (rows: string) =>
    fx.zipOf({
      '[Content_Types].xml': Buffer.from(`${DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`),
      '_rels/.rels': Buffer.from(`${DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RT}/officeDocument" Target="xl/workbook.xml"/></Relationships>`),
      'xl/workbook.xml': Buffer.from(`${DECL}<workbook xmlns="${X}" xmlns:r="${RT}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`),
      'xl/_rels/workbook.xml.rels': Buffer.from(`${DECL}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RT}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`),
      'xl/worksheets/sheet1.xml': Buffer.from(`${DECL}<worksheet xmlns="${X}"><sheetData>${rows}</sheetData></worksheet>`),
    });
  /** About `bytes` of ordinary rows: numbers, text, formulas. */
  const rows = (bytes: number) => {
    const out: string[] = [];
    for (let i = 1, n = 0; n < bytes; i++) {
      const r = `<row r="${i}"><c r="A${i}"><v>${i}</v></c><c r="B${i}" t="inlineStr"><is><t>住民 ${i}</t></is></c><c r="C${i}"><f>SUM(A${i},1)</f><v>${i + 1}</v></c></row>`;
      out.push(r);
      n += r.length;
    }
    return out.join('');
  };
  const cell = (f: string) => `<row r="999999"><c r="A999999"><f>${f}</f><v>0</v></c></row>`;
  const paras = (bytes: number) => Array.from({ length: Math.ceil(bytes / 80) }, (_, i) => `<w:p><w:r><w:t>第${i}段落 本文です。Body text ${(i * 7919) % 10007}.</w:t></w:r></w:p>`).join('');
  const run = (x: string) => `<w:r>${x}</w:r>`;
  const fld = (type: string) => run(`<w:fldChar w:fldCharType="${type}"/>`);
  const instr = (t: string) => run(`<w:instrText xml:space="preserve">${t}</w:instrText>`);
  const docx = (body: string) => fx.docxOf({ document: body });
  const big = rows(320 * 1024);
  const cases: { name: string; buf: Buffer; expect: RegExp | 'clean' | 'quarantined' }[] = [
    { name: 'plain.xlsx', buf: xlsx(big), expect: 'clean' },
    { name: 'dde-late.xlsx', buf: xlsx(big + cell("cmd|' /c calc'!A0")), expect: /^DDE formula cmd\|/ },
    { name: 'dde-charref.xlsx', buf: xlsx(big + cell("cmd&#124;' /c calc'!A0")), expect: /^DDE formula cmd\|/ },
    { name: 'dde-cdata.xlsx', buf: xlsx(big + cell("<![CDATA[cmd|' /c calc'!A0]]>")), expect: /^DDE formula cmd\|/ },
    { name: 'pipe-in-literal.xlsx', buf: xlsx(big + cell('"a|b"&amp;A1')), expect: 'clean' },
    { name: 'plain.docx', buf: docx(paras(300 * 1024) + fld('begin') + instr(' PAGE ') + fld('separate') + run('<w:t>1</w:t>') + fld('end')), expect: 'clean' },
    { name: 'split-around-nested.docx', buf: docx(paras(300 * 1024) + fld('begin') + instr('DD') + fld('begin') + instr('PAGE') + fld('end') + instr('E c:\\x.exe') + fld('end')), expect: /Word field "DDE"/ },
    { name: 'computed.docx', buf: docx(paras(300 * 1024) + fld('begin') + fld('begin') + instr('QUOTE 68 68 69') + fld('end') + instr(' x') + fld('end')), expect: /computed by a nested field/ },
    { name: 'simple-charref.docx', buf: docx(paras(300 * 1024) + `<w:fldSimple w:instr="&#68;&#x44;E x">${run('<w:t>r</w:t>')}</w:fldSimple>`), expect: /Word simple field "DDE"/ },
    { name: 'never-closed.docx', buf: docx(paras(300 * 1024) + fld('begin') + instr('DDEAUTO cmd')), expect: /Word field "DDEAUTO"/ },
    { name: 'frameset.docx', buf: docx(paras(300 * 1024) + `<w:frameset xmlns:w="${W}"/>`), expect: /frameset/ },
    { name: 'replacement-char.docx', buf: docx(paras(300 * 1024) + '<w:p><w:r><w:t>\ufffd</w:t></w:r></w:p>'), expect: 'quarantined' },
    { name: 'not-utf8.docx', buf: Buffer.alloc(0), expect: 'quarantined' },
    { name: 'doctype-in-comment.docx', buf: docx(paras(300 * 1024) + '<!-- <!DOCTYPE x> -->'), expect: 'quarantined' },
    { name: 'local-name-digit.docx', buf: docx(paras(300 * 1024) + '<w:p><w:2r/></w:p>'), expect: 'quarantined' },
    { name: 'unbound-prefix.docx', buf: docx(paras(300 * 1024) + '<q:p/>'), expect: 'quarantined' },
  ];
  // Bytes that are not UTF-8 far into the document part.
  {
    const parts = fx.unzip(docx(paras(300 * 1024)));
    parts['word/document.xml'] = Buffer.concat([parts['word/document.xml'].subarray(0, 280_000), Buffer.from([0xff, 0xfe, 0x41]), parts['word/document.xml'].subarray(280_000)]);
    cases.find((c) => c.name === 'not-utf8.docx')!.buf = fx.zipOf(parts);
  }
  const same = (a: SanitizeOutcome, b: SanitizeOutcome, label: string) => {
    const { durationMs: _a, at: _b, ...ra } = a.record;
    const { durationMs: _c, at: _d, ...rb } = b.record;
    assert.deepEqual(ra, rb, label);
    assert.ok(a.output === b.output || (a.output !== undefined && b.output !== undefined && a.output.equals(b.output)), `${label}: the same output bytes`);
  };
  const both = async (buf: Buffer, name: string) => {
    XML_FAST_PATH.enabled = true;
    const kept = XML_FAST_PATH.kept;
    const fast = await sanitize(buf, name);
    const keptNow = XML_FAST_PATH.kept - kept;
    XML_FAST_PATH.enabled = false;
    try {
      return { fast, dom: await sanitize(buf, name), kept: keptNow };
    } finally {
      XML_FAST_PATH.enabled = true;
    }
  };

  test('large workbooks and documents: clean parts are kept without a DOM; DDE formulas and fields anywhere (character references, CDATA, split runs, nested, never closed), framesets and malformed parts are still found', async () => {
    for (const c of cases) {
      const { fast, dom, kept } = await both(c.buf, c.name);
      same(fast, dom, c.name);
      if (c.expect === 'clean' || c.expect === 'quarantined') assert.equal(fast.record.verdict, c.expect, `${c.name}: ${fast.record.reason ?? fast.record.removed.join('; ')}`);
      else {
        assert.equal(fast.record.verdict, 'sanitized', `${c.name}: ${fast.record.reason}`);
        assert.ok(fast.record.removed.some((r) => c.expect instanceof RegExp && c.expect.test(r)), `${c.name}: ${fast.record.removed.join('; ')}`);
      }
      if (c.name.startsWith('plain.')) {
        assert.ok(kept >= 1, `${c.name}: the large part was kept without a DOM`);
        assert.ok(fast.output!.equals(c.buf), `${c.name}: the input passes byte for byte`);
      }
    }
  }, 120_000);

  test('2,000 damaged XML parts of the corpus: whatever the DOM parser refuses, the streaming look sends to it (never kept without a DOM)', () => {
    const parts: string[] = [];
    for (const rel of ['oletools/test-data/msodde/dde-test.docx', 'oletools/test-data/msodde/dde-test.xlsx', 'oletools/test-data/oleobj/embedded-simple-2007.pptx', 'oletools/test-data/msodde/harmless-clean.docm']) {
      for (const [n, d] of Object.entries(fx.unzip(fx.corpusFile(rel)))) if (/\.(xml|rels)$/.test(n) && d.length < 20_000) parts.push(d.toString('utf8'));
    }
    const snippets = ['<', '>', '&', '&amp;', '&foo;', '&#0;', '&#1;', '&#x110000;', ']]>', '<![CDATA[x]]>', '<!-- a -- b -->', '<?pi x?>', '<?xml version="1.0"?>', '"', "'", '=', ' ', 'xmlns:p="urn:x"', 'p:a="1"', '<q:x/>', 'xmlns=""', 'xmlns:a=""', 'xmlns:xml="urn:y"', '\ufffd', '\ufeff', '</a>', '<a b="1" b="2"/>', '<1a/>', '<a:b:c/>', '<w:2x/>', 'w:-a="1"', '<a:/>', '<!DOCTYPE', '\r\n', '\u{10000}', '<x\u00b7/>'];
    let seed = 15;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let refused = 0;
    for (let k = 0; k < 2000; k++) {
      let x = parts[rnd(parts.length)];
      for (let m = 1 + rnd(3); m > 0; m--) {
        const at = rnd(x.length);
        const op = rnd(3);
        x = op === 0 ? x.slice(0, at) + snippets[rnd(snippets.length)] + x.slice(at) : op === 1 ? x.slice(0, at) + x.slice(at + 1 + rnd(5)) : x.slice(0, at) + String.fromCharCode(rnd(128)) + x.slice(at + 1);
      }
      const buf = Buffer.from(x, 'utf8');
      let domRefuses = false;
      try {
        parseXml(buf, 'part');
      } catch {
        domRefuses = true;
        refused++;
      }
      if (domRefuses) assert.equal(needsDom(buf, []), true, `kept without a DOM, refused by the DOM parser: ${x.slice(0, 300)}`);
    }
    assert.ok(refused > 500, `${refused} of 2,000 damaged parts refused`);
  });

  test('every Office Open XML file of the corpus and every XML sample: the same verdict, removals and bytes with every part parsed into a DOM', async () => {
    const corpus = fs
      .readFileSync(path.join(fx.CORPUS, 'MANIFEST.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[0])
      .filter((rel) => /\.(docx|docm|dotx|dotm|xlsx|xlsm|xltx|xltm|xlam|pptx|pptm|ppsx|ppsm|potx|potm)$/i.test(rel));
    assert.ok(corpus.length >= 20, `${corpus.length} corpus OOXML files`);
    let kept = 0;
    for (const [name, buf] of [...corpus.map((rel) => [rel, fx.corpusFile(rel)] as const), ...SAMPLES.map((x) => [x.name, x.buf()] as const)]) {
      const r = await both(buf, path.basename(name));
      same(r.fast, r.dom, name);
      kept += r.kept;
    }
    assert.ok(kept > 50, `${kept} parts kept without a DOM`);
  }, 120_000);
});
