import * as fs from 'node:fs';
import * as path from 'node:path';
import { zipSync } from 'fflate';

/**
 * The EICAR anti-virus test files, generated at test time rather than committed,
 * so anti-virus software on a user's machine does not quarantine a clone of the
 * repository. The 68-byte standard string is assembled from two halves; neither
 * source file nor fixture contains it whole.
 */
const HALVES = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'];

export function eicar(): Buffer {
  return Buffer.from(HALVES.join(''), 'latin1');
}

/** EICAR stored (not deflated) in a zip, as the clamav test files ship it. */
export function eicarZip(): Buffer {
  return Buffer.from(zipSync({ 'eicar.com': [eicar(), { level: 0, mtime: new Date('2026-11-23T01:43:00Z') }] }));
}

/** EICAR as a base64 MIME attachment. */
export function eicarEml(): Buffer {
  const b64 = eicar().toString('base64').replace(/(.{76})/g, '$1\n');
  return Buffer.from(
    ['From: a@b', 'Subject: t', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=X', '', '--X', 'Content-Type: application/octet-stream; name=e.com', 'Content-Transfer-Encoding: base64', '', b64, '', '--X--', ''].join('\n'),
  );
}

/** A JPEG with a zip holding EICAR appended (a polyglot); the JPEG head is the committed fixture. */
export function polyglotJpgZip(fixturesDir: string): Buffer {
  return Buffer.concat([fs.readFileSync(path.join(fixturesDir, 'clamav', 'polyglot-jpg-head.jpg')), eicarZip()]);
}

/** Generated corpus files by their path in the public corpus. */
export function generatedCorpusFile(rel: string, fixturesDir: string): Buffer | undefined {
  switch (rel) {
    case 'clamav/eicar.com':
      return eicar();
    case 'clamav/eicar.zip':
      return eicarZip();
    case 'clamav/eicar.eml':
      return eicarEml();
    case 'clamav/polyglot-jpg-zip.jpg':
      return polyglotJpgZip(fixturesDir);
    default:
      return undefined;
  }
}
