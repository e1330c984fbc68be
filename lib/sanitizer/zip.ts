import * as zlib from 'zlib';
import { Budget, checkTime, Quarantine } from './types';

/**
 * A strict zip reader for untrusted input: the central directory is read
 * first and checked against the limits (entry count, declared sizes,
 * compression ratio, encryption, unsupported methods, overlapping or
 * out-of-range entries) before anything is inflated; inflation is capped at
 * the declared size and checked against the CRC.
 */

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
  /** The entry as it was stored in the input (method, CRC, compressed bytes), reused when the data is unchanged. */
  readonly raw?: { readonly method: number; readonly crc: number; readonly bytes: Buffer; readonly ofData: Buffer };
}

/** zlib.crc32 (Node 20.15+), or a table-driven fallback for older runtimes on hosts. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
export function crc32(data: Buffer): number {
  const native = (zlib as unknown as { crc32?: (d: Buffer) => number }).crc32;
  if (native) return native(data) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;

export function isZip(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === LOC;
}

export function readZip(buf: Buffer, budget: Budget, what = 'zip'): ZipEntry[] {
  const { limits } = budget;
  let e = buf.length - 22;
  const stop = Math.max(0, buf.length - 22 - 65535);
  while (e >= stop && !(e >= 0 && buf.readUInt32LE(e) === EOCD)) e--;
  if (e < stop || e < 0) throw new Quarantine(`malformed ${what}: no end of central directory (truncated?)`);
  const count = buf.readUInt16LE(e + 10);
  const cdSize = buf.readUInt32LE(e + 12);
  const cdOffset = buf.readUInt32LE(e + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw new Quarantine(`unsupported ${what}: zip64 archives are not accepted`);
  if (count > limits.maxEntries) throw new Quarantine(`${what} has ${count} entries, more than the limit of ${limits.maxEntries}`);
  if (cdOffset + cdSize > e) throw new Quarantine(`malformed ${what}: central directory out of range (truncated?)`);
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let o = cdOffset;
  let declaredTotal = 0;
  for (let i = 0; i < count; i++) {
    checkTime(budget);
    if (o + 46 > buf.length || buf.readUInt32LE(o) !== CEN) throw new Quarantine(`malformed ${what}: central directory entry ${i + 1} is damaged`);
    const flags = buf.readUInt16LE(o + 8);
    const method = buf.readUInt16LE(o + 10);
    const crc = buf.readUInt32LE(o + 16);
    const csize = buf.readUInt32LE(o + 20);
    const usize = buf.readUInt32LE(o + 24);
    const nlen = buf.readUInt16LE(o + 28);
    const xlen = buf.readUInt16LE(o + 30);
    const clen = buf.readUInt16LE(o + 32);
    const local = buf.readUInt32LE(o + 42);
    const name = buf.subarray(o + 46, o + 46 + nlen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    o += 46 + nlen + xlen + clen;
    if (flags & 0x1) throw new Quarantine(`encrypted ${what}: entry "${name}" is password-protected and cannot be inspected`);
    if (method !== 0 && method !== 8) throw new Quarantine(`unsupported ${what}: entry "${name}" uses compression method ${method}`);
    if (name.includes('\0')) throw new Quarantine(`malformed ${what}: entry name with a NUL byte`);
    if (names.has(name)) throw new Quarantine(`malformed ${what}: entry "${name}" appears twice (ambiguous content)`);
    names.add(name);
    if (csize > 0 && usize / csize > limits.maxRatio && usize > 1024 * 1024) throw new Quarantine(`zip bomb: entry "${name}" expands ${Math.round(usize / csize)}× (limit ${limits.maxRatio}×)`);
    declaredTotal += usize;
    if (declaredTotal > limits.maxBytes || budget.inflated + declaredTotal > limits.maxBytes) throw new Quarantine(`zip bomb: ${what} expands to more than ${limits.maxBytes} bytes`);
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOC) throw new Quarantine(`malformed ${what}: local header of "${name}" is missing (truncated?)`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) throw new Quarantine(`malformed ${what}: entry "${name}" runs past the end of the file (truncated?)`);
    const raw = buf.subarray(start, start + csize);
    let data: Buffer;
    if (method === 0) {
      if (csize !== usize) throw new Quarantine(`malformed ${what}: stored entry "${name}" has mismatched sizes`);
      data = Buffer.from(raw);
    } else {
      try {
        // One output chunk of the declared size: no joining of 16 KB pieces afterwards (a larger result fails maxOutputLength anyway).
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(usize, 1), chunkSize: Math.max(usize, 64) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') throw new Quarantine(`zip bomb: entry "${name}" inflates past its declared size of ${usize} bytes`);
        throw new Quarantine(`malformed ${what}: entry "${name}" does not inflate (${(err as Error).message})`);
      }
    }
    if (data.length !== usize) throw new Quarantine(`malformed ${what}: entry "${name}" is ${data.length} bytes, declared ${usize}`);
    if (crc32(data) !== crc >>> 0) throw new Quarantine(`malformed ${what}: entry "${name}" fails its CRC check`);
    budget.inflated += data.length;
    entries.push({ name, data, raw: { method, crc, bytes: raw, ofData: data } });
  }
  return entries;
}

/**
 * Writes entries in the given order (OOXML wants [Content_Types].xml first).
 * Entries whose data is unchanged keep their original compressed bytes (no
 * recompression); new data is deflated.
 */
export function writeZip(entries: ZipEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  // 2000-01-01 00:00 in DOS time, for reproducible output.
  const dosTime = 0;
  const dosDate = ((2000 - 1980) << 9) | (1 << 5) | 1;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    let method: number;
    let crc: number;
    let body: Buffer;
    if (e.raw && e.raw.ofData === e.data) {
      ({ method, crc } = e.raw);
      body = e.raw.bytes;
    } else {
      crc = crc32(e.data);
      const deflated = zlib.deflateRawSync(e.data, { level: 6 });
      [method, body] = deflated.length < e.data.length ? [8, deflated] : [0, e.data];
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOC, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(CEN, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0x800, 8);
    cen.writeUInt16LE(method, 10);
    cen.writeUInt16LE(dosTime, 12);
    cen.writeUInt16LE(dosDate, 14);
    cen.writeUInt32LE(crc >>> 0, 16);
    cen.writeUInt32LE(body.length, 20);
    cen.writeUInt32LE(e.data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    chunks.push(local, name, body);
    central.push(cen, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, cd, end]);
}
