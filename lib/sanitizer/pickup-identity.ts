import { hkdfSync, timingSafeEqual } from 'crypto';
import * as http from 'http';
import { isIP } from 'net';
import * as client from 'openid-client';
import { EncryptJWT, JWTPayload, createLocalJWKSet, createRemoteJWKSet, jwtDecrypt, jwtVerify } from 'jose';

/**
 * Who is asking, for the pickup page: nothing a client can forge.
 * - `oidc`: the page signs staff in itself at the municipality's identity
 *   provider (OpenID Connect authorization code flow with PKCE, state and
 *   nonce, through `openid-client`); the session is an encrypted JWT (JWE,
 *   A256GCM, `jose`) in an HttpOnly, Secure, SameSite=Lax cookie.
 * - `signed-jwt`: the authenticating front sends a JWT it signed on every
 *   request; the page verifies signature (the front's JWKS), issuer,
 *   audience and expiry (`jose`).
 * - `header`: compatibility only. The front sets a plain header; the page
 *   believes it only from the front's own addresses, and the security group
 *   admits only those addresses (docs/pickup-identity.en.md says why).
 * Staff must be in one of the allowed groups (oidc, signed-jwt).
 */

export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
}

export type IdentifyResult = { ok: Identity } | { status: 401 | 403; reason: string };

export interface Authenticator {
  readonly mode: 'oidc' | 'signed-jwt' | 'header';
  /** Answers the authenticator's own paths (/login, /callback, /logout); true when it answered. */
  route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>;
  identify(req: http.IncomingMessage): Promise<IdentifyResult>;
}

/** A user id is a path segment of the sanitized bucket (`users/<id>/`): nothing else is accepted. */
export const USER_ID = /^[A-Za-z0-9._-]{1,64}$/;
const validUser = (u: unknown): u is string => typeof u === 'string' && USER_ID.test(u) && u !== '.' && u !== '..';

function claimList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'string') return [v];
  return [];
}

function admit(claims: JWTPayload, userClaim: string, groupsClaim: string, allowed: readonly string[]): IdentifyResult {
  const user = claims[userClaim];
  if (!validUser(user)) return { status: 401, reason: `the ${userClaim} claim is missing or not a valid user id` };
  const groups = claimList(claims[groupsClaim]);
  if (!groups.some((g) => allowed.includes(g))) return { status: 403, reason: `${user} is in none of the allowed groups (${groupsClaim}: ${allowed.join(', ')})` };
  return { ok: { user, groups } };
}

function cookies(req: http.IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** `__Host-` cookies are Secure, host-only and path=/ by construction (RFC 6265bis). */
function setCookie(name: string, value: string, maxAge: number): string {
  return `__Host-${name}=${value}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${maxAge}`;
}

const plain = (res: http.ServerResponse, status: number, body: string, extra: Record<string, string | string[]> = {}) => {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(body);
};

// ─── oidc ────────────────────────────────────────────────────────────────────

export interface OidcOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The page's own origin as staff reach it, e.g. https://pickup.city.example.lg.jp; the redirect URI is <url>/callback. */
  readonly pageUrl: string;
  readonly scopes?: readonly string[];
  readonly userClaim?: string;
  readonly groupsClaim?: string;
  readonly allowedGroups: readonly string[];
  readonly sessionSeconds?: number;
  /** Tests only: an issuer on http://127.0.0.1. */
  readonly allowInsecureIssuer?: boolean;
}

interface LoginState extends JWTPayload {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

export function oidcAuthenticator(o: OidcOptions): Authenticator {
  if (!o.allowedGroups.length) throw new Error('oidc: allowedGroups is empty: nobody could sign in');
  const page = new URL(o.pageUrl);
  if (page.protocol !== 'https:') throw new Error(`oidc: the page URL ${o.pageUrl} is not https: the session cookie is Secure`);
  const redirectUri = new URL('/callback', page).href;
  // The session key comes from the client secret (kept in Secrets Manager): every host of the page derives the same one.
  const key = new Uint8Array(hkdfSync('sha256', Buffer.from(o.clientSecret, 'utf8'), 'three-tier-pickup', 'session cookie', 32));
  const userClaim = o.userClaim ?? 'preferred_username';
  const groupsClaim = o.groupsClaim ?? 'groups';
  const sessionSeconds = o.sessionSeconds ?? 8 * 3600;
  let config: Promise<client.Configuration> | undefined;
  const discover = () => {
    config ??= client.discovery(new URL(o.issuer), o.clientId, o.clientSecret, undefined, o.allowInsecureIssuer ? { execute: [client.allowInsecureRequests] } : undefined).catch((e) => {
      config = undefined; // try again on the next sign-in
      throw e;
    });
    return config;
  };
  const seal = (claims: JWTPayload, seconds: number) => new EncryptJWT(claims).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).setIssuedAt().setExpirationTime(`${seconds}s`).setAudience(redirectUri).encrypt(key);
  const open = async <T extends JWTPayload>(v: string | undefined): Promise<T | undefined> => {
    if (!v) return undefined;
    try {
      return (await jwtDecrypt<T>(v, key, { audience: redirectUri, keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })).payload;
    } catch {
      return undefined;
    }
  };

