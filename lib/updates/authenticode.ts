import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Authenticode (Windows PE installers, MSI, CAB) with `osslsigncode verify`
 * from Debian: the signed digest must match the file and the signer's chain
 * must end at one of the pinned certificates (-CAfile holds only those, so
 * the system's CA store never counts). Chosen over an npm library because no
 * maintained npm package verifies Authenticode PE/MSI digests and chains;
 * osslsigncode is the tool Linux distributions ship for exactly this.
 */

export type AuthenticodeCheck = { ok: true; signer: string } | { ok: false; reason: string };

export const OSSLSIGNCODE = process.env.OSSLSIGNCODE ?? 'osslsigncode';

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    execFile(OSSLSIGNCODE, args, { timeout: 120_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error(`${OSSLSIGNCODE} is not installed (Debian package osslsigncode)`));
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

/** Verifies `file` (its bytes) against the pinned PEM certificates; `signerSubjects`, when given, must match the signer. */
export async function verifyAuthenticode(file: Buffer, name: string, pinnedPem: string[], signerSubjects?: string[]): Promise<AuthenticodeCheck> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authenticode-'));
  try {
    const input = path.join(dir, path.basename(name).replace(/[^A-Za-z0-9._-]/g, '_') || 'artefact');
    const ca = path.join(dir, 'pinned.pem');
    fs.writeFileSync(input, file);
    fs.writeFileSync(ca, pinnedPem.join('\n'));
    const { code, out } = await run(['verify', '-in', input, '-CAfile', ca, '-TSA-CAfile', ca]);
    const signerBlock = out.split("Signer's certificate:")[1] ?? '';
    const signer = /Subject:\s*(.+)/.exec(signerBlock)?.[1]?.trim() ?? '';
    if (code === 0 && /Signature verification: ok/.test(out) && !/MISMATCH|Failed/.test(out)) {
      if (signerSubjects?.length && !signerSubjects.some((s) => signer.replace(/^\//, '').split('/').includes(s.replace(/^\//, '')) || signer.includes(s))) {
        return { ok: false, reason: `signed by another publisher: signer "${signer}" is not one of the pinned subjects ${signerSubjects.join(', ')}` };
      }
      return { ok: true, signer };
    }
    if (/No signature found|Unable to extract existing signature|Initialization error or unsupported input file type/.test(out)) return { ok: false, reason: 'unsigned: no Authenticode signature in the file' };
    if (/MISMATCH/.test(out)) return { ok: false, reason: 'tampered: the file\'s digest differs from the signed digest' };
    if (/unable to get local issuer certificate|self.signed certificate|certificate verify error|unable to verify the first certificate/i.test(out)) return { ok: false, reason: `signed by another key: the signer ${signer || '(unknown)'} does not chain to a pinned certificate` };
    if (/certificate has expired|not yet valid/i.test(out)) return { ok: false, reason: `the signer's certificate ${signer} is expired or not yet valid and no trusted timestamp covers the signature` };
    return { ok: false, reason: `signature does not verify: ${out.split('\n').filter((l) => /error|fail/i.test(l)).slice(0, 3).join('; ').trim() || `osslsigncode exit ${code}`}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
