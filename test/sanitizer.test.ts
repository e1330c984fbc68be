import { describe, test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { sanitize, SanitizeOutcome } from '../lib/sanitizer/engine';
import { DEFAULT_LIMITS } from '../lib/sanitizer/types';
import { main as sanitizeCli } from '../bin/sanitize';
import { activeContent, qdf } from './helpers/active-content';
import { captured } from './helpers/streams';
import * as fx from './helpers/sanitizer-fixtures';

const ROOT = path.resolve(__dirname, '..');

interface ManifestRow {
  readonly rel: string;
  readonly active: string;
}
const manifest: ManifestRow[] = fs
  .readFileSync(path.join(fx.CORPUS, 'MANIFEST.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map(([rel, , , active]) => ({ rel, active }))
  .filter((r) => !/LICENSE\.md$|COPYING\.txt$/.test(r.rel)); // license texts travel with the files; they are not samples

const isCleanControl = (r: ManifestRow) => /CLEAN control|large benign RTF/.test(r.active);

const results = new Map<string, SanitizeOutcome>();
async function run(rel: string): Promise<SanitizeOutcome> {
  let r = results.get(rel);
  if (!r) {
    r = await sanitize(fx.corpusFile(rel), path.basename(rel));
    results.set(rel, r);
  }
  return r;
}

/** Every sanitized output written to one folder with a unique name, for LibreOffice and qpdf. */
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sanitized-'));
const written: { file: string; from: string; type: string }[] = [];
function keep(from: string, o: SanitizeOutcome): void {
  if (o.record.verdict !== 'sanitized' || !o.output) return;
  const file = path.join(outDir, `${written.length.toString().padStart(3, '0')}-${path.basename(o.record.output!.name)}`);
  fs.writeFileSync(file, o.output);
  written.push({ file, from, type: o.record.type });
}

describe('file sanitizer: every file of the public corpus', () => {
  beforeAll(async () => {
    for (const r of manifest) keep(r.rel, await run(r.rel));
  });

  test('every file gets exactly one verdict, an audit record with hashes, and no output the detector objects to', async () => {
    assert.ok(manifest.length > 100, `${manifest.length} corpus files`);
    for (const r of manifest) {
      const o = await run(r.rel);
      const rec = o.record;
      assert.ok(['sanitized', 'clean', 'quarantined'].includes(rec.verdict), r.rel);
      assert.match(rec.input.sha256, /^[0-9a-f]{64}$/);
      assert.equal(rec.engine.name, 'three-tier-cdr');
      assert.ok(rec.durationMs >= 0);
      if (rec.verdict === 'quarantined') {
        assert.ok(rec.reason && rec.reason.length > 10, `${r.rel}: quarantined without a reason`);
        assert.equal(o.output, undefined);
      } else {
        assert.ok(o.output && rec.output, r.rel);
        assert.equal(rec.output.sha256, require('crypto').createHash('sha256').update(o.output).digest('hex'));
        assert.deepEqual(activeContent(o.output, rec.output.name), [], `${r.rel} → ${rec.output.name}`);
      }
    }
  });

  test('files with active content never come out "clean"; clean controls come out byte-identical', async () => {
    for (const r of manifest) {
      const o = await run(r.rel);
      if (isCleanControl(r) && /\.(docm|dotm|xlsm|xltm|xlam|pptm|potm|ppsm|ppam)$/.test(r.rel)) {
        // A macro-enabled clean control still changes type: macro-enabled never reaches LGWAN.
        assert.equal(o.record.verdict, 'sanitized', r.rel);
        assert.deepEqual(o.record.removed.filter((x) => !/^macro-enabled type|^content-type mapping/.test(x)), [], r.rel);
      } else if (isCleanControl(r)) {
        assert.equal(o.record.verdict, 'clean', `${r.rel}: ${o.record.reason ?? o.record.removed.join('; ')}`);
        assert.ok(o.output!.equals(fx.corpusFile(r.rel)), `${r.rel} changed`);
      } else if (!/README|all\.hdb|basic\/text|presentation\.xps/.test(r.rel)) {
        assert.notEqual(o.record.verdict, 'clean', `${r.rel} (${r.active}) passed as clean`);
      }
    }
  });

  test('OOXML: VBA, XLM macro sheets with Auto_Open, DDE/ddeauto fields, ddeLink, embeddings and external relationships are removed; macro-enabled becomes plain', async () => {
    const docm = await run('oletools/test-data/oleform/oleform-PR314.docm');
    assert.equal(docm.record.verdict, 'sanitized');
    assert.match(docm.record.output!.name, /oleform-PR314\.docx$/);
    assert.ok(docm.record.removed.some((x) => /VBA project: word\/vbaProject\.bin/.test(x)));
    const xlsm = await run('oletools/test-data/excel4-macros/excel4_sample_macro.xlsm');
    const parts = fx.unzip(xlsm.output!);
    assert.ok(!Object.keys(parts).some((p) => /macrosheets/.test(p)));
    const wb = parts['xl/workbook.xml'].toString('utf8');
    assert.doesNotMatch(wb, /Auto_Open/);
    assert.doesNotMatch(wb, /<sheet\b[^>]*name="Macro1"/);
    const dde = await run('oletools/test-data/msodde/dde-test.docx');
    assert.ok(dde.record.removed.filter((x) => /DDEAUTO|DDE"/.test(x)).length >= 2, dde.record.removed.join('\n'));
    const link = await run('oletools/test-data/msodde/dde-test.xlsx');
    assert.ok(link.record.removed.some((x) => /DDE link \(cmd \/c calc\.exe\)/.test(x)));
    const ext = await run('oletools/test-data/oleobj/external_link/sample_with_external_link_to_doc.docx');
    assert.ok(ext.record.removed.some((x) => /external relationship oleObject → https:/.test(x)));
    // Split, lowercase ddeauto across runs; hyperlinks stay, the remote template goes.
    const own = await sanitize(fx.docxWithLinks(), 'links.docx');
    assert.equal(own.record.verdict, 'sanitized');
    const files = fx.unzip(own.output!);
    assert.match(files['word/_rels/document.xml.rels'].toString(), /Type="[^"]*\/hyperlink" Target="https:\/\/www\.city\.example\.lg\.jp\/info" TargetMode="External"/);
    assert.doesNotMatch(files['word/_rels/settings.xml.rels'].toString(), /evil\.example/);
    assert.doesNotMatch(files['word/settings.xml'].toString(), /attachedTemplate/);
    assert.doesNotMatch(files['word/document.xml'].toString(), /calc\.exe/);
    assert.match(files['word/document.xml'].toString(), /市のお知らせ/);
    keep('docxWithLinks', own);
  });

  test('OLE: macro storages and ObjectPool/MBD objects are removed, DDE blanked in place; what cannot be removed safely is quarantined', async () => {
    const doc = await run('oletools/test-data/oleobj/sample_with_calc_embedded.doc');
    assert.equal(doc.record.verdict, 'sanitized');
    assert.ok(doc.record.removed.some((x) => /ObjectPool/.test(x)));
    assert.ok(doc.output!.length <= fx.corpusFile('oletools/test-data/oleobj/sample_with_calc_embedded.doc').length);
    const dde = await run('oletools/decrypted/msodde/dde-test-from-office2016.doc');
    assert.ok(dde.record.removed.some((x) => /DDEAUTO/.test(x)));
    const xls = await run('oletools/test-data/oleobj/embedded-simple-2007.xls');
    assert.ok(xls.record.removed.some((x) => /MBD[0-9A-F]+ storage/.test(x)));
    const xlm = await run('oletools/test-data/excel4-macros/excel4_sample_macro.xls');
    assert.equal(xlm.record.verdict, 'quarantined');
    assert.match(xlm.record.reason!, /XLM macro sheet "Macro1" inside the BIFF workbook stream/);
    const ppt = await run('oletools/test-data/olevba/sample_with_vba.ppt');
    assert.match(ppt.record.reason!, /VBA project stored inside the PowerPoint stream/);
  });

  test('encrypted Office files and password-protected zips are quarantined as encrypted', async () => {
    for (const r of manifest.filter((x) => /encrypted|Office-encrypted|password/i.test(x.active) || /\/encrypted\//.test(x.rel))) {
      const o = await run(r.rel);
      assert.equal(o.record.verdict, 'quarantined', r.rel);
      assert.match(o.record.reason!, /encrypted|password/i, r.rel);
    }
  });

  test('RTF: objects (with \\bin obfuscation) are replaced by their result picture, objdata/datastore and DDE fields go', async () => {
    const eq = await run('oletools/test-data/rtfobj/issue_251.rtf');
    assert.equal(eq.record.verdict, 'sanitized');
    assert.match(eq.record.removed.join('\n'), /embedded object \(Equation\.3\)/);
    const own = await sanitize(fx.RTF_WITH_OBJECTS, 'letter.rtf');
    const text = own.output!.toString('latin1');
    assert.doesNotMatch(text, /\\object|\\objdata|\\datastore|DDEAUTO/);
    assert.match(text, /\[Package object\]/, 'the object result is kept');
    assert.match(text, /Before the object\..*After\./s);
    keep('RTF_WITH_OBJECTS', own);
    const spec = await run('oletools/test-data/msodde/RTF-Spec-1.7.rtf');
    assert.equal(spec.record.verdict, 'clean');
  });

  test('RTF of several megabytes: objects, data destinations and DDE fields deep inside are still removed; the rest stays byte for byte', async () => {
    const para = '\\par Body text of a long letter, with {\\b bold} and {\\i {\\ul nested}} words. ';
    const body = (n: number) => para.repeat(Math.ceil(n / para.length));
    const rtf = (...parts: string[]) => Buffer.from(parts.join(''), 'latin1');
    const head = `{\\rtf1\\ansi ${body(1.5 * 1024 * 1024)}`;
    const tail = `${body(512 * 1024)}\\par}`;
    // An object past the first megabyte: replaced by its result, everything around it unchanged.
    const object = '{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata 0105000002000000}{\\result {\\b [object]}}}';
    const o1 = await sanitize(rtf(head, object, tail), 'far.rtf');
    assert.equal(o1.record.verdict, 'sanitized');
    assert.deepEqual(o1.record.removed, ['embedded object (Package), kept its result picture']);
    assert.ok(o1.output!.equals(rtf(head, '{{\\b [object]}}', tail)), 'only the object group changed');
    // \objdata with megabytes of data (hex, nested groups, \bin raw bytes holding braces and backslashes): the whole destination goes.
    const data = `{\\*\\objdata ${'d0cf11e0a1b11ae1'.repeat(128 * 1024)}{\\*\\inner {\\x 01}}\\bin6 {}\\}{ ${'00'.repeat(256 * 1024)}}`;
    const o2 = await sanitize(rtf(head, data, tail), 'data.rtf');
    assert.deepEqual(o2.record.removed, ['\\objdata destination']);
    assert.ok(o2.output!.equals(rtf(head, '{}', tail)));
    // An object word after megabytes of text in its group, not at its start: the group goes.
    const late = `{\\fs20 ${body(1024 * 1024)}\\objemb\\objdata 01}`;
    const o3 = await sanitize(rtf(head, late, tail), 'late.rtf');
    assert.deepEqual(o3.record.removed, ['\\objemb group (not at the start of its group)']);
    assert.ok(o3.output!.equals(rtf(head, '{}', tail)));
    // DDE field instructions far into the file, one spread over a field of a megabyte, one right after a nested \fldinst.
    const field = `{\\field{\\*\\fldinst {${body(1024 * 1024)} DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"}}{\\fldrslt {result}}}`;
    const nested = '{\\field{\\*\\fldinst {\\fldinst DDE x}{\\fldinst\\fldinstMACROBUTTON y}}{\\fldrslt r}}';
    const o4 = await sanitize(rtf(head, field, nested, tail), 'fields.rtf');
    assert.deepEqual(
      o4.record.removed.map((r) => r.split(' (')[0]),
      ['field instruction DDEAUTO', 'field instruction DDE', 'field instruction MACROBUTTON'],
    );
    assert.doesNotMatch(o4.output!.toString('latin1'), /DDE|MACROBUTTON/);
    assert.ok(o4.output!.equals(rtf(head, field.replace(' DDEAUTO ', '  '), nested.replace(' DDE ', '  ').replace('MACROBUTTON', ''), tail)));
    // Nothing to remove: clean, the input itself passes.
    const plain = rtf(head, '{\\pict\\pngblip 89504e47}', tail);
    const o5 = await sanitize(plain, 'plain.rtf');
    assert.equal(o5.record.verdict, 'clean');
    assert.ok(o5.output!.equals(plain));
  });

  test('RTF structure checks: nesting depth, unbalanced groups, \\bin past the end, object words left outside a removable group', async () => {
    const rtf = (s: string) => Buffer.from(s, 'latin1');
    const verdict = async (s: string) => (await sanitize(rtf(s), 'x.rtf')).record;
    assert.equal((await verdict(`{\\rtf1 ${'{'.repeat(1024)}x${'}'.repeat(1024)}}`)).verdict, 'clean', '1,025 levels are allowed');
    assert.match((await verdict(`{\\rtf1 ${'{'.repeat(1025)}x${'}'.repeat(1025)}}`)).reason!, /RTF nesting deeper than 1024 groups/);
    assert.match((await verdict('{\\rtf1 {\\b x}}}')).reason!, /a group closes that was never opened/);
    assert.match((await verdict('{\\rtf1 {\\b x}')).reason!, /a group is never closed/);
    assert.match((await verdict('{\\rtf1 \\bin100 abc}')).reason!, /\\bin runs past the end/);
    assert.match((await verdict('{\\rtf1 \\bin-1 abc}')).reason!, /\\bin runs past the end/);
    assert.equal((await verdict('{\\rtf1 \\bin5 {{{{{}')).verdict, 'clean', '\\bin data is raw bytes, not groups');
    assert.match((await verdict('{\\rtf1 {\\objemb x}}')).reason!, /still holds \\objemb outside a group that could be removed/);
    assert.match((await verdict('{\\rtf1 {\\object{\\result \\objdata x}}}')).reason!, /still holds \\objdata/);
    assert.equal((await verdict('{\\rtf1 \\\\objdata {\\objectx}}')).verdict, 'clean', 'an escaped backslash and a longer word are not object words');
  });

  test('CSV formula injection, HTML and images', async () => {
    const csv = await run('oletools/test-data/msodde/dde-in-csv.csv');
    assert.equal(csv.record.verdict, 'sanitized');
    assert.match(csv.output!.toString('latin1'), /^'=cmd\|/);
    const numbers = await sanitize(Buffer.from('name,amount\n田中,-1200\n"=HYPERLINK(""http://x"")",+81-3\n@SUM(A1),3\n', 'utf8'), 'list.csv');
    const out = numbers.output!.toString('utf8');
    assert.match(out, /田中,-1200/, 'negative numbers stay numbers');
    assert.match(out, /"'=HYPERLINK/);
    assert.match(out, /'\+81-3/);
    assert.match(out, /'@SUM/);
    const html = await sanitize(Buffer.from('<!doctype html><html><body><script>evil()</script><p>お知らせ <a href="https://www.city.example.lg.jp/a">詳細</a></p><ul><li>一</li><li>二</li></ul></body></html>'), 'notice.html');
    assert.equal(html.record.output!.name, 'notice.txt');
    assert.equal(html.output!.toString(), 'お知らせ 詳細 [ https://www.city.example.lg.jp/a ]\n\n- 一\n- 二\n');
    const exif = await sanitize(fx.jpegWithExif(), 'photo.jpg');
    assert.equal(exif.record.verdict, 'sanitized');
    assert.doesNotMatch(exif.output!.toString('latin1'), /Exif|secret-location/);
    const png = await sanitize(fx.pngWithText(), 'chart.png');
    assert.doesNotMatch(png.output!.toString('latin1'), /tEXt|script/);
    const poly = await run('clamav/polyglot-jpg-zip.jpg');
    assert.equal(poly.record.verdict, 'quarantined');
    assert.match(poly.record.reason!, /polyglot: \d+ bytes after the end of the JPEG image \(zip signature inside\)/);
  });

  test('archives: every entry through the engine; one bad entry quarantines the archive', async () => {
    const inner = fx.corpusFile('oletools/test-data/oleform/oleform-PR314.docm');
    const zip = await sanitize(fx.zipOf({ 'docs/form.docm': inner, 'docs/readme.txt': Buffer.from('hello\n') }), 'bundle.zip');
    assert.equal(zip.record.verdict, 'sanitized');
    const entries = fx.unzip(zip.output!);
    assert.deepEqual(Object.keys(entries).sort(), ['docs/form.docx', 'docs/readme.txt']);
    assert.deepEqual(activeContent(zip.output!, 'bundle.zip'), []);
    const eicar = await run('clamav/eicar.zip');
    assert.equal(eicar.record.verdict, 'quarantined');
    assert.match(eicar.record.reason!, /archive entry "eicar\.com"/);
  });
});

describe('file sanitizer: PDF', () => {
  test('JavaScript, OpenAction, AA, Launch, GoToR, SubmitForm, embedded files, FileAttachment/RichMedia and XFA go, in object streams too; the payload is not written; URI links stay', async () => {
    for (const objectStreams of [true, false]) {
      const input = await fx.activePdf({ objectStreams });
      assert.notDeepEqual(activeContent(input, 'in.pdf'), [], 'the fixture really carries active content');
      const o = await sanitize(input, 'active.pdf');
      assert.equal(o.record.verdict, 'sanitized', o.record.reason);
      assert.deepEqual(activeContent(o.output!, 'out.pdf'), []);
      const text = qdf(o.output!);
      assert.doesNotMatch(text, new RegExp(fx.PAYLOAD_MARKER), 'the embedded payload is gone, not just unreferenced');
      assert.match(text, /\/URI \(https:\/\/www\.city\.example\.lg\.jp\/\)/);
      assert.match(text, /Hello from the sanitizer test|Tj/);
      const reread = await PDFDocument.load(o.output!);
      assert.equal(reread.getPageCount(), 1);
      keep(`activePdf(objectStreams=${objectStreams})`, o);
    }
  });

  test('a clean PDF passes unchanged; an encrypted PDF is quarantined', async () => {
    const clean = await fx.cleanPdf();
    const o = await sanitize(clean, 'plain.pdf');
    assert.equal(o.record.verdict, 'clean');
    assert.ok(o.output!.equals(clean));
    const enc = await sanitize(await fx.encryptedPdf(), 'secret.pdf');
    assert.equal(enc.record.verdict, 'quarantined');
    assert.match(enc.record.reason!, /encrypted PDF/);
  });
});

describe('file sanitizer: bad input never crashes and never passes', () => {
  const quarantined = async (buf: Buffer, name: string, reason: RegExp) => {
    const o = await sanitize(buf, name);
    assert.equal(o.record.verdict, 'quarantined', `${name}: ${o.record.verdict}`);
    assert.match(o.record.reason!, reason, name);
    assert.equal(o.output, undefined);
  };
  test('truncated zips, zip bombs (declared and forged sizes), deep nesting', async () => {
    const docx = fx.corpusFile('oletools/test-data/msodde/dde-test.docx');
    for (const cut of [10, 100, 1000, 4000, docx.length - 30, docx.length - 1]) await quarantined(docx.subarray(0, cut), 'cut.docx', /malformed|truncated/);
    await quarantined(fx.zipBomb(), 'bomb.zip', /zip bomb/);
    await quarantined(fx.lyingZip(), 'liar.zip', /zip bomb|inflates past|declared/);
    await quarantined(fx.nestedZip(DEFAULT_LIMITS.maxDepth + 3), 'deep.zip', /nesting deeper than 8 archives/);
    const ok = await sanitize(fx.nestedZip(3), 'shallow.zip');
    assert.equal(ok.record.verdict, 'clean');
  });
  test('wrong extensions, polyglots, empty and unknown files', async () => {
    await quarantined(await fx.cleanPdf(), 'report.docx', /wrong or disguised extension: the content is PDF but the name ends in \.docx/);
    await quarantined(fx.corpusFile('oletools/test-data/msodde/harmless-clean.docx'), 'invoice.pdf', /wrong or disguised extension/);
    await quarantined(Buffer.concat([Buffer.from('GARBAGE\n'), await fx.cleanPdf()]), 'front.pdf', /polyglot: the PDF header does not start the file/);
    await quarantined(fx.corpusFile('clamav/polyglot-jpg-zip.jpg'), 'photo.jpg', /polyglot/);
    await quarantined(Buffer.alloc(0), 'empty.docx', /empty file/);
    await quarantined(fx.corpusFile('clamav/eicar.com'), 'eicar.com', /unknown or unsupported type \(\.com\)/);
  });
  test('limits: size and time', async () => {
    const big = await sanitize(Buffer.alloc(2048, 0x41), 'big.txt', { ...DEFAULT_LIMITS, maxBytes: 1024 });
    assert.match(big.record.reason!, /larger than the limit of 1024 bytes/);
    let t = 0;
    const slow = await sanitize(fx.corpusFile('oletools/test-data/msodde/RTF-Spec-1.7.rtf'), 'spec.rtf', { ...DEFAULT_LIMITS, timeoutMs: 5 }, () => (t += 3));
    assert.equal(slow.record.verdict, 'quarantined');
    assert.match(slow.record.reason!, /time limit/);
  });
  test('random corruption and truncation of real documents: no crash, and nothing active ever passes (2,000 mutants)', async () => {
    const seeds: { rel: string; buf: Buffer }[] = [
      'oletools/test-data/msodde/dde-test.docx',
      'oletools/test-data/oleform/oleform-PR314.docm',
      'oletools/decrypted/msodde/dde-test-from-office2016.doc',
      'oletools/test-data/oleobj/sample_with_calc_embedded.doc',
      'oletools/test-data/oleobj/embedded-simple-2007.xls',
      'oletools/test-data/rtfobj/issue_251.rtf',
      'oletools/test-data/excel4-macros/excel4_sample_macro.xlsm',
      'oletools/test-data/oleobj/embedded-simple-2007.xml',
      'oletools/test-data/msodde/dde-in-excel2003.xml',
      'oletools/test-data/msodde/dde-in-csv.csv',
    ].map((rel) => ({ rel, buf: fx.corpusFile(rel) }));
    seeds.push({ rel: 'active.pdf', buf: await fx.activePdf({ objectStreams: true }) }, { rel: 'flat.pdf', buf: await fx.activePdf({ objectStreams: false }) }, { rel: 'letter.rtf', buf: fx.RTF_WITH_OBJECTS }, { rel: 'links.docx', buf: fx.docxWithLinks() });
    let state = 0x2545f491;
    const rnd = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const verdicts: Record<string, number> = { sanitized: 0, clean: 0, quarantined: 0 };
    for (let i = 0; i < 2000; i++) {
      const seed = seeds[i % seeds.length];
      const m = Buffer.from(seed.buf);
      const flips = 1 + Math.floor(rnd() * 16);
      for (let f = 0; f < flips; f++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      const input = rnd() < 0.15 ? m.subarray(0, Math.floor(rnd() * m.length)) : m;
      const o = await sanitize(input, path.basename(seed.rel));
      assert.doesNotMatch(o.record.reason ?? '', /^sanitizer error/, `mutant ${i} of ${seed.rel} hit a bug`);
      verdicts[o.record.verdict]++;
      if (o.output) assert.deepEqual(activeContent(o.output, o.record.output!.name), [], `mutant ${i} of ${seed.rel}`);
    }
    assert.equal(verdicts.sanitized + verdicts.clean + verdicts.quarantined, 2000);
    assert.ok(verdicts.quarantined > 0 && verdicts.sanitized > 0, JSON.stringify(verdicts));
  });
});

describe('file sanitizer: outputs still open', () => {
  test('every sanitized Office output opens in LibreOffice headless (converted to PDF)', () => {
    const office = written.filter((w) => /^(ooxml|ole|rtf|xml)\//.test(w.type) || w.type === 'rtf');
    assert.ok(office.length >= 50, `${office.length} sanitized Office files`);
    const pdfDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-'));
    const r = spawnSync('soffice', ['--headless', '--norestore', `-env:UserInstallation=file://${pdfDir}/profile`, '--convert-to', 'pdf', '--outdir', pdfDir, ...office.map((w) => w.file)], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.error, undefined, `soffice: ${r.error?.message} (is LibreOffice installed? .ci/run installs it)`);
    const missing = office.filter((w) => {
      const pdf = path.join(pdfDir, `${path.basename(w.file).replace(/\.[^.]+$/, '')}.pdf`);
      return !fs.existsSync(pdf) || fs.statSync(pdf).size < 500;
    });
    assert.deepEqual(missing.map((w) => `${w.from} (${path.basename(w.file)})`), [], r.stdout + r.stderr);
  });
  test('every sanitized PDF passes qpdf --check', () => {
    const pdfs = written.filter((w) => w.type === 'pdf');
    assert.ok(pdfs.length >= 2);
    for (const w of pdfs) {
      const r = spawnSync('qpdf', ['--check', w.file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${w.from}: ${r.stdout}${r.stderr}`);
    }
  });
});

describe('npm run sanitize (command line)', () => {
  const cli = async (argv: string[]) => {
    const io = captured();
    const code = await sanitizeCli(argv, io);
    return { code, out: io.out(), err: io.err() };
  };
  test('over the whole corpus: outputs, quarantine/ and one audit line per input; exit 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const r = await cli(['--out', dir, fx.CORPUS]);
    assert.equal(r.code, 0, r.err);
    const lines = fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const inputs: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => inputs.push(p))(path.join(d, e.name));
    };
    walk(fx.CORPUS);
    assert.equal(lines.length, inputs.length, 'exactly one audit record per input');
    assert.equal(new Set(lines.map((l) => l.input.name)).size, inputs.length);
    for (const l of lines) {
      assert.ok(l.file && fs.existsSync(path.join(dir, l.file)), `${l.input.name}: written to ${l.file}`);
      if (l.verdict === 'quarantined') assert.match(l.file, /^quarantine\//);
      for (const k of ['input', 'type', 'removed', 'verdict', 'engine', 'durationMs']) assert.ok(k in l, k);
    }
    assert.match(r.out, /\d+ files: \d+ sanitized, \d+ clean, \d+ quarantined/);
  });
  test('usage errors exit 2', async () => {
    assert.equal((await cli([fx.CORPUS])).code, 2);
    assert.match((await cli(['--out', os.tmpdir()])).err, /no input files/);
    assert.match((await cli(['--out', os.tmpdir(), '/no/such/file'])).err, /no such file or directory: \/no\/such\/file/);
    assert.equal((await cli(['--bogus'])).code, 2);
  });
  test('runs as npm run sanitize (tsx entry point)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli2-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/sanitize.ts', '--out', dir, path.join(fx.CORPUS, 'oletools/test-data/msodde/dde-in-csv.csv')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /sanitized\s+dde-in-csv\.csv/);
    assert.ok(fs.existsSync(path.join(dir, 'dde-in-csv.csv')));
  });
});
