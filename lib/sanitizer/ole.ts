import * as CFB from 'cfb';
import { Budget, FamilyResult, Quarantine } from './types';

/**
 * OLE/CFB documents (Word 97-2003, Excel 97-2003 and 5.0, PowerPoint
 * 97-2003). Removes macro storages (Macros, _VBA_PROJECT_CUR) and embedded
 * objects (ObjectPool, MBD*), and blanks DDE/DDEAUTO field instructions in
 * place (same length, so every offset in the file stays right). What cannot be
 * removed safely — XLM macro sheets and DDE links inside the BIFF workbook
 * stream, objects and VBA stored inside the PowerPoint stream — is
 * quarantined, as is every encrypted file.
 */

export function isCfb(buf: Buffer): boolean {
  return buf.length >= 512 && buf.readUInt32BE(0) === 0xd0cf11e0 && buf.readUInt32BE(4) === 0xa1b11ae1;
}

function streamOf(c: CFB.CFB$Container, name: string): Buffer | undefined {
  const i = c.FullPaths.findIndex((p) => p.toLowerCase() === `root entry/${name}`.toLowerCase());
  if (i < 0) return undefined;
  const content = c.FileIndex[i].content as unknown;
  return content ? Buffer.from(content as Uint8Array) : Buffer.alloc(0);
}

function topLevel(c: CFB.CFB$Container): string[] {
  return c.FullPaths.filter((p) => /^Root Entry\/[^/]+\/?$/.test(p)).map((p) => p.slice('Root Entry/'.length).replace(/\/$/, ''));
}

/** Removes a storage and everything under it. */
function removeStorage(c: CFB.CFB$Container, name: string): number {
  const prefix = `Root Entry/${name}`;
  const paths = c.FullPaths.filter((p) => p === prefix || p === `${prefix}/` || p.startsWith(`${prefix}/`)).sort((a, b) => b.length - a.length);
  for (const p of paths) CFB.utils.cfb_del(c, p);
  return paths.length;
}

/** Blanks DDE / DDEAUTO / MACROBUTTON field instructions in 8-bit and UTF-16 text, keeping every length. */
export function blankWordFields(stream: Buffer): { data: Buffer; found: string[] } {
  const data = Buffer.from(stream);
  const found: string[] = [];
  // 8-bit (compressed) text: 0x13 field begin, instruction up to 0x14 separate or 0x15 end.
  const latin = data.toString('latin1');
  for (const m of latin.matchAll(/\x13[ \t]*(DDEAUTO|DDE|MACROBUTTON)\b[^\x13\x14\x15]{0,2048}/gi)) {
    found.push(`Word field "${m[1].toUpperCase()}" (${m[0].slice(1, 61).replace(/[^\x20-\x7e]/g, '.')})`);
    data.fill(0x20, m.index! + 1, m.index! + m[0].length);
  }
  // UTF-16LE text, at either alignment.
  for (const align of [0, 1]) {
    const text = data.subarray(align, align + ((data.length - align) & ~1)).toString('utf16le');
    for (const m of text.matchAll(/\u0013[ \t]*(DDEAUTO|DDE|MACROBUTTON)\b[^\u0013\u0014\u0015]{0,2048}/gi)) {
      found.push(`Word field "${m[1].toUpperCase()}" (${m[0].slice(1, 61).replace(/[^\x20-\x7e]/g, '.')})`);
      for (let i = m.index! + 1; i < m.index! + m[0].length; i++) data.writeUInt16LE(0x20, align + i * 2);
    }
  }
  return { data, found };
}

interface BiffFindings {
  encrypted: boolean;
  macroSheets: string[];
  ddeLinks: string[];
}

