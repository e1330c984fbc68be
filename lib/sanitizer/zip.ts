import * as zlib from 'zlib';
import { zipSync, Zippable } from 'fflate';
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
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(usize, 1) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') throw new Quarantine(`zip bomb: entry "${name}" inflates past its declared size of ${usize} bytes`);
        throw new Quarantine(`malformed ${what}: entry "${name}" does not inflate (${(err as Error).message})`);
      }
    }
    if (data.length !== usize) throw new Quarantine(`malformed ${what}: entry "${name}" is ${data.length} bytes, declared ${usize}`);
    if (zlib.crc32(data) >>> 0 !== crc >>> 0) throw new Quarantine(`malformed ${what}: entry "${name}" fails its CRC check`);
    budget.inflated += data.length;
    entries.push({ name, data });
  }
  return entries;
}

/** Writes entries in the given order (OOXML wants [Content_Types].xml first), deflated. */
export function writeZip(entries: ZipEntry[]): Buffer {
  const z: Zippable = {};
  for (const e of entries) z[e.name] = [new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.length), { level: 6, mtime: new Date('2000-01-01T00:00:00Z') }];
  return Buffer.from(zipSync(z));
}
