import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { simpleParser, ParsedMail } from 'mailparser';
import { htmlToText, spaceUrls, cleanText, textize } from '../lib/mail/textize';
import { buildMail, NEWSLETTER_HTML } from '../lib/mail/samples';
import { DEMO_DOMAINS, LocalPath, startLocalPath } from '../lib/mail/local';
import { FsBlobStore } from '../lib/mail/store';
import { decodeStored, encodeStored, MailMeta } from '../lib/mail/envelope';
import { sanitizeMailJob, storeMail } from '../lib/mail/roles';
import { Outbox } from '../lib/mail/outbox';
import { Sink } from '../lib/mail/sink';
import { activeContent, qdf } from './helpers/active-content';
import { activePdf, corpusFile, pngWithText } from './helpers/sanitizer-fixtures';
import { eicar } from './helpers/eicar';
import { selfSigned, send, tmpdir, until } from './helpers/mail';

const MUNI = DEMO_DOMAINS.internet[0];

/** Every URL in `text` stands on its own: whitespace (or the start/end) on both sides. */
function urlsStandAlone(text: string, urls: string[]): void {
  for (const u of urls) {
    const at = text.indexOf(u);
    assert.ok(at >= 0, `URL ${u} is missing from:\n${text}`);
    const before = at === 0 ? '' : text[at - 1];
    const afterCh = text[at + u.length] ?? '';
    assert.ok(before === '' || /\s/.test(before), `URL ${u} is glued to "${before}" before it`);
    assert.ok(afterCh === '' || /\s/.test(afterCh), `URL ${u} is glued to "${afterCh}" after it`);
  }
}

function meta(over: Partial<MailMeta> = {}): MailMeta {
  return { id: 'a'.repeat(40), from: 'sender@example.com', to: [`kikaku@${MUNI}`], messageId: '<m@example.com>', sha256: '', receivedAt: new Date().toISOString(), via: 'test', ...over };
}

