import * as fs from 'node:fs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { importJWK, type JWK } from 'jose';
import { createBroker } from '../lib/screen/broker';
import { oneOf, required, SettingError, whole } from '../lib/screen/env';
import { SCREEN_TOKEN_ALG, SigningKey } from '../lib/screen/token';

/**
 * The virtual-browser sign-in broker (lgwan zone). Reads its signing key
 * (and the client secret, for a confidential client) from SSM Parameter
 * Store SecureStrings through lgwan's SSM endpoint: never from the template
 * or this host's environment file.
 */
async function parameter(ssm: SSMClient, name: string): Promise<string> {
  const r = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const v = r.Parameter?.Value;
  if (!v) throw new SettingError(`SSM parameter ${name} is empty`);
  return v;
}

async function main(): Promise<void> {
  const env = process.env;
  const ssm = new SSMClient({});
  const jwk = JSON.parse(await parameter(ssm, required(env, 'BROKER_KEY_PARAMETER'))) as JWK;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d) throw new SettingError('BROKER_KEY_PARAMETER must hold a private EC P-256 JWK');
  const signingKey = (await importJWK(jwk, SCREEN_TOKEN_ALG)) as SigningKey;
  const secretName = env.BROKER_CLIENT_SECRET_PARAMETER;
  const server = await createBroker({
    issuer: required(env, 'BROKER_ISSUER'),
    clientId: required(env, 'BROKER_CLIENT_ID'),
    clientSecret: secretName ? await parameter(ssm, secretName) : undefined,
    publicUrl: required(env, 'BROKER_PUBLIC_URL'),
    usernameClaim: required(env, 'BROKER_USERNAME_CLAIM'),
    loginDomain: env.BROKER_LOGIN_DOMAIN || undefined,
    signingKey,
    kid: required(env, 'BROKER_KEY_ID'),
    tokenIssuer: required(env, 'BROKER_TOKEN_ISSUER'),
    audience: required(env, 'BROKER_AUDIENCE'),
    tokenTtlSeconds: whole(env, 'BROKER_TOKEN_TTL_SECONDS', 30, 5, 120),
    screenUrl: required(env, 'BROKER_SCREEN_URL'),
    engine: oneOf(env, 'BROKER_ENGINE', ['dcv', 'vnc'] as const),
    tls: { cert: fs.readFileSync(required(env, 'BROKER_TLS_CERT')), key: fs.readFileSync(required(env, 'BROKER_TLS_KEY')) },
    log: (m) => console.log(m),
  });
  server.listen(whole(env, 'BROKER_PORT', 443, 1, 65535));
}

main().catch((e) => {
  console.error(e instanceof SettingError ? `three-tier-screen-broker: ${e.message}` : e);
  process.exit(1);
});
