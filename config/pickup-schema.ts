import { z } from 'zod';
import { parseCidr } from './cidr';

/**
 * Config of the pickup page's identity (per municipality, `pickup`): how the
 * page knows which staff member is asking. See docs/pickup-identity.en.md.
 * - oidc: the page signs staff in at the municipality's identity provider;
 * - signed-jwt: the front signs an assertion the page verifies;
 * - header: compatibility; the page is reachable only from the front.
 */

/** An IPv4 address in dotted-quad form (shared with the model sections). */
export const ipv4 = z.string().refine((v) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) && v.split('.').every((x) => Number(x) <= 255), { error: (iss) => `"${String(iss.input)}" is not an IPv4 address such as "192.168.20.10"` });
const httpsUrl = (what: string) =>
  z.string({ error: `must be the ${what} as an https URL` }).refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'https:' && !u.username && !u.password && !u.hash;
      } catch {
        return false;
      }
    },
    { error: (iss) => `"${String(iss.input)}" is not an https URL; give the ${what}, e.g. "https://idp.city.example.lg.jp/realms/staff"` },
  );
/** A Secrets Manager secret name or ARN: a reference, never the secret itself. */
export const secretRef = z
  .string({ error: 'must be the name or ARN of a Secrets Manager secret, e.g. "three-tier/131016/pickup-oidc"' })
  .regex(/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}|[A-Za-z0-9/_+=.@-]{1,512})$/, { error: 'must be the name or ARN of a Secrets Manager secret (letters, digits and /_+=.@-), e.g. "three-tier/131016/pickup-oidc"; never put the secret itself in the config' });
const claimName = z.string().regex(/^[A-Za-z0-9_:./-]{1,100}$/, { error: 'must be a claim name such as "groups" or "preferred_username"' });
const groups = z.array(z.string().min(1).max(256), { error: 'must list the groups whose members may use the page, e.g. ["lgwan-staff"]' }).min(1, { error: 'must list at least one group: without it nobody could sign in' });
const fronts = z.array(ipv4, { error: 'must list the authenticating front\'s IPv4 addresses' }).min(1, { error: 'must list at least one address of the authenticating front' });

export const pickupIdentitySchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z.literal('oidc'),
      issuer: httpsUrl('identity provider\'s issuer'),
      clientId: z.string().min(1, { error: 'must be the client id registered at the identity provider' }),
      /** Secrets Manager name or ARN of the client secret (the hosts read it at start). */
      clientSecretId: secretRef,
      scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { error: 'must be an OAuth scope token' })).default(['openid', 'profile']).refine((s) => s.includes('openid'), { error: 'must include "openid"' }),
      userClaim: claimName.default('preferred_username'),
      groupsClaim: claimName.default('groups'),
      allowedGroups: groups,
      /** Where the identity provider is (its token and key endpoints, HTTPS 443): lgwan-side addresses, never the internet. */
      idpAddresses: z.array(ipv4).min(1, { error: 'must list the identity provider\'s addresses (the page calls its token endpoint on 443)' }),
    }),
    z.strictObject({
      mode: z.literal('signed-jwt'),
      issuer: z.string().min(1, { error: 'must be the issuer (iss) of the front\'s assertions' }),
      audience: z.string().min(1, { error: 'must be the audience (aud) the front puts in assertions for this page' }),
      /** The front's published keys: a JWKS URL (reachable from lgwan) or the public keys themselves. */
      jwksUrl: httpsUrl('front\'s JWKS URL').optional(),
      jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
      header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/).default('X-Pickup-Assertion'),
      userClaim: claimName.default('sub'),
      groupsClaim: claimName.default('groups'),
      allowedGroups: groups,
      frontAddresses: fronts,
      /** Where the JWKS URL is served (443), when jwksUrl is used. */
      jwksAddresses: z.array(ipv4).default([]),
    }),
    z.strictObject({
      mode: z.literal('header'),
      header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/).default('X-Remote-User'),
      frontAddresses: fronts,
    }),
  ],
  { error: 'must be { mode: "oidc", ... }, { mode: "signed-jwt", ... } or { mode: "header", frontAddresses } (docs/pickup-identity.en.md)' },
);

