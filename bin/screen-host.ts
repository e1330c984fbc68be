import * as fs from 'node:fs';
import * as http from 'node:http';
import { DcvEngine, createDcvVerifier } from '../lib/screen/dcv';
import type { SessionEngine } from '../lib/screen/engine';
import { chromiumInSession, VncEngine } from '../lib/screen/engines/vnc';
import { json, oneOf, required, SettingError, whole } from '../lib/screen/env';
import { createGateway } from '../lib/screen/gateway';
import { S3Handoff } from '../lib/screen/handoff';
import { SessionManager } from '../lib/screen/sessions';
import { importPublicKeys, ReplayCache } from '../lib/screen/token';
import { LocalUsers } from '../lib/screen/users';

/**
 * The virtual-browser host service (internet zone, one per host, as root:
 * it creates and removes the session accounts). It verifies sign-in tokens
 * offline against the broker's public key(s), runs one session per member
 * of staff, ends sessions on idle and disconnect timeouts, hands downloads
 * to the inbound bucket under users/<login>/, and answers the load
 * balancer's health check only when the browser and display server are there.
 *
 * SCREEN_ENGINE=dcv: DCV serves clients; this is its auth-token-verifier on
 * 127.0.0.1:SCREEN_VERIFIER_PORT. SCREEN_ENGINE=vnc: this is the gateway
 * itself on SCREEN_PORT (TLS), with TigerVNC and noVNC.
 */
async function main(): Promise<void> {
  const env = process.env;
  const log = (m: string) => console.log(m);
  const engineName = oneOf(env, 'SCREEN_ENGINE', ['dcv', 'vnc'] as const);
  // No key configured: every sign-in is refused (fail closed), and the log says why.
  const rawKeys = env.SCREEN_PUBLIC_KEYS ? json<Record<string, never>>(env, 'SCREEN_PUBLIC_KEYS') : {};
  const keys = Object.keys(rawKeys).length ? await importPublicKeys(rawKeys) : {};
  if (!Object.keys(keys).length) log('SCREEN_PUBLIC_KEYS is empty: no sign-in will be accepted until screenTransfer.signIn is configured');
  const issuer = required(env, 'SCREEN_TOKEN_ISSUER');
  const audience = required(env, 'SCREEN_AUDIENCE');
  const browser = required(env, 'SCREEN_BROWSER');
  const engine: SessionEngine =
    engineName === 'dcv'
      ? new DcvEngine({ initScript: required(env, 'SCREEN_DCV_INIT'), permissionsFile: required(env, 'SCREEN_DCV_PERMISSIONS'), browser })
      : new VncEngine({ browser: chromiumInSession(browser), startUrl: env.SCREEN_START_URL ?? 'about:blank', log });
  const sessions = new SessionManager({
    engine,
    users: new LocalUsers({ homeRoot: env.SCREEN_HOME_ROOT ?? '/var/lib/virtual-browser/home', runRoot: env.SCREEN_RUN_ROOT ?? '/run/virtual-browser', prefix: 'vb' }),
    handoff: new S3Handoff(required(env, 'SCREEN_INBOUND_BUCKET')),
    idleTimeoutMs: whole(env, 'SCREEN_IDLE_MINUTES', 60, 5, 1440) * 60_000,
    disconnectTimeoutMs: whole(env, 'SCREEN_DISCONNECT_MINUTES', 30, 1, 5760) * 60_000,
    maxSessions: whole(env, 'SCREEN_MAX_SESSIONS', 10, 1, 200),
    warm: whole(env, 'SCREEN_WARM_SESSIONS', 1, 0, 50),
    sessionIdIsLogin: engineName === 'dcv',
    log,
  });
  await sessions.start();
  const replay = new ReplayCache();
  const healthPort = whole(env, 'SCREEN_HEALTH_PORT', 8445, 1, 65535);
  // The load balancer's health check: 503 while the browser or display server is missing (a broken install never serves an empty desktop).
  http
    .createServer((req, res) => {
      if (req.url !== '/healthz') {
        res.writeHead(404).end();
        return;
      }
      void engine.preflight().then((p) => {
        res.writeHead(p.length ? 503 : 200, { 'content-type': 'text/plain' }).end(p.length ? `unhealthy: ${p.join('; ')}\n` : 'ok\n');
      });
    })
    .listen(healthPort);
  if (engineName === 'dcv') {
    createDcvVerifier({ sessions, keys, issuer, audience, replay, log }).listen(whole(env, 'SCREEN_VERIFIER_PORT', 8444, 1, 65535), '127.0.0.1');
  } else {
    const tls = { cert: fs.readFileSync(required(env, 'SCREEN_TLS_CERT')), key: fs.readFileSync(required(env, 'SCREEN_TLS_KEY')) };
    createGateway({ sessions, keys, issuer, audience, novncDir: env.NOVNC_DIR ?? '/usr/share/novnc', tls, replay, log }).server.listen(whole(env, 'SCREEN_PORT', 8443, 1, 65535));
  }
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void sessions.shutdown().finally(() => process.exit(0)));
}

main().catch((e) => {
  console.error(e instanceof SettingError ? `three-tier-screen: ${e.message}` : e);
  process.exit(1);
});
