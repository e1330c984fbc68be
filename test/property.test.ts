import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ThreeTierConfigInput, validateConfig } from '../config';
import { withCheckDigit } from '../config/codes';
import { formatIpv4 } from '../config/cidr';
import { synth } from './helpers/synth';
import { zoneRuleViolations } from './helpers/zone-rules';

/**
 * Random valid configs: 1-3 municipalities with random (valid) codes and
 * domains, random zone sizes (/20-/24) placed without overlap at random
 * offsets, 2-3 AZs, random retention, lock mode and endpoint AZ count. Each
 * must validate, synthesize with zero AwsSolutions errors, and keep every
 * zone rule.
 */
const zoneSize = fc.integer({ min: 20, max: 24 });
const municipality = fc.record({
  pref: fc.integer({ min: 1, max: 47 }),
  local: fc.integer({ min: 100, max: 999 }),
  sizes: fc.tuple(zoneSize, zoneSize, zoneSize, zoneSize),
  domain: fc.stringMatching(/^[a-z][a-z0-9]{1,10}$/),
});
const configArb = fc.record({
  municipalities: fc.uniqueArray(municipality, { minLength: 1, maxLength: 3, selector: (m) => `${m.pref}-${m.local}` }),
  azCount: fc.integer({ min: 2, max: 3 }),
  endpointAzs: fc.integer({ min: 1, max: 2 }),
  retention: fc.integer({ min: 1, max: 3650 }),
  mode: fc.constantFrom('COMPLIANCE', 'GOVERNANCE'),
  base: fc.integer({ min: 1, max: 200 }), // first /16 used by municipalities
});

type Generated = typeof configArb extends fc.Arbitrary<infer T> ? T : never;

function build(g: Generated): ThreeTierConfigInput {
  // Each municipality gets its own /16 (10.base+i.0.0/16); zones are aligned blocks inside it.
  const municipalities = g.municipalities.map((m, i) => {
    let next = (10 << 24) + ((g.base + i) << 16);
    const place = (k: number): string => {
      const size = 2 ** (32 - m.sizes[k]);
      next = Math.ceil(next / size) * size;
      const text = `${formatIpv4(next >>> 0)}/${m.sizes[k]}`;
      next += size;
      return text;
    };
    const cidrs = { mynumber: place(0), lgwan: place(1), internet: place(2), transfer: place(3) };
    return {
      code: withCheckDigit(`${String(m.pref).padStart(2, '0')}${m.local}`),
      name: `テスト${i}`,
      cidrs,
      lgwanMailDomains: [`city.${m.domain}${i}.lg.jp`],
    };
  });
  return {
    name: 'prop',
    region: 'ap-northeast-1',
    availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d'].slice(0, g.azCount),
    logArchive: { retentionDays: g.retention, objectLockMode: g.mode },
    sizing: { interfaceEndpointAzs: Math.min(g.endpointAzs, g.azCount), flowLogAggregationSeconds: 600 },
    securityCloud: { name: 'Prop', cidr: '10.0.0.0/16' },
    municipalities,
  };
}

test('random valid configs synthesize with zero cdk-nag errors and keep every zone rule', () => {
  let runs = 0;
  fc.assert(
    fc.property(configArb, (g) => {
      const input = build(g);
      const cfg = validateConfig(input);
      const s = synth(input);
      const nag = new AwsSolutionsChecks(s.app).validateScope(s.app);
      assert.equal(nag.violations.length, 0, JSON.stringify(nag.violations.map((v) => v.ruleName)));
      for (const m of cfg.municipalities) {
        for (const zone of ['mynumber', 'lgwan', 'internet', 'transfer'] as const) {
          const t = s.templates.get(`Prop-${m.code}-${zone[0].toUpperCase()}${zone.slice(1)}`)!;
          assert.ok(t, `stack for ${m.code} ${zone}`);
          assert.deepEqual(zoneRuleViolations(t, { zone, code: m.code, cidr: m.cidrs[zone], configName: 'prop', region: 'ap-northeast-1' }), []);
        }
      }
      runs++;
    }),
    { numRuns: 12, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
  assert.equal(runs, 12);
});