describe('mail sanitizer: text-ization', () => {
  test('URLs get whitespace on both sides, are never glued to Japanese text, and keep every character', () => {
    const cases: [string, string[]][] = [
      ['詳細はhttps://example.jp/a?b=1&c=2をご覧ください', ['https://example.jp/a?b=1&c=2']],
      ['（https://example.jp/x）です。', ['https://example.jp/x']],
      ['See https://example.com/path. Thanks', ['https://example.com/path']],
      ['リンク:https://example.jp/a_(b)', ['https://example.jp/a_(b)']],
      ['(see https://example.com/q)', ['https://example.com/q']],
      ['ftp://files.example.jp/pub/x.zip、http://example.jp/', ['ftp://files.example.jp/pub/x.zip', 'http://example.jp/']],
    ];
    for (const [input, urls] of cases) {
      const out = spaceUrls(input);
      urlsStandAlone(out, urls);
      // Only spaces were added: removing them gives the input back.
      assert.equal(out.replace(/ /g, ''), input.replace(/ /g, ''));
    }
    assert.equal(spaceUrls('already https://example.jp/ spaced'), 'already https://example.jp/ spaced');
  });

  test('bidirectional overrides and control characters are removed', () => {
    assert.equal(cleanText('invoice\u202Efdp.exe\u0007'), 'invoicefdp.exe');
  });

  test('HTML: tables stay legible rows, lists keep their items, link targets are shown, non-web links removed, remote images counted', () => {
    const r = htmlToText(NEWSLETTER_HTML.replace('</body>', '<img src="https://tracker.example/p.gif"><p><a href="https://example.jp/same">https://example.jp/same</a></p></body>'));
    const lines = r.text.split('\n');
    const rows = lines.filter((l) => l.startsWith('|'));
    assert.match(rows[1], /^\|-+\|-+\|$/, 'a separator under the header row');
    assert.deepEqual(rows.filter((_, i) => i !== 1).map((l) => l.split('|').slice(1, -1).map((c) => c.trim())), [['項目', '日程'], ['説明会', '12月1日'], ['申込締切', '12月15日']]);
    // Columns line up by display width (full-width characters count 2).
    const bars = rows.map((l) => [...l].reduce((acc, ch, i) => (ch === '|' ? [...acc, [...l].slice(0, i).reduce((w, c) => w + (c.codePointAt(0)! > 0x2e80 ? 2 : 1), 0)] : acc), [] as number[]));
    for (const b of bars) assert.deepEqual(b, bars[0]);
    assert.match(r.text, /・ 持ち物：筆記用具/);
    assert.match(r.text, /・ 会場：本庁舎 3 階/);
    urlsStandAlone(spaceUrls(r.text), ['https://www.example.jp/news?id=2026&lang=ja', 'https://form.example.jp/apply/123', 'https://example.jp/same']);
    assert.equal(r.text.split('https://example.jp/same').length - 1, 1, 'a link whose text is its URL appears once');
    assert.doesNotMatch(r.text, /javascript:/);
    assert.equal(r.removedLinks, 1);
    assert.equal(r.remoteImages, 1);
    assert.match(r.text, /\[画像 \/ image: ロゴ\]/);
  });

  for (const charset of ['ISO-2022-JP', 'Shift_JIS', 'UTF-8'] as const) {
    test(`${charset} subject, names and body are decoded; the output is UTF-8`, async () => {
      const raw = buildMail({ from: '"総務課 担当" <soumu@example.jp>', to: [`kikaku@${MUNI}`], subject: `【${charset}】予算①の件～ご確認`, messageId: `<${charset}@example.jp>`, text: '各位\n添付の件、ご確認ください。\n詳細はhttps://example.jp/yosan参照。\n①②③ ～ 髙橋', charset });
      assert.ok(raw.includes(Buffer.from(charset)), 'the sample really is in that charset');
      const r = await textize({ meta: meta(), raw }, { reporter: 'test' });
      assert.match(r.raw.toString('latin1'), /charset=utf-8/i);
      const p = await simpleParser(r.raw);
      assert.equal(p.subject, `【${charset}】予算①の件～ご確認`);
      assert.equal(p.from?.value[0].name, '総務課 担当');
      assert.match(p.text!, /添付の件、ご確認ください。/);
      assert.match(p.text!, /①②③ ～ 髙橋/);
      urlsStandAlone(p.text!, ['https://example.jp/yosan']);
    });
  }

  test('attachments the file sanitizer refuses are removed with the reason in the body; the rest are sanitized', async () => {
    const raw = buildMail({
      from: 'a@example.com',
      to: [`kikaku@${MUNI}`],
      subject: 'files',
      messageId: '<files@example.com>',
      text: 'see attached',
      attachments: [
        { name: 'secret.docx', contentType: 'application/octet-stream', content: corpusFile('oletools/test-data/encrypted/encrypted.docx') },
        { name: 'eicar.com', contentType: 'application/octet-stream', content: eicar() },
        { name: 'form.docm', contentType: 'application/vnd.ms-word.document.macroEnabled.12', content: corpusFile('oletools/test-data/oleform/oleform-PR314.docm') },
      ],
    });
    const r = await textize({ meta: meta(), raw }, { reporter: 'test' });
    const p = await simpleParser(r.raw);
    assert.deepEqual(p.attachments.map((a) => a.filename), ['form.docx']);
    assert.deepEqual(activeContent(p.attachments[0].content, 'form.docx'), []);
    assert.match(p.text!, /× secret\.docx: 除去しました \/ removed — .*encrypt/i);
    assert.match(p.text!, /× eicar\.com: 除去しました \/ removed — /);
    assert.equal(r.report.attachments.filter((a) => a.verdict === 'quarantined').length, 2);
  });

  test('a message that cannot be read reaches staff as a notice (the original is quarantined), never silently dropped', async () => {
    const stores = { inbound: new FsBlobStore(tmpdir('in-')), sanitized: new FsBlobStore(tmpdir('san-')), quarantine: new FsBlobStore(tmpdir('q-')), audit: new FsBlobStore(tmpdir('audit-')), auditPrefix: 'mail-audit/', reporter: 'test' };
    await stores.inbound.put('mail/x.eml', encodeStored(meta({ from: '' }), Buffer.from('\u0000\u0001 not a message at all')));
    await stores.inbound.put('mail/junk.eml', Buffer.from('no envelope line'));
    const r1 = await sanitizeMailJob({ key: 'mail/x.eml', deliveries: 1 }, stores);
    assert.equal(r1.verdict, 'withheld');
    const out = decodeStored((await stores.sanitized.get('mail/x.eml'))!);
    const p = await simpleParser(out.raw);
    assert.match(p.text!, /受信できなかったメール/);
    assert.match(p.text!, new RegExp(`Quarantine id: ${'a'.repeat(40)}`));
    assert.ok(await stores.quarantine.get('mail/x.eml'));
    const r2 = await sanitizeMailJob({ key: 'mail/junk.eml', deliveries: 1 }, stores);
    assert.equal(r2.verdict, 'quarantined');
    assert.ok(await stores.quarantine.get('mail/junk.eml'));
    assert.equal((await stores.sanitized.list('mail/junk')).length, 0);
    const audits = await stores.audit.list('mail-audit/');
    assert.equal(audits.length, 2);
    // An announced object that is not there yet is retried before it is called missing.
    await assert.rejects(sanitizeMailJob({ key: 'mail/late.eml', deliveries: 1 }, stores), /not in the inbound bucket yet/);
    assert.equal((await sanitizeMailJob({ key: 'mail/late.eml', deliveries: 3 }, stores)).verdict, 'missing');
  });
});

