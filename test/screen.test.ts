import { describe, test, expect, afterAll } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { loginFromClaims, screenRedirect } from '../lib/screen/broker';
import { DCV_NO, verifyForDcv } from '../lib/screen/dcv';
import type { EngineSession, SessionEngine } from '../lib/screen/engine';
import { chromiumPreferences, VncEngine, xauthorityEntry, xvncArgs } from '../lib/screen/engines/vnc';
import { createGateway } from '../lib/screen/gateway';
import { DirHandoff, DownloadWatcher, handoffKey } from '../lib/screen/handoff';
import { isInput, RfbClientParser, RfbProtocolError } from '../lib/screen/rfb';
import { SessionManager } from '../lib/screen/sessions';
import { importPublicKeys, mintScreenToken, ReplayCache, ScreenTokenError, verifyScreenToken } from '../lib/screen/token';
import { LocalUsers } from '../lib/screen/users';

/** The virtual browser's sign-in token, display protocol framing, hand-off and DCV verifier, without a display. */

const ISS = 'https://broker.lgwan.example/';
const AUD = 'screen-transfer:131016';

async function keys() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, verify: await importPublicKeys({ k1: { ...(await exportJWK(publicKey)) } }) };
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return e instanceof ScreenTokenError ? e.reason : `other: ${(e as Error).message}`;
  }
}

describe('screen-transfer token (offline verification)', () => {
  test('a fresh token verifies once, then is refused as replayed', async () => {
    const k = await keys();
    const replay = new ReplayCache();
    const { token } = await mintScreenToken({ key: k.privateKey, kid: 'k1', issuer: ISS, audience: AUD, login: 'tanaka', ttlSeconds: 30 });
    const v = await verifyScreenToken(token, { keys: k.verify, issuer: ISS, audience: AUD, replay });
    expect(v.login).toBe('tanaka');
    expect(await reason(verifyScreenToken(token, { keys: k.verify, issuer: ISS, audience: AUD, replay }))).toBe('replayed');
  });

  test('forged, expired, wrong audience, wrong issuer, unsigned, unknown key and over-long tokens are refused', async () => {
    const k = await keys();
    const other = await generateKeyPair('ES256');
    const opts = () => ({ keys: k.verify, issuer: ISS, audience: AUD, replay: new ReplayCache() });
    const base = { kid: 'k1', issuer: ISS, audience: AUD, login: 'tanaka', ttlSeconds: 30 };
    expect(await reason(verifyScreenToken((await mintScreenToken({ ...base, key: other.privateKey })).token, opts()))).toBe('signature');
    expect(await reason(verifyScreenToken((await mintScreenToken({ ...base, key: k.privateKey, now: () => Date.now() - 60_000 })).token, opts()))).toBe('expired');
    expect(await reason(verifyScreenToken((await mintScreenToken({ ...base, key: k.privateKey, audience: 'screen-transfer:999999' })).token, opts()))).toBe('audience');
    expect(await reason(verifyScreenToken((await mintScreenToken({ ...base, key: k.privateKey, issuer: 'https://evil/' })).token, opts()))).toBe('issuer');
    expect(await reason(verifyScreenToken((await mintScreenToken({ ...base, key: k.privateKey, kid: 'k9' })).token, opts()))).toBe('signature');
    const unsigned = new UnsecuredJWT({}).setSubject('tanaka').setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime('30s').setJti('x').encode();
    expect(await reason(verifyScreenToken(unsigned, opts()))).toBe('signature'); // alg "none" is not ES256
    // A day-long token signed with the right key: refused by its life, not trusted for a day.
    const now = Math.floor(Date.now() / 1000);
    const long = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'screen+jwt' }).setSubject('tanaka').setIssuer(ISS).setAudience(AUD).setIssuedAt(now).setExpirationTime(now + 86_400).setJti('y').sign(k.privateKey);
    expect(await reason(verifyScreenToken(long, opts()))).toBe('lifetime');
    const root = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'screen+jwt' }).setSubject('../root').setIssuer(ISS).setAudience(AUD).setIssuedAt(now).setExpirationTime(now + 30).setJti('z').sign(k.privateKey);
    expect(await reason(verifyScreenToken(root, opts()))).toBe('login');
    await expect(mintScreenToken({ ...base, key: k.privateKey, ttlSeconds: 3600 })).rejects.toThrow(/ttlSeconds/);
  });

  test('only P-256 public keys are accepted from config', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    await expect(importPublicKeys({ bad: { ...(await exportJWK(rsa.publicKey)) } })).rejects.toThrow(/EC P-256 public JWK/);
    const ec = await generateKeyPair('ES256', { extractable: true });
    await expect(importPublicKeys({ secret: { ...(await exportJWK(ec.privateKey)) } })).rejects.toThrow(/no "d"/);
    await expect(importPublicKeys({})).rejects.toThrow(/no broker public key/);
  });

  test('the replay cache refuses when full instead of forgetting', () => {
    const c = new ReplayCache(2);
    const exp = Date.now() / 1000 + 30;
    expect(c.claim('a', exp)).toBe(true);
    expect(c.claim('b', exp)).toBe(true);
    expect(c.claim('c', exp)).toBe(false);
  });
});

