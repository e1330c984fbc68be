import { MailMeta, StoredMail, headerSection, mailId, sha256 } from './envelope';

export interface Failure {
  readonly recipient: string;
  /** RFC 3463 enhanced status, e.g. 5.1.1. */
  readonly status: string;
  /** What the remote side said, or why we gave up. */
  readonly diagnostic: string;
  readonly remoteMta?: string;
}

/**
 * A delivery status notification (RFC 3464): a multipart/report with a
 * human-readable part in Japanese and English, the machine-readable
 * delivery-status and the original message's headers. Sent with the null
 * sender, so it is never bounced again.
 */
export function buildDsn(reportingMta: string, original: StoredMail, failures: Failure[]): StoredMail {
  const boundary = `=_three-tier-dsn-${sha256(original.meta.id + failures.map((f) => f.recipient).join(',')).slice(0, 24)}`;
  const date = new Date().toUTCString().replace('GMT', '+0000');
  const subject = headerValueOf(original.raw, 'Subject') ?? '';
  const human = [
    'このメールは自動送信です。次の宛先へのメールを配送できませんでした。',
    'This is an automatic message. Your message could not be delivered to the following recipients.',
    '',
    ...failures.map((f) => `  ${f.recipient}: ${f.status} ${f.diagnostic}`),
    '',
    `元のメッセージ / Original message: ${original.meta.messageId}`,
    `件名 / Subject: ${subject}`,
    `受付 / Received: ${original.meta.receivedAt}`,
    '',
    '宛先を確認して再送してください。問題が続く場合は、宛先の管理者にこのメールを転送してください。',
    'Check the address and send again. If the problem persists, forward this message to the recipient\'s administrator.',
  ].join('\r\n');
  const perMessage = [`Reporting-MTA: dns; ${reportingMta}`, `Arrival-Date: ${new Date(original.meta.receivedAt).toUTCString().replace('GMT', '+0000')}`, `Original-Envelope-Id: ${original.meta.id}`].join('\r\n');
  const perRecipient = failures.map((f) =>
    [`Final-Recipient: rfc822; ${f.recipient}`, 'Action: failed', `Status: ${f.status}`, ...(f.remoteMta ? [`Remote-MTA: dns; ${f.remoteMta}`] : []), `Diagnostic-Code: smtp; ${f.diagnostic.replace(/[\r\n]+/g, ' ')}`].join('\r\n'),
  );
  const messageId = `<dsn-${original.meta.id.slice(0, 24)}-${sha256(failures.map((f) => f.recipient).join(',')).slice(0, 8)}@${reportingMta}>`;
  const raw = Buffer.from(
    [
      `From: Mail Delivery System <MAILER-DAEMON@${reportingMta}>`,
      `To: <${original.meta.from}>`,
      'Subject: =?UTF-8?B?' + Buffer.from(`配送不能のお知らせ / Undelivered Mail Returned to Sender`).toString('base64') + '?=',
      `Date: ${date}`,
      `Message-ID: ${messageId}`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(human).toString('base64').replace(/.{76}/g, '$&\r\n'),
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      perMessage,
      '',
      perRecipient.join('\r\n\r\n'),
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      headerSection(original.raw).replace(/\r?\n/g, '\r\n'),
      '',
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
  const meta: MailMeta = {
    id: mailId(messageId, sha256(failures.map((f) => `${f.recipient} ${f.status}`).join('\n'))),
    from: '',
    to: [original.meta.from],
    messageId,
    sha256: sha256(raw),
    receivedAt: new Date().toISOString(),
    via: `${reportingMta} (delivery status notification for ${original.meta.id})`,
    dsn: true,
  };
  return { meta, raw };
}

function headerValueOf(raw: Buffer, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(headerSection(raw));
  return m ? m[1].replace(/\r?\n[ \t]+/g, ' ').trim() : undefined;
}