describe('mail path end to end over SMTP on 127.0.0.1', () => {
  let p: LocalPath;
  let tls: { key: Buffer; cert: Buffer };
  const logs: string[] = [];
  let flaky = 0;

  beforeAll(async () => {
    tls = selfSigned();
    p = await startLocalPath({
      dir: tmpdir('mail-e2e-'),
      tls,
      maxBytes: 2 * 1024 * 1024,
      pollMs: 50,
      retry: { baseMs: 100, maxMs: 400, maxAgeMs: 60_000 },
      log: (l) => logs.push(l),
      answer: {
        lgwan: (rcpt) => (rcpt.startsWith('nobody@') ? { code: 550, message: '5.1.1 no such user here' } : rcpt.startsWith('busy@') && flaky++ < 2 ? { code: 451, message: '4.3.2 try again later' } : undefined),
        internet: (rcpt) => (rcpt.endsWith('@down.example') ? { code: 451, message: '4.4.2 remote end busy' } : undefined),
      },
    });
  });
  afterAll(async () => {
    await p.close();
  });

  const fromLgwan = (m: { raw: Buffer }) => m.raw.toString('latin1');

  test('an ISO-2022-JP HTML mail with an inline image, a macro document and a PDF reaches the LGWAN mail server as UTF-8 plain text with clickable URLs, sanitized attachments and a banner (over STARTTLS)', async () => {
    const pdf = await activePdf();
    const raw = buildMail({
      from: '"山田 太郎" <taro@example.com>',
      to: [`kikaku@${MUNI}`],
      subject: '説明会のご案内',
      messageId: '<newsletter-1@example.com>',
      html: NEWSLETTER_HTML,
      charset: 'ISO-2022-JP',
      attachments: [
        { name: 'ロゴ.png', contentType: 'image/png', content: pngWithText(), cid: 'logo@example.jp' },
        { name: '申込書.docm', contentType: 'application/vnd.ms-word.document.macroEnabled.12', content: corpusFile('oletools/test-data/oleform/oleform-PR314.docm') },
        { name: '案内.pdf', contentType: 'application/pdf', content: pdf },
      ],
    });
    assert.match(raw.toString('latin1'), /charset=ISO-2022-JP/);
    const before0 = p.lgwanServer.messages.length;
    const sent = await send(p.gateway.port, 'taro@example.com', [`kikaku@${MUNI}`], raw, { requireTLS: true });
    assert.match(sent.response, /^250 /);
    await p.lgwanServer.waitFor(before0 + 1);
    const got = p.lgwanServer.messages[before0];
    assert.deepEqual(got.to, [`kikaku@${MUNI}`]);
    assert.match(fromLgwan(got), /Content-Type: text\/plain; charset=utf-8/i);
    assert.doesNotMatch(fromLgwan(got), /text\/html/i);
    assert.doesNotMatch(fromLgwan(got), /ISO-2022-JP/i);
    const m: ParsedMail = await simpleParser(got.raw);
    assert.equal(m.subject, '説明会のご案内');
    assert.equal(m.html, false);
    const text = m.text!;
    // Banner first, saying what changed.
    assert.ok(text.startsWith('━'), 'the banner comes first');
    assert.match(text, /【無害化済みメール \/ Sanitized mail】/);
    assert.match(text, /HTML 形式をテキストに変換しました/);
    assert.match(text, /○ 申込書\.docx: 無害化して添付 \/ sanitized and attached — VBA project/);
    assert.match(text, /○ 案内\.pdf: 無害化して添付/);
    assert.match(text, /○ ロゴ\.png: 無害化して添付/);
    // Clickable URLs, intact.
    urlsStandAlone(text, ['https://www.example.jp/news?id=2026&lang=ja', 'https://form.example.jp/apply/123']);
    assert.match(text, /\| 説明会\s+\| 12月1日\s+\|/);
    // Sanitized attachments: no macros, no PDF actions; the image re-encoded.
    const names = m.attachments.map((a) => a.filename).sort();
    assert.deepEqual(names, ['ロゴ.png', '案内.pdf', '申込書.docx'].sort());
    for (const a of m.attachments) assert.deepEqual(activeContent(a.content, a.filename!), [], `${a.filename} still carries active content`);
    const outPdf = m.attachments.find((a) => a.filename === '案内.pdf')!.content;
    assert.doesNotMatch(qdf(outPdf), /\/JavaScript|\/OpenAction|\/Launch|\/EmbeddedFile/);
    const png = m.attachments.find((a) => a.filename === 'ロゴ.png')!.content;
    assert.ok(pngWithText().includes(Buffer.from('tEXt')) && !png.includes(Buffer.from('tEXt')), 'the image was re-encoded without its text chunk');
    // Original in quarantine, audit record in the log archive.
    const id = String(m.headers.get('x-three-tier-mail-id'));
    const q = await p.stores.quarantine.list(`mail/${id}`);
    assert.equal(q.length, 1);
    const original = decodeStored((await p.stores.quarantine.get(q[0]))!).raw;
    assert.ok(original.includes(raw), 'the quarantined original holds the message as sent');
    // The MX's trace header says the session was encrypted (STARTTLS).
    assert.match(original.toString('latin1'), /by mx\.security-cloud\.local \(three-tier gateway\) with ESMTPS id/);
    const audit = JSON.parse((await p.stores.audit.get((await p.stores.audit.list('mail-audit/')).find((k) => k.endsWith(`${id}.json`))!))!.toString());
    assert.equal(audit.attachments.length, 3);
    assert.equal(audit.originalSha256.length, 64);
  });

  test('outbound mail: LGWAN-domain recipients go to the LGWAN network, every other domain to the internet (one message, split)', async () => {
    const raw = buildMail({ from: `staff@${DEMO_DOMAINS.own[0]}`, to: ['kacho@city.minato.lg.jp', 'info@example.com'], subject: '連絡', messageId: '<outbound-1@city.chiyoda.lg.jp>', text: '本文', charset: 'UTF-8' });
    const [n0, i0] = [p.lgwanNetwork.messages.length, p.internet.messages.length];
    await send(p.ingester.port, `staff@${DEMO_DOMAINS.own[0]}`, ['kacho@city.minato.lg.jp', 'info@example.com'], raw);
    await p.lgwanNetwork.waitFor(n0 + 1);
    await p.internet.waitFor(i0 + 1);
    assert.deepEqual(p.lgwanNetwork.messages[n0].to, ['kacho@city.minato.lg.jp']);
    assert.deepEqual(p.internet.messages.slice(i0).find((x) => x.raw.includes(Buffer.from('outbound-1')))!.to, ['info@example.com']);
    // The LGWAN recipient never touched the outbound bucket (X4 carries internet mail only).
    assert.ok(!p.internet.messages.some((x) => x.to.includes('kacho@city.minato.lg.jp')));
  });

  test('a message for a domain the security cloud does not serve is refused at the gateway', async () => {
    const raw = buildMail({ from: 'a@example.com', to: ['someone@elsewhere.example'], subject: 'x', messageId: '<relay-attempt@example.com>', text: 'x', charset: 'UTF-8' });
    await assert.rejects(send(p.gateway.port, 'a@example.com', ['someone@elsewhere.example'], raw), (e: Error & { responseCode?: number; response?: string }) => {
      assert.equal(e.responseCode, 550);
      assert.match(e.response ?? '', /relaying denied: elsewhere\.example/);
      return true;
    });
    assert.equal((await p.stores.spool.list('spool/')).filter((k) => k.includes('relay-attempt')).length, 0);
  });

  test('over-size messages are refused with 552 before anything is stored', async () => {
    const raw = buildMail({ from: 'a@example.com', to: [`kikaku@${MUNI}`], subject: 'big', messageId: '<big@example.com>', text: 'x'.repeat(3 * 1024 * 1024), charset: 'UTF-8' });
    await assert.rejects(send(p.gateway.port, 'a@example.com', [`kikaku@${MUNI}`], raw), (e: Error & { responseCode?: number }) => e.responseCode === 552);
  });

  test('a permanent failure at the LGWAN mail server bounces to the internet sender with a clear DSN', async () => {
    const raw = buildMail({ from: 'sender@partner.example', to: [`nobody@${MUNI}`], subject: '宛先違い', messageId: '<bounce-me@partner.example>', text: 'hello', charset: 'UTF-8' });
    const i0 = p.internet.messages.length;
    await send(p.gateway.port, 'sender@partner.example', [`nobody@${MUNI}`], raw);
    await until(() => p.internet.messages.slice(i0).some((x) => x.to.includes('sender@partner.example')), 20_000, 'the DSN at the internet sink');
    const dsn = p.internet.messages.slice(i0).find((x) => x.to.includes('sender@partner.example'))!;
    assert.equal(dsn.from, '', 'DSNs use the null sender');
    const text = dsn.raw.toString('latin1');
    assert.match(text, /multipart\/report; report-type=delivery-status/);
    assert.match(text, new RegExp(`Final-Recipient: rfc822; nobody@${MUNI.replace(/\./g, '\\.')}`));
    assert.match(text, /Status: 5\.1\.1/);
    assert.match(text, /Diagnostic-Code: smtp; 550 5\.1\.1 no such user here/);
    assert.match(text, /Message-ID: <bounce-me@partner\.example>/);
    const parsed = await simpleParser(dsn.raw);
    assert.match(parsed.text ?? '', /配送できませんでした/);
  });

  test('temporary failures are retried with backoff until delivered, once', async () => {
    const raw = buildMail({ from: 'a@example.com', to: [`busy@${MUNI}`], subject: 'retry', messageId: '<retry-1@example.com>', text: 'x', charset: 'UTF-8' });
    const l0 = p.lgwanServer.messages.length;
    await send(p.gateway.port, 'a@example.com', [`busy@${MUNI}`], raw);
    await until(() => p.lgwanServer.messages.some((x) => x.to.includes(`busy@${MUNI}`)), 20_000, 'the retried message');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(p.lgwanServer.messages.slice(l0).filter((x) => x.to.includes(`busy@${MUNI}`)).length, 1);
    assert.equal(flaky, 3, 'two temporary refusals, then accepted');
    assert.ok(logs.some((l) => /busy@.*deferred: 451 4\.3\.2 try again later/.test(l)));
  });

  test('the same message sent twice is delivered once (Message-ID and hash); the same bytes to another recipient are not a duplicate', async () => {
    const raw = buildMail({ from: 'a@example.com', to: [`kikaku@${MUNI}`], subject: 'dup', messageId: '<dup-1@example.com>', text: 'same bytes', charset: 'UTF-8' });
    const l0 = p.lgwanServer.messages.length;
    await send(p.gateway.port, 'a@example.com', [`kikaku@${MUNI}`], raw);
    await p.lgwanServer.waitFor(l0 + 1);
    await send(p.gateway.port, 'a@example.com', [`kikaku@${MUNI}`], raw);
    await send(p.gateway.port, 'a@example.com', [`somu@${MUNI}`], raw);
    await until(() => p.lgwanServer.messages.slice(l0).some((x) => x.to.includes(`somu@${MUNI}`)), 20_000, 'the second recipient');
    await until(async () => (await p.stores.sanitized.list('mail/')).length === 0 && (await p.stores.spool.list('spool/')).length === 0, 20_000, 'drained buckets');
    const dup = p.lgwanServer.messages.slice(l0).filter((x) => x.raw.includes(Buffer.from('dup-1@example.com')));
    assert.deepEqual(dup.map((x) => x.to[0]).sort(), [`kikaku@${MUNI}`, `somu@${MUNI}`]);
    assert.ok(logs.some((l) => /duplicate suppressed/.test(l)));
  });

  test('staff mail that cannot reach the internet within the retry period comes back to them as a DSN (through the sanitizer)', async () => {
    const q = await startLocalPath({ dir: tmpdir('mail-expire-'), pollMs: 50, retry: { baseMs: 100, maxMs: 200, maxAgeMs: 1500 }, answer: { internet: (r) => (r.endsWith('@down.example') ? { code: 451, message: '4.4.2 remote end busy' } : undefined) } });
    try {
      const from = `staff@${DEMO_DOMAINS.own[0]}`;
      await send(q.ingester.port, from, ['x@down.example'], buildMail({ from, to: ['x@down.example'], subject: '送信', messageId: '<expire-1@city.chiyoda.lg.jp>', text: 'x', charset: 'UTF-8' }));
      // The DSN travels internet relay → inbound → sanitizer → ingester → the LGWAN mail server.
      await q.lgwanServer.waitFor(1, 20_000);
      const m = await simpleParser(q.lgwanServer.messages[0].raw);
      assert.deepEqual(q.lgwanServer.messages[0].to, [from]);
      assert.match(m.text!, /配送できませんでした/);
      assert.match(m.text!, /x@down\.example: 4\.4\.7 delivery time expired/);
      assert.equal(q.internet.messages.length, 0);
    } finally {
      await q.close();
    }
  });
});

