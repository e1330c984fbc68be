import { createHash } from 'crypto';

/**
 * A message as the relay stores it: one object holding a JSON line (the
 * envelope and what the relay knows about the message) and the raw MIME.
 * One object, so a message and its envelope are written and read together.
 */
export interface MailMeta {
  /** Stable across retries and duplicates: derived from the Message-ID and the hash of the message as first received. */
  readonly id: string;
  readonly from: string;
  readonly to: string[];
  readonly messageId: string;
  /** SHA-256 of the raw message as the first relay received it. */
  readonly sha256: string;
  /** When the first relay accepted it (ISO); retries give up relative to this. */
  readonly receivedAt: string;
  /** The role that stored this copy, and from where it came. */
  readonly via: string;
  /** Set on delivery status notifications so they never bounce again. */
  readonly dsn?: boolean;
}

export interface StoredMail {
  readonly meta: MailMeta;
  readonly raw: Buffer;
}

export const ID_HEADER = 'X-Three-Tier-Mail-Id';

export function encodeStored(meta: MailMeta, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), raw]);
}

export function decodeStored(buf: Buffer): StoredMail {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) throw new Error('stored mail has no envelope line');
  const meta = JSON.parse(buf.subarray(0, nl).toString('utf8')) as MailMeta;
  if (typeof meta.id !== 'string' || !Array.isArray(meta.to) || typeof meta.from !== 'string') throw new Error('stored mail has an invalid envelope line');
  return { meta, raw: buf.subarray(nl + 1) };
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The header section of a raw message (up to the first empty line). */
export function headerSection(raw: Buffer): string {
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.indexOf('\n\n');
  return raw.subarray(0, end < 0 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
}

/** The first value of a header (unfolded), or undefined. */
export function headerValue(raw: Buffer, name: string): string | undefined {
  const unfolded = headerSection(raw).replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name.replace(/-/g, '\\-')}:[ \\t]*(.*)$`, 'im');
  const m = re.exec(unfolded);
  return m ? m[1].trim() : undefined;
}

/**
 * The id of a message: the same bytes with the same Message-ID always get
 * the same id, so a sender's retry of a message we had already stored (we
 * crashed before our 250 reached it) is recognised as a duplicate.
 */
export function mailId(messageId: string, digest: string): string {
  return sha256(`${messageId}\n${digest}`).slice(0, 40);
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

/** True when `domain` is one of `domains` or a subdomain of one. */
export function inDomains(domain: string, domains: readonly string[]): boolean {
  const d = domain.toLowerCase();
  return domains.some((x) => {
    const y = x.toLowerCase().replace(/^\*?\./, '');
    return d === y || d.endsWith(`.${y}`);
  });
}

/** A key-safe form of an address (ledger keys). */
export function addressKey(address: string): string {
  return sha256(address.toLowerCase()).slice(0, 16);
}
