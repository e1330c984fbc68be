#!/usr/bin/env node
import { createLabCa, LAB_CA_WARNING } from '../lib/proxy/ca';

/**
 * `npm run proxy-ca -- --out DIR [--permit NAME ...] [--key p256|rsa3072] [--days N]`:
 * generates the LAB stand-in for the municipality's TLS inspection CA of the
 * α′ proxy (ca.pem, ca.key). --permit takes allowlist entries ("name" or
 * ".domain") and puts them into the CA's name constraints.
 */
const USAGE = 'usage: npm run proxy-ca -- --out DIR [--permit NAME ...] [--key p256|rsa3072] [--days N]\n';

function main(argv: string[]): number {
  let dir: string | undefined;
  const permit: string[] = [];
  let keyType: 'p256' | 'rsa3072' = 'p256';
  let days = 365;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') dir = argv[++i];
    else if (a === '--permit') permit.push(argv[++i] ?? '');
    else if (a === '--key') {
      const k = argv[++i];
      if (k !== 'p256' && k !== 'rsa3072') {
        process.stderr.write(`--key must be p256 or rsa3072, not ${k}\n${USAGE}`);
        return 2;
      }
      keyType = k;
    } else if (a === '--days') days = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (!dir) {
    process.stderr.write(`--out DIR is required\n${USAGE}`);
    return 2;
  }
  process.stderr.write(`\n*** ${LAB_CA_WARNING}\n\n`);
  try {
    const ca = createLabCa({ dir, permittedNames: permit, keyType, days });
    process.stdout.write(
      [
        `certificate: ${ca.certPath}   (install on lab terminals only; squid.conf paths.caCert)`,
        `private key: ${ca.keyPath}   (mode 0600; squid.conf paths.caKey)`,
        permit.length ? `name constraints: ${permit.join(', ')}; IP addresses excluded` : 'no name constraints (give --permit for each allowlist entry to add them)',
        'next: security_file_certgen -c -s <paths.certDb> -M 4MB, then start Squid with the generated squid.conf',
        '',
      ].join('\n'),
    );
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
