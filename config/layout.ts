import { formatIpv4, parseCidr, Cidr } from './cidr';
import { withCheckDigit } from './codes';
import { ThreeTierConfigInput } from './schema';

/**
 * Address plan used by the prefecture and synthetic configs: the security
 * cloud takes 10.0.0.0/18; municipality n (0-based) takes the /18 at
 * 10.0.0.0 + (n + 1) * 2^14 and splits it into one /20 per zone. 10.0.0.0/8
 * holds 1,023 municipalities this way.
 */
export const SECURITY_CLOUD_CIDR = '10.0.0.0/18';

export function municipalityBlock(n: number): { mynumber: string; lgwan: string; internet: string; transfer: string } {
  if (!Number.isInteger(n) || n < 0 || n > 1022) {
    throw new Error(`municipality index ${n} is outside the address plan (0-1022)`);
  }
  const base = (parseCidr('10.0.0.0/8') as Cidr).start + (n + 1) * 2 ** 14;
  const zone = (k: number): string => `${formatIpv4(base + k * 2 ** 12)}/20`;
  return { mynumber: zone(0), lgwan: zone(1), internet: zone(2), transfer: zone(3) };
}

/** Japan has 1,741 municipalities (市区町村, 2026): the largest synthetic config. */
export const MAX_SYNTHETIC = 1741;

/**
 * The synthetic configs' address plan: the security cloud takes 10.0.0.0/18
 * (as above); municipality n (0-based) takes the /19 at 10.0.0.0 + (n + 2) *
 * 2^13 and splits it into one /21 per zone (a /21 holds the subnet plan for
 * two AZs with room to spare). 10.0.0.0/8 holds 2,046 municipalities this way,
 * so every municipality of Japan fits.
 */
export function syntheticBlock(n: number): { mynumber: string; lgwan: string; internet: string; transfer: string } {
  if (!Number.isInteger(n) || n < 0 || n >= MAX_SYNTHETIC) {
    throw new Error(`synthetic municipality index ${n} is outside the address plan (0-${MAX_SYNTHETIC - 1})`);
  }
  const base = (parseCidr('10.0.0.0/8') as Cidr).start + (n + 2) * 2 ** 13;
  const zone = (k: number): string => `${formatIpv4(base + k * 2 ** 11)}/21`;
  return { mynumber: zone(0), lgwan: zone(1), internet: zone(2), transfer: zone(3) };
}

/**
 * A config with `count` synthetic municipalities (valid codes, distinct
 * CIDRs and domains). Used by the benchmark, the scale tests and
 * `-c config=synthetic-<N>` (1-1,741).
 */
export function syntheticConfig(count: number, name = `synthetic-${count}`): ThreeTierConfigInput {
  const municipalities = Array.from({ length: count }, (_, n) => {
    // Prefecture 01-47 and a municipality number 201-999 make a unique code.
    const prefecture = String((n % 47) + 1).padStart(2, '0');
    const local = String(201 + Math.floor(n / 47)).padStart(3, '0');
    const code = withCheckDigit(`${prefecture}${local}`);
    return {
      code,
      name: `合成市${n + 1}`,
      nameEn: `Synthetic ${n + 1}`,
      cidrs: syntheticBlock(n),
      lgwanMailDomains: [`city.synthetic${n + 1}.lg.jp`],
    };
  });
  return {
    name,
    region: 'ap-northeast-1',
    availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c'],
    securityCloud: { name: 'Synthetic', cidr: SECURITY_CLOUD_CIDR },
    // Scale configs: one municipality per shape is built, the others are parameter files of its shapes (lib/scale).
    rollout: { method: 'shapes' },
    municipalities,
  };
}
