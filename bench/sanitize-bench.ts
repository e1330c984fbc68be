/**
 * `npm run bench:sanitize`: the file sanitizer over the public corpus and a
 * generated set up to 50 MB, measured side by side with today's municipal
 * practice, "convert to PDF" (`soffice --headless --convert-to pdf`, one
 * process per file, as a sanitizing box runs it), on the same Office files.
 * Prints files/s, MB/s, p50 and p99 per file (wall time, and the CPU time of
 * this process, which other load on the machine does not inflate much), and
 * the ratio.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PDFDocument, PDFName, PDFString } from 'pdf-lib';
import { zipSync } from 'fflate';
import { sanitize } from '../lib/sanitizer/engine';

const CORPUS = path.resolve(__dirname, '..', 'test', 'fixtures', 'corpus');
/**
 * OLD_ENGINE=<dir>: a checkout of an earlier engine (its lib/ beside a node_modules), measured on the
 * same files side by side, e.g. the regex engine before XML parsing (#15):
 *   mkdir -p /tmp/old-engine && git archive 9e293b7 lib | tar -x -C /tmp/old-engine && ln -s "$PWD/node_modules" /tmp/old-engine/
 *   OLD_ENGINE=/tmp/old-engine npm run bench:sanitize
 */
const OLD_ENGINE = process.env.OLD_ENGINE;
type SanitizeFn = typeof sanitize;
const MB = 1024 * 1024;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sanitize-'));

function walk(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A macro-enabled Word document of about `size` bytes: incompressible media plus a VBA project. */
function bigDocm(size: number): Buffer {
  const ct = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>`;
  const rels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`;
  const docRels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/blob.png"/></Relationships>`;
  const paras = Array.from({ length: 2000 }, (_, i) => `<w:p><w:r><w:t>第${i}段落 住民の皆さまへのお知らせです。</w:t></w:r></w:p>`).join('');
  const doc = `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${paras}<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO cmd "/c calc"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:body></w:document>`;
  const files: Record<string, [Uint8Array, { level: 0 | 6 }]> = {
    '[Content_Types].xml': [Buffer.from(ct), { level: 6 }],
    '_rels/.rels': [Buffer.from(rels), { level: 6 }],
    'word/document.xml': [Buffer.from(doc), { level: 6 }],
    'word/_rels/document.xml.rels': [Buffer.from(docRels), { level: 6 }],
    'word/vbaProject.bin': [randomBytes(64 * 1024), { level: 0 }],
    'word/media/blob.png': [randomBytes(Math.max(0, size - 200 * 1024)), { level: 0 }],
  };
  return Buffer.from(zipSync(files));
}

async function bigPdf(size: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  for (let i = 0; i < 20; i++) doc.addPage([595, 842]).drawText(`Page ${i + 1}`, { x: 50, y: 800, size: 14 });
  const ctx = doc.context;
  const blob = ctx.register(ctx.stream(randomBytes(Math.max(0, size - 50 * 1024)), { Type: 'EmbeddedFile' }));
  const spec = ctx.register(ctx.obj({ Type: 'Filespec', F: PDFString.of('payload.bin'), EF: ctx.obj({ F: blob }) }));
  doc.catalog.set(PDFName.of('Names'), ctx.obj({ EmbeddedFiles: ctx.obj({ Names: [PDFString.of('payload.bin'), spec] }) }));
  doc.catalog.set(PDFName.of('OpenAction'), ctx.obj({ S: 'JavaScript', JS: PDFString.of('app.alert(1)') }));
  return Buffer.from(await doc.save());
}

function bigCsv(size: number): Buffer {
  const rows: string[] = ['id,name,amount,note'];
  let n = rows[0].length;
  for (let i = 0; n < size; i++) {
    const row = i % 1000 === 0 ? `${i},"=cmd|' /c calc'!A0",-${i},@SUM(A1)` : `${i},住民${i},${i * 100},"備考, ${i}"`;
    rows.push(row);
    n += Buffer.byteLength(row) + 1;
  }
  return Buffer.from(rows.join('\n'));
}

function bigRtf(size: number): Buffer {
  const para = '\\par 住民の皆さまへ。This is body text of a long letter, with {\\b bold} words. ';
  const body: string[] = [];
  let n = 0;
  while (n < size) {
    body.push(para);
    n += para.length;
  }
  return Buffer.from(`{\\rtf1\\ansi ${body.join('')}{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata 01050000}{\\result {\\b [object]}}}\\par}`, 'latin1');
}

/**
 * A workbook whose one sheet holds about `size` bytes of XML (numbers, text, formulas), the way large
 * spreadsheets are: the file itself is about 8× smaller (XML compresses well). Named gen-<N>mb-xml.xlsx.
 */
function bigXlsx(size: number): Buffer {
  const ct = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`;
  const rels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`;
  const wb = `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="住民" sheetId="1" r:id="rId1"/></sheets></workbook>`;
  const wbRels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`;
  const rows: string[] = [];
  for (let i = 1, n = 0; n < size; i++) {
    const r = `<row r="${i}"><c r="A${i}"><v>${i}</v></c><c r="B${i}" t="inlineStr"><is><t>住民${i} 備考</t></is></c><c r="C${i}"><f>A${i}*2</f><v>${i * 2}</v></c></row>`;
    rows.push(r);
    n += Buffer.byteLength(r);
  }
  const sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows.join('')}</sheetData></worksheet>`;
  return Buffer.from(zipSync({ '[Content_Types].xml': Buffer.from(ct), '_rels/.rels': Buffer.from(rels), 'xl/workbook.xml': Buffer.from(wb), 'xl/_rels/workbook.xml.rels': Buffer.from(wbRels), 'xl/worksheets/sheet1.xml': Buffer.from(sheet) }));
}

interface Timing {
  readonly file: string;
  readonly bytes: number;
  readonly ms: number;
  /** CPU time of this process (user + system) for the file; undefined for LibreOffice (another process). */
  readonly cpuMs?: number;
  readonly verdict: string;
}

async function measure(files: { name: string; buf: Buffer }[], engine: SanitizeFn = sanitize): Promise<Timing[]> {
  const out: Timing[] = [];
  for (const f of files) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await engine(f.buf, f.name);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    out.push({ file: f.name, bytes: f.buf.length, ms, cpuMs: (c.user + c.system) / 1000, verdict: r.record.verdict });
  }
  return out;
}