export const pickupSchema = z.strictObject({
  /** The page's https origin as staff reach it (the OIDC redirect URI is <url>/callback). */
  url: httpsUrl('page\'s address as staff reach it').refine((v) => new URL(v).pathname === '/', { error: 'must be an origin without a path, e.g. "https://pickup.city.example.lg.jp"' }),
  identity: pickupIdentitySchema,
});

export type PickupConfig = z.output<typeof pickupSchema>;

/**
 * The page lives in lgwan, which has no internet: the identity provider,
 * the JWKS host and the front must be lgwan-side (the lgwan zone or its
 * terminals' office segments, which the zone reaches over its own VPN).
 */
export function pickupProblems(p: PickupConfig, lgwanCidr: string, officeCidrs: readonly string[]): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const ranges = [lgwanCidr, ...officeCidrs].map((c) => parseCidr(c)).filter((c) => typeof c !== 'string');
  const inside = (ip: string) => {
    const a = parseCidr(`${ip}/32`);
    return typeof a !== 'string' && ranges.some((r) => a.start >= r.start && a.end <= r.end);
  };
  const where = `the lgwan zone (${lgwanCidr})${officeCidrs.length ? ` or the LGWAN terminals' office segments (${officeCidrs.join(', ')})` : ''}`;
  const check = (list: readonly string[], key: string, what: string) =>
    list.forEach((a, i) => {
      if (!inside(a)) out.push({ path: ['identity', key, i], message: `"${a}" is not inside ${where}: the pickup page is in lgwan, which has no internet, so ${what} must be an lgwan-side address` });
    });
  const id = p.identity;
  if (id.mode === 'oidc') check(id.idpAddresses, 'idpAddresses', 'the identity provider');
  if (id.mode === 'signed-jwt') {
    if (!id.jwksUrl === !id.jwks) out.push({ path: ['identity', 'jwksUrl'], message: 'give exactly one of jwksUrl (the front\'s published keys) or jwks (the keys themselves)' });
    if (id.jwksUrl && !id.jwksAddresses.length) out.push({ path: ['identity', 'jwksAddresses'], message: 'must list the addresses serving jwksUrl (the page fetches the keys on 443)' });
    check(id.jwksAddresses, 'jwksAddresses', 'the JWKS host');
    if (id.jwks?.keys.some((k) => 'd' in k || 'k' in k)) out.push({ path: ['identity', 'jwks'], message: 'holds a private or symmetric key ("d" or "k"): list only the front\'s public keys' });
  }
  if (id.mode === 'signed-jwt' || id.mode === 'header') check(id.frontAddresses, 'frontAddresses', 'the authenticating front');
  return out;
}

/**
 * Who may open the page (HTTPS 443), from the identity mode: with oidc,
 * staff terminals themselves (their office segments, or the lgwan zone when
 * none is configured), since the page signs them in; with signed-jwt or
 * header, only the front's addresses, since only the front speaks for staff.
 * The security group and the isolation intent both come from this.
 */
export function pickupIngress(p: PickupConfig, lgwanCidr: string, officeCidrs: readonly string[]): { sources: string[]; reason: string } {
  if (p.identity.mode === 'oidc') {
    return officeCidrs.length
      ? { sources: [...officeCidrs], reason: 'LGWAN terminals (the page signs staff in at the identity provider itself)' }
      : { sources: [lgwanCidr], reason: 'the lgwan zone (no terminal segment configured; the page signs staff in itself)' };
  }
  return { sources: p.identity.frontAddresses.map((a) => `${a}/32`), reason: `the authenticating front only (${p.identity.mode} mode: only the front speaks for staff)` };
}

/** Where the page itself connects (HTTPS 443), besides AWS endpoints: the identity provider or the front's JWKS host. */
export function pickupEgress(p: PickupConfig): { destinations: string[]; reason: string } {
  if (p.identity.mode === 'oidc') return { destinations: p.identity.idpAddresses.map((a) => `${a}/32`), reason: 'the identity provider (token and key endpoints)' };
  if (p.identity.mode === 'signed-jwt') return { destinations: p.identity.jwksAddresses.map((a) => `${a}/32`), reason: 'the front\'s published keys (JWKS)' };
  return { destinations: [], reason: '' };
}
