import * as Encoding from 'encoding-japanese';
import { PNG } from 'pngjs';

/**
 * Builders of the kinds of Japanese mail the relay must handle, written the
 * way Japanese mail clients write them (ISO-2022-JP headers and bodies,
 * Shift_JIS, UTF-8). Used by the demo, the benchmark and the tests.
 */

export interface SampleAttachment {
  readonly name: string;
  readonly contentType: string;
  readonly content: Buffer;
  /** Set for inline images referenced by `cid:` from the HTML. */
  readonly cid?: string;
}

export interface SampleMail {
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  readonly messageId: string;
  readonly text?: string;
  readonly html?: string;
  readonly charset?: 'ISO-2022-JP' | 'Shift_JIS' | 'UTF-8';
  readonly attachments?: SampleAttachment[];
}

function encode(s: string, charset: NonNullable<SampleMail['charset']>): Buffer {
  if (charset === 'UTF-8') return Buffer.from(s, 'utf8');
  return Buffer.from(Encoding.convert(Encoding.stringToCode(s), { to: charset === 'ISO-2022-JP' ? 'JIS' : 'SJIS', from: 'UNICODE' }) as number[]);
}

/** RFC 2047 B-encoding in the given charset (ASCII stays as is). */
function word(s: string, charset: NonNullable<SampleMail['charset']>): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  return `=?${charset}?B?${encode(s, charset).toString('base64')}?=`;
}

/** `"表示名" <addr>` with the display name B-encoded. */
function mailbox(s: string, charset: NonNullable<SampleMail['charset']>): string {
  const m = /^"?([^"<]*?)"?\s*<([^>]+)>$/.exec(s.trim());
  return m && m[1] ? `${word(m[1], charset)} <${m[2]}>` : s;
}

function b64(b: Buffer): string {
  return b.toString('base64').replace(/.{76}/g, '$&\r\n');
}

function part(headers: string[], body: string): string {
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

function multipart(type: string, boundary: string, parts: string[]): string {
  return part([`Content-Type: multipart/${type}; boundary="${boundary}"`], `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--`);
}

/** A raw RFC 5322 message. */
export function buildMail(m: SampleMail): Buffer {
  const cs = m.charset ?? 'ISO-2022-JP';
  // ISO-2022-JP is 7-bit; Shift_JIS and UTF-8 bodies go base64.
  const textPart = (body: string, sub: 'plain' | 'html') =>
    cs === 'ISO-2022-JP'
      ? part([`Content-Type: text/${sub}; charset=${cs}`, 'Content-Transfer-Encoding: 7bit'], encode(body.replace(/\r?\n/g, '\r\n'), cs).toString('latin1'))
      : part([`Content-Type: text/${sub}; charset=${cs}`, 'Content-Transfer-Encoding: base64'], b64(encode(body, cs)));
  const att = m.attachments ?? [];
  const inline = att.filter((a) => a.cid);
  const files = att.filter((a) => !a.cid);
  const filePart = (a: SampleAttachment) =>
    part(
      [
        `Content-Type: ${a.contentType}; name="${word(a.name, cs)}"`,
        'Content-Transfer-Encoding: base64',
        a.cid ? `Content-ID: <${a.cid}>` : `Content-Disposition: attachment; filename="${word(a.name, cs)}"`,
        ...(a.cid ? [`Content-Disposition: inline; filename="${word(a.name, cs)}"`] : []),
      ],
      b64(a.content),
    );
  const seed = m.messageId.replace(/[^A-Za-z0-9]/g, '').slice(0, 20);
  let body: string;
  if (m.html) {
    const alt = m.text ? multipart('alternative', `alt-${seed}`, [textPart(m.text, 'plain'), textPart(m.html, 'html')]) : textPart(m.html, 'html');
    body = inline.length ? multipart('related', `rel-${seed}`, [alt, ...inline.map(filePart)]) : alt;
  } else {
    body = textPart(m.text ?? '', 'plain');
  }
  if (files.length) body = multipart('mixed', `mix-${seed}`, [body, ...files.map(filePart)]);
  const headers = [
    `From: ${mailbox(m.from, cs)}`,
    `To: ${m.to.map((t) => mailbox(t, cs)).join(', ')}`,
    `Subject: ${word(m.subject, cs)}`,
    `Date: ${new Date(Date.UTC(2026, 10, 23, 1, 2, 3)).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${m.messageId}`,
    'MIME-Version: 1.0',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n${body}\r\n`, 'latin1');
}

/** A small PNG (a stand-in for a logo in a newsletter). */
export function logoPng(): Buffer {
  const png = new PNG({ width: 8, height: 8 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([0x1f, 0x5f, 0xaf, 0xff], i);
  return PNG.sync.write(png);
}

/** The HTML newsletter of the acceptance test: links in Japanese text, a table, a list, an inline image. */
export const NEWSLETTER_HTML = [
  '<html><body>',
  '<h2>お知らせ</h2>',
  '<p>いつもお世話になっております。詳細は<a href="https://www.example.jp/news?id=2026&amp;lang=ja">こちら</a>をご覧ください。',
  '申込みはhttps://form.example.jp/apply/123から。</p>',
  '<table><tr><th>項目</th><th>日程</th></tr><tr><td>説明会</td><td>12月1日</td></tr><tr><td>申込締切</td><td>12月15日</td></tr></table>',
  '<ul><li>持ち物：筆記用具</li><li>会場：本庁舎 3 階</li></ul>',
  '<p><img src="cid:logo@example.jp" alt="ロゴ"></p>',
  '<p><a href="javascript:alert(1)">ここを押す</a></p>',
  '</body></html>',
].join('\n');
