import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateKeyPair } from 'jose';
import { chromium, Browser, Page } from 'playwright-core';
import { mintScreenToken } from '../lib/screen/token';
import { AUDIENCE, canvasColours, CHROMIUM, ScreenStack, signInWithOneRetry, startScreenStack, TOKEN_ISSUER } from './helpers/screen-stack';

/**
 * The virtual browser end to end on 127.0.0.1, with a real remote-display
 * engine from Debian (TigerVNC's Xvnc, Chromium inside the session, noVNC in
 * the terminal's browser): sign-in through an OIDC stand-in and the LGWAN
 * broker, the token verified offline by the gateway, a session of one's own
 * under one's own account, the first frame, the refusals, the clipboard and
 * download rules, and the hand-off to the inbound folder under the user's
 * prefix.
 */

function asUser(account: string, args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('runuser', ['-u', account, '--', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

describe('virtual browser end to end (TigerVNC + noVNC, Chromium)', () => {
  let stack: ScreenStack;
  let browser: Browser;
  let tanaka: { page: Page; ms: number; tokenUrl: string };

  beforeAll(async () => {
    // Sessions run under accounts made for them (useradd), as on the hosts: the test runs as root, like `npm test` here and in CI.
    expect(process.getuid?.()).toBe(0);
    expect(fs.existsSync(CHROMIUM)).toBe(true);
    expect(fs.existsSync('/usr/bin/Xvnc')).toBe(true);
    // One warm session, as a pre-warmed host keeps.
    stack = await startScreenStack({ warm: 1 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    tanaka = await signInWithOneRetry(browser, stack, 'tanaka');
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  }, 30_000);

  test('a member of staff signs in through the OIDC stand-in and sees the remote browser in a session of their own', async () => {
    const s = stack.manager.get('tanaka')!;
    expect(s).toBeDefined();
    expect(s.user.name).toMatch(/^vbt[0-9a-f]{10}$/);
    const passwd = execFileSync('getent', ['passwd', s.user.name], { encoding: 'utf8' }).split(':');
    expect(Number(passwd[2])).toBeGreaterThan(0); // unprivileged
    expect(passwd[6].trim()).toBe('/usr/sbin/nologin');
    expect(fs.statSync(s.user.home).mode & 0o777).toBe(0o700);
    const shot = await tanaka.page.screenshot();
    expect(shot.length).toBeGreaterThan(5_000);
    expect(await canvasColours(tanaka.page)).toBeGreaterThan(3);
  }, 20_000);

  test('forged, expired, wrong-audience and replayed tokens are refused; nothing opens a session', async () => {
    const other = (await generateKeyPair('ES256')).privateKey;
    const base = { kid: stack.kid, issuer: TOKEN_ISSUER, audience: AUDIENCE, login: 'mallory', ttlSeconds: 30 };
    const forged = (await mintScreenToken({ ...base, key: other })).token;
    const expired = (await mintScreenToken({ ...base, key: stack.brokerKey, now: () => Date.now() - 120_000 })).token;
    const wrongAudience = (await mintScreenToken({ ...base, key: stack.brokerKey, audience: 'screen-transfer:other-city' })).token;
    const refused = async (url: string) => {
      const r = await fetch(url, { redirect: 'manual' });
      return { status: r.status, body: await r.text(), cookie: r.headers.get('set-cookie') };
    };
    for (const [token, reason] of [[forged, 'signature'], [expired, 'expired'], [wrongAudience, 'audience'], ['not-a-token', 'malformed']] as const) {
      const r = await refused(`${stack.gatewayUrl}/session?token=${encodeURIComponent(token)}`);
      expect(r.status).toBe(401);
      expect(r.body).toContain(`(${reason})`);
      expect(r.cookie).toBeNull();
    }
    // tanaka's own token, used a second time.
    expect(tanaka.tokenUrl).toContain('token=');
    const replayed = await refused(tanaka.tokenUrl);
    expect(replayed.status).toBe(401);
    expect(replayed.body).toContain('(replayed)');
    expect(stack.manager.get('mallory')).toBeUndefined();
    // Without the session cookie, neither the client nor the display socket is reachable.
    expect((await fetch(`${stack.gatewayUrl}/`)).status).toBe(401);
  }, 20_000);

  test('pasting text in works; copying toward the terminal and downloads to the terminal are refused; a download lands under the user\'s prefix', async () => {
    const page = tanaka.page;
    const s = stack.manager.get('tanaka')!;
    const display = s.engine.id;
    const x = ['env', `DISPLAY=${display}`, `XAUTHORITY=${path.join(s.user.home, '.Xauthority')}`];
    // Paste in: the text reaches the session's clipboard.
    await page.evaluate(() => (globalThis as unknown as { virtualBrowser: { paste(t: string): void } }).virtualBrowser.paste('住民票の様式 2026'));
    let pasted = '';
    for (let i = 0; i < 40 && pasted !== '住民票の様式 2026'; i++) {
      await page.waitForTimeout(100);
      pasted = asUser(s.user.name, [...x, 'xclip', '-o', '-selection', 'clipboard']).out;
    }
    expect(pasted).toBe('住民票の様式 2026');
    // Copy out: text copied in the session never reaches the terminal.
    execFileSync('runuser', ['-u', s.user.name, '--', ...x, 'sh', '-c', 'printf %s "secret from the internet" | xclip -selection clipboard -loops 1 >/dev/null 2>&1 &']);
    await page.waitForTimeout(1500);
    expect(await page.evaluate(() => (globalThis as unknown as { virtualBrowser: { clipboardFromSession: number } }).virtualBrowser.clipboardFromSession)).toBe(0);

    // Download: click the remote page's link through the canvas.
    let terminalDownloads = 0;
    page.on('download', () => terminalDownloads++);
    const box = (await page.locator('#screen canvas').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height * 0.6);
    const landed = path.join(stack.inbound, 'users', 'tanaka', 'report.txt');
    for (let i = 0; i < 100 && !fs.existsSync(landed); i++) await page.waitForTimeout(100);
    expect(fs.readFileSync(landed, 'utf8')).toBe('quarterly report from the internet\n');
    expect(fs.readdirSync(path.join(stack.inbound, 'users'))).toEqual(['tanaka']);
    expect(fs.readdirSync(s.user.downloads)).toEqual([]); // handed off, not kept in the session
    expect(terminalDownloads).toBe(0);
    // The gateway has no route that serves a file from a session.
    for (const p of ['/downloads/report.txt', '/novnc/../../etc/passwd', '/novnc/vnc.html']) expect((await fetch(`${stack.gatewayUrl}${p}`)).status).toBe(404);
  }, 30_000);

  test('a second member of staff gets another account; neither can read the other\'s session or downloads; timeouts end sessions and remove their files', async () => {
    const sato = await signInWithOneRetry(browser, stack, 'sato');
    const a = stack.manager.get('tanaka')!;
    const b = stack.manager.get('sato')!;
    expect(b.user.name).not.toBe(a.user.name);
    expect(b.engine.id).not.toBe(a.engine.id);
    fs.writeFileSync(path.join(a.user.downloads, '.private'), 'tanaka only');
    fs.chownSync(path.join(a.user.downloads, '.private'), a.user.uid, a.user.gid);
    expect(asUser(b.user.name, ['ls', a.user.home]).ok).toBe(false);
    expect(asUser(b.user.name, ['cat', path.join(a.user.downloads, '.private')]).ok).toBe(false);
    expect(asUser(b.user.name, ['sh', '-c', `exec 3<>${path.join(a.user.runDir, 'rfb.sock')}`]).ok).toBe(false);
    // tanaka's browser tab cannot be pointed at sato's display: the cookie names one session.
    expect(await sato.page.evaluate(() => (globalThis as unknown as { virtualBrowser: { connected: boolean } }).virtualBrowser.connected)).toBe(true);

    // Disconnect timeout: sato closes the tab; idle timeout: tanaka stops typing.
    await sato.page.context().close();
    await new Promise((r) => setTimeout(r, 300));
    const ended = await stack.manager.reap(Date.now() + 31 * 60_000);
    expect(ended.sort()).toEqual(['sato']);
    const endedIdle = await stack.manager.reap(Date.now() + 61 * 60_000);
    expect(endedIdle).toEqual(['tanaka']);
    for (const u of [a.user, b.user]) {
      expect(() => execFileSync('getent', ['passwd', u.name])).toThrow();
      expect(fs.existsSync(u.home)).toBe(false);
      expect(fs.existsSync(u.runDir)).toBe(false);
    }
    expect(stack.logs.some((l) => /session for sato ended \(disconnect timeout\)/.test(l))).toBe(true);
    expect(stack.logs.some((l) => /session for tanaka ended \(idle timeout\)/.test(l))).toBe(true);
  }, 240_000);
});
