import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, dkimVerify, sealMessage } from 'mailauth';
import { simpleParser } from 'mailparser';
import { LocalPath, startLocalPath } from '../lib/mail/local';
import { buildMail } from '../lib/mail/samples';
import { SENDER_AUTH_HEADER, stripForged } from '../lib/mail/sender-auth';
import { Zone, zoneResolver } from '../lib/mail/stub-dns';
import { dkimKeyFromSecretsManager, dkimSigner } from '../lib/mail/dkim';
import { senderAuthFromEnv } from '../lib/mail/service';
import { mockClient } from 'aws-sdk-client-mock';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { send, tmpdir, until } from './helpers/mail';

/**
 * Sender authentication at the MX gateway (SPF, DKIM, DMARC, ARC through
 * mailauth), against a stub resolver (no DNS here): what the sender is told
 * at SMTP time, and the line LGWAN staff read in the banner. And DKIM
 * signing of outbound mail at the internet relay.
 */
const MUNI = 'city.chiyoda.example.jp';
const AUTHSERV = 'mx.tokyo.three-tier.example';

function rsa(): { pem: string; txt: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), txt: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
}

const keys = { good: rsa(), tamper: rsa(), lists: rsa(), city: rsa() };
const zone: Zone = {
  'good.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject'] },
  's1._domainkey.good.example': { TXT: [keys.good.txt] },
  'spoofed.example': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.spoofed.example': { TXT: ['v=DMARC1; p=reject'] },
  'tamper.example': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.tamper.example': { TXT: ['v=DMARC1; p=quarantine'] },
  's1._domainkey.tamper.example': { TXT: [keys.tamper.txt] },
  'relaxed.example': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  '_dmarc.relaxed.example': { TXT: ['v=DMARC1; p=none'] },
  'nopolicy.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'lists.example.org': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'arc._domainkey.lists.example.org': { TXT: [keys.lists.txt] },
  'flaky.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  '_dmarc.flaky.example': { TXT: { error: 'ETIMEOUT' } },
  [`tt2026._domainkey.${MUNI}`]: { TXT: [keys.city.txt] },
};
const resolver = zoneResolver(zone);

function mail(from: string, subject: string, extra: string[] = []): Buffer {
  const raw = buildMail({ from, to: [`kikaku@${MUNI}`], subject, messageId: `<${subject.replace(/\W/g, '-')}@test>`, text: `本文です。 ${subject}\nhttps://www.example.jp/\n`, charset: 'UTF-8' });
  return extra.length ? Buffer.concat([Buffer.from(`${extra.join('\r\n')}\r\n`), raw]) : raw;
}

async function signed(raw: Buffer, domain: string, pem: string, selector = 's1'): Promise<Buffer> {
  const r = await dkimSign(raw, { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: domain, selector, privateKey: pem }] } as never);
  assert.deepEqual(r.errors, []);
  assert.match(r.signatures, /^DKIM-Signature:/);
  return Buffer.concat([Buffer.from(r.signatures), raw]);
}

