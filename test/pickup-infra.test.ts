import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, loadConfig, validateConfig } from '../config';
import { buildIntent } from '../lib/isolation/intent';
import { pickupIdentityEnv } from '../lib/crossings/pickup';
import { pilot } from '../config/pilot';
import { readIntent } from '../lib/isolation/intent';
import { PickupConfigError, authenticatorFromEnv, secretThroughSsm } from '../lib/sanitizer/pickup-env';
import { resources, synthShipped } from './helpers/synth';

/**
 * The pickup page's identity as configured and deployed: the config refuses
 * what cannot work or is unsafe (naming the field), the security group and
 * the isolation intent follow the identity mode, the hosts get references
 * and never secrets, and the service refuses to start without a mode.
 */
const CODE = '131016';

function withPickup(pickup: unknown) {
  const m = { ...pilot.municipalities[0], pickup } as (typeof pilot.municipalities)[0];
  return { ...pilot, municipalities: [m] };
}

function problems(pickup: unknown): string[] {
  try {
    validateConfig(withPickup(pickup), 'test');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('pickup identity config', () => {
  const oidc = { mode: 'oidc', issuer: 'https://idp.city.chiyoda.lg.jp/realms/staff', clientId: 'pickup', clientSecretId: 'three-tier/131016/pickup', allowedGroups: ['staff'], idpAddresses: ['192.168.20.10'] };
  test('the pilot config is valid and signs staff in with OIDC', () => {
    assert.deepEqual(problems(pilot.municipalities[0].pickup), []);
  });
  test('an identity provider outside lgwan\'s reach is refused, naming the field and the fix', () => {
    const p = problems({ url: 'https://pickup.city.chiyoda.lg.jp', identity: { ...oidc, idpAddresses: ['203.0.113.5'] } });
    assert.ok(p.some((x) => /pickup\.identity\.idpAddresses\[0\]/.test(x) && /lgwan-side address/.test(x)), p.join('\n'));
  });
  test('no allowed group, a non-https issuer, a secret instead of a reference, a page URL with a path: each refused', () => {
    assert.ok(problems({ url: 'https://pickup.city.chiyoda.lg.jp', identity: { ...oidc, allowedGroups: [] } }).some((x) => /allowedGroups/.test(x) && /nobody could sign in/.test(x)));
    assert.ok(problems({ url: 'https://pickup.city.chiyoda.lg.jp', identity: { ...oidc, issuer: 'http://idp.example' } }).some((x) => /issuer/.test(x) && /https URL/.test(x)));
    assert.ok(problems({ url: 'https://pickup.city.chiyoda.lg.jp', identity: { ...oidc, clientSecretId: 'my secret value!' } }).some((x) => /clientSecretId/.test(x) && /never put the secret itself/.test(x)));
    assert.ok(problems({ url: 'https://pickup.city.chiyoda.lg.jp/files', identity: oidc }).some((x) => /pickup\.url/.test(x) && /origin without a path/.test(x)));
  });
  test('header mode needs the front\'s addresses inside lgwan; signed-jwt refuses private keys and needs exactly one key source', () => {
    assert.ok(problems({ url: 'https://p.city.chiyoda.lg.jp', identity: { mode: 'header' } }).some((x) => /frontAddresses/.test(x)));
    assert.ok(problems({ url: 'https://p.city.chiyoda.lg.jp', identity: { mode: 'header', frontAddresses: ['8.8.8.8'] } }).some((x) => /frontAddresses\[0\]/.test(x) && /authenticating front/.test(x)));
    const jwt = { mode: 'signed-jwt', issuer: 'front', audience: 'pickup', allowedGroups: ['staff'], frontAddresses: ['10.1.16.40'] };
    assert.ok(problems({ url: 'https://p.city.chiyoda.lg.jp', identity: jwt }).some((x) => /jwksUrl/.test(x) && /exactly one/.test(x)));
    assert.ok(problems({ url: 'https://p.city.chiyoda.lg.jp', identity: { ...jwt, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret' }] } } }).some((x) => /jwks/.test(x) && /public keys/.test(x)));
    assert.deepEqual(problems({ url: 'https://p.city.chiyoda.lg.jp', identity: { ...jwt, jwksUrl: 'https://front.city.chiyoda.lg.jp/jwks', jwksAddresses: ['192.168.20.11'] } }), []);
  });
});

describe('pickup identity in the templates and the intent', () => {
  test('oidc (pilot): HTTPS from the LGWAN terminals, out to the IdP only; the hosts get the secret\'s name, never the secret; the intent says so', () => {
    const s = synthShipped('pilot');
    const lgwan = s.templates.get(`Pilot-${CODE}-Lgwan`)!;
    const [, sg] = resources(lgwan, 'AWS::EC2::SecurityGroup').find(([, g]) => /^Pickup page/.test(g.GroupDescription))!;
    assert.deepEqual(sg.SecurityGroupIngress.map((r: any) => `${r.CidrIp}:${r.FromPort}`), ['192.168.20.0/24:443']);
    assert.ok(sg.SecurityGroupEgress.some((r: any) => r.CidrIp === '192.168.20.10/32' && r.FromPort === 443), 'egress to the identity provider');
    assert.ok(sg.Tags.some((t: any) => t.Key === 'ThreeTier:PickupIdentity' && t.Value === 'oidc'));
    const lt = resources(lgwan, 'AWS::EC2::LaunchTemplate').map(([, l]) => JSON.stringify(l)).find((l) => l.includes('three-tier-pickup'))!;
    for (const v of ['PICKUP_IDENTITY=oidc', 'PICKUP_URL=https://pickup.city.chiyoda.lg.jp', 'PICKUP_OIDC_ISSUER=https://idp.city.chiyoda.lg.jp/realms/staff', 'PICKUP_OIDC_CLIENT_SECRET_ID=three-tier/131016/pickup-oidc-client', 'PICKUP_ALLOWED_GROUPS=lgwan-staff']) assert.ok(lt.includes(v), v);
    assert.doesNotMatch(lt, /PICKUP_USER_HEADER/);
    const policy = resources(lgwan, 'AWS::IAM::Policy').map(([, p]) => JSON.stringify(p)).find((p) => p.includes('OidcClientSecret'))!;
    assert.match(policy, /parameter\/aws\/reference\/secretsmanager\/three-tier\/131016\/pickup-oidc-client/);
    assert.match(policy, /secret:three-tier\/131016\/pickup-oidc-client-\?\?\?\?\?\?/);
    const intent = readIntent(s.outdir);
    const ingress = intent.ingress!.find((i) => i.id === 'pickup' && i.municipality === CODE)!;
    assert.equal(ingress.identity, 'oidc');
    assert.deepEqual(ingress.sources, ['192.168.20.0/24']);
    assert.ok(ingress.enforcedBy[0].logicalId && lgwan.Resources[ingress.enforcedBy[0].logicalId].Type === 'AWS::EC2::SecurityGroup');
  });
  test('header (lab): HTTPS from the front\'s address only, in the intent (the lab template itself is checked by the ThreeTier-PICKUP1 mutation in test/isolation.test.ts)', () => {
    const cfg = loadConfig('lab');
    const ingress = buildIntent(cfg, (code, zone) => `Lab-${code}-${zone}`, 'Lab-SecurityCloud-Lab').ingress!.find((i) => i.id === 'pickup')!;
    assert.deepEqual([ingress.identity, ...ingress.sources], ['header', '10.0.80.40/32']);
    assert.deepEqual(pickupIdentityEnv(cfg.municipalities[0].pickup!), ['PICKUP_IDENTITY=header', 'PICKUP_USER_HEADER=X-Remote-User', 'PICKUP_FRONT_ADDRESSES=10.0.80.40']);
  });
  test('no pickup config, no page', () => {
    const cfg = validateConfig(withPickup(undefined), 'nopickup');
    assert.equal(cfg.municipalities[0].pickup, undefined);
  });
});

describe('pickup service settings', () => {
  test('oidc: the client secret is read from Secrets Manager through the SSM reference parameter, with decryption', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'a-client-secret-of-enough-length' } });
    const auth = await authenticatorFromEnv(
      { PICKUP_IDENTITY: 'oidc', PICKUP_OIDC_CLIENT_SECRET_ID: 'three-tier/131016/pickup', PICKUP_OIDC_ISSUER: 'https://idp.example.lg.jp', PICKUP_OIDC_CLIENT_ID: 'pickup', PICKUP_URL: 'https://pickup.example.lg.jp', PICKUP_ALLOWED_GROUPS: 'staff' },
      (id) => secretThroughSsm(new SSMClient({ region: 'ap-northeast-1' }), id),
    );
    assert.equal(auth.mode, 'oidc');
    const call = ssm.commandCalls(GetParameterCommand)[0].args[0].input;
    assert.deepEqual(call, { Name: '/aws/reference/secretsmanager/three-tier/131016/pickup', WithDecryption: true });
    ssm.restore();
  });
  test('no mode, an unreadable secret, a header mode without front addresses: the page does not start, and says why', async () => {
    await assert.rejects(authenticatorFromEnv({}, async () => 'x'), (e: Error) => e instanceof PickupConfigError && /PICKUP_IDENTITY is "": set it to oidc, signed-jwt or header/.test(e.message));
    await assert.rejects(
      authenticatorFromEnv({ PICKUP_IDENTITY: 'oidc', PICKUP_OIDC_CLIENT_SECRET_ID: 'nope' }, async () => {
        throw new Error('AccessDeniedException');
      }),
      /cannot read the secret nope: AccessDeniedException/,
    );
    await assert.rejects(authenticatorFromEnv({ PICKUP_IDENTITY: 'header' }, async () => 'x'), /PICKUP_FRONT_ADDRESSES is not set/);
    await assert.rejects(authenticatorFromEnv({ PICKUP_IDENTITY: 'header', PICKUP_FRONT_ADDRESSES: '10.0.80.0/24' }, async () => 'x'), /is not an IP address/);
  });
});
