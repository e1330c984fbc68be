import { convert, FormatCallback } from 'html-to-text';
import { simpleParser, AddressObject, EmailAddress, Attachment } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { sanitize, AuditRecord } from '../sanitizer/engine';
import { DEFAULT_LIMITS, Limits } from '../sanitizer/types';
import { ID_HEADER, StoredMail, sha256 } from './envelope';
import { SenderVerdict, readVerdict, verdictLine as senderLine } from './sender-auth';

/**
 * The mail sanitizer of crossing X3 (in `transfer`): turns a message from
 * the internet into what LGWAN staff may receive.
 * - HTML becomes readable plain text: paragraphs, lists and tables
 *   (as `|`-separated rows padded by display width) kept legible;
 * - every URL stays intact and clickable: on its own, with whitespace on
 *   both sides, never glued to Japanese text; links whose target differs
 *   from their text show the target; non-web links are removed;
 * - attachments (inline images too) go through the file sanitizer; what
 *   it quarantines is removed, with the reason in the body;
 * - ISO-2022-JP, Shift_JIS, EUC-JP and UTF-8 are decoded; output is UTF-8;
 * - a banner at the top says what was changed, and headers record the
 *   original's hash (the original itself is kept in quarantine).
 */

export interface AttachmentOutcome {
  readonly name: string;
  readonly verdict: AuditRecord['verdict'];
  readonly removed: string[];
  readonly reason?: string;
  readonly outputName?: string;
  readonly record: AuditRecord;
}

export interface MailReport {
  readonly id: string;
  readonly messageId: string;
  readonly originalSha256: string;
  readonly outputSha256: string;
  readonly htmlConverted: boolean;
  readonly removedLinks: number;
  readonly remoteImages: number;
  readonly attachments: AttachmentOutcome[];
  /** Set when the message could not be read: staff get a notice instead of the message. */
  readonly unreadable?: string;
  /** The MX gateway's sender authentication (SPF, DKIM, DMARC, ARC), when the message passed it. */
  readonly sender?: SenderVerdict;
  readonly at: string;
}

const URL_RE = /\b(?:https?|ftp):\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+/g;

