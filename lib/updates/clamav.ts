import { createHash } from 'crypto';

/**
 * ClamAV Virus Database (CVD) files: a 512-byte ASCII header
 * `ClamAV-VDB:time:version:sigs:flevel:md5:dsig:builder:stime`, padded with
 * spaces, then a gzipped tar of the signature files. `md5` is the MD5 of
 * everything after the header; `dsig` is ClamAV's RSA signature of that MD5,
 * written as base-64 digits, least significant first (libclamav/dsig.c,
 * cli_decodesig and cli_versig). This is the same check freshclam and
 * clamscan make against the key compiled into libclamav; here the key is the
 * one pinned in the channel's config.
 */

export interface CvdHeader {
  readonly time: string;
  readonly version: number;
  readonly sigs: number;
  readonly flevel: number;
  readonly md5: string;
  readonly dsig: string;
  readonly builder: string;
  readonly stime: number;
}

export interface ClamavKey {
  readonly modulus: string;
  readonly exponent: string;
}

export const CVD_HEADER_BYTES = 512;
const DIGITS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';

export class CvdError extends Error {}

/** Parses the header; throws CvdError saying which field is wrong. */
export function parseCvdHeader(file: Buffer): CvdHeader {
  if (file.length < CVD_HEADER_BYTES) throw new CvdError(`not a CVD: ${file.length} bytes, shorter than the ${CVD_HEADER_BYTES}-byte header`);
  const head = file.subarray(0, CVD_HEADER_BYTES).toString('latin1');
  if (!head.startsWith('ClamAV-VDB:')) throw new CvdError('not a CVD: the header does not start with "ClamAV-VDB:"');
  if (/[^\x20-\x7e]/.test(head)) throw new CvdError('not a CVD: the header holds non-printable bytes');
  const f = head.trimEnd().split(':');
  if (f.length < 8) throw new CvdError(`not a CVD: the header has ${f.length} fields, expected at least 8`);
  const int = (i: number, what: string): number => {
    if (!/^\d+$/.test(f[i])) throw new CvdError(`CVD header: ${what} "${f[i]}" is not a number`);
    return Number(f[i]);
  };
  const md5 = f[5];
  if (!/^[0-9a-f]{32}$/.test(md5)) throw new CvdError(`CVD header: MD5 "${md5}" is not 32 lower-case hex digits`);
  const dsig = f[6];
  if (!dsig || [...dsig].some((c) => !DIGITS.includes(c))) throw new CvdError('CVD header: the digital signature is empty or holds characters outside ClamAV\'s base-64 digits');
  return { time: f[1], version: int(2, 'version'), sigs: int(3, 'signature count'), flevel: int(4, 'functionality level'), md5, dsig, builder: f[7], stime: f.length > 8 && /^\d+$/.test(f[8]) ? Number(f[8]) : 0 };
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

/** Decodes a dsig with the public key into the 16 signed bytes, as hex (cli_decodesig + cli_str2hex). */
export function decodeDsig(dsig: string, key: ClamavKey): string {
  let c = 0n;
  for (let i = 0; i < dsig.length; i++) c += BigInt(DIGITS.indexOf(dsig[i])) << BigInt(6 * i);
  let p = modPow(c, BigInt(key.exponent), BigInt(key.modulus));
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) {
    bytes.unshift(Number(p % 256n));
    p /= 256n;
  }
  return Buffer.from(bytes).toString('hex');
}

/** Encodes an RSA signature value as a dsig (the inverse of the decoding; used by sigtool's signing side and by the tests). */
export function encodeDsig(value: bigint, modulusBits: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < Math.ceil(modulusBits / 6); i++) {
    out += DIGITS[Number(v & 63n)];
    v >>= 6n;
  }
  return out;
}

export type CvdCheck = { ok: true; header: CvdHeader; md5: string } | { ok: false; reason: string; header?: CvdHeader };

/** The whole check: header, MD5 of the body, signature of the MD5 with the pinned key. */
export function verifyCvd(file: Buffer, key: ClamavKey): CvdCheck {
  let header: CvdHeader;
  try {
    header = parseCvdHeader(file);
  } catch (e) {
    return { ok: false, reason: `unsigned or not a CVD: ${(e as Error).message}` };
  }
  const md5 = createHash('md5').update(file.subarray(CVD_HEADER_BYTES)).digest('hex');
  if (md5 !== header.md5) return { ok: false, header, reason: `tampered: the body's MD5 ${md5} differs from the header's ${header.md5}` };
  const signed = decodeDsig(header.dsig, key);
  if (signed !== header.md5) return { ok: false, header, reason: `signed by another key: the digital signature does not verify with the pinned ClamAV key (it decodes to ${signed}, not the MD5 ${header.md5})` };
  return { ok: true, header, md5 };
}