describe('broker: staff login from the ID token', () => {
  test('the configured claim, domain stripped; other domains and unsafe names refused', () => {
    expect(loginFromClaims({ preferred_username: 'Tanaka@City.Example.lg.jp' }, 'preferred_username', 'city.example.lg.jp')).toBe('tanaka');
    expect(() => loginFromClaims({ preferred_username: 'tanaka@evil.example' }, 'preferred_username', 'city.example.lg.jp')).toThrow(/not in the municipality's domain/);
    expect(() => loginFromClaims({ sub: 'x' }, 'preferred_username')).toThrow(/usernameClaim/);
    expect(() => loginFromClaims({ preferred_username: 'root; rm -rf' }, 'preferred_username')).toThrow(/cannot name a session account/);
  });

  test('DCV gets the token as authToken and the login as session; the Debian engine at /session', () => {
    expect(screenRedirect('dcv', 'https://vb.lgwan.example:8443/', 'T.K.N', 'tanaka')).toBe('https://vb.lgwan.example:8443/?authToken=T.K.N#tanaka');
    expect(screenRedirect('vnc', 'https://vb.lgwan.example', 'T.K.N', 'tanaka')).toBe('https://vb.lgwan.example/session?token=T.K.N');
  });
});

describe('RFB client framing (gateway)', () => {
  const handshake = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1])]);
  test('messages split across frames are framed; input is told apart from update requests', () => {
    const p = new RfbClientParser();
    expect(p.push(handshake)).toEqual(['handshake']);
    const update = Buffer.from([3, 1, 0, 0, 0, 0, 5, 0, 3, 32]);
    const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
    const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('hello')]);
    const all = Buffer.concat([update, key, cut]);
    expect(p.push(all.subarray(0, 13))).toEqual(['update-request']);
    expect(p.push(all.subarray(13))).toEqual(['key', 'cut-text']);
    expect(['update-request', 'key', 'pointer', 'cut-text'].map((m) => isInput(m as never))).toEqual([false, true, true, true]);
  });
  test('an unknown message type cuts the connection', () => {
    const p = new RfbClientParser();
    p.push(handshake);
    expect(() => p.push(Buffer.from([77, 0, 0]))).toThrow(RfbProtocolError);
    expect(() => new RfbClientParser().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/not an RFB client/);
  });
});

describe('Debian engine settings', () => {
  test('Xvnc sends no clipboard toward the terminal, accepts paste, listens on no TCP port', () => {
    const a = xvncArgs(20, '/run/x/rfb.sock', '/home/x/.Xauthority', '1280x800');
    for (const want of ['-SendCutText=0', '-SendPrimary=0', '-AcceptCutText=1', '-NeverShared=1']) expect(a).toContain(want);
    expect(a[a.indexOf('-rfbport') + 1]).toBe('-1');
    expect(a[a.indexOf('-nolisten') + 1]).toBe('tcp');
    expect(a).toContain('-auth');
  });
  test('the Xauthority entry is FamilyWild with a 16-byte MIT cookie; downloads go to the session folder', () => {
    const e = xauthorityEntry(21, Buffer.alloc(16, 7));
    expect(e.readUInt16BE(0)).toBe(0xffff);
    expect(e.subarray(6, 8).toString()).toBe('21');
    expect(e.subarray(e.length - 16)).toEqual(Buffer.alloc(16, 7));
    expect(JSON.parse(chromiumPreferences('/home/a/Downloads')).download).toEqual({ default_directory: '/home/a/Downloads', prompt_for_download: false, directory_upgrade: true });
  });
});

