import { createHash } from 'crypto';
import * as path from 'path';
import { CLAMAV_PUBLISHED_KEY, DEFAULT_VERSION_PATTERN, UpdateChannel } from '../../config/updates';
import { verifyAuthenticode } from './authenticode';
import { verifyCvd } from './clamav';
import { verifyOpenPgp } from './openpgp';

/**
 * The check of one artefact of one channel: size, signature against the
 * channel's pinned anchors, and version (never older than what is
 * published). Nothing is modified: an executable or a signature database
 * cannot be "sanitized" without breaking its signature, so authenticity is
 * the check and anything that fails it is quarantined with the reason.
 */

export interface Published {
  readonly file: string;
  readonly version: string;
  readonly sha256: string;
}

export interface Verdict {
  readonly verdict: 'published' | 'quarantined';
  readonly reason?: string;
  readonly channel: string;
  readonly kind: string;
  readonly file: string;
  /** The product line the version is compared within (CVD database name, or the file name with the version as `*`). */
  readonly line?: string;
  readonly version?: string;
  readonly signer?: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Compares dotted numeric versions ("128.3.1" < "128.10"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The version in a file name, by the channel's pattern, and its product line. */
export function versionFromName(file: string, pattern = DEFAULT_VERSION_PATTERN): { version: string; line: string } | undefined {
  const m = new RegExp(pattern).exec(file);
  if (!m || m[1] === undefined || !/^\d+(\.\d+)*$/.test(m[1])) return undefined;
  const start = m.index + m[0].indexOf(m[1]);
  return { version: m[1], line: `${file.slice(0, start)}*${file.slice(start + m[1].length)}` };
}

export const SIDECAR_RE = /\.(asc|sig)$/;

export interface ArtefactInput {
  readonly channel: UpdateChannel;
  readonly file: string;
  readonly body: Buffer;
  /** openpgp: the detached signature found next to the file. */
  readonly signature?: Buffer;
  /** What is published now, by product line. */
  readonly published: Record<string, Published>;
}

export async function verifyArtefact(a: ArtefactInput): Promise<Verdict> {
  const c = a.channel;
  const file = path.posix.basename(a.file);
  const sha256 = createHash('sha256').update(a.body).digest('hex');
  const base = { channel: c.name, kind: c.kind, file, sha256, bytes: a.body.length };
  const quarantine = (reason: string, extra: Partial<Verdict> = {}): Verdict => ({ ...base, ...extra, verdict: 'quarantined', reason });
  if (a.body.length > c.maxBytes) return quarantine(`too large: ${a.body.length} bytes, the channel's limit is ${c.maxBytes} (updates.channels[].maxBytes)`);
  if (a.body.length === 0) return quarantine('empty file');

  let version: string;
  let line: string;
  let signer: string;
  if (c.kind === 'clamav') {
    if (!/^[a-z0-9_-]+\.cvd$/.test(file)) return quarantine(`not a CVD file name: "${file}" (expected e.g. daily.cvd)`);
    const key = c.trust.clamavKey ?? CLAMAV_PUBLISHED_KEY;
    const r = verifyCvd(a.body, key);
    if (!r.ok) return quarantine(r.reason, r.header ? { version: String(r.header.version) } : {});
    version = String(r.header.version);
    line = file.replace(/\.cvd$/, '');
    signer = `ClamAV key ${key.modulus === CLAMAV_PUBLISHED_KEY.modulus ? '(published, libclamav/dsig.c)' : `(pinned, modulus …${key.modulus.slice(-12)})`}; builder ${r.header.builder}`;
  } else {
    const v = versionFromName(file, c.versionPattern);
    if (!v) return quarantine(`no version in the file name "${file}" (updates.channels[].versionPattern ${c.versionPattern ?? DEFAULT_VERSION_PATTERN})`);
    ({ version, line } = v);
    const r = c.kind === 'authenticode' ? await verifyAuthenticode(a.body, file, c.trust.certificates ?? [], c.trust.signerSubjects) : await verifyOpenPgp(a.body, a.signature, c.trust.publicKeys ?? []);
    if (!r.ok) return quarantine(r.reason, { version, line });
    signer = r.signer;
  }
  const current = a.published[line];
  if (current) {
    const cmp = compareVersions(version, current.version);
    if (cmp < 0) return quarantine(`downgrade: version ${version} is older than the published ${current.version} of ${line}`, { version, line, signer });
    if (cmp === 0 && current.sha256 !== sha256) return quarantine(`same version ${version} as the published ${current.file} but different contents`, { version, line, signer });
  }
  return { ...base, verdict: 'published', version, line, signer };
}