/** Walks the BIFF records of a Workbook/Book stream. */
function walkBiff(wb: Buffer): BiffFindings {
  const f: BiffFindings = { encrypted: false, macroSheets: [], ddeLinks: [] };
  let o = 0;
  // BOF: BIFF8 (0x0600) names carry a flags byte; BIFF5 names are 8-bit without one.
  const biff8 = wb.length >= 6 && wb.readUInt16LE(0) === 0x0809 && wb.readUInt16LE(4) === 0x0600;
  while (o + 4 <= wb.length) {
    const type = wb.readUInt16LE(o);
    const len = wb.readUInt16LE(o + 2);
    const body = wb.subarray(o + 4, o + 4 + len);
    if (o + 4 + len > wb.length) throw new Quarantine('malformed Excel workbook: a BIFF record runs past the end of the stream');
    if (type === 0x002f) f.encrypted = true;
    if (type === 0x0085 && body.length >= 6) {
      const dt = body[5];
      if (dt === 0x01 || dt === 0x06) {
        const cch = body[6] ?? 0;
        const name = !biff8 ? body.subarray(7, 7 + cch).toString('latin1') : body.length > 8 ? (body[7] & 1 ? body.subarray(8, 8 + cch * 2).toString('utf16le') : body.subarray(8, 8 + cch).toString('latin1')) : '?';
        f.macroSheets.push(`${dt === 0x01 ? 'XLM macro sheet' : 'VBA module sheet'} "${name}"`);
      }
    }
    // SUPBOOK: a DDE link has app \x03 topic in its encoded path.
    if (type === 0x01ae && body.length > 4 && body.subarray(4).includes(0x03)) f.ddeLinks.push(body.subarray(4).toString('latin1').replace(/[^\x20-\x7e]/g, '.').slice(0, 60));
    o += 4 + len;
  }
  return f;
}

/** Walks PowerPoint records for embedded storages, VBA and encryption. */
function walkPpt(s: Buffer): { objects: number; vba: boolean; encrypted: boolean } {
  const r = { objects: 0, vba: false, encrypted: false };
  const walk = (start: number, end: number, depth: number) => {
    let o = start;
    while (o + 8 <= end) {
      const verInst = s.readUInt16LE(o);
      const type = s.readUInt16LE(o + 2);
      const len = s.readUInt32LE(o + 4);
      if (o + 8 + len > end) return;
      if (type === 0x1011) r.objects++;
      if (type === 0x03ff || type === 0x0400) r.vba = true;
      if (type === 0x2f14) r.encrypted = true;
      if ((verInst & 0x0f) === 0x0f && depth < 32) walk(o + 8, o + 8 + len, depth + 1);
      o += 8 + len;
    }
  };
  walk(0, s.length, 0);
  return r;
}

/** An encrypted OOXML document (compound file with EncryptedPackage) is quarantined as encrypted. */
export function assertNotEncryptedPackage(buf: Buffer): void {
  let c: CFB.CFB$Container;
  try {
    c = CFB.read(buf, { type: 'buffer' });
  } catch {
    return;
  }
  const top = topLevel(c).map((t) => t.toLowerCase());
  if (top.includes('encryptedpackage') || top.includes('encryptioninfo')) throw new Quarantine('encrypted Office document (EncryptedPackage): it cannot be inspected; ask the sender for an unprotected copy');
}

export function sanitizeOle(buf: Buffer, budget: Budget): FamilyResult {
  try {
    return sanitizeOleUnchecked(buf, budget);
  } catch (e) {
    if (e instanceof Quarantine) throw e;
    throw new Quarantine(`malformed compound file: ${(e as Error).message}`);
  }
}

