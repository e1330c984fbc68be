#!/usr/bin/env node
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { generateKeyPairSync } from 'crypto';
import { dkimSign } from 'mailauth';
import { DEMO_DOMAINS, startLocalPath } from '../lib/mail/local';
import { zoneResolver } from '../lib/mail/stub-dns';
import { dkimSigner } from '../lib/mail/dkim';
import { NEWSLETTER_HTML, buildMail, logoPng } from '../lib/mail/samples';

/**
 * `npm run demo:mail`: the whole mail path on 127.0.0.1 (gateway → internet
 * relay → inbound → mail sanitizer → sanitized → LGWAN ingester → a stand-in
 * LGWAN mail server; outbound: ingester → LGWAN network stand-in or
 * outbound → internet relay → internet stand-in). Folders stand in for the
 * buckets. Send with any SMTP client; read what LGWAN staff receive in
 * <dir>/sink-lgwan-mail-server/.
 */
const USAGE = 'usage: npm run demo:mail -- [--port N] [--dir DIR] [--send-sample] [--attach FILE]... [--exit-after-sample]';

async function main(argv: string[]): Promise<number> {
  let port = 2525;
  let dir: string | undefined;
  let sample = false;
  let exitAfter = false;
  const attach: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') port = Number(argv[++i]);
    else if (a === '--dir') dir = argv[++i];
    else if (a === '--send-sample') sample = true;
    else if (a === '--exit-after-sample') sample = exitAfter = true;
    else if (a === '--attach') attach.push(argv[++i]);
    else {
      process.stderr.write(`demo:mail: unknown argument ${a}\n${USAGE}\n`);
      return 2;
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`demo:mail: --port must be 0-65535 (0 picks a free port)\n${USAGE}\n`);
    return 2;
  }
  for (const f of attach) {
    if (!fs.existsSync(f)) {
      process.stderr.write(`demo:mail: --attach ${f}: no such file\n`);
      return 2;
    }
  }
  const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'three-tier-mail-demo-'));
  const say = (l: string) => process.stdout.write(`${l}\n`);
  // There is no DNS here: a stub zone publishes what a real sender and the municipality would (SPF, DKIM, DMARC),
  // with keys made for this run, so the MX gateway's sender authentication has something real to check.
  const key = () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), txt: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
  };
  const senderKey = key();
  const cityKey = key();
  const zone = {
    'example.com': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject'] },
    'demo._domainkey.example.com': { TXT: [senderKey.txt] },
    [`tt2026._domainkey.${DEMO_DOMAINS.internet[0]}`]: { TXT: [cityKey.txt] },
  };
  let p;
  try {
    p = await startLocalPath({
      dir: root,
      gatewayPort: port,
      sinkFiles: true,
      pollMs: 200,
      retry: { baseMs: 2000, maxMs: 30_000, maxAgeMs: 10 * 60_000 },
      log: (l) => say(`  · ${l}`),
      senderAuth: { authservId: 'mx.demo.three-tier', resolver: zoneResolver(zone), dmarcRejectAction: 'reject' },
      sign: dkimSigner({ selector: 'tt2026', privateKey: cityKey.pem, domains: DEMO_DOMAINS.internet }),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`demo:mail: could not start: ${err.code === 'EADDRINUSE' ? `port ${port} is in use; pass --port N (or --port 0 for any free port)` : err.message}\n`);
    return 1;
  }
  const mx = p.gateway.port;
  const to = `kikaku@${DEMO_DOMAINS.internet[0]}`;
  say(`three-tier mail demo — gateway (MX) listening on 127.0.0.1:${mx}`);
  say(`gateway port: ${mx}`);
  say(`folders (buckets, queue, sinks): ${root}`);
  say(`municipal domain accepted by the MX: ${DEMO_DOMAINS.internet.join(', ')}; LGWAN domains: *.${DEMO_DOMAINS.lgwan.join(', *.')} (own: ${DEMO_DOMAINS.own.join(', ')})`);
  say('');
  say('Send a message (any SMTP client), e.g.:');
  say(`  curl -s smtp://127.0.0.1:${mx} --mail-from sender@example.com --mail-rcpt ${to} --upload-file message.eml`);
  say(`What LGWAN staff receive: ${path.join(root, 'sink-lgwan-mail-server')}/*.eml`);
  say(`Mail from staff: send to the ingester at 127.0.0.1:${p.ingester.port} (LGWAN domains → ${path.join(root, 'sink-lgwan-network')}, others → ${path.join(root, 'sink-internet')})`);
  say('The MX checks SPF, DKIM, DMARC and ARC against a stub DNS zone (no DNS here): example.com publishes SPF for 127.0.0.1 and DMARC p=reject;');
  say('other sender domains are "not authenticated". Outbound mail from the municipal domain is DKIM-signed (selector tt2026).');
  say('Ctrl-C stops the demo.');
  if (sample) {
    const raw = buildMail({
      from: '"山田 太郎" <taro@example.com>',
      to: [to],
      subject: '説明会のご案内',
      messageId: `<demo-${Date.now()}@example.com>`,
      html: NEWSLETTER_HTML,
      charset: 'ISO-2022-JP',
      attachments: [
        { name: 'ロゴ.png', contentType: 'image/png', content: logoPng(), cid: 'logo@example.jp' },
        { name: '名簿.csv', contentType: 'text/csv', content: Buffer.from('氏名,連絡先\n山田,=cmd|\' /C calc\'!A0\n') },
        ...attach.map((f) => ({ name: path.basename(f), contentType: 'application/octet-stream', content: fs.readFileSync(f) })),
      ],
    });
    // The sender's own server signs with DKIM (as example.com's would).
    const sig = await dkimSign(raw, { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: 'example.com', selector: 'demo', privateKey: senderKey.pem }] } as never);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: mx, secure: false, ignoreTLS: true });
    await t.sendMail({ envelope: { from: 'taro@example.com', to: [to] }, raw: Buffer.concat([Buffer.from(sig.signatures), raw]) });
    t.close();
    say(`sample sent (ISO-2022-JP HTML, inline image, CSV with a DDE formula${attach.length ? `, ${attach.join(', ')}` : ''}); waiting for it at the LGWAN mail server…`);
    await p.lgwanServer.waitFor(1, 60_000);
    const file = path.join(root, 'sink-lgwan-mail-server', '00001.eml');
    say(`received by the LGWAN mail server: ${file}`);
    const got = await simpleParser(fs.readFileSync(file));
    say('─'.repeat(60));
    const authLine = (got.text ?? '').split('\n').find((l) => l.startsWith('・送信元認証')) ?? '(no sender authentication line)';
    say(`sender authentication (what staff read in the banner): ${authLine}`);
    say(`From: ${got.from?.text ?? ''}\nTo: ${[got.to ?? []].flat().map((a) => a.text).join(', ')}\nSubject: ${got.subject ?? ''}\nX-Three-Tier-Sanitized: ${String(got.headers.get('x-three-tier-sanitized') ?? '')}\n`);
    say(got.text ?? '');
    say(`attachments: ${got.attachments.map((a) => `${a.filename} (${a.contentType}, ${a.size} bytes)`).join(', ') || 'none'}`);
    say('─'.repeat(60));
    if (exitAfter) {
      await p.close();
      return 0;
    }
  }
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  await p.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo:mail: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
