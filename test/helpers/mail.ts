import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nodemailer from 'nodemailer';

/** A self-signed certificate for STARTTLS on loopback (openssl). */
export function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'pipe' });
  return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
}

export function tmpdir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Sends one raw message over SMTP (requireTLS: fail unless STARTTLS succeeds); rejects with nodemailer's error (responseCode set when the server answered). */
export async function send(port: number, from: string, to: string[], raw: Buffer, opts: { requireTLS?: boolean } = {}): Promise<{ response: string }> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: !opts.requireTLS, requireTLS: opts.requireTLS, tls: { rejectUnauthorized: false }, connectionTimeout: 5000 });
  try {
    const info = await t.sendMail({ envelope: { from, to }, raw });
    return { response: info.response };
  } finally {
    t.close();
  }
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
