import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allowEntryProblem } from './schema';

/**
 * The lab's stand-in for the municipality's TLS inspection CA. A real
 * municipality does NOT use this: it issues an intermediate CA from its own
 * PKI (docs/proxy.en.md, "The certificate authority"), so that its terminals
 * already trust it and its own people control the key. The lab generates one
 * with openssl so the proxy can run end to end.
 *
 * The CA: CA:TRUE with pathlen:0 (it signs site certificates only, never
 * another CA), key usage keyCertSign + cRLSign, and, when names are given,
 * name constraints: it may only vouch for the allowlist's names and never for
 * an IP address, so a stolen key cannot impersonate anything else to a
 * terminal that enforces name constraints (current browsers, Windows, OpenSSL).
 */
export interface LabCaOptions {
  /** Directory to write ca.pem and ca.key into (created; existing files are not overwritten). */
  readonly dir: string;
  /** Allowlist entries ("name" or ".domain") the CA may vouch for; empty or absent: no name constraints. */
  readonly permittedNames?: readonly string[];
  readonly keyType?: 'p256' | 'rsa3072';
  /** Validity in days (default 365). */
  readonly days?: number;
  readonly commonName?: string;
}

export interface LabCa {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
}

export const LAB_CA_WARNING =
  'LAB ONLY: this CA was generated on this machine for the lab. A municipality uses an intermediate CA issued by its own PKI, ' +
  'distributes that CA certificate to its LGWAN terminals through its endpoint management, and keeps the key in AWS Secrets Manager ' +
  '(docs/proxy.en.md). Never install this lab CA on a real terminal.';

/** The openssl nameConstraints value for allowlist entries: "name" permits that name (and, by RFC 5280, names under it); ".domain" permits the domain and names under it; IP addresses are excluded. */
export function nameConstraintsFor(entries: readonly string[]): string {
  const names = [...new Set(entries.map((e) => e.replace(/^\./, '')))];
  for (const e of entries) {
    const p = allowEntryProblem(e);
    if (p) throw new Error(`permitted name ${p}`);
  }
  return ['critical', ...names.map((n) => `permitted;DNS:${n}`), 'excluded;IP:0.0.0.0/0.0.0.0', 'excluded;IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0'].join(',');
}

export function createLabCa(o: LabCaOptions): LabCa {
  const days = o.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error(`days must be a whole number from 1 to 3650, not ${o.days}`);
  const cn = o.commonName ?? 'three-tier lab TLS inspection CA (not for real terminals)';
  if (!/^[A-Za-z0-9 ().,:-]{1,64}$/.test(cn)) throw new Error('commonName must be 1-64 characters of letters, digits, spaces and ().,:-');
  const constraints = o.permittedNames?.length ? nameConstraintsFor(o.permittedNames) : undefined;
  fs.mkdirSync(o.dir, { recursive: true });
  const certPath = path.join(o.dir, 'ca.pem');
  const keyPath = path.join(o.dir, 'ca.key');
  for (const f of [certPath, keyPath]) if (fs.existsSync(f)) throw new Error(`${f} exists; refusing to overwrite a CA (move it away first)`);
  const ext = [
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    'keyUsage=critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier=hash',
    ...(constraints ? [`nameConstraints=${constraints}`] : []),
  ];
  const cnf = ['[req]', 'distinguished_name=dn', 'prompt=no', 'x509_extensions=v3', '[dn]', `CN=${cn}`, 'O=three-tier lab', '[v3]', ...ext, ''].join('\n');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-ca-'));
  try {
    fs.writeFileSync(path.join(work, 'ca.cnf'), cnf);
    const key = o.keyType === 'rsa3072' ? ['-newkey', 'rsa:3072'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    const tmpKey = path.join(work, 'ca.key');
    execFileSync('openssl', ['req', '-x509', '-new', ...key, '-nodes', '-sha256', '-days', String(days), '-config', path.join(work, 'ca.cnf'), '-keyout', tmpKey, '-out', path.join(work, 'ca.pem')], { stdio: 'pipe' });
    // The key is created 0600 (owner only); "wx" refuses to replace a file that appeared meanwhile.
    fs.writeFileSync(keyPath, fs.readFileSync(tmpKey), { mode: 0o600, flag: 'wx' });
    fs.writeFileSync(certPath, fs.readFileSync(path.join(work, 'ca.pem')), { mode: 0o644, flag: 'wx' });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { certPath, keyPath, certPem: fs.readFileSync(certPath, 'utf8') };
}
