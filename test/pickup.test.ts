import { describe, test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { chromium, Browser, BrowserContext } from 'playwright-core';
import { SignJWT, exportJWK, generateKeyPair, CryptoKey } from 'jose';
import { FsQueue, FsStore, runWorker } from '../lib/sanitizer/worker';
import { pickupServer } from '../lib/sanitizer/pickup';
import { headerAuthenticator, oidcAuthenticator, signedJwtAuthenticator } from '../lib/sanitizer/pickup-identity';
import * as fx from './helpers/sanitizer-fixtures';
import { selfSigned } from './helpers/mail';
import { startTestProvider, TestProvider } from './helpers/oidc-provider';

/**
 * The staff path end to end: files land in the inbound bucket under the
 * user's prefix, the worker sanitizes them, and the pickup page in lgwan,
 * opened in headless Chromium, lists them with verdict and audit record and
 * serves the sanitized file, to the staff member it signed in and nobody
 * else. Identity comes from a local OpenID Connect provider (oidc mode), a
 * JWT signed by the front (signed-jwt mode), or a header believed only from
 * the front's address (header mode); nothing a terminal sends can forge it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function listen(server: http.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as AddressInfo).port;
}

describe('pickup page (lgwan) in headless Chromium', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pickup-'));
  const store = new FsStore(path.join(root, 'buckets'));
  const servers: http.Server[] = [];
  let browser: Browser;
  let idp: TestProvider;
  let oidcBase = '';
  let jwtBase = '';
  let headerBase = '';
  let frontBase = '';
  let frontKey: CryptoKey;
  let otherKey: CryptoKey;

  const assertion = (claims: Record<string, unknown>, o: { key?: CryptoKey; audience?: string; exp?: number | string; iat?: number } = {}) =>
    new SignJWT({ groups: ['staff'], ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'front-1' })
      .setIssuer('https://front.city.example.lg.jp')
      .setAudience(o.audience ?? 'pickup')
      .setIssuedAt(o.iat)
      .setExpirationTime(o.exp ?? '2m')
      .sign(o.key ?? frontKey);

  beforeAll(async () => {
    const queue = new FsQueue(path.join(root, 'queue'), 30);
    const files: Record<string, Buffer> = {
      'users/tanaka/申請書.docm': fx.corpusFile('oletools/test-data/oleform/oleform-PR314.docm'),
      'users/tanaka/locked.docx': fx.corpusFile('oletools/test-data/encrypted/encrypted.docx'),
      'users/sato/other.csv': fx.corpusFile('oletools/test-data/msodde/dde-in-csv.csv'),
    };
    for (const [k, b] of Object.entries(files)) {
      await store.put('inbound', k, b);
      queue.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'inbound' }, object: { key: encodeURIComponent(k).replace(/%2F/g, '/') } } }] }));
    }
    await runWorker({ queue, store, targets: { sanitizedBucket: 'sanitized', quarantineBucket: 'quarantine', auditBucket: 'log-archive', auditPrefix: 'sanitizer-audit/' }, untilEmpty: true, log: () => {} });

    // oidc: the page on HTTPS (the session cookie is Secure), the IdP on 127.0.0.1.
    idp = await startTestProvider({ users: { tanaka: { password: 'pw-tanaka', groups: ['staff'] }, sato: { password: 'pw-sato', groups: ['staff', 'finance'] }, guest: { password: 'pw-guest', groups: ['contractors'] } } });
    const tls = selfSigned();
    let handler: http.RequestListener = (_q, r) => r.end();
    const oidcServer = https.createServer({ ...tls }, (req, res) => handler(req, res));
    servers.push(oidcServer);
    const oidcPort = await listen(oidcServer);
    oidcBase = `https://127.0.0.1:${oidcPort}`;
    const oidcPage = pickupServer({ store, bucket: 'sanitized', auth: oidcAuthenticator({ issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, pageUrl: oidcBase, allowedGroups: ['staff'], allowInsecureIssuer: true }) });
    handler = (req, res) => oidcPage.emit('request', req, res);

    // signed-jwt: the front's keys published as a JWKS URL.
    const front = await generateKeyPair('ES256');
    frontKey = front.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk = { ...(await exportJWK(front.publicKey)), kid: 'front-1', alg: 'ES256' };
    const jwks = http.createServer((_q, r) => r.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    servers.push(jwks);
    const jwksPort = await listen(jwks);
    const jwtPage = pickupServer({ store, bucket: 'sanitized', auth: signedJwtAuthenticator({ issuer: 'https://front.city.example.lg.jp', audience: 'pickup', jwksUrl: `http://127.0.0.1:${jwksPort}/jwks`, allowedGroups: ['staff'] }) });
    servers.push(jwtPage);
    jwtBase = `http://127.0.0.1:${await listen(jwtPage)}`;

    // header (compatibility): believed only from the front's address 127.0.0.2.
    const headerPage = pickupServer({ store, bucket: 'sanitized', auth: headerAuthenticator({ frontAddresses: ['127.0.0.2'] }) });
    servers.push(headerPage);
    const headerPort = await listen(headerPage);
    headerBase = `http://127.0.0.1:${headerPort}`;
    // The front: turns its own session cookie into the header and connects from 127.0.0.2.
    const frontProxy = http.createServer((req, res) => {
      const user = /(?:^|;\s*)sso-user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const headers = { ...req.headers };
      delete headers['x-remote-user'];
      if (user) headers['x-remote-user'] = decodeURIComponent(user);
      const up = http.request({ host: '127.0.0.1', port: headerPort, localAddress: '127.0.0.2', path: req.url, method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    servers.push(frontProxy);
    frontBase = `http://127.0.0.1:${await listen(frontProxy)}`;

    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (npm test installs Debian's chromium; set CHROMIUM_PATH otherwise)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
    await idp?.close();
  });

  async function signIn(user: string, password: string): Promise<{ ctx: BrowserContext; status: number | undefined }> {
    const ctx = await browser.newContext({ acceptDownloads: true, ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    const first = await page.goto(oidcBase);
    assert.equal(first!.status(), 401, 'not signed in yet');
    await page.click('#sign-in');
    await page.waitForSelector('#username');
    assert.ok(page.url().startsWith(idp.issuer), `redirected to the identity provider, got ${page.url()}`);
    assert.match(page.url(), /code_challenge_method=S256/);
    assert.match(page.url(), /[?&]state=/);
    assert.match(page.url(), /[?&]nonce=/);
    await page.fill('#username', user);
    await page.fill('#password', password);
    const [resp] = await Promise.all([page.waitForNavigation(), page.click('#submit')]);
    return { ctx, status: resp?.status() };
  }

  test('oidc: a staff member signs in at the identity provider and sees their own files with verdict and audit record, and downloads the sanitized one', async () => {
    const { ctx, status } = await signIn('tanaka', 'pw-tanaka');
    assert.equal(status, 200);
    const page = ctx.pages()[0];
    assert.equal(page.url(), `${oidcBase}/`);
    assert.equal(await page.textContent('#user'), 'tanaka');
    const cookie = (await ctx.cookies(oidcBase)).find((c) => c.name === '__Host-pickup-session')!;
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.value.split('.').length, 5, 'the session is an encrypted JWT (JWE compact form)');
    assert.doesNotMatch(Buffer.from(cookie.value.split('.')[0], 'base64url').toString() + cookie.value, /tanaka/, 'the user id is not readable in the cookie');
    const rows = await page.$$eval('#files tbody tr', (trs) => trs.map((tr) => ({ verdict: tr.getAttribute('data-verdict'), text: (tr as unknown as { innerText: string }).innerText })));
    assert.equal(rows.length, 2);
    const sanitized = rows.find((r) => r.verdict === 'sanitized')!;
    assert.match(sanitized.text, /申請書\.docx/);
    assert.match(sanitized.text, /VBA project: word\/vbaProject\.bin/);
    const quarantined = rows.find((r) => r.verdict === 'quarantined')!;
    assert.match(quarantined.text, /locked\.docx/);
    assert.match(quarantined.text, /encrypted/);
    assert.equal(await page.$$eval('tr[data-verdict=quarantined] td.file a', (a) => a.length), 0, 'no download link for a quarantined file');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('tr[data-verdict=sanitized] td.file a')]);
    assert.equal(download.suggestedFilename(), '申請書.docx');
    const got = fs.readFileSync((await download.path())!);
    assert.ok(got.equals(fs.readFileSync(path.join(root, 'buckets', 'sanitized', 'users/tanaka/申請書.docx'))));
    const audit = await (await ctx.request.get(`${oidcBase}/audit?file=${encodeURIComponent('申請書.docx')}`)).json();
    assert.equal(audit.verdict, 'sanitized');
    assert.match(audit.input.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(idp.log.slice(-2), ['code for tanaka', 'token for tanaka']);
    await ctx.close();
  }, 60_000);

  test('oidc: a forged X-Remote-User header or a made-up cookie from a terminal gets 401; a user outside the allowed groups gets 403; a callback without this browser\'s sign-in is refused', async () => {
    const forged = await browser.newContext({ ignoreHTTPSErrors: true, extraHTTPHeaders: { 'X-Remote-User': 'tanaka' } });
    const fp = await forged.newPage();
    assert.equal((await fp.goto(oidcBase))!.status(), 401);
    assert.equal((await fp.goto(`${oidcBase}/download?file=${encodeURIComponent('申請書.docx')}`))!.status(), 401);
    await forged.addCookies([{ name: '__Host-pickup-session', value: 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.dGFuYWth.AAAAAAAAAAAAAAAAAAAAAA', url: oidcBase, secure: true }]);
    assert.equal((await fp.goto(oidcBase))!.status(), 401, 'a cookie the page did not encrypt is no session');
    // A code and state made up by the terminal, without the sign-in state this page set in this browser.
    const cb = await fp.goto(`${oidcBase}/callback?code=made-up&state=made-up`);
    assert.equal(cb!.status(), 400);
    await forged.close();

    const guest = await signIn('guest', 'pw-guest');
    assert.equal(guest.status, 403, 'signed in at the IdP, but not in an allowed group');
    assert.match((await guest.ctx.pages()[0].textContent('body'))!, /none of the allowed groups/);
    assert.equal((await guest.ctx.pages()[0].goto(oidcBase))!.status(), 401, 'no session was created');
    await guest.ctx.close();
  }, 60_000);

  test('oidc: user A cannot fetch user B\'s file by path (.., encoded slashes, absolute paths, backslashes, control characters)', async () => {
    const { ctx, status } = await signIn('sato', 'pw-sato');
    assert.equal(status, 200);
    const page = ctx.pages()[0];
    const text = (await page.textContent('body'))!;
    assert.match(text, /other\.csv/);
    assert.doesNotMatch(text, /申請書|locked/);
    const attempts = [
      encodeURIComponent('../tanaka/申請書.docx'),
      `..%2Ftanaka%2F${encodeURIComponent('申請書.docx')}`,
      `..%252Ftanaka%252F${encodeURIComponent('申請書.docx')}`,
      `%2e%2e/tanaka/${encodeURIComponent('申請書.docx')}`,
      encodeURIComponent('./../tanaka/申請書.docx'),
      encodeURIComponent('x/../../tanaka/申請書.docx'),
      encodeURIComponent('/users/tanaka/申請書.docx'),
      encodeURIComponent('users/tanaka/申請書.docx'),
      encodeURIComponent('..\\tanaka\\申請書.docx'),
      `${encodeURIComponent('申請書.docx')}%00`,
      encodeURIComponent('申請書.docx'),
      encodeURIComponent('locked.docx'),
    ];
    for (const a of attempts) {
      for (const route of ['download', 'audit']) {
        const r = await ctx.request.get(`${oidcBase}/${route}?file=${a}`);
        assert.ok([400, 404].includes(r.status()), `/${route}?file=${a} answered ${r.status()}`);
        assert.doesNotMatch(await r.text(), /vbaProject|sha256/);
      }
    }
    const own = await ctx.request.get(`${oidcBase}/audit?file=other.csv`);
    assert.equal(own.status(), 200, 'the same requests work for the user\'s own file');
    await ctx.close();
  }, 60_000);

  test('signed-jwt: only an assertion signed by the front, for this page, unexpired, is accepted', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const open = async (headers: Record<string, string>) => {
      await page.setExtraHTTPHeaders(headers);
      const r = await page.goto(jwtBase);
      return { status: r!.status(), text: (await page.textContent('body')) ?? '' };
    };
    const ok = await open({ 'X-Pickup-Assertion': await assertion({ sub: 'tanaka' }) });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /申請書\.docx/);
    assert.doesNotMatch(ok.text, /other\.csv/);
    assert.equal((await open({ 'X-Remote-User': 'tanaka' })).status, 401, 'a plain header is not an identity');
    assert.equal((await open({ 'X-Pickup-Assertion': await assertion({ sub: 'tanaka' }, { audience: 'another-app' }) })).status, 401, 'another audience');
    const past = Math.floor(Date.now() / 1000) - 600;
    assert.equal((await open({ 'X-Pickup-Assertion': await assertion({ sub: 'tanaka' }, { iat: past, exp: past + 120 }) })).status, 401, 'expired');
    const otherKeyed = await open({ 'X-Pickup-Assertion': await assertion({ sub: 'tanaka' }, { key: otherKey }) });
    assert.equal(otherKeyed.status, 401, 'signed by another key');
    assert.match(otherKeyed.text, /signature verification failed|no applicable key/i);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'tanaka', aud: 'pickup', iss: 'https://front.city.example.lg.jp', exp: 9e9, iat: Math.floor(Date.now() / 1000), groups: ['staff'] })).toString('base64url')}.`;
    assert.equal((await open({ 'X-Pickup-Assertion': unsigned })).status, 401, 'alg none');
    assert.equal((await open({ 'X-Pickup-Assertion': await assertion({ sub: 'tanaka', groups: ['contractors'] }) })).status, 403, 'not in an allowed group');
    assert.equal((await open({ 'X-Pickup-Assertion': await assertion({ sub: '../sato' }) })).status, 401, 'a user id that is not a plain name');
    await ctx.close();
  }, 60_000);

  test('header (compatibility): the header counts only from the front\'s address; a terminal sending it directly gets 401', async () => {
    const direct = await browser.newContext({ extraHTTPHeaders: { 'X-Remote-User': 'tanaka' } });
    const r = await (await direct.newPage()).goto(headerBase);
    assert.equal(r!.status(), 401, 'a terminal reaching the page itself is not the front');
    await direct.close();
    const viaFront = await browser.newContext();
    await viaFront.addCookies([{ name: 'sso-user', value: 'sato', url: frontBase }]);
    const page = await viaFront.newPage();
    assert.equal((await page.goto(frontBase))!.status(), 200);
    assert.equal(await page.textContent('#user'), 'sato');
    await viaFront.close();
  }, 60_000);
});