/** Removes trailing punctuation a sentence put after a URL (and an unbalanced closing bracket). */
function trimUrl(u: string): string {
  let url = u;
  for (;;) {
    const last = url[url.length - 1];
    if (/[.,;:!?'"*]/.test(last)) url = url.slice(0, -1);
    else if (last === ')' && (url.match(/\(/g) ?? []).length < (url.match(/\)/g) ?? []).length) url = url.slice(0, -1);
    else if (last === ']' && (url.match(/\[/g) ?? []).length < (url.match(/]/g) ?? []).length) url = url.slice(0, -1);
    else return url;
  }
}

/** Puts whitespace on both sides of every URL so no mail client glues it to the text around it. */
export function spaceUrls(text: string): string {
  return text.replace(URL_RE, (match, offset: number, all: string) => {
    const url = trimUrl(match);
    const rest = match.slice(url.length);
    const before = offset > 0 && !/\s/.test(all[offset - 1]) ? ' ' : '';
    const nextChar = rest ? rest[0] : all[offset + match.length];
    const after = nextChar !== undefined && !/\s/.test(nextChar) ? ' ' : '';
    return `${before}${url}${after}${rest}`;
  });
}

/** Control characters and bidirectional overrides (used to disguise links and file names) are removed. */
export function cleanText(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '').replace(/\r\n?/g, '\n');
}

/** Display width: East Asian wide and full-width characters count 2. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || c >= 0x20000 ? 2 : 1;
  }
  return w;
}

type Node = { type: string; name?: string; data?: string; attribs?: Record<string, string>; children?: Node[] };

function isWebUrl(href: string): boolean {
  return /^(?:https?|ftp):\/\//i.test(href);
}

/** The text of a DOM subtree (table cells): text, line breaks, link targets. */
function nodeText(n: Node): string {
  if (n.type === 'text') return n.data ?? '';
  if (n.name === 'br') return '\n';
  if (n.name === 'script' || n.name === 'style') return '';
  const inner = (n.children ?? []).map(nodeText).join('');
  if (n.name === 'a') {
    const href = (n.attribs?.href ?? '').trim();
    if (isWebUrl(href) && inner.trim() !== href) return `${inner} ${href} `;
  }
  if (n.name === 'img') return `[${n.attribs?.alt || '画像'}]`;
  if (n.name === 'p' || n.name === 'div' || n.name === 'li') return `${inner}\n`;
  return inner;
}

function collect(n: Node, names: string[], stopAt: string[] = []): Node[] {
  const out: Node[] = [];
  for (const c of n.children ?? []) {
    if (c.type !== 'tag') continue;
    if (names.includes(c.name!)) out.push(c);
    else if (!stopAt.includes(c.name!)) out.push(...collect(c, names, stopAt));
  }
  return out;
}

/** Converts an HTML body; counts what it had to leave out. */
export function htmlToText(html: string): { text: string; removedLinks: number; remoteImages: number } {
  let removedLinks = 0;
  let remoteImages = 0;
  const anchor: FormatCallback = (elem, walk, builder) => {
    const href = ((elem as Node).attribs?.href ?? '').trim();
    walk((elem as Node).children as never, builder);
    const text = ((elem as Node).children ?? []).map(nodeText).join('').trim();
    if (isWebUrl(href)) {
      if (text !== href) builder.addInline(` ${href} `, { noWordTransform: true });
    } else if (/^mailto:/i.test(href)) {
      const addr = decodeURIComponent(href.slice(7).split('?')[0]);
      if (!text.includes(addr)) builder.addInline(` <${addr}> `, { noWordTransform: true });
    } else if (href && !href.startsWith('#')) {
      removedLinks++;
      builder.addInline(' [リンク削除 / link removed] ', { noWordTransform: true });
    }
  };
  const image: FormatCallback = (elem, _walk, builder) => {
    const a = (elem as Node).attribs ?? {};
    const src = (a.src ?? '').trim();
    if (/^cid:/i.test(src)) builder.addInline(`[画像 / image: ${a.alt || src.slice(4)}]`, { noWordTransform: true });
    else if (src) {
      remoteImages++;
      if (a.alt) builder.addInline(`[${a.alt}]`, { noWordTransform: true });
    }
  };
  const table: FormatCallback = (elem, _walk, builder) => {
    const trs = collect(elem as Node, ['tr'], ['table']);
    const rows = trs.map((tr) => collect(tr, ['td', 'th'], ['table']).map((c) => cleanText(nodeText(c)).replace(/\s*\n\s*/g, ' / ').replace(/\s+/g, ' ').trim()));
    const headed = trs.length > 1 && collect(trs[0], ['td', 'th'], ['table']).every((c) => c.name === 'th');
    const cols = Math.max(0, ...rows.map((r) => r.length));
    if (!cols) return;
    const widths = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
    const line = (r: string[]) => `| ${widths.map((w, i) => (r[i] ?? '') + ' '.repeat(w - width(r[i] ?? ''))).join(' | ')} |`;
    builder.openBlock({ leadingLineBreaks: 2 });
    const lines = rows.map(line);
    if (headed) lines.splice(1, 0, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    builder.addLiteral(lines.join('\n'));
    builder.closeBlock({ trailingLineBreaks: 2 });
  };
  const text = convert(html, {
    wordwrap: false,
    formatters: { threeTierAnchor: anchor, threeTierImage: image, threeTierTable: table },
    selectors: [
      { selector: 'a', format: 'threeTierAnchor' },
      { selector: 'img', format: 'threeTierImage' },
      { selector: 'table', format: 'threeTierTable' },
      { selector: 'ul', options: { itemPrefix: ' ・ ' } },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'h3', options: { uppercase: false } },
      { selector: 'h4', options: { uppercase: false } },
      { selector: 'h5', options: { uppercase: false } },
      { selector: 'h6', options: { uppercase: false } },
    ],
  });
  return { text, removedLinks, remoteImages };
}

function addresses(a: AddressObject | AddressObject[] | undefined): { name: string; address: string }[] {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  const flat = (e: EmailAddress): { name: string; address: string }[] => (e.group ? e.group.flatMap(flat) : e.address ? [{ name: cleanText(e.name ?? ''), address: e.address }] : []);
  return list.flatMap((x) => x.value.flatMap(flat));
}

const EXT_BY_TYPE: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'application/pdf': 'pdf', 'text/plain': 'txt', 'text/calendar': 'ics', 'message/rfc822': 'eml' };

