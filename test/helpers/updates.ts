import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { CVD_HEADER_BYTES, encodeDsig } from '../../lib/updates/clamav';

/**
 * Test-time keys and artefacts for the updates feed: a ClamAV-style CVD key
 * (RSA with ClamAV's public exponent 100001027), Authenticode CAs and signed
 * PE files (openssl + osslsigncode), OpenPGP keys and detached signatures
 * (OpenPGP.js). Nothing here is committed: every key is made per run.
 */

export interface TestCvdKey {
  readonly modulus: string;
  readonly exponent: string;
  readonly d: bigint;
  readonly bits: number;
}

const big = (b64url: string) => BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex')}`);

export function makeCvdKey(): TestCvdKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 100001027 });
  const j = privateKey.export({ format: 'jwk' });
  const n = big(j.n!);
  return { modulus: n.toString(10), exponent: big(j.e!).toString(10), d: big(j.d!), bits: n.toString(2).length };
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** A CVD signed the way ClamAV signs: dsig = MD5(body)^d mod n, in ClamAV's base-64 digits. */
export function makeCvd(o: { name: string; version: number; key: TestCvdKey; sigs?: number }): Buffer {
  const body = gzipSync(Buffer.from(`${o.name}.hdb placeholder for version ${o.version}\n`));
  const md5 = createHash('md5').update(body).digest('hex');
  const dsig = encodeDsig(modPow(BigInt(`0x${md5}`), o.key.d, BigInt(o.key.modulus)), o.key.bits);
  const head = `ClamAV-VDB:02 Dec 2026 00-00 +0000:${o.version}:${o.sigs ?? 1}:90:${md5}:${dsig}:test-builder:${Math.floor(Date.now() / 1000)}`;
  if (head.length > CVD_HEADER_BYTES) throw new Error('header too long');
  return Buffer.concat([Buffer.from(head.padEnd(CVD_HEADER_BYTES, ' '), 'latin1'), body]);
}

/** The smallest PE32 image osslsigncode signs: headers, one .text section holding `ret`. */
export function minimalPe(marker = 0): Buffer {
  const b = Buffer.alloc(0x400);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x40, 0x3c);
  b.write('PE\0\0', 0x40, 'latin1');
  let o = 0x44; // COFF header
  b.writeUInt16LE(0x14c, o);
  b.writeUInt16LE(1, o + 2);
  b.writeUInt16LE(0xe0, o + 16);
  b.writeUInt16LE(0x0102, o + 18);
  o = 0x58; // optional header (PE32)
  b.writeUInt16LE(0x10b, o);
  b.writeUInt32LE(0x200, o + 4);
  b.writeUInt32LE(0x1000, o + 16);
  b.writeUInt32LE(0x1000, o + 20);
  b.writeUInt32LE(0x1000, o + 24);
  b.writeUInt32LE(0x400000, o + 28);
  b.writeUInt32LE(0x1000, o + 32);
  b.writeUInt32LE(0x200, o + 36);
  b.writeUInt16LE(4, o + 40);
  b.writeUInt16LE(4, o + 48);
  b.writeUInt32LE(0x2000, o + 56);
  b.writeUInt32LE(0x200, o + 60);
  b.writeUInt16LE(2, o + 68);
  b.writeUInt32LE(0x100000, o + 72);
  b.writeUInt32LE(0x1000, o + 76);
  b.writeUInt32LE(0x100000, o + 80);
  b.writeUInt32LE(0x1000, o + 84);
  b.writeUInt32LE(16, o + 92);
  o = 0x58 + 0xe0; // section header
  b.write('.text', o, 'latin1');
  b.writeUInt32LE(0x200, o + 8);
  b.writeUInt32LE(0x1000, o + 12);
  b.writeUInt32LE(0x200, o + 16);
  b.writeUInt32LE(0x200, o + 20);
  b.writeUInt32LE(0x60000020, o + 36);
  b[0x200] = 0xc3;
  b[0x201] = marker & 0xff;
  return b;
}

export interface TestCa {
  readonly dir: string;
  readonly caPem: string;
  readonly signerCert: string;
  readonly signerKey: string;
}

/** A CA and a code-signing certificate it issued (openssl, at test time). */
export function makeCodeSigningCa(dir: string, name: string): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  const p = (f: string) => path.join(dir, `${name}-${f}`);
  const q = { stdio: 'pipe' as const };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} Test CA`, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], q);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name} Code Signing`, '-keyout', p('cs.key'), '-out', p('cs.csr')], q);
  fs.writeFileSync(p('ext.cnf'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
  execFileSync('openssl', ['x509', '-req', '-in', p('cs.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('ext.cnf'), '-out', p('cs.crt')], q);
  return { dir, caPem: fs.readFileSync(p('ca.crt'), 'utf8'), signerCert: p('cs.crt'), signerKey: p('cs.key') };
}

/** Signs a PE with osslsigncode (Authenticode, SHA-256). */
export function signPe(ca: TestCa, pe: Buffer, name: string): Buffer {
  const dir = fs.mkdtempSync(path.join(ca.dir, 'sign-'));
  fs.writeFileSync(path.join(dir, 'in.exe'), pe);
  execFileSync('osslsigncode', ['sign', '-certs', ca.signerCert, '-key', ca.signerKey, '-n', name, '-h', 'sha256', '-in', path.join(dir, 'in.exe'), '-out', path.join(dir, 'out.exe')], { stdio: 'pipe' });
  return fs.readFileSync(path.join(dir, 'out.exe'));
}

export interface TestPgpKey {
  readonly publicKey: string;
  readonly privateKey: openpgp.PrivateKey;
}

export async function makePgpKey(name: string): Promise<TestPgpKey> {
  const k = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email: `${name.toLowerCase().replace(/\W+/g, '-')}@example.invalid` }], format: 'object' });
  return { publicKey: k.publicKey.armor(), privateKey: k.privateKey };
}

export async function pgpDetachedSign(key: TestPgpKey, data: Buffer): Promise<Buffer> {
  const sig = await openpgp.sign({ message: await openpgp.createMessage({ binary: new Uint8Array(data) }), signingKeys: key.privateKey, detached: true, format: 'armored' });
  return Buffer.from(sig as string);
}

/** A fetch over https that trusts one extra CA (the fake vendor's self-signed certificate). */
export function fetchTrusting(caPem: string): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>));
    return new Promise<Response>((resolve, reject) => {
      const req = https.get(url, { ca: caPem, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          const status = res.statusCode ?? 500;
          resolve(new Response(status === 304 ? null : Buffer.concat(chunks), { status, headers: h }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }) as typeof fetch;
}

/** A self-signed TLS certificate for 127.0.0.1. */
export function localTls(dir: string, name: string): { cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
  return { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') };
}
