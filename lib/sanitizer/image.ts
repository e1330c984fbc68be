import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { Budget, FamilyResult, Quarantine } from './types';

/**
 * Images are decoded and encoded again: metadata (EXIF, XMP, IPTC, comments,
 * text chunks) and anything hidden outside the pixel data cannot survive.
 * Data after the end of the image (a JPEG or PNG with a zip or program
 * appended: a polyglot) is quarantined rather than silently cut, so the
 * sender learns what was found.
 */

export type ImageKind = 'jpeg' | 'png' | 'gif' | 'bmp' | 'tiff' | 'webp';

export function imageKind(buf: Buffer): ImageKind | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  const head = buf.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'gif';
  if (head.startsWith('BM')) return 'bmp';
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return 'tiff';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

const SIGNATURES: [string, Buffer][] = [
  ['zip', Buffer.from('PK\x03\x04', 'latin1')],
  ['Windows program', Buffer.from('MZ', 'latin1')],
  ['PDF', Buffer.from('%PDF', 'latin1')],
  ['RAR', Buffer.from('Rar!', 'latin1')],
  ['7z', Buffer.from('7z\xbc\xaf', 'latin1')],
];

function trailer(kind: string, tail: Buffer): never {
  const what = SIGNATURES.filter(([, sig]) => tail.includes(sig)).map(([n]) => n);
  throw new Quarantine(`polyglot: ${tail.length} bytes after the end of the ${kind} image${what.length ? ` (${what.join(', ')} signature inside)` : ''}`);
}

/** Offset just past the JPEG end-of-image marker, walking segments and entropy-coded data. */
function jpegEnd(buf: Buffer): number {
  let o = 2;
  while (o + 2 <= buf.length) {
    if (buf[o] !== 0xff) throw new Quarantine('malformed JPEG: marker expected');
    const marker = buf[o + 1];
    if (marker === 0xd9) return o + 2;
    if (o + 4 > buf.length) break;
    if (marker === 0xff) {
      o++;
      continue;
    }
    if (marker >= 0xd0 && marker <= 0xd7) {
      o += 2;
      continue;
    }
    const len = buf.readUInt16BE(o + 2);
    if (len < 2 || o + 2 + len > buf.length) throw new Quarantine('malformed JPEG: a segment runs past the end (truncated?)');
    o += 2 + len;
    if (marker === 0xda) {
      // Entropy-coded data up to the next marker that is not a stuffed byte or a restart marker.
      while (o + 1 < buf.length && !(buf[o] === 0xff && buf[o + 1] !== 0x00 && !(buf[o + 1] >= 0xd0 && buf[o + 1] <= 0xd7))) o++;
    }
  }
  throw new Quarantine('malformed JPEG: no end-of-image marker (truncated?)');
}

function pngEnd(buf: Buffer): number {
  let o = 8;
  while (o + 12 <= buf.length) {
    const len = buf.readUInt32BE(o);
    const type = buf.subarray(o + 4, o + 8).toString('latin1');
    if (o + 12 + len > buf.length) throw new Quarantine('malformed PNG: a chunk runs past the end (truncated?)');
    o += 12 + len;
    if (type === 'IEND') return o;
  }
  throw new Quarantine('malformed PNG: no IEND chunk (truncated?)');
}

export function sanitizeImage(buf: Buffer, budget: Budget): FamilyResult {
  const kind = imageKind(buf);
  const maxPixels = Math.floor(budget.limits.maxBytes / 4);
  if (kind === 'jpeg') {
    const end = jpegEnd(buf);
    if (buf.length - end > 0 && buf.subarray(end).some((b) => b !== 0)) trailer('JPEG', buf.subarray(end));
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(buf, { useTArray: true, maxResolutionInMP: Math.max(1, Math.floor(maxPixels / 1e6)), maxMemoryUsageInMB: Math.ceil(budget.limits.maxBytes / 1048576) * 2 });
    } catch (e) {
      throw new Quarantine(`malformed JPEG: ${(e as Error).message}`);
    }
    const out = jpeg.encode({ width: img.width, height: img.height, data: Buffer.from(img.data) }, 90).data;
    return { removed: ['re-encoded: metadata (EXIF/XMP/comments) and anything outside the pixels dropped'], output: Buffer.from(out), type: 'image/jpeg' };
  }
  if (kind === 'png') {
    const end = pngEnd(buf);
    if (buf.length > end) trailer('PNG', buf.subarray(end));
    let png: PNG;
    try {
      png = PNG.sync.read(buf);
    } catch (e) {
      throw new Quarantine(`malformed PNG: ${(e as Error).message}`);
    }
    if (png.width * png.height > maxPixels) throw new Quarantine(`PNG of ${png.width}×${png.height} pixels is larger than the limit`);
    const out = PNG.sync.write(png, { colorType: 6 });
    return { removed: ['re-encoded: text chunks, metadata and anything outside the pixels dropped'], output: out, type: 'image/png' };
  }
  throw new Quarantine(`unsupported image format ${kind ?? 'unknown'}: only JPEG and PNG are re-encoded; convert the image to one of them`);
}