  return {
    mode: 'oidc',
    async route(req, res, url) {
      if (url.pathname === '/login') {
        let cfg: client.Configuration;
        try {
          cfg = await discover();
        } catch (e) {
          plain(res, 503, `503: the identity provider ${o.issuer} cannot be reached (${(e as Error).message}); try again shortly / 認証基盤に接続できません`);
          return true;
        }
        const verifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const to = client.buildAuthorizationUrl(cfg, { redirect_uri: redirectUri, scope: (o.scopes ?? ['openid', 'profile']).join(' '), code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });
        res.writeHead(302, { Location: to.href, 'Set-Cookie': setCookie('pickup-login', await seal({ state, nonce, verifier }, 600), 600), 'Cache-Control': 'no-store' });
        res.end();
        return true;
      }
      if (url.pathname === '/callback') {
        const login = await open<LoginState>(cookies(req).get('__Host-pickup-login'));
        const clear = setCookie('pickup-login', '', 0);
        if (!login) {
          plain(res, 400, '400: no sign-in in progress in this browser (or it expired); start again at /login', { 'Set-Cookie': clear });
          return true;
        }
        let claims: JWTPayload | undefined;
        try {
          const cfg = await discover();
          // The callback as the browser reached it: the registered redirect URI plus the IdP's query.
          const current = new URL(redirectUri);
          current.search = url.search;
          const tokens = await client.authorizationCodeGrant(cfg, current, { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true });
          claims = tokens.claims();
        } catch (e) {
          plain(res, 401, `401: sign-in refused: ${(e as Error).message}`, { 'Set-Cookie': clear });
          return true;
        }
        const r = admit(claims ?? {}, userClaim, groupsClaim, o.allowedGroups);
        if ('status' in r) {
          plain(res, r.status, `${r.status}: ${r.reason}`, { 'Set-Cookie': clear });
          return true;
        }
        const session = await seal({ u: r.ok.user, g: [...r.ok.groups] }, sessionSeconds);
        res.writeHead(302, { Location: '/', 'Set-Cookie': [clear, setCookie('pickup-session', session, sessionSeconds)], 'Cache-Control': 'no-store' });
        res.end();
        return true;
      }
      if (url.pathname === '/logout') {
        res.writeHead(302, { Location: '/', 'Set-Cookie': setCookie('pickup-session', '', 0), 'Cache-Control': 'no-store' });
        res.end();
        return true;
      }
      return false;
    },
    async identify(req) {
      const s = await open<{ u?: unknown; g?: unknown }>(cookies(req).get('__Host-pickup-session'));
      if (!s) return { status: 401, reason: 'not signed in' };
      if (!validUser(s.u)) return { status: 401, reason: 'the session holds no valid user id' };
      return { ok: { user: s.u, groups: claimList(s.g) } };
    },
  };
}

// ─── signed-jwt ──────────────────────────────────────────────────────────────

export interface SignedJwtOptions {
  readonly issuer: string;
  readonly audience: string;
  /** The front's published keys: a JWKS URL, or the keys themselves. */
  readonly jwksUrl?: string;
  readonly jwks?: { keys: Record<string, unknown>[] };
  /** The request header that carries the assertion (default X-Pickup-Assertion). */
  readonly header?: string;
  readonly userClaim?: string;
  readonly groupsClaim?: string;
  readonly allowedGroups: readonly string[];
  /** Seconds of clock difference tolerated (default 30). */
  readonly clockToleranceSeconds?: number;
  /** Longest accepted lifetime of one assertion (default 300 s): a leaked one is soon useless. */
  readonly maxTokenAgeSeconds?: number;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function signedJwtAuthenticator(o: SignedJwtOptions): Authenticator {
  if (!o.allowedGroups.length) throw new Error('signed-jwt: allowedGroups is empty: nobody could sign in');
  if (!o.jwksUrl === !o.jwks) throw new Error('signed-jwt: give exactly one of jwksUrl or jwks');
  const keys = o.jwksUrl ? createRemoteJWKSet(new URL(o.jwksUrl)) : createLocalJWKSet(o.jwks as Parameters<typeof createLocalJWKSet>[0]);
  const header = (o.header ?? 'x-pickup-assertion').toLowerCase();
  return {
    mode: 'signed-jwt',
    async route() {
      return false;
    },
    async identify(req) {
      const raw = req.headers[header];
      const token = typeof raw === 'string' ? raw.replace(/^Bearer\s+/i, '') : undefined;
      if (!token) return { status: 401, reason: `no ${header} assertion from the authenticating front` };
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: o.issuer,
          audience: o.audience,
          algorithms: ASYMMETRIC,
          clockTolerance: o.clockToleranceSeconds ?? 30,
          maxTokenAge: o.maxTokenAgeSeconds ?? 300,
          requiredClaims: ['exp', 'iat'],
        });
        return admit(payload, o.userClaim ?? 'sub', o.groupsClaim ?? 'groups', o.allowedGroups);
      } catch (e) {
        return { status: 401, reason: `the assertion is not valid: ${(e as Error).message}` };
      }
    },
  };
}

// ─── header (compatibility) ──────────────────────────────────────────────────

export interface HeaderOptions {
  readonly header?: string;
  /** The front's addresses: a request from anywhere else is refused whatever it says. */
  readonly frontAddresses: readonly string[];
}

/** The peer address without the IPv4-mapped IPv6 prefix. */
export function peerAddress(req: http.IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

export function headerAuthenticator(o: HeaderOptions): Authenticator {
  if (!o.frontAddresses.length || o.frontAddresses.some((a) => !isIP(a))) throw new Error('header: frontAddresses must list the front\'s IP addresses');
  const header = (o.header ?? 'x-remote-user').toLowerCase();
  const fronts = o.frontAddresses.map((a) => Buffer.from(a));
  return {
    mode: 'header',
    async route() {
      return false;
    },
    async identify(req) {
      const peer = Buffer.from(peerAddress(req));
      if (!fronts.some((f) => f.length === peer.length && timingSafeEqual(f, peer))) return { status: 401, reason: `requests must come through the authenticating front; ${peerAddress(req)} is not one of its addresses` };
      const user = req.headers[header];
      if (!validUser(user)) return { status: 401, reason: `the front set no valid ${header}` };
      return { ok: { user, groups: [] } };
    },
  };
}