describe('outbox: several hosts on one store', () => {
  test('two hosts draining the same bucket deliver each message once (leases in the ledger)', async () => {
    const source = new FsBlobStore(tmpdir('shared-src-'));
    const ledger = new FsBlobStore(tmpdir('shared-ledger-'));
    const sink = new Sink({ name: 'lgwan-mail-server' });
    const port = await sink.listen();
    for (let i = 0; i < 100; i++) {
      const m = meta({ id: `${String(i).padStart(40, '0')}`, messageId: `<lease-${i}@example.com>` });
      await storeMail(source, m, buildMail({ from: m.from, to: m.to, subject: `${i}`, messageId: m.messageId, text: 'x', charset: 'UTF-8' }));
    }
    const hosts = ['ingester-a', 'ingester-b'].map(
      (h) => new Outbox({ role: 'lgwan-ingester', hostname: h, source, prefix: 'mail/', ledger, route: (_m, pending) => [{ recipients: pending, targets: [{ host: '127.0.0.1', port }] }], bounce: async () => assert.fail('nothing bounces here'), pollMs: 20, concurrency: 8 }),
    );
    hosts.forEach((h) => h.start());
    try {
      await sink.waitFor(100, 30_000);
      await until(async () => (await source.list('mail/')).length === 0, 30_000, 'the source to drain');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sink.messages.length, 100);
      assert.equal(new Set(sink.messages.map((m) => /^Message-ID: (.*)$/im.exec(m.raw.toString())![1])).size, 100);
      assert.ok(hosts.every((h) => h.stats.delivered > 0), `both hosts delivered (${hosts.map((h) => h.stats.delivered).join(' + ')})`);
      assert.deepEqual(await ledger.list('lease/'), [], 'leases are released');
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
      await sink.close();
    }
  });
});

describe('storage: the filesystem implementation', () => {
  test('put is atomic and announced before it is visible; putIfAbsent writes once; list and delete by prefix; keys cannot escape', async () => {
    const seen: { key: string; visible: boolean }[] = [];
    const dir = tmpdir('fsblob-');
    const s: FsBlobStore = new FsBlobStore(dir, (key) => seen.push({ key, visible: fs.existsSync(path.join(dir, key)) }));
    await s.put('mail/a.eml', Buffer.from('A'));
    assert.deepEqual(seen, [{ key: 'mail/a.eml', visible: false }]);
    assert.equal(await s.putIfAbsent('ledger/x', Buffer.from('1')), true);
    assert.equal(await s.putIfAbsent('ledger/x', Buffer.from('2')), false);
    assert.equal((await s.get('ledger/x'))!.toString(), '1');
    assert.deepEqual(await s.list('mail/'), ['mail/a.eml']);
    assert.deepEqual(await s.list('ledger/'), ['ledger/x']);
    await s.delete('mail/a.eml');
    assert.equal(await s.get('mail/a.eml'), undefined);
    await assert.rejects(s.put('../escape', Buffer.from('x')), /escapes/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'mail')), [], 'no temporary files left');
  });
});