function attachmentName(a: Attachment, i: number): string {
  const raw = cleanText(a.filename ?? '').replace(/[\\/]/g, '_').trim();
  if (raw) return raw;
  return `attachment-${i + 1}.${EXT_BY_TYPE[a.contentType] ?? 'bin'}`;
}

function verdictLine(o: AttachmentOutcome): string {
  if (o.verdict === 'quarantined') return `  × ${o.name}: 除去しました / removed — ${o.reason ?? 'quarantined'}`;
  if (o.verdict === 'clean') return `  ○ ${o.outputName}: 問題なし（そのまま添付）/ clean, attached as is`;
  return `  ○ ${o.outputName}: 無害化して添付 / sanitized and attached — ${o.removed.join('; ') || 're-encoded'}`;
}

export function banner(r: Omit<MailReport, 'outputSha256' | 'at'>): string {
  const lines = ['━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━', '【無害化済みメール / Sanitized mail】', 'このメールはインターネットから届き、LGWAN 接続系に入る前に無害化されました。', 'This message came from the internet and was sanitized before entering the LGWAN tier.'];
  lines.push(senderLine(r.sender));
  if (r.htmlConverted) lines.push('・HTML 形式をテキストに変換しました / HTML was converted to plain text');
  if (r.removedLinks) lines.push(`・Web 以外のリンク ${r.removedLinks} 件を削除しました / ${r.removedLinks} non-web link(s) removed`);
  if (r.remoteImages) lines.push(`・外部画像 ${r.remoteImages} 件は表示しません / ${r.remoteImages} remote image(s) not shown`);
  if (r.attachments.length) {
    lines.push(`・添付ファイル ${r.attachments.length} 件 / ${r.attachments.length} attachment(s):`);
    lines.push(...r.attachments.map(verdictLine));
  }
  lines.push(`・原本は隔離領域に保管されています / The original is kept in quarantine: ${r.id}`);
  lines.push('・URL は元のままです。開く前に差出人とドメインを確認してください / URLs are unchanged: check the sender and domain before opening them');
  lines.push('━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━');
  return lines.join('\n');
}

export interface TextizeResult {
  readonly raw: Buffer;
  readonly report: MailReport;
  /** Sanitized attachments, for tests and the audit trail. */
  readonly attached: { name: string; content: Buffer }[];
}

async function compose(fields: Record<string, unknown>): Promise<Buffer> {
  return new MailComposer({ textEncoding: 'base64', ...fields }).compile().build();
}

/** The notice staff receive when a message could not be read at all (it is in quarantine). */
async function notice(mail: StoredMail, why: string, reporter: string, sender?: SenderVerdict): Promise<TextizeResult> {
  const report: Omit<MailReport, 'outputSha256' | 'at'> = { id: mail.meta.id, messageId: mail.meta.messageId, originalSha256: sha256(mail.raw), htmlConverted: false, removedLinks: 0, remoteImages: 0, attachments: [], unreadable: why, sender };
  const text = [
    '━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━',
    '【受信できなかったメール / Message withheld】',
    `インターネットから届いたメールを読み取れなかったため、隔離しました。理由: ${why}`,
    `A message from the internet could not be read and was quarantined. Reason: ${why}`,
    `差出人 (envelope) / Sender: <${mail.meta.from}>`,
    senderLine(sender),
    `受付 / Received: ${mail.meta.receivedAt}`,
    `隔離 ID / Quarantine id: ${mail.meta.id}`,
    '必要な場合は情報システム担当に隔離 ID を伝えてください。/ Give the quarantine id to the IT staff if you need the message.',
    '━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━',
  ].join('\n');
  const raw = await compose({
    from: { name: 'Mail sanitizer', address: `postmaster@${reporter}` },
    to: mail.meta.to.join(', '),
    subject: '受信できなかったメール / Message withheld',
    text,
    messageId: `<withheld-${mail.meta.id}@${reporter}>`,
    headers: { [ID_HEADER]: mail.meta.id, 'X-Three-Tier-Sanitized': `withheld; original-sha256=${report.originalSha256}`, 'Auto-Submitted': 'auto-generated' },
  });
  return { raw, report: { ...report, outputSha256: sha256(raw), at: new Date().toISOString() }, attached: [] };
}

