import { authenticate, AuthenticateResult } from 'mailauth';

/**
 * Sender authentication at the MX (security cloud gateway): SPF, DKIM,
 * DMARC and ARC of every inbound message, with `mailauth` (a maintained
 * implementation of RFC 7208, 6376, 9989/7489 and 8617; writing these by
 * hand is how verifiers get bypassed). The gateway
 * - refuses with 451 when a DNS lookup failed temporarily (the sender
 *   retries; nothing is lost, and the retry gets the same message id);
 * - refuses with 550 a message that fails DMARC whose policy is reject,
 *   or accepts it for quarantine (config `mail.dmarcRejectAction`): the
 *   mail sanitizer then keeps the original and staff get a notice;
 * - removes incoming Authentication-Results for its own authserv-id and
 *   any incoming verdict header (a sender could forge both), then adds its
 *   Authentication-Results and its verdict header (SENDER_AUTH_HEADER),
 *   which the mail sanitizer turns into one line of the staff banner.
 * ARC: a message that fails DMARC but arrives through a forwarder whose
 * ARC chain validates, sealed by a sealer the config trusts, counts as
 * authenticated through that forwarder.
 */

export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

export interface SenderAuthOptions {
  /** The authserv-id of our Authentication-Results (RFC 8601), the same on every gateway host. */
  readonly authservId: string;
  /** DNS lookups (default: the system resolver). Tests and the demo pass a stub. */
  readonly resolver?: DnsResolver;
  /** What a DMARC failure under p=reject gets: refused at SMTP time (550), or quarantined. */
  readonly dmarcRejectAction: 'reject' | 'quarantine';
  /** ARC sealers (domains) whose valid chains override a DMARC failure (forwarders, mailing lists). */
  readonly arcTrustedSealers?: readonly string[];
}

export const SENDER_AUTH_HEADER = 'X-Three-Tier-Sender-Auth';

export interface SenderVerdict {
  /** pass: the From domain is authenticated (DMARC pass, or a trusted ARC forwarder); fail: DMARC fails; none: the domain publishes no DMARC policy (or there is no single From domain). */
  readonly status: 'pass' | 'fail' | 'none';
  /** The From (author) domain. */
  readonly domain?: string;
  /** The DMARC policy that applies (none, quarantine, reject), when the domain publishes one. */
  readonly policy?: string;
  /** Set when ARC from a trusted forwarder decided: the sealer's domain. */
  readonly arc?: string;
  readonly spf: string;
  readonly dkim: string;
  readonly dmarc: string;
  readonly arcResult: string;
  /** The gateway's decision. */
  readonly action: 'accept' | 'quarantine';
}

export type SenderAuthOutcome =
  | { kind: 'accept'; verdict: SenderVerdict; headers: string; raw: Buffer }
  | { kind: 'refuse'; code: number; message: string; verdict?: SenderVerdict };

function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : raw.length;
}

/** Header fields as mailauth reads them (folded lines kept together). */
function headerFields(raw: Buffer): { key: string; line: Buffer }[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseHeaders } = require('mailauth/lib/tools') as { parseHeaders(b: Buffer): { parsed: { key: string | null; line: Buffer }[] } };
  return parseHeaders(raw.subarray(0, headerEnd(raw))).parsed.map((p) => ({ key: p.key ?? '', line: p.line }));
}

/** The authserv-id of an Authentication-Results value: the first token before ";" (RFC 8601 section 2.2), comments removed. */
export function authservIdOf(line: string): string {
  const value = line.slice(line.indexOf(':') + 1).replace(/\([^()]*\)/g, ' ');
  return (value.split(';')[0].trim().split(/\s+/)[0] ?? '').replace(/^"|"$/g, '').toLowerCase();
}

/**
 * The message without Authentication-Results for our authserv-id and
 * without any verdict header: only the gateway writes them (RFC 8601
 * section 5). Everything else, the body included, is kept byte for byte.
 */
export function stripForged(raw: Buffer, authservId: string): Buffer {
  const end = headerEnd(raw);
  const fields = headerFields(raw);
  const keep = fields.filter((f) => !((f.key === 'authentication-results' && authservIdOf(f.line.toString('latin1')) === authservId.toLowerCase()) || f.key === SENDER_AUTH_HEADER.toLowerCase()));
  if (keep.length === fields.length) return raw;
  return Buffer.concat([...keep.flatMap((f) => [f.line, Buffer.from('\r\n')]), raw.subarray(end).toString('latin1').startsWith('\r\n') || raw.subarray(end).toString('latin1').startsWith('\n') ? raw.subarray(end) : Buffer.concat([Buffer.from('\r\n'), raw.subarray(end)])]);
}

const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function summarize(r: AuthenticateResult): { spf: string; dkim: string; dmarc: string; arc: string; temp: boolean } {
  const spf = (r.spf && r.spf.status?.result) || 'none';
  const dkims = (r.dkim?.results ?? []).map((x) => x.status?.result ?? 'none');
  const dkim = dkims.includes('pass') ? 'pass' : dkims.find((x) => x === 'temperror') ?? dkims[0] ?? 'none';
  const dmarc = (r.dmarc && r.dmarc.status?.result) || 'none';
  const arc = (r.arc && r.arc.status?.result) || 'none';
  return { spf, dkim, dmarc, arc, temp: [spf, dkim, dmarc].includes('temperror') };
}

