import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { loadConfig, validateConfig } from '../config';
import { alphaPrime, beta, betaPrime } from '../config/models-shipped';
import { pilot } from '../config/pilot';
import { zoneStackName, securityCloudStackName } from '../lib/core/naming';
import { buildIntent } from '../lib/isolation/intent';
import { MODEL_CROSSINGS } from '../lib/isolation/models';

/** The intent of a config, without synthesizing it. */
function intentOf(name: string) {
  const cfg = loadConfig(name);
  return buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));
}

describe('the model of each municipality is data in the intent', () => {
  test('pilot is model α: no model crossings, the α conditions', () => {
    const i = intentOf('pilot');
    assert.equal(i.model, 'alpha');
    assert.deepEqual(i.models?.map((m) => [m.municipality, m.model, m.crossings]), [['131016', 'alpha', []]]);
    assert.ok(i.models![0].conditions.some((c) => c.id === 'terminals-lgwan' && c.enforced === 'cdk'));
    assert.ok(!i.crossings.some((c) => ['A1', 'B1', 'B2'].includes(c.id)), 'α has none of the other models\' crossings');
  });
  test('each shipped model config names its model, and the conditions carry the municipality\'s own values', () => {
    const ap = intentOf('alpha-prime').models![0];
    assert.equal(ap.model, 'alpha-prime');
    const tenant = ap.conditions.find((c) => c.id === 'tenant-restriction')!;
    assert.equal(tenant.enforced, 'outside');
    assert.match(tenant.en, /00000000-0000-4000-8000-000000131016/);
    assert.match(ap.conditions.find((c) => c.id === 'named-services')!.en, /chiyodacity\.sharepoint\.com/);
    const b = intentOf('beta').models![0];
    assert.equal(b.model, 'beta');
    const edr = b.conditions.find((c) => c.id === 'edr')!;
    assert.equal(edr.enforced, 'outside');
    assert.match(edr.en, /Microsoft Defender for Endpoint \(MsSense 10\.8\)/);
    assert.match(edr.ja, /EDR/);
    const bp = intentOf('beta-prime').models![0];
    assert.equal(bp.model, 'beta-prime');
    assert.match(bp.conditions.find((c) => c.id === 'moved-systems')!.en, /payroll \(ports 443\), finance \(ports 443\)/);
    for (const m of [ap, b, bp]) {
      assert.ok(m.conditions.every((c) => c.en.length > 20 && c.ja.length > 10), 'every condition in both languages');
      assert.deepEqual(m.crossings, [...MODEL_CROSSINGS[m.model as keyof typeof MODEL_CROSSINGS]], `${m.model}: the intent lists the model's crossings`);
    }
  });
  test('a config with several models says so, and lists each municipality\'s model', () => {
    const second = { ...beta.municipalities[0], code: '131024', name: '中央区', nameEn: 'Chuo', lgwanMailDomains: ['city.chuo.lg.jp'], cidrs: { mynumber: '10.2.0.0/20', lgwan: '10.2.16.0/20', internet: '10.2.32.0/20', transfer: '10.2.48.0/20' }, mail: undefined, pickup: undefined, specificCommunications: undefined, dnsAllow: {}, terminals: { internet: { officeCidrs: ['192.168.31.0/24'], connection: { type: 'vpn' as const, customerGatewayIp: '192.0.2.31', bgpAsn: 65031 } } }, beta: { screenSystems: [{ name: 'records', address: '10.2.16.40', port: 3389 }], edr: { product: 'EDR', agent: 'agent 1' } } };
    const cfg = validateConfig({ ...pilot, name: 'mixed', municipalities: [pilot.municipalities[0], second] }, 'mixed');
    const i = buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloudStackName(cfg.name, cfg.securityCloud.name));
    assert.equal(i.model, 'mixed (α, β)');
    assert.deepEqual(i.models!.map((m) => [m.municipality, m.model]), [['131016', 'alpha'], ['131024', 'beta']]);
  });
  test('the shipped model configs differ from the pilot only in the model and its section', () => {
    for (const c of [alphaPrime, beta, betaPrime]) {
      const m = c.municipalities[0] as Record<string, unknown>;
      const p = pilot.municipalities[0] as Record<string, unknown>;
      const extra = Object.keys(m).filter((k) => !(k in p)).sort();
      assert.ok(extra.includes('model'));
      for (const k of Object.keys(p)) assert.deepEqual(m[k], p[k], `${c.name}: ${k} is the pilot's`);
    }
  });
});
