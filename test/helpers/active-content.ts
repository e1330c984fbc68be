import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as CFB from 'cfb';
import { unzipSync } from 'fflate';

/**
 * An independent detector of active content, for the tests only: it shares
 * no code with the sanitizer (another zip reader, qpdf for PDFs, plain
 * regular expressions over parts and streams). Anything it finds in an
 * output the sanitizer let through is a test failure.
 */
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
      if (/(^|\/)externallinks\/[^/]+\.xml$/.test(p) && /<(ddeLink|oleLink)\b/.test(Buffer.from(bytes).toString('utf8'))) found.push(`DDE/OLE link part ${part}`);
      if (/(^|\/)externallinks\/[^/]+\.bin$/.test(p)) {
        // BrtBeginSupBook (record 0x168, bytes E8 02) with link type 1 (DDE); OLE and workbook links are caught by their external relationship.
        const b = Buffer.from(bytes);
        const at = b.indexOf(Buffer.from([0xe8, 0x02]));
        if (at >= 0 && at + 4 < b.length && b.readUInt16LE(at + 3) === 1) found.push(`DDE link part ${part}`);
      }
      const text = Buffer.from(bytes).toString('utf8');
      if (p.endsWith('.rels')) {
        for (const rel of text.match(/<Relationship\b[^>]*>/g) ?? []) {
          if (/TargetMode="External"/i.test(rel) && !/\/hyperlink"/.test(rel)) found.push(`external relationship in ${part}: ${rel.slice(0, 120)}`);
        }
      }
      if (/\.xml$/.test(p)) {
        const instr = (text.match(/<w:instrText\b[^>]*>([^<]*)<\/w:instrText>/g) ?? []).map((x) => x.replace(/<[^>]*>/g, '')).join('');
        if (/\b(DDEAUTO|DDE)\b/i.test(instr)) found.push(`DDE field instruction in ${part}`);
        if (/w:instr="\s*DDE/i.test(text)) found.push(`DDE simple field in ${part}`);
        if (/_xlnm\.Auto_Open/i.test(text)) found.push(`Auto_Open name in ${part}`);
        if (/customui/.test(p) && /\bon[A-Z]\w*\s*=/.test(text)) found.push(`customUI callback in ${part}`);
        if (/<f\b[^>]*>[^<]*\w\|[^<]*<\/f>/.test(text)) found.push(`DDE formula in ${part}`);
      }
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
  if (/^\s*<\?xml/.test(latin) || /^\s*</.test(latin)) {
    if (/<w:binData\b[^>]*\.mso"/.test(latin)) found.push('flat XML OLE/VBA binData');
    if (/<o:OLEObject\b/.test(latin)) found.push('flat XML OLE object');
    if (/pkg:name="[^"]*(vbaProject|embeddings\/|activeX\/)/i.test(latin)) found.push('flat package macro/embedding part');
    const instr = (latin.match(/<w:instrText\b[^>]*>([^<]*)<\/w:instrText>/g) ?? []).map((x) => x.replace(/<[^>]*>/g, '')).join('');
    if (/\b(DDEAUTO|DDE)\b/i.test(instr)) found.push('flat XML DDE field');
    if (/ss:Formula="[^"]*\w\|/.test(latin)) found.push('Excel XML DDE formula');
    if (/<script\b/i.test(latin)) found.push('script element');
    return found;
  }
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