/** Verifies one message as the gateway received it and decides what the gateway answers. */
export async function authenticateSender(raw: Buffer, session: { ip: string; helo: string; sender: string }, o: SenderAuthOptions): Promise<SenderAuthOutcome> {
  const ip = session.ip.replace(/^::ffff:/, '');
  let r: AuthenticateResult;
  try {
    r = await authenticate(raw, { ip, helo: session.helo || ip, sender: session.sender, mta: o.authservId, resolver: o.resolver as never, disableBimi: true });
  } catch (e) {
    return { kind: 'refuse', code: 451, message: `4.7.0 sender authentication could not run (${(e as Error).message}); please retry` };
  }
  const s = summarize(r);
  const dmarc = r.dmarc || undefined;
  const domain = dmarc?.status?.header?.from ?? undefined;
  const policy = dmarc && s.dmarc !== 'none' ? dmarc.policy : undefined;
  if (s.dmarc !== 'pass' && s.temp) {
    return { kind: 'refuse', code: 451, message: `4.7.0 temporary DNS error while checking the sender (spf=${s.spf} dkim=${s.dkim} dmarc=${s.dmarc}); please retry` };
  }
  let status: SenderVerdict['status'] = s.dmarc === 'pass' ? 'pass' : s.dmarc === 'fail' ? 'fail' : 'none';
  let arc: string | undefined;
  if (status === 'fail' && s.arc === 'pass') {
    const sealer = (r.arc && r.arc.signature && r.arc.signature.signingDomain) || undefined;
    if (sealer && (o.arcTrustedSealers ?? []).some((t) => sealer.toLowerCase() === t.toLowerCase() || sealer.toLowerCase().endsWith(`.${t.toLowerCase()}`))) {
      status = 'pass';
      arc = sealer.toLowerCase();
    }
  }
  const rejects = status === 'fail' && policy === 'reject';
  const verdict: SenderVerdict = { status, domain, policy, arc, spf: s.spf, dkim: s.dkim, dmarc: s.dmarc, arcResult: s.arc, action: rejects && o.dmarcRejectAction === 'quarantine' ? 'quarantine' : 'accept' };
  if (rejects && o.dmarcRejectAction === 'reject') {
    return { kind: 'refuse', code: 550, message: `5.7.1 DMARC policy of ${domain ?? 'the sender domain'} is reject and this message fails it (spf=${s.spf} dkim=${s.dkim}); ask the sender to check their SPF and DKIM`, verdict };
  }
  // mailauth's Authentication-Results (and Received-SPF) lines, then our verdict for the mail sanitizer.
  const headers = `${r.headers}${SENDER_AUTH_HEADER}: ${ascii(JSON.stringify(verdict))}\r\n`;
  return { kind: 'accept', verdict, headers, raw: stripForged(raw, o.authservId) };
}

/** The gateway's verdict as the mail sanitizer reads it (the first verdict header: the gateway removed any that came from outside). */
export function readVerdict(raw: Buffer): SenderVerdict | undefined {
  const f = headerFields(raw).find((x) => x.key === SENDER_AUTH_HEADER.toLowerCase());
  if (!f) return undefined;
  const text = f.line.toString('latin1');
  try {
    const v = JSON.parse(text.slice(text.indexOf(':') + 1).replace(/\r?\n[ \t]/g, ' ').trim()) as SenderVerdict;
    return ['pass', 'fail', 'none'].includes(v.status) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The line of the staff banner, in Japanese and English. */
export function verdictLine(v: SenderVerdict | undefined): string {
  const pol = (p?: string) => (p ? `DMARC ポリシー / policy: ${p}` : 'DMARC ポリシーなし / no DMARC policy');
  if (!v) return '・送信元認証: 未検証 / Sender authentication: not checked (this message did not pass the MX gateway\'s check)';
  if (v.status === 'pass' && v.arc) return `・送信元認証: 認証済み（${v.domain}、転送元 ${v.arc} の ARC による）/ Sender authenticated: ${v.domain} (through the forwarder ${v.arc}, ARC) — ${pol(v.policy)}`;
  if (v.status === 'pass') return `・送信元認証: 認証済み（${v.domain}）/ Sender authenticated: ${v.domain} — ${pol(v.policy)}`;
  if (v.status === 'fail') return `・送信元認証: 失敗（${v.domain ?? '不明'} を名乗っていますが確認できません）/ Sender authentication FAILED: claims to be ${v.domain ?? 'unknown'} — ${pol(v.policy)}; spf=${v.spf} dkim=${v.dkim}`;
  return `・送信元認証: 認証なし（${v.domain ?? '差出人ドメイン不明'}）/ Sender not authenticated: ${v.domain ?? 'no single From domain'} — ${pol(v.policy)}`;
}