describe('download hand-off', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  test('finished downloads go under users/<login>/; partial files wait; links are never followed', async () => {
    const dl = path.join(root, 'dl');
    fs.mkdirSync(dl);
    const inbound = path.join(root, 'inbound');
    fs.writeFileSync(path.join(dl, 'a.pdf'), 'pdf');
    fs.writeFileSync(path.join(dl, 'b.zip.crdownload'), 'partial');
    fs.writeFileSync(path.join(root, 'secret'), 'someone else');
    fs.symlinkSync(path.join(root, 'secret'), path.join(dl, 'link.txt'));
    const w = new DownloadWatcher(dl, 'tanaka', new DirHandoff(inbound));
    await w.poll(false); // first sight: sizes recorded
    await w.poll(false); // size held still: handed off
    expect(w.handedOff).toEqual(['users/tanaka/a.pdf']);
    expect(fs.readFileSync(path.join(inbound, 'users', 'tanaka', 'a.pdf'), 'utf8')).toBe('pdf');
    expect(fs.readdirSync(dl).sort()).toEqual(['b.zip.crdownload', 'link.txt']);
    expect(handoffKey('tanaka', '/x/../evil\u0007name')).toBe('users/tanaka/evil_name');
  });
});

/** An engine with nothing to display: records what the manager asked of it. */
class RecordingEngine implements SessionEngine {
  readonly name = 'recording';
  readonly started: string[] = [];
  constructor(private readonly missing: string[] = []) {}
  async preflight() {
    return this.missing;
  }
  async start(_user: unknown, id: string): Promise<EngineSession> {
    this.started.push(id);
    let alive = true;
    return { id, alive: () => alive, stop: async () => void (alive = false) };
  }
}

describe('DCV verifier and host health', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vbu-'));
  fs.chmodSync(root, 0o711);
  const users = new LocalUsers({ homeRoot: path.join(root, 'home'), runRoot: path.join(root, 'run'), prefix: 'vbu' });
  const managers: SessionManager[] = [];
  const manager = (engine: SessionEngine) => {
    const m = new SessionManager({ engine, users, handoff: new DirHandoff(path.join(root, 'in')), idleTimeoutMs: 60_000, disconnectTimeoutMs: 60_000, maxSessions: 4, sessionIdIsLogin: true });
    managers.push(m);
    return m;
  };
  afterAll(async () => {
    for (const m of managers) await m.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('DCV is told the session owner only for a valid token whose login is the session asked for', async () => {
    const k = await keys();
    const engine = new RecordingEngine();
    const sessions = manager(engine);
    const o = { sessions, keys: k.verify, issuer: ISS, audience: AUD };
    const replay = new ReplayCache();
    const mint = async (login: string) => (await mintScreenToken({ key: k.privateKey, kid: 'k1', issuer: ISS, audience: AUD, login, ttlSeconds: 30 })).token;
    const t = await mint('tanaka');
    const yes = await verifyForDcv(new URLSearchParams({ sessionId: 'tanaka', authenticationToken: t, clientAddress: '10.1.0.5' }), o, replay);
    const account = sessions.get('tanaka')!.user.name;
    expect(yes).toBe(`<auth result="yes"><username>${account}</username></auth>`);
    expect(engine.started).toEqual(['tanaka']);
    expect(await verifyForDcv(new URLSearchParams({ sessionId: 'tanaka', authenticationToken: t }), o, replay)).toBe(DCV_NO); // replayed
    expect(await verifyForDcv(new URLSearchParams({ sessionId: 'tanaka', authenticationToken: await mint('sato') }), o, replay)).toBe(DCV_NO); // someone else's session
    expect(await verifyForDcv(new URLSearchParams({ sessionId: 'sato', authenticationToken: 'forged' }), o, replay)).toBe(DCV_NO);
    expect(sessions.get('sato')).toBeUndefined();
  });

  test('a host whose browser or display server is missing answers its health check with 503, naming what is missing', async () => {
    const k = await keys();
    const broken = new VncEngine({ xvnc: '/nonexistent/Xvnc', browser: { command: '/nonexistent/chromium', args: [] }, startUrl: 'about:blank' });
    const problems = await broken.preflight();
    expect(problems.join('\n')).toMatch(/display server .*missing[\s\S]*browser missing/);
    for (const [engine, status] of [[broken, 503], [new RecordingEngine(), 200]] as const) {
      const g = createGateway({ sessions: manager(engine), keys: k.verify, issuer: ISS, audience: AUD, novncDir: '/usr/share/novnc' });
      await new Promise<void>((r) => g.server.listen(0, '127.0.0.1', r));
      const r = await fetch(`http://127.0.0.1:${(g.server.address() as AddressInfo).port}/healthz`);
      expect(r.status).toBe(status);
      if (status === 503) expect(await r.text()).toMatch(/browser missing/);
      await new Promise((r2) => g.server.close(r2));
    }
  });
});
