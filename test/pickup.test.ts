import { describe, test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { chromium, Browser } from 'playwright-core';
import { FsQueue, FsStore, runWorker } from '../lib/sanitizer/worker';
import { pickupServer } from '../lib/sanitizer/pickup';
import * as fx from './helpers/sanitizer-fixtures';

/**
 * The staff path end to end: files land in the inbound bucket under the
 * user's prefix, the worker sanitizes them, and the pickup page in lgwan,
 * opened in headless Chromium, lists them with verdict and audit record and
 * serves the sanitized file.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('pickup page (lgwan) in headless Chromium', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pickup-'));
  const store = new FsStore(path.join(root, 'buckets'));
  const server = pickupServer({ store, bucket: 'sanitized' });
  let base = '';
  let browser: Browser;
  let front: http.Server;

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
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const inner = (server.address() as AddressInfo).port;
    // Stands in for the authenticating front (LGWAN single sign-on): it turns the session cookie
    // into the user header, so browser-initiated downloads carry the identity too.
    front = http.createServer((req, res) => {
      const user = /(?:^|;\s*)sso-user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const headers = { ...req.headers };
      delete headers['x-remote-user'];
      if (user) headers['x-remote-user'] = decodeURIComponent(user);
      const up = http.request({ host: '127.0.0.1', port: inner, path: req.url, method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (npm test installs Debian's chromium; set CHROMIUM_PATH otherwise)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    server.close();
    front?.close();
  });

  test('a staff member sees their files with verdict and audit record, and downloads the sanitized one', async () => {
    const ctx = await browser.newContext({ acceptDownloads: true });
    await ctx.addCookies([{ name: 'sso-user', value: 'tanaka', url: base }]);
    const page = await ctx.newPage();
    await page.goto(base);
    assert.equal(await page.textContent('#user'), 'tanaka');
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
    const audit = await (await ctx.request.get(`${base}/audit?file=${encodeURIComponent('申請書.docx')}`)).json();
    assert.equal(audit.verdict, 'sanitized');
    assert.match(audit.input.sha256, /^[0-9a-f]{64}$/);
    await ctx.close();
  });

  test('nobody sees another user\'s files; no identity → 401; no path tricks', async () => {
    const ctx = await browser.newContext();
    await ctx.addCookies([{ name: 'sso-user', value: 'sato', url: base }]);
    const page = await ctx.newPage();
    await page.goto(base);
    const text = await page.textContent('body');
    assert.match(text!, /other\.csv/);
    assert.doesNotMatch(text!, /申請書|locked/);
    assert.equal((await ctx.request.get(`${base}/download?file=${encodeURIComponent('../tanaka/申請書.docx')}`)).status(), 400);
    assert.equal((await ctx.request.get(`${base}/download?file=${encodeURIComponent('申請書.docx')}`)).status(), 404);
    await ctx.close();
    const anon = await browser.newContext({ extraHTTPHeaders: { 'X-Remote-User': 'tanaka' } });
    const r = await (await anon.newPage()).goto(base);
    assert.equal(r!.status(), 401, 'a header sent by the browser itself is dropped by the front: only single sign-on sets it');
    await anon.close();
  });
});