function sanitizeOleUnchecked(buf: Buffer, budget: Budget): FamilyResult {
  void budget;
  let c: CFB.CFB$Container;
  try {
    c = CFB.read(buf, { type: 'buffer' });
  } catch (e) {
    throw new Quarantine(`malformed compound file: ${(e as Error).message}`);
  }
  const top = topLevel(c);
  const has = (n: string) => top.some((t) => t.toLowerCase() === n.toLowerCase());
  if (has('EncryptedPackage') || has('EncryptionInfo')) throw new Quarantine('encrypted Office document (EncryptedPackage): it cannot be inspected; ask the sender for an unprotected copy');
  const removed: string[] = [];
  let type: string;
  let changed = false;
  if (has('WordDocument')) {
    type = 'ole/doc';
    const wd = streamOf(c, 'WordDocument')!;
    if (wd.length < 12 || wd.readUInt16LE(0) !== 0xa5ec) throw new Quarantine('malformed Word document: the WordDocument stream has no FIB');
    const flags = wd.readUInt16LE(0x0a);
    if (flags & 0x0100) throw new Quarantine('encrypted Word document (password to open): it cannot be inspected');
    for (const storage of ['Macros', '_VBA_PROJECT', 'ObjectPool']) {
      if (has(storage)) {
        removeStorage(c, storage);
        removed.push(storage === 'ObjectPool' ? 'embedded objects (ObjectPool storage)' : `VBA project (${storage} storage)`);
        changed = true;
      }
    }
    const fields = blankWordFields(wd);
    if (fields.found.length) {
      CFB.utils.cfb_add(c, 'Root Entry/WordDocument', fields.data);
      removed.push(...fields.found);
      changed = true;
    }
  } else if (has('Workbook') || has('Book')) {
    type = 'ole/xls';
    const wb = streamOf(c, has('Workbook') ? 'Workbook' : 'Book')!;
    const f = walkBiff(wb);
    if (f.encrypted) throw new Quarantine('encrypted Excel workbook (FILEPASS): it cannot be inspected');
    if (f.macroSheets.length) throw new Quarantine(`${f.macroSheets.join(', ')} inside the BIFF workbook stream: removal cannot be made safe`);
    if (f.ddeLinks.length) throw new Quarantine(`DDE link (${f.ddeLinks[0]}) inside the BIFF workbook stream: removal cannot be made safe`);
    for (const storage of top) {
      if (/^_VBA_PROJECT_CUR$/i.test(storage) || /^_VBA_PROJECT$/i.test(storage)) {
        removeStorage(c, storage);
        removed.push(`VBA project (${storage} storage)`);
        changed = true;
      } else if (/^MBD[0-9A-F]{8}$/i.test(storage)) {
        removeStorage(c, storage);
        removed.push(`embedded object (${storage} storage)`);
        changed = true;
      }
    }
  } else if (has('PowerPoint Document')) {
    type = 'ole/ppt';
    if (has('EncryptedSummary')) throw new Quarantine('encrypted PowerPoint presentation: it cannot be inspected');
    const p = walkPpt(streamOf(c, 'PowerPoint Document')!);
    if (p.encrypted) throw new Quarantine('encrypted PowerPoint presentation (CryptSession10Container): it cannot be inspected');
    if (p.vba) throw new Quarantine('VBA project stored inside the PowerPoint stream: removal cannot be made safe');
    if (p.objects) throw new Quarantine(`${p.objects} embedded OLE object(s) stored inside the PowerPoint stream: removal cannot be made safe`);
    for (const storage of ['Macros', '_VBA_PROJECT_CUR']) {
      if (has(storage)) {
        removeStorage(c, storage);
        removed.push(`VBA project (${storage} storage)`);
        changed = true;
      }
    }
  } else {
    throw new Quarantine(`unsupported compound file (streams: ${top.slice(0, 6).join(', ')}): not a Word, Excel or PowerPoint 97-2003 document`);
  }
  if (!changed) return { removed: [], type };
  CFB.utils.cfb_gc(c);
  const out = Buffer.from(CFB.write(c, { type: 'buffer' }) as Uint8Array);
  // The rewritten file must read back with its main stream and without what was removed.
  let back: CFB.CFB$Container;
  try {
    back = CFB.read(out, { type: 'buffer' });
  } catch (e) {
    throw new Quarantine(`the compound file could not be rewritten readably (${(e as Error).message}): damaged structure`);
  }
  const main = type === 'ole/doc' ? 'WordDocument' : type === 'ole/ppt' ? 'PowerPoint Document' : has('Workbook') ? 'Workbook' : 'Book';
  if (!streamOf(back, main)) throw new Quarantine(`the compound file lost its ${main} stream when rewritten: damaged structure`);
  if (topLevel(back).some((t) => /^(Macros|_VBA_PROJECT_CUR|_VBA_PROJECT|ObjectPool|MBD[0-9A-F]{8})$/i.test(t))) throw new Quarantine('the compound file still lists a removed storage after rewriting: damaged directory');
  return { removed, output: out, type };
}