export async function textize(mail: StoredMail, opts: { reporter: string; limits?: Limits } = { reporter: 'mail-sanitizer.invalid' }): Promise<TextizeResult> {
  const sender = readVerdict(mail.raw);
  if (sender?.action === 'quarantine') {
    // DMARC p=reject failed and the config quarantines instead of refusing: the original stays in quarantine, staff get a notice.
    return notice(mail, `送信元認証に失敗し、送信元ドメイン ${sender.domain ?? ''} の DMARC ポリシーが reject のため隔離しました / sender authentication failed and ${sender.domain ?? 'the sender domain'} publishes DMARC p=reject`, opts.reporter, sender);
  }
  let parsed;
  try {
    parsed = await simpleParser(mail.raw, { skipHtmlToText: true, skipTextLinks: true, skipImageLinks: true, maxHtmlLengthToParse: 10 * 1024 * 1024 });
  } catch (e) {
    return notice(mail, `MIME を解析できません / the MIME structure cannot be parsed (${(e as Error).message})`, opts.reporter, sender);
  }
  const from = addresses(parsed.from);
  if (!from.length && !mail.meta.from) return notice(mail, '差出人がありません / no sender', opts.reporter, sender);

  let body: string;
  let removedLinks = 0;
  let remoteImages = 0;
  const htmlConverted = typeof parsed.html === 'string' && parsed.html.trim().length > 0;
  if (htmlConverted) {
    const r = htmlToText(parsed.html as string);
    body = r.text;
    removedLinks = r.removedLinks;
    remoteImages = r.remoteImages;
  } else {
    body = parsed.text ?? '';
  }
  body = spaceUrls(cleanText(body)).replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();

  const outcomes: AttachmentOutcome[] = [];
  const attached: { name: string; content: Buffer }[] = [];
  for (const [i, a] of parsed.attachments.entries()) {
    const name = attachmentName(a, i);
    const { record, output } = await sanitize(a.content, name, opts.limits ?? DEFAULT_LIMITS);
    if (output && record.output) {
      attached.push({ name: record.output.name, content: output });
      outcomes.push({ name, verdict: record.verdict, removed: record.removed, outputName: record.output.name, record });
    } else {
      outcomes.push({ name, verdict: 'quarantined', removed: record.removed, reason: record.reason, record });
    }
  }
  const partial = { id: mail.meta.id, messageId: mail.meta.messageId, originalSha256: sha256(mail.raw), htmlConverted, removedLinks, remoteImages, attachments: outcomes, sender };
  const text = `${banner(partial)}\n\n${body}\n`;
  const summary = `${htmlConverted ? 'html-to-text; ' : ''}attachments sanitized=${outcomes.filter((o) => o.verdict !== 'quarantined').length} removed=${outcomes.filter((o) => o.verdict === 'quarantined').length}; original-sha256=${partial.originalSha256}`;
  const to = addresses(parsed.to);
  const cc = addresses(parsed.cc);
  const raw = await compose({
    from: from.length ? from[0] : mail.meta.from,
    sender: from.length > 1 ? from[1] : undefined,
    to: to.length ? to : mail.meta.to.join(', '),
    cc: cc.length ? cc : undefined,
    replyTo: addresses(parsed.replyTo)[0],
    subject: cleanText(parsed.subject ?? ''),
    date: parsed.date ?? new Date(mail.meta.receivedAt),
    messageId: parsed.messageId ?? mail.meta.messageId,
    inReplyTo: parsed.inReplyTo,
    references: parsed.references,
    text,
    attachments: attached.map((a) => ({ filename: a.name, content: a.content })),
    headers: { [ID_HEADER]: mail.meta.id, 'X-Three-Tier-Sanitized': summary },
  });
  return { raw, report: { ...partial, outputSha256: sha256(raw), at: new Date().toISOString() }, attached };
}