describe('sender authentication at the MX gateway', () => {
  let p: LocalPath;
  let q: LocalPath;
  const logs: string[] = [];
  beforeAll(async () => {
    const common = { pollMs: 50, retry: { baseMs: 100, maxMs: 400, maxAgeMs: 60_000 }, log: (l: string) => logs.push(l), domains: [MUNI] };
    p = await startLocalPath({ ...common, dir: tmpdir('mail-auth-'), senderAuth: { authservId: AUTHSERV, resolver, dmarcRejectAction: 'reject', arcTrustedSealers: ['lists.example.org'] }, sign: dkimSigner({ selector: 'tt2026', privateKey: keys.city.pem, domains: [MUNI] }) });
    q = await startLocalPath({ ...common, dir: tmpdir('mail-auth-q-'), senderAuth: { authservId: AUTHSERV, resolver, dmarcRejectAction: 'quarantine' } });
  });
  afterAll(async () => {
    await p?.close();
    await q?.close();
  });

  /** Sends to the gateway and waits for what staff receive: the banner's sender line and the message. */
  async function staffGets(path: LocalPath, from: string, raw: Buffer): Promise<{ line: string; text: string; headers: string }> {
    const before = path.lgwanServer.messages.length;
    await send(path.gateway.port, from, [`kikaku@${MUNI}`], raw);
    await path.lgwanServer.waitFor(before + 1, 30_000);
    const got = path.lgwanServer.messages[before];
    const parsed = await simpleParser(got.raw);
    const line = (parsed.text ?? '').split('\n').find((l) => l.startsWith('・送信元認証'))!;
    assert.ok(line, `a sender authentication line in:\n${parsed.text}`);
    return { line, text: parsed.text ?? '', headers: got.raw.toString('latin1').split('\r\n\r\n')[0] };
  }

  test('aligned pass (SPF and DKIM of good.example): delivered, staff read "authenticated (good.example)" with the DMARC policy; the message carries our Authentication-Results', async () => {
    const r = await staffGets(p, 'news@good.example', await signed(mail('"Good" <news@good.example>', 'aligned pass'), 'good.example', keys.good.pem));
    assert.match(r.line, /送信元認証: 認証済み（good\.example）/);
    assert.match(r.line, /Sender authenticated: good\.example — DMARC ポリシー \/ policy: reject/);
    const originals = await Promise.all((await p.stores.quarantine.list('mail/')).map(async (k) => (await p.stores.quarantine.get(k))!.toString('latin1')));
    const original = originals.find((o) => o.includes('aligned pass'))!;
    assert.match(original, new RegExp(`Authentication-Results: ${AUTHSERV.replace(/\./g, '\\.')};[\\s\\S]*dmarc=pass`), 'the gateway added its Authentication-Results');
  });

  test('SPF fail and no DKIM under p=reject: refused at SMTP time with 550 5.7.1, never stored', async () => {
    const spool = (await p.stores.spool.list('spool/')).length;
    await assert.rejects(send(p.gateway.port, 'ceo@spoofed.example', [`kikaku@${MUNI}`], mail('"社長" <ceo@spoofed.example>', 'spoofed')), (e: Error & { responseCode?: number; response?: string }) => {
      assert.equal(e.responseCode, 550);
      assert.match(e.response ?? '', /5\.7\.1 DMARC policy of spoofed\.example is reject/);
      return true;
    });
    assert.equal((await p.stores.spool.list('spool/')).length, spool);
    assert.ok(logs.some((l) => /gateway: refused a message from <ceo@spoofed\.example>/.test(l)));
  });

  test('DKIM body tampered (p=quarantine): delivered with "FAILED"; the line shows the DKIM failure (body hash did not verify)', async () => {
    const plain = buildMail({ from: '<info@tamper.example>', to: [`kikaku@${MUNI}`], subject: 'tampered body', messageId: '<tampered@test>', text: '振込先の変更: https://www.example.jp/\n', charset: 'ISO-2022-JP' });
    const s = await signed(plain, 'tamper.example', keys.tamper.pem);
    assert.ok(s.includes('https://www.example.jp/'));
    const tampered = Buffer.from(s.toString('latin1').replace('https://www.example.jp/', 'https://evil.example.net/'), 'latin1');
    const r = await staffGets(p, 'info@tamper.example', tampered);
    assert.match(r.line, /送信元認証: 失敗/);
    // mailauth reports a body hash mismatch as dkim=neutral with the reason in the Authentication-Results comment.
    assert.match(r.line, /Sender authentication FAILED: claims to be tamper\.example — DMARC ポリシー \/ policy: quarantine; spf=fail dkim=(fail|neutral)/);
    const originals = await Promise.all((await p.stores.quarantine.list('mail/')).map(async (k) => (await p.stores.quarantine.get(k))!.toString('latin1')));
    assert.match(originals.find((o) => o.includes('tampered body'))!, /dkim=neutral \(body hash did not verify\)/);
    assert.match(r.text, /https:\/\/evil\.example\.net\//);
  });

  test('DMARC p=none failing, and a domain without DMARC: delivered, "FAILED (policy none)" and "not authenticated"', async () => {
    const a = await staffGets(p, 'x@relaxed.example', mail('<x@relaxed.example>', 'dmarc none'));
    assert.match(a.line, /Sender authentication FAILED: claims to be relaxed\.example — DMARC ポリシー \/ policy: none/);
    const b = await staffGets(p, 'y@nopolicy.example', mail('<y@nopolicy.example>', 'no dmarc'));
    assert.match(b.line, /送信元認証: 認証なし（nopolicy\.example）\/ Sender not authenticated: nopolicy\.example — DMARC ポリシーなし \/ no DMARC policy/);
  });

  test('forged Authentication-Results for our authserv-id and a forged verdict header are removed before ours are added', async () => {
    const forged = mail('<y@nopolicy.example>', 'forged results', [`Authentication-Results: ${AUTHSERV}; dmarc=pass header.from=nopolicy.example`, `${SENDER_AUTH_HEADER}: {"status":"pass","domain":"nopolicy.example","spf":"pass","dkim":"pass","dmarc":"pass","arcResult":"none","action":"accept"}`, 'Authentication-Results: other.example; spf=pass']);
    const r = await staffGets(p, 'y@nopolicy.example', forged);
    assert.match(r.line, /Sender not authenticated: nopolicy\.example/);
    const stored = stripForged(forged, AUTHSERV).toString('latin1');
    assert.doesNotMatch(stored, new RegExp(`Authentication-Results: ${AUTHSERV.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(stored, new RegExp(SENDER_AUTH_HEADER));
    assert.match(stored, /Authentication-Results: other\.example; spf=pass/, 'results of other hosts are kept');
  });

  test('forwarded mail with ARC: the list changed the body (DKIM and SPF of good.example fail, p=reject) but its ARC seal is valid and trusted: delivered as authenticated through the forwarder', async () => {
    const original = await signed(mail('"Good" <news@good.example>', 'via list'), 'good.example', keys.good.pem);
    const changed = Buffer.from(original.toString('latin1').replace('Subject: via list', 'Subject: [list] via list'), 'latin1');
    const seal = await sealMessage(changed, { signingDomain: 'lists.example.org', selector: 'arc', privateKey: keys.lists.pem, cv: 'none', authResults: 'lists.example.org; dkim=pass header.d=good.example; spf=pass smtp.mailfrom=good.example' } as never);
    assert.ok(seal.length > 0, 'the forwarder sealed the message');
    const r = await staffGets(p, 'bounces@lists.example.org', Buffer.concat([seal, changed]));
    assert.match(r.line, /認証済み（good\.example、転送元 lists\.example\.org の ARC による）/);
    assert.match(r.line, /through the forwarder lists\.example\.org, ARC/);
    // The same message where the forwarder is not trusted (q trusts no sealer) fails DMARC p=reject: q quarantines it.
    const other = await staffGets(q, 'bounces@lists.example.org', Buffer.concat([seal, changed]));
    assert.match(other.text, /【受信できなかったメール \/ Message withheld】/);
  });

  test('DMARC reject with dmarcRejectAction=quarantine: accepted, the original kept in quarantine, staff get a notice with the failed line (never silently dropped)', async () => {
    const r = await staffGets(q, 'ceo@spoofed.example', mail('"社長" <ceo@spoofed.example>', 'spoofed to quarantine'));
    assert.match(r.text, /Message withheld/);
    assert.match(r.text, /DMARC p=reject/);
    assert.match(r.line, /Sender authentication FAILED: claims to be spoofed\.example — DMARC ポリシー \/ policy: reject/);
    const kept = await q.stores.quarantine.list('mail/');
    const originals = await Promise.all(kept.map(async (k) => (await q.stores.quarantine.get(k))!.toString('latin1')));
    assert.ok(originals.some((o) => o.includes('spoofed to quarantine')), 'the original is in quarantine');
  });

  test('DNS failure: 451 (temporary), the sender retries after DNS recovers, and the message is delivered exactly once', async () => {
    const raw = mail('<n@flaky.example>', 'dns outage');
    await assert.rejects(send(p.gateway.port, 'n@flaky.example', [`kikaku@${MUNI}`], raw), (e: Error & { responseCode?: number; response?: string }) => e.responseCode === 451 && /4\.7\.0 temporary DNS error/.test(e.response ?? ''));
    await assert.rejects(send(p.gateway.port, 'n@flaky.example', [`kikaku@${MUNI}`], raw), (e: Error & { responseCode?: number }) => e.responseCode === 451);
    zone['_dmarc.flaky.example'] = { TXT: ['v=DMARC1; p=reject'] };
    const r = await staffGets(p, 'n@flaky.example', raw);
    assert.match(r.line, /Sender authenticated: flaky\.example/);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(p.lgwanServer.messages.filter((m) => m.raw.toString('latin1').includes('dns outage')).length, 1);
  });

  test('outbound mail for the municipal domain is DKIM-signed at the internet relay and verifies against the published key; other From domains are not signed', async () => {
    const before = p.internet.messages.length;
    const out = buildMail({ from: `"企画課" <kikaku@${MUNI}>`, to: ['someone@example.net'], subject: '回答', messageId: '<out-1@city>', text: 'ご連絡ありがとうございます。', charset: 'UTF-8' });
    await send(p.ingester.port, `kikaku@${MUNI}`, ['someone@example.net'], out);
    await until(() => p.internet.messages.length > before, 30_000, 'outbound mail at the internet');
    const sent = p.internet.messages[before].raw;
    assert.match(sent.toString('latin1'), new RegExp(`^DKIM-Signature: .*d=${MUNI.replace(/\./g, '\\.')}`, 's'));
    const v = await dkimVerify(sent, { resolver: resolver as never });
    assert.equal(v.results[0].status.result, 'pass', JSON.stringify(v.results[0].status));
    assert.equal(v.results[0].signingDomain, MUNI);
    const foreign = buildMail({ from: 'x@elsewhere.example', to: ['someone@example.net'], subject: 'other', messageId: '<out-2@city>', text: 'x', charset: 'UTF-8' });
    assert.deepEqual(await dkimSigner({ selector: 'tt2026', privateKey: keys.city.pem, domains: [MUNI] })(foreign), foreign);
  });
});

describe('mail authentication settings of the services', () => {
  test('the gateway refuses an unknown DMARC action and a stub DNS zone outside the local path, naming the variable', () => {
    assert.throws(() => senderAuthFromEnv({ MAIL_DMARC_REJECT_ACTION: 'drop' }, false), /MAIL_DMARC_REJECT_ACTION is "drop": set it to reject \(550 at SMTP time\) or quarantine/);
    assert.throws(() => senderAuthFromEnv({ MAIL_DNS_ZONE: '/tmp/zone.json' }, false), /MAIL_DNS_ZONE is for the local mail path only/);
    const o = senderAuthFromEnv({ MAIL_AUTHSERV_ID: 'mx.tokyo.pilot.three-tier', MAIL_ARC_TRUSTED_SEALERS: 'Lists.Example.org, ' }, false);
    assert.deepEqual([o.authservId, o.dmarcRejectAction, o.arcTrustedSealers], ['mx.tokyo.pilot.three-tier', 'reject', ['lists.example.org']]);
  });
  test('the relay reads its DKIM key from Secrets Manager once, and refuses a key that is not RSA of at least 2048 bits', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({ SecretString: keys.city.pem });
    const client = new SecretsManagerClient({ region: 'ap-northeast-1' });
    assert.equal(await dkimKeyFromSecretsManager(client, 'three-tier/131016/dkim-tt2026'), keys.city.pem);
    assert.deepEqual(sm.commandCalls(GetSecretValueCommand)[0].args[0].input, { SecretId: 'three-tier/131016/dkim-tt2026' });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    sm.on(GetSecretValueCommand).resolves({ SecretString: small });
    await assert.rejects(dkimKeyFromSecretsManager(client, 'weak'), /has 1024 bits; use at least 2048/);
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'not a key' });
    await assert.rejects(dkimKeyFromSecretsManager(client, 'junk'), /not an RSA private key in PEM/);
    sm.restore();
  });
});
