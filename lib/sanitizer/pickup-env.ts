import { isIP } from 'net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Authenticator, headerAuthenticator, oidcAuthenticator, signedJwtAuthenticator } from './pickup-identity';

/**
 * The pickup page's identity settings from its environment (the hosts'
 * systemd EnvironmentFile, written from the config by lib/crossings/pickup.ts).
 * PICKUP_IDENTITY is required: a page that does not know how to tell who is
 * asking does not start. Secrets are never in the environment: the OIDC
 * client secret is read at start from Secrets Manager, through the SSM
 * endpoint the lgwan zone already has (`/aws/reference/secretsmanager/<id>`).
 */
export class PickupConfigError extends Error {}

type Env = Record<string, string | undefined>;

function need(env: Env, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new PickupConfigError(`${name} is not set: ${what}`);
  return v;
}

function list(env: Env, name: string, what: string): string[] {
  const v = need(env, name, what).split(',').map((s) => s.trim()).filter(Boolean);
  if (!v.length) throw new PickupConfigError(`${name} is empty: ${what}`);
  return v;
}

function addresses(env: Env, name: string): string[] {
  const v = list(env, name, 'the authenticating front\'s IP addresses, comma-separated');
  for (const a of v) if (!isIP(a)) throw new PickupConfigError(`${name}: "${a}" is not an IP address`);
  return v;
}

/** Reads a Secrets Manager secret (name or ARN) through SSM Parameter Store's reference path. */
export async function secretThroughSsm(ssm: SSMClient, secretId: string): Promise<string> {
  const out = await ssm.send(new GetParameterCommand({ Name: `/aws/reference/secretsmanager/${secretId}`, WithDecryption: true }));
  const v = out.Parameter?.Value;
  if (!v) throw new PickupConfigError(`the secret ${secretId} is empty`);
  return v;
}

export async function authenticatorFromEnv(env: Env, fetchSecret: (id: string) => Promise<string>): Promise<Authenticator> {
  const mode = env.PICKUP_IDENTITY;
  switch (mode) {
    case 'oidc': {
      const ref = need(env, 'PICKUP_OIDC_CLIENT_SECRET_ID', 'the Secrets Manager name or ARN of the OIDC client secret');
      let clientSecret: string;
      try {
        clientSecret = (await fetchSecret(ref)).trim();
      } catch (e) {
        throw new PickupConfigError(`PICKUP_OIDC_CLIENT_SECRET_ID: cannot read the secret ${ref}: ${(e as Error).message}`);
      }
      if (clientSecret.length < 16) throw new PickupConfigError(`PICKUP_OIDC_CLIENT_SECRET_ID: the secret ${ref} holds fewer than 16 characters; store the client secret the identity provider issued`);
      return oidcAuthenticator({
        issuer: need(env, 'PICKUP_OIDC_ISSUER', 'the identity provider\'s issuer URL'),
        clientId: need(env, 'PICKUP_OIDC_CLIENT_ID', 'the client id registered at the identity provider'),
        clientSecret,
        pageUrl: need(env, 'PICKUP_URL', 'the page\'s https origin as staff reach it (the redirect URI is <url>/callback)'),
        scopes: env.PICKUP_OIDC_SCOPES ? env.PICKUP_OIDC_SCOPES.split(/[\s,]+/).filter(Boolean) : undefined,
        userClaim: env.PICKUP_USER_CLAIM || undefined,
        groupsClaim: env.PICKUP_GROUPS_CLAIM || undefined,
        allowedGroups: list(env, 'PICKUP_ALLOWED_GROUPS', 'the groups whose members may use the page'),
      });
    }
    case 'signed-jwt': {
      let jwks: { keys: Record<string, unknown>[] } | undefined;
      if (env.PICKUP_JWKS) {
        try {
          jwks = JSON.parse(env.PICKUP_JWKS);
        } catch (e) {
          throw new PickupConfigError(`PICKUP_JWKS is not JSON: ${(e as Error).message}`);
        }
        if (!Array.isArray(jwks?.keys)) throw new PickupConfigError('PICKUP_JWKS must be a JWK set: {"keys":[...]}');
      }
      if (!jwks && !env.PICKUP_JWKS_URL) throw new PickupConfigError('PICKUP_JWKS_URL or PICKUP_JWKS must be set: the front\'s public keys');
      return signedJwtAuthenticator({
        issuer: need(env, 'PICKUP_JWT_ISSUER', 'the issuer (iss) of the front\'s assertions'),
        audience: need(env, 'PICKUP_JWT_AUDIENCE', 'the audience (aud) the front puts in assertions for this page'),
        jwksUrl: jwks ? undefined : env.PICKUP_JWKS_URL,
        jwks,
        header: env.PICKUP_JWT_HEADER || undefined,
        userClaim: env.PICKUP_USER_CLAIM || undefined,
        groupsClaim: env.PICKUP_GROUPS_CLAIM || undefined,
        allowedGroups: list(env, 'PICKUP_ALLOWED_GROUPS', 'the groups whose members may use the page'),
      });
    }
    case 'header':
      return headerAuthenticator({ header: env.PICKUP_USER_HEADER || undefined, frontAddresses: addresses(env, 'PICKUP_FRONT_ADDRESSES') });
    default:
      throw new PickupConfigError(`PICKUP_IDENTITY is "${mode ?? ''}": set it to oidc, signed-jwt or header (docs/pickup-identity.en.md)`);
  }
}
