import { z } from 'zod';
import { parseCidr } from './cidr';

/**
 * Sign-in to the virtual browser (crossing X1): the municipality's OpenID
 * Connect provider, seen from lgwan, and the broker's token key. The private
 * key never appears here or in any template: it is a SecureString parameter
 * in SSM Parameter Store (read through lgwan's SSM endpoint); only its public
 * half is in config, for the hosts in internet to verify tokens offline.
 */
const publicJwk = z.strictObject(
  {
    kty: z.literal('EC', { error: 'must be "EC"' }),
    crv: z.literal('P-256', { error: 'must be "P-256" (tokens are ES256)' }),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, { error: 'must be the 32-byte base64url x coordinate' }),
    y: z.string().regex(/^[A-Za-z0-9_-]{43}$/, { error: 'must be the 32-byte base64url y coordinate' }),
  },
  { error: 'must be a public EC P-256 JWK { kty, crv, x, y } (never the private "d")' },
);

const cidr = z.string().refine((v) => typeof parseCidr(v) !== 'string', { error: (iss) => `"${String(iss.input)}" is not an IPv4 CIDR such as "192.168.20.10/32"` });

export const screenSignInSchema = z.strictObject({
  /** The IdP's issuer URL (https), as the broker in lgwan reaches it. */
  issuer: z.string().refine((v) => /^https:\/\/[^\s/]+(\/\S*)?$/.test(v), { error: 'must be the https:// issuer URL of the municipality\'s OpenID Connect provider' }),
  /** Where the IdP is, seen from lgwan: the broker's only egress. */
  idpCidrs: z.array(cidr).min(1, { error: 'must list the address(es) of the identity provider, e.g. ["192.168.20.10/32"]' }),
  clientId: z.string().min(1, { error: 'must be the client id registered with the identity provider' }),
  /** SSM SecureString parameter holding the client secret; absent for a public client (PKCE only). */
  clientSecretParameter: z.string().regex(/^\/[A-Za-z0-9_./-]+$/, { error: 'must be an SSM parameter name such as "/three-tier/pilot/screen-broker/client-secret"' }).optional(),
  /** ID-token claim with the staff login. */
  usernameClaim: z.string().min(1).default('preferred_username'),
  /** Strip this @domain from the claim; other domains are refused. */
  loginDomain: z.string().optional(),
  /** SSM SecureString parameter holding the broker's private JWK (EC P-256). */
  signingKeyParameter: z.string().regex(/^\/[A-Za-z0-9_./-]+$/, { error: 'must be an SSM parameter name such as "/three-tier/pilot/screen-broker/signing-key"' }),
  /** The broker's public key(s) by key id; two during a rotation. */
  publicKeys: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'key ids are letters, digits, ".", "_" or "-"' }), publicJwk).refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 2, { error: 'must hold one public key (two while rotating)' }),
  /** Key id the broker signs with (one of publicKeys). */
  activeKeyId: z.string(),
  /** Life of a sign-in token: seconds, just long enough for the redirect. */
  tokenTtlSeconds: z.number().int().min(5, { error: 'must be at least 5 seconds' }).max(120, { error: 'must be at most 120 seconds: the token is a one-time ticket, not a session' }).default(30),
  /** The broker's URL as staff browsers reach it (its redirect URI, <url>/callback, is registered with the IdP). */
  brokerUrl: z.string().refine((v) => /^https:\/\/[^\s/]+\/?$/.test(v), { error: 'must be the https:// origin of the broker, e.g. "https://vb-signin.city.example.lg.jp"' }),
  /** The screen-transfer endpoint as staff browsers reach it (a name in the LGWAN DNS for the lgwan endpoint). */
  screenUrl: z.string().refine((v) => /^https:\/\/[^\s/]+\/?$/.test(v), { error: 'must be the https:// origin of the screen-transfer endpoint, e.g. "https://vb.city.example.lg.jp:8443"' }),
}).refine((s) => s.activeKeyId in s.publicKeys, { error: 'activeKeyId must name one of publicKeys', path: ['activeKeyId'] });

export type ScreenSignIn = z.output<typeof screenSignInSchema>;
