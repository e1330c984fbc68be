import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors, type CryptoKey, type KeyObject, type JWK, importJWK } from 'jose';

/**
 * The screen-transfer sign-in token: minted by the LGWAN-side broker after the
 * member of staff signed in with the municipality's OpenID Connect provider,
 * verified OFFLINE on the internet-side hosts against the broker's public key
 * from config. Nothing on the internet side ever calls back into lgwan.
 *
 * jose (panva/jose) does the JWS work: it checks the algorithm against an
 * allowlist, the signature, exp/nbf/iat with a bounded clock tolerance, the
 * audience and the issuer; a hand-written JWT parser is exactly the kind of
 * code that gets `alg: none` wrong.
 */

export type SigningKey = CryptoKey | KeyObject;

/** ES256 only: one algorithm, small keys, and no RSA/HMAC confusion. */
export const SCREEN_TOKEN_ALG = 'ES256';
/** Longest life a token may have; the broker's configured life is checked against it. */
export const MAX_TOKEN_TTL_SECONDS = 120;
/** Staff logins the hosts accept (also the suffix of their local user): lower-case, unix-safe. */
export const LOGIN_PATTERN = /^[a-z][a-z0-9._-]{0,23}$/;

export class ScreenTokenError extends Error {
  constructor(readonly reason: 'malformed' | 'signature' | 'expired' | 'audience' | 'issuer' | 'replayed' | 'lifetime' | 'login', message: string) {
    super(message);
  }
}

export interface MintOptions {
  readonly key: SigningKey;
  /** Key id, so the hosts can hold the old and the new public key during a rotation. */
  readonly kid: string;
  readonly issuer: string;
  /** The screen-transfer service this token is for (one per municipality). */
  readonly audience: string;
  readonly login: string;
  readonly ttlSeconds: number;
  readonly now?: () => number;
}

export async function mintScreenToken(o: MintOptions): Promise<{ token: string; jti: string; exp: number }> {
  if (!LOGIN_PATTERN.test(o.login)) throw new ScreenTokenError('login', `login ${JSON.stringify(o.login)} is not a valid staff login (${LOGIN_PATTERN})`);
  if (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 1 || o.ttlSeconds > MAX_TOKEN_TTL_SECONDS) throw new ScreenTokenError('lifetime', `ttlSeconds must be a whole number from 1 to ${MAX_TOKEN_TTL_SECONDS}`);
  const now = Math.floor((o.now?.() ?? Date.now()) / 1000);
  const jti = randomUUID();
  const exp = now + o.ttlSeconds;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: SCREEN_TOKEN_ALG, kid: o.kid, typ: 'screen+jwt' })
    .setSubject(o.login)
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(o.key);
  return { token, jti, exp };
}

/**
 * Refuses a second use of a token id until the token would have expired
 * anyway. Bounded: entries leave at their expiry, and when full the cache
 * refuses new tokens instead of forgetting old ones (fail closed).
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = 100_000) {}

  /** Records the jti; false if it was seen before (or the cache is full). */
  claim(jti: string, expSeconds: number, nowMs = Date.now()): boolean {
    const now = nowMs / 1000;
    for (const [k, e] of this.seen) if (e < now - 60) this.seen.delete(k);
    if (this.seen.has(jti)) return false;
    if (this.seen.size >= this.max) return false;
    this.seen.set(jti, expSeconds);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface VerifyOptions {
  /** Public keys by kid (JWK with kty EC, crv P-256). */
  readonly keys: Record<string, SigningKey>;
  readonly issuer: string;
  readonly audience: string;
  readonly replay: ReplayCache;
  readonly clockToleranceSeconds?: number;
  readonly now?: () => number;
}

export interface VerifiedLogin {
  readonly login: string;
  readonly jti: string;
  readonly exp: number;
}

/** Verifies a token offline; throws ScreenTokenError saying why it was refused. */
export async function verifyScreenToken(token: string, o: VerifyOptions): Promise<VerifiedLogin> {
  const currentDate = o.now ? new Date(o.now()) : undefined;
  let payload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const k = header.kid ? o.keys[header.kid] : undefined;
        if (!k) throw new ScreenTokenError('signature', `unknown key id ${JSON.stringify(header.kid ?? null)}`);
        return k;
      },
      { algorithms: [SCREEN_TOKEN_ALG], issuer: o.issuer, audience: o.audience, typ: 'screen+jwt', clockTolerance: o.clockToleranceSeconds ?? 5, maxTokenAge: MAX_TOKEN_TTL_SECONDS, requiredClaims: ['sub', 'jti', 'exp', 'iat'], currentDate },
    ));
  } catch (e) {
    if (e instanceof ScreenTokenError) throw e;
    if (e instanceof errors.JWTExpired) throw new ScreenTokenError('expired', 'token expired');
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === 'aud') throw new ScreenTokenError('audience', 'token is for another service (audience)');
      if (e.claim === 'iss') throw new ScreenTokenError('issuer', 'token is from another issuer');
      if (e.claim === 'iat') throw new ScreenTokenError('lifetime', 'token is older than the longest allowed life');
      throw new ScreenTokenError('malformed', `claim ${e.claim} refused: ${e.reason}`);
    }
    if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JOSEAlgNotAllowed) throw new ScreenTokenError('signature', 'signature does not verify with the broker key');
    throw new ScreenTokenError('malformed', `not a screen-transfer token (${(e as Error).message})`);
  }
  const login = String(payload.sub);
  if (!LOGIN_PATTERN.test(login)) throw new ScreenTokenError('login', 'login in the token is not a valid staff login');
  const exp = Number(payload.exp);
  if (exp - Number(payload.iat) > MAX_TOKEN_TTL_SECONDS) throw new ScreenTokenError('lifetime', `token life exceeds ${MAX_TOKEN_TTL_SECONDS} s`);
  if (!o.replay.claim(String(payload.jti), exp, o.now?.())) throw new ScreenTokenError('replayed', 'token was already used');
  return { login, jti: String(payload.jti), exp };
}

/** Public keys from config: `{ kid: JWK }`; anything but a P-256 public key is refused. */
export async function importPublicKeys(jwks: Record<string, JWK>): Promise<Record<string, SigningKey>> {
  const out: Record<string, SigningKey> = {};
  for (const [kid, jwk] of Object.entries(jwks)) {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.d !== undefined) throw new Error(`public key ${kid}: must be an EC P-256 public JWK (no "d")`);
    out[kid] = (await importJWK(jwk, SCREEN_TOKEN_ALG)) as SigningKey;
  }
  if (Object.keys(out).length === 0) throw new Error('no broker public key configured');
  return out;
}
