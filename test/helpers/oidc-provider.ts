import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, JWK } from 'jose';

/**
 * A small OpenID Connect provider on 127.0.0.1 for the pickup tests, written
 * with `jose`: discovery, JWKS, an authorization endpoint with a login form,
 * and a token endpoint that checks the client secret, the redirect URI and
 * the PKCE verifier (S256 only) and returns an RS256 ID token with the
 * nonce. It stands in for the municipality's identity provider.
 */
export interface TestUser {
  readonly password: string;
  readonly groups: string[];
}

export interface TestProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Codes issued and tokens requested, for assertions. */
  readonly log: string[];
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function body(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startTestProvider(o: { users: Record<string, TestUser>; clientId?: string; clientSecret?: string }): Promise<TestProvider> {
  const clientId = o.clientId ?? 'pickup-page';
  const clientSecret = o.clientSecret ?? randomBytes(24).toString('base64url');
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { user: string; redirectUri: string; nonce?: string; challenge: string; at: number }>();
  const log: string[] = [];
  let issuer = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(v));
    };
    void (async () => {
      if (url.pathname === '/.well-known/openid-configuration') {
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          scopes_supported: ['openid', 'profile', 'groups'],
        });
      }
      if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const q = req.method === 'POST' ? await body(req) : url.searchParams;
        if (q.get('client_id') !== clientId || q.get('response_type') !== 'code') return json(400, { error: 'invalid_request' });
        if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return json(400, { error: 'invalid_request', error_description: 'PKCE S256 required' });
        const redirectUri = q.get('redirect_uri') ?? '';
        if (req.method === 'GET') {
          const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
          return res.end(`<!doctype html><title>Test IdP</title><form method="post" action="/authorize">${hidden}<input id="username" name="username"><input id="password" name="password" type="password"><button id="submit">Sign in</button></form>`);
        }
        const user = q.get('username') ?? '';
        if (!o.users[user] || o.users[user].password !== q.get('password')) {
          res.writeHead(401, { 'Content-Type': 'text/plain' });
          return res.end('wrong user or password');
        }
        const code = randomBytes(16).toString('base64url');
        codes.set(code, { user, redirectUri, nonce: q.get('nonce') ?? undefined, challenge: q.get('code_challenge')!, at: Date.now() });
        log.push(`code for ${user}`);
        const to = new URL(redirectUri);
        to.searchParams.set('code', code);
        if (q.get('state')) to.searchParams.set('state', q.get('state')!);
        res.writeHead(302, { Location: to.href });
        return res.end();
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const q = await body(req);
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent) : [q.get('client_id'), q.get('client_secret')];
        if (id !== clientId || secret !== clientSecret) return json(401, { error: 'invalid_client' });
        const c = codes.get(q.get('code') ?? '');
        codes.delete(q.get('code') ?? '');
        if (!c || Date.now() - c.at > 60_000 || q.get('grant_type') !== 'authorization_code' || q.get('redirect_uri') !== c.redirectUri) return json(400, { error: 'invalid_grant' });
        if (createHash('sha256').update(q.get('code_verifier') ?? '').digest('base64url') !== c.challenge) return json(400, { error: 'invalid_grant', error_description: 'PKCE verifier does not match' });
        log.push(`token for ${c.user}`);
        const idToken = await new SignJWT({ preferred_username: c.user, groups: o.users[c.user].groups, ...(c.nonce ? { nonce: c.nonce } : {}) })
          .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
          .setIssuer(issuer)
          .setAudience(clientId)
          .setSubject(`sub-${c.user}`)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
        return json(200, { access_token: randomBytes(16).toString('base64url'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      json(404, { error: 'not found' });
    })().catch((e) => json(500, { error: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, clientId, clientSecret, log, close: () => new Promise((r) => server.close(() => r())) };
}