function summary(label: string, t: Timing[]): Record<string, string | number> {
  const ms = t.map((x) => x.ms).sort((a, b) => a - b);
  const total = ms.reduce((a, b) => a + b, 0) / 1000;
  const bytes = t.reduce((a, b) => a + b.bytes, 0);
  const cpu = t.every((x) => x.cpuMs !== undefined) ? t.map((x) => x.cpuMs!).sort((a, b) => a - b) : undefined;
  return {
    label,
    files: t.length,
    'MB in': +(bytes / MB).toFixed(1),
    'total s': +total.toFixed(2),
    'files/s': +(t.length / total).toFixed(1),
    'MB/s': +(bytes / MB / total).toFixed(1),
    'p50 ms': +pct(ms, 50).toFixed(1),
    'p99 ms': +pct(ms, 99).toFixed(1),
    'max ms': +ms[ms.length - 1].toFixed(1),
    'p50 cpu ms': cpu ? +pct(cpu, 50).toFixed(1) : '',
    'p99 cpu ms': cpu ? +pct(cpu, 99).toFixed(1) : '',
    'max cpu ms': cpu ? +cpu[cpu.length - 1].toFixed(1) : '',
  };
}

async function main(): Promise<void> {
  const corpus = walk(CORPUS)
    .filter((f) => !/MANIFEST\.tsv|README\.md|LICENSE\.md/.test(f))
    .sort()
    .map((f) => ({ name: path.basename(f), buf: fs.readFileSync(f), file: f }));
  const generated: { name: string; buf: Buffer }[] = [];
  for (const mb of [1, 5, 20, 50]) {
    generated.push({ name: `gen-${mb}mb.docm`, buf: bigDocm(mb * MB) });
    generated.push({ name: `gen-${mb}mb.pdf`, buf: await bigPdf(mb * MB) });
    generated.push({ name: `gen-${mb}mb.csv`, buf: bigCsv(mb * MB) });
    generated.push({ name: `gen-${mb}mb.rtf`, buf: bigRtf(mb * MB) });
    generated.push({ name: `gen-${mb}mb-xml.xlsx`, buf: bigXlsx(mb * MB) });
  }
  // Warm up the JIT once on a few files (not counted).
  await measure(corpus.slice(0, 10));
  const tCorpus = await measure(corpus);
  const tGen = await measure(generated);
  // Nominal sizes 1, 5 and 20 MB (a generated "20 MB" file is a few bytes over 20 MiB; the -xml.xlsx files are that much sheet XML, in a smaller file).
  const upTo20 = tGen.filter((t) => /^gen-(1|5|20)mb[.-]/.test(t.file));
  const rows = [summary('CDR: public corpus', tCorpus), summary('CDR: generated 1-50 MB', tGen), summary('CDR: generated ≤ 20 MB', upTo20)];
  if (OLD_ENGINE) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const old = require(path.resolve(OLD_ENGINE, 'lib', 'sanitizer', 'engine')).sanitize as SanitizeFn;
    await measure(corpus.slice(0, 10), old);
    const oCorpus = await measure(corpus, old);
    const oGen = await measure(generated, old);
    // The XML-carrying files only (OOXML packages and flat XML): where parsing costs.
    const xmlFiles = corpus.filter((f) => /\.(docx|docm|dotx|dotm|xlsx|xlsm|xltx|xltm|xlam|pptx|pptm|ppsx|ppsm|potx|potm|xml)$/i.test(f.name));
    const nXml = await measure(xmlFiles);
    const oXml = await measure(xmlFiles, old);
    rows.push(summary('OLD engine: public corpus', oCorpus), summary('OLD engine: generated 1-50 MB', oGen), summary('NEW: corpus OOXML + flat XML', nXml), summary('OLD: corpus OOXML + flat XML', oXml));
    const tot = (t: Timing[]) => t.reduce((a, b) => a + b.ms, 0);
    console.log(`old vs new on the same files: corpus ${tot(oCorpus).toFixed(0)} ms → ${tot(tCorpus).toFixed(0)} ms (×${(tot(tCorpus) / tot(oCorpus)).toFixed(2)}); XML-carrying ${tot(oXml).toFixed(0)} ms → ${tot(nXml).toFixed(0)} ms (×${(tot(nXml) / tot(oXml)).toFixed(2)}); generated ${tot(oGen).toFixed(0)} ms → ${tot(tGen).toFixed(0)} ms`);
    // CPU time, the two engines interleaved file by file: robust against other load on the machine (wall time is not).
    const cpuMs = async (engine: SanitizeFn, f: { name: string; buf: Buffer }) => {
      const c0 = process.cpuUsage();
      await engine(f.buf, f.name);
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1000;
    };
    const cpu = { oldXml: [] as number[], newXml: [] as number[], oldGen: [] as number[], newGen: [] as number[] };
    for (const f of xmlFiles) {
      cpu.oldXml.push(await cpuMs(old, f));
      cpu.newXml.push(await cpuMs(sanitize, f));
    }
    for (const f of generated) {
      cpu.oldGen.push(await cpuMs(old, f));
      cpu.newGen.push(await cpuMs(sanitize, f));
    }
    const sum = (x: number[]) => x.reduce((a, b) => a + b, 0);
    const p = (x: number[], q: number) => pct([...x].sort((a, b) => a - b), q);
    console.log(`CPU time, interleaved (old → new): ${xmlFiles.length} corpus OOXML/flat XML files total ${sum(cpu.oldXml).toFixed(0)} → ${sum(cpu.newXml).toFixed(0)} ms (×${(sum(cpu.newXml) / sum(cpu.oldXml)).toFixed(2)}), p50 ${p(cpu.oldXml, 50).toFixed(1)} → ${p(cpu.newXml, 50).toFixed(1)} ms, p99 ${p(cpu.oldXml, 99).toFixed(1)} → ${p(cpu.newXml, 99).toFixed(1)} ms`);
    for (const [i, f] of generated.entries()) console.log(`  CPU ${f.name.padEnd(20)} old ${cpu.oldGen[i].toFixed(0).padStart(6)} ms  new ${cpu.newGen[i].toFixed(0).padStart(6)} ms`);
    const verdictDiff = tCorpus.flatMap((t, i) => (t.verdict !== oCorpus[i].verdict ? [`${t.file}: ${oCorpus[i].verdict} → ${t.verdict}`] : []));
    if (verdictDiff.length) console.log(`verdicts that changed (old → new): ${verdictDiff.join('; ')}`);
  }

  // Baseline: LibreOffice convert-to-pdf, one process per file, on the Office files both can read.
  const office = corpus.filter((f) => /\.(docx?|docm|dotx?|dotm|xlsx?|xlsm|xltx?|xltm|pptx?|pptm|ppsx?|ppsm|potx?|potm|rtf)$/i.test(f.name) && !/encrypt/i.test(f.file));
  const gOffice = generated.filter((g) => /\.(docm|rtf)$/.test(g.name) && /^gen-(1|5|20)mb\./.test(g.name));
  // LO_SAMPLE=N: the baseline on an evenly spread sample of N corpus Office files (one LibreOffice start per file is slow on a busy machine).
  const loSample = Number(process.env.LO_SAMPLE ?? 0);
  if (loSample > 0 && office.length > loSample) {
    const step = office.length / loSample;
    const picked = Array.from({ length: loSample }, (_, i) => office[Math.floor(i * step)]);
    office.splice(0, office.length, ...picked);
  }
  const soffice = spawnSync('soffice', ['--version'], { encoding: 'utf8' });
  const baseline: Timing[] = [];
  const same: Timing[] = [];
  if (soffice.status === 0 && !process.env.SKIP_LIBREOFFICE) {
    const profile = `file://${path.join(work, 'lo-profile')}`;
    for (const f of [...office, ...gOffice]) {
      const src = path.join(work, f.name);
      fs.writeFileSync(src, f.buf);
      const t0 = process.hrtime.bigint();
      const r = spawnSync('soffice', ['--headless', '--norestore', `-env:UserInstallation=${profile}`, '--convert-to', 'pdf', '--outdir', path.join(work, 'pdf'), src], { encoding: 'utf8', timeout: 600_000 });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const ok = r.status === 0 && fs.existsSync(path.join(work, 'pdf', f.name.replace(/\.[^.]+$/, '.pdf')));
      baseline.push({ file: f.name, bytes: f.buf.length, ms, verdict: ok ? 'converted' : 'failed' });
      same.push(...(await measure([f])));
    }
    rows.push(summary('CDR: same Office files', same), summary('LibreOffice convert-to-pdf: same files', baseline));
  }
  console.log(`file sanitizer benchmark (${os.cpus().length} cores, node ${process.version})\n`);
  console.table(rows);
  const verdicts = (t: Timing[]) => t.reduce<Record<string, number>>((a, x) => ((a[x.verdict] = (a[x.verdict] ?? 0) + 1), a), {});
  console.log('verdicts, corpus:', verdicts(tCorpus), ' generated:', verdicts(tGen), baseline.length ? ` LibreOffice: ${JSON.stringify(verdicts(baseline))}` : '');
  for (const t of tGen) console.log(`  ${t.file.padEnd(20)} ${(t.bytes / MB).toFixed(1).padStart(6)} MB  ${t.ms.toFixed(1).padStart(8)} ms  cpu ${t.cpuMs!.toFixed(1).padStart(8)} ms  ${t.verdict}`);
  if (baseline.length) {
    const b = summary('', baseline);
    const s = summary('', same);
    console.log(`\nratio on the same ${baseline.length} Office files: LibreOffice total ${b['total s']} s vs CDR ${s['total s']} s → CDR is ${(Number(b['total s']) / Number(s['total s'])).toFixed(0)}× faster; p50 ${b['p50 ms']} ms vs ${s['p50 ms']} ms (${(Number(b['p50 ms']) / Number(s['p50 ms'])).toFixed(0)}×), p99 ${b['p99 ms']} ms vs ${s['p99 ms']} ms (${(Number(b['p99 ms']) / Number(s['p99 ms'])).toFixed(0)}×)`);
  } else console.log('\n(soffice not found: the LibreOffice baseline was skipped; install libreoffice to compare)');
  const target = summary('', [...tCorpus, ...upTo20]);
  const p99 = Number(target['p99 ms']);
  const p99cpu = Number(target['p99 cpu ms']);
  console.log(`target: p99 under 1 s per file up to 20 MB → p99 ${p99} ms wall: ${p99 < 1000 ? 'met' : 'NOT met'}; p99 ${p99cpu} ms CPU: ${p99cpu < 1000 ? 'met' : 'NOT met'} (max ${target['max ms']} ms wall, ${target['max cpu ms']} ms CPU)`);
  fs.mkdirSync(path.resolve(__dirname, '..', '.bench'), { recursive: true });
  fs.writeFileSync(path.resolve(__dirname, '..', '.bench', 'sanitize.json'), JSON.stringify({ at: new Date().toISOString(), rows, generated: tGen }, null, 2));
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
