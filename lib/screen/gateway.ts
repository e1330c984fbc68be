import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { WebSocketServer, WebSocket } from 'ws';
import { isInput, RfbClientParser } from './rfb';
import { SessionLimitError, SessionManager } from './sessions';
import { ReplayCache, ScreenTokenError, SigningKey, verifyScreenToken } from './token';

/**
 * The host side of the Debian engine (internet zone): one HTTPS port behind
 * the PrivateLink NLB. `/session?token=` verifies the broker's token offline,
 * opens (or rebinds) the staff member's own session and sets an HttpOnly
 * cookie; `/` is the web client (noVNC); `/rfb` is the WebSocket to that
 * session's display and nothing else. There is no route that serves a file
 * from a session: downloads go to the sanitizer (handoff.ts).
 */
export interface GatewayOptions {
  readonly sessions: SessionManager;
  readonly keys: Record<string, SigningKey>;
  readonly issuer: string;
  readonly audience: string;
  /** Debian's noVNC (/usr/share/novnc): only its core/ and vendor/ modules are served. */
  readonly novncDir: string;
  readonly tls?: { cert: Buffer; key: Buffer };
  readonly replay?: ReplayCache;
  readonly log?: (m: string) => void;
}

const COOKIE = 'vb-session';
const CLIENT_HTML = `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>仮想ブラウザ / Virtual browser</title>
<style>html,body{margin:0;height:100%;background:#1e1e1e}#screen{width:100%;height:100%}</style></head>
<body><div id="screen"></div><script type="module" src="/client.js"></script></body></html>
`;
const CLIENT_JS = `import RFB from '/novnc/core/rfb.js';
const state = (window.virtualBrowser = { connected: false, disconnected: false, clipboardFromSession: 0 });
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/rfb';
const rfb = new RFB(document.getElementById('screen'), url, { wsProtocols: ['binary'] });
rfb.scaleViewport = true;
rfb.focusOnClick = true;
rfb.addEventListener('connect', () => { state.connected = true; });
rfb.addEventListener('disconnect', (e) => { state.disconnected = true; state.clean = e.detail.clean; });
// Text copied in the session never reaches this terminal's clipboard (the display does not send it; this only counts).
rfb.addEventListener('clipboard', () => { state.clipboardFromSession++; });
// Pasting text into the session is allowed (toward the less trusted tier).
document.addEventListener('paste', (e) => { const t = e.clipboardData && e.clipboardData.getData('text/plain'); if (t) rfb.clipboardPasteFrom(t); e.preventDefault(); });
state.paste = (t) => rfb.clipboardPasteFrom(t);
`;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface Gateway {
  readonly server: http.Server;
  /** Refusals by reason (forged, expired, audience, replayed ...), for tests and metrics. */
  readonly refusals: Record<string, number>;
}

export function createGateway(o: GatewayOptions): Gateway {
  const log = o.log ?? (() => {});
  const replay = o.replay ?? new ReplayCache();
  const cookies = new Map<string, { login: string; account: string }>();
  const refusals: Record<string, number> = {};
  const novnc = path.resolve(o.novncDir);

  const send = (res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
    res.end(body);
  };

  const loginOf = (req: http.IncomingMessage): string | undefined => {
    const c = /(?:^|;\s*)vb-session=([A-Za-z0-9_-]{43})(?:;|$)/.exec(req.headers.cookie ?? '')?.[1];
    const entry = c ? cookies.get(c) : undefined;
    if (!entry) return undefined;
    const s = o.sessions.get(entry.login);
    if (!s || s.user.name !== entry.account) {
      cookies.delete(c!);
      return undefined;
    }
    return entry.login;
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (req.method !== 'GET') return send(res, 405, 'method not allowed');
    if (url.pathname === '/healthz') {
      const problems = await o.sessions.o.engine.preflight();
      return problems.length ? send(res, 503, `unhealthy: ${problems.join('; ')}\n`) : send(res, 200, 'ok\n');
    }
    if (url.pathname === '/session') {
      const token = url.searchParams.get('token') ?? '';
      let login: string;
      try {
        ({ login } = await verifyScreenToken(token, { keys: o.keys, issuer: o.issuer, audience: o.audience, replay }));
      } catch (e) {
        const reason = e instanceof ScreenTokenError ? e.reason : 'malformed';
        refusals[reason] = (refusals[reason] ?? 0) + 1;
        log(`sign-in refused: ${(e as Error).message}`);
        return send(res, 401, `sign-in refused (${reason}): sign in again from the LGWAN portal\n`);
      }
      try {
        const s = await o.sessions.open(login);
        const c = randomBytes(32).toString('base64url');
        cookies.set(c, { login, account: s.user.name });
        const secure = o.tls ? '; Secure' : '';
        return send(res, 303, '', 'text/plain', { location: '/', 'set-cookie': `${COOKIE}=${c}; Path=/; HttpOnly; SameSite=Strict${secure}` });
      } catch (e) {
        log(`session for ${login} could not start: ${(e as Error).message}`);
        return send(res, e instanceof SessionLimitError ? 503 : 500, 'the virtual browser could not start a session; try again\n');
      }
    }
    if (url.pathname === '/' || url.pathname === '/client.js') {
      if (!loginOf(req)) return send(res, 401, 'not signed in: open the virtual browser from the LGWAN portal\n');
      return url.pathname === '/' ? send(res, 200, CLIENT_HTML, 'text/html; charset=utf-8') : send(res, 200, CLIENT_JS, 'text/javascript; charset=utf-8');
    }
    const m = /^\/novnc\/((?:core|vendor)\/[A-Za-z0-9_./-]+\.js)$/.exec(url.pathname);
    if (m && !m[1].split('/').includes('..')) {
      const file = path.join(novnc, m[1]);
      if (file.startsWith(novnc + path.sep) && fs.existsSync(file)) return send(res, 200, fs.readFileSync(file, 'utf8'), 'text/javascript; charset=utf-8', { 'cache-control': 'max-age=3600' });
    }
    return send(res, 404, 'not found\n');
  };

  const server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }) : http.createServer();
  server.on('request', (req, res) => {
    handler(req, res).catch((e) => {
      log(`request failed: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'internal error\n');
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, handleProtocols: (p) => (p.has('binary') ? 'binary' : false) });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const login = url.pathname === '/rfb' ? loginOf(req) : undefined;
    const s = login ? o.sessions.get(login) : undefined;
    if (!login || !s?.engine.endpoint) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => pipe(ws, login, s.engine.endpoint!));
  });

  const pipe = (ws: WebSocket, login: string, endpoint: string) => {
    const display = net.connect(endpoint);
    const parser = new RfbClientParser();
    o.sessions.connected(login);
    let closed = false;
    const close = (why?: string) => {
      if (closed) return;
      closed = true;
      if (why) log(`connection of ${login} closed: ${why}`);
      display.destroy();
      ws.close();
      o.sessions.disconnected(login);
    };
    display.on('data', (d) => ws.readyState === WebSocket.OPEN && ws.send(d));
    display.on('close', () => close());
    display.on('error', (e) => close(e.message));
    ws.on('message', (data: Buffer) => {
      try {
        if (parser.push(data).some(isInput)) o.sessions.input(login);
      } catch (e) {
        return close((e as Error).message);
      }
      display.write(data);
    });
    ws.on('close', () => close());
    ws.on('error', (e) => close(e.message));
  };

  return { server, refusals };
}
