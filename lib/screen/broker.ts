import * as http from 'node:http';
import * as https from 'node:https';
import * as oidc from 'openid-client';
import { LOGIN_PATTERN, mintScreenToken, SigningKey } from './token';

/**
 * The sign-in broker, a small service in `lgwan` that crosses nothing: it
 * talks only to the municipality's OpenID Connect provider (on the LGWAN /
 * office side) and redirects the staff member's browser. After an
 * authorization-code sign-in with PKCE (openid-client, a certified relying
 * party: state, nonce, issuer and ID-token checks are its job, not ours), it
 * mints a token of seconds for the screen-transfer service and sends the
 * browser there with it. The internet side verifies that token offline.
 */
export interface BrokerOptions {
  /** The IdP's issuer URL (discovery at /.well-known/openid-configuration). */
  readonly issuer: string;
  readonly clientId: string;
  /** Absent: a public client (PKCE only). */
  readonly clientSecret?: string;
  /** This broker's own URL as the staff browser sees it (the redirect URI is <url>/callback). */
  readonly publicUrl: string;
  /** ID-token claim that holds the staff login (e.g. preferred_username). */
  readonly usernameClaim: string;
  /** Strip this "@domain" from the claim (e.g. city.example.lg.jp); any other domain is refused. */
  readonly loginDomain?: string;
  readonly signingKey: SigningKey;
  readonly kid: string;
  /** Token issuer (this broker) and audience (the screen-transfer service). */
  readonly tokenIssuer: string;
  readonly audience: string;
  readonly tokenTtlSeconds: number;
  /** Where the browser goes with the token. */
  readonly screenUrl: string;
  readonly engine: 'dcv' | 'vnc';
  readonly tls?: { cert: Buffer; key: Buffer };
  /** Only for a loopback IdP stand-in in tests: allow http:// issuers. */
  readonly allowHttpIssuer?: boolean;
  readonly log?: (m: string) => void;
}

/** The staff login from an ID token's claims, or why it was refused. */
export function loginFromClaims(claims: Record<string, unknown>, claim: string, domain?: string): string {
  const raw = claims[claim];
  if (typeof raw !== 'string' || raw.length === 0) throw new Error(`the ID token has no "${claim}" claim: configure screenTransfer.signIn.usernameClaim to the claim that holds the staff login`);
  let login = raw.normalize('NFKC').toLowerCase();
  const at = login.lastIndexOf('@');
  if (at >= 0) {
    if (!domain || login.slice(at + 1) !== domain.toLowerCase()) throw new Error(`login ${JSON.stringify(raw)} is not in the municipality's domain`);
    login = login.slice(0, at);
  }
  if (!LOGIN_PATTERN.test(login)) throw new Error(`login ${JSON.stringify(raw)} cannot name a session account (${LOGIN_PATTERN})`);
  return login;
}

/** Where the browser is sent with the token. DCV: authToken in the query, the session (= login) in the fragment. */
export function screenRedirect(engine: 'dcv' | 'vnc', screenUrl: string, token: string, login: string): string {
  const base = screenUrl.replace(/\/+$/, '');
  return engine === 'dcv' ? `${base}/?authToken=${encodeURIComponent(token)}#${encodeURIComponent(login)}` : `${base}/session?token=${encodeURIComponent(token)}`;
}

const TX_COOKIE = 'vb-signin';

export async function createBroker(o: BrokerOptions): Promise<http.Server> {
  const log = o.log ?? (() => {});
  const issuer = new URL(o.issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
  if (issuer.protocol !== 'https:' && !(o.allowHttpIssuer && loopback)) throw new Error(`screenTransfer.signIn.issuer must be an https:// URL (got ${o.issuer})`);
  const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
  const config = await oidc.discovery(issuer, o.clientId, o.clientSecret ? { client_secret: o.clientSecret } : undefined, o.clientSecret ? oidc.ClientSecretPost(o.clientSecret) : oidc.None(), { execute });
  const redirectUri = `${o.publicUrl.replace(/\/+$/, '')}/callback`;
  const secure = new URL(o.publicUrl).protocol === 'https:' ? '; Secure' : '';

  const send = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', ...headers });
    res.end(body);
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', o.publicUrl);
    if (req.method !== 'GET') return send(res, 405, 'method not allowed\n');
    if (url.pathname === '/healthz') return send(res, 200, 'ok\n');
    if (url.pathname === '/') {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const challenge = await oidc.calculatePKCECodeChallenge(verifier);
      const to = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile', code_challenge: challenge, code_challenge_method: 'S256', state, nonce });
      // The transaction rides in an HttpOnly cookie bound to this browser (state, nonce, PKCE verifier), so any broker host can finish it.
      const tx = Buffer.from(JSON.stringify({ verifier, state, nonce })).toString('base64url');
      return send(res, 303, '', { location: to.href, 'set-cookie': `${TX_COOKIE}=${tx}; Path=/callback; HttpOnly; SameSite=Lax; Max-Age=600${secure}` });
    }
    if (url.pathname === '/callback') {
      const raw = new RegExp(`(?:^|;\\s*)${TX_COOKIE}=([A-Za-z0-9_-]+)`).exec(req.headers.cookie ?? '')?.[1];
      const clear = `${TX_COOKIE}=; Path=/callback; HttpOnly; SameSite=Lax; Max-Age=0${secure}`;
      if (!raw) return send(res, 400, 'sign-in expired or not started here: open the virtual browser again\n', { 'set-cookie': clear });
      let tx: { verifier: string; state: string; nonce: string };
      try {
        tx = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
      } catch {
        return send(res, 400, 'sign-in state unreadable: open the virtual browser again\n', { 'set-cookie': clear });
      }
      let login: string;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true });
        login = loginFromClaims((tokens.claims() ?? {}) as Record<string, unknown>, o.usernameClaim, o.loginDomain);
      } catch (e) {
        log(`sign-in refused: ${(e as Error).message}`);
        return send(res, 403, 'sign-in refused by the identity provider or for this account\n', { 'set-cookie': clear });
      }
      const { token, jti } = await mintScreenToken({ key: o.signingKey, kid: o.kid, issuer: o.tokenIssuer, audience: o.audience, login, ttlSeconds: o.tokenTtlSeconds });
      log(`signed in ${login} (token ${jti})`);
      return send(res, 303, '', { location: screenRedirect(o.engine, o.screenUrl, token, login), 'set-cookie': clear });
    }
    return send(res, 404, 'not found\n');
  };

  const server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }) : http.createServer();
  server.on('request', (req, res) => {
    handler(req, res).catch((e) => {
      log(`broker error: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'internal error\n');
    });
  });
  return server;
}
