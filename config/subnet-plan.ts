import { Zone } from './schema';

/**
 * How a zone's VPC is cut into subnets, per AZ: half the VPC for workloads,
 * a smaller slice for interface endpoints and, in `internet`, a /28 per AZ
 * for the Transit Gateway attachment. Shared by config validation (so a too
 * small CIDR is refused with a clear message) and the VPC construct.
 *
 * Model β′ adds, in `internet`, one /26 per AZ for each business system moved
 * into the internet tier (MOVED_SYSTEM_MASK), taken from the free space after
 * these groups (movedSystemCidrs).
 */
export interface SubnetPlan {
  readonly workloadMask: number;
  readonly endpointsMask: number;
  readonly attachmentMask?: number;
  /** Addresses the plan needs in total. */
  readonly needed: number;
  /** Addresses the VPC has. */
  readonly available: number;
}

/** Each moved system gets a /26 per AZ (59 usable addresses: its load balancer, application and database hosts). */
export const MOVED_SYSTEM_MASK = 26;

export function subnetPlan(prefix: number, azCount: number, zone: Zone): SubnetPlan {
  const azBits = Math.ceil(Math.log2(Math.max(azCount, 1)));
  const workloadMask = prefix + 1 + azBits;
  const endpointsMask = Math.min(27, prefix + 3 + azBits);
  const attachmentMask = zone === 'internet' ? 28 : undefined;
  const size = (mask: number | undefined): number => (mask === undefined ? 0 : 2 ** (32 - mask));
  const needed = azCount * (size(workloadMask) + size(endpointsMask) + size(attachmentMask));
  return { workloadMask, endpointsMask, attachmentMask, needed, available: 2 ** (32 - prefix) };
}

function ipText(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

function ipNumber(text: string): number {
  return text.split('.').reduce((a, x) => a * 256 + Number(x), 0);
}

/**
 * The subnets of the business systems moved into the internet tier (β′): for
 * each system, in order, one /26 per AZ, allocated after the plan's subnets
 * the way the VPC allocates them (in order, each block aligned to its size).
 * `fits` is false when the VPC CIDR runs out; `needed` is the addresses up to
 * the end of the last one.
 */
export function movedSystemCidrs(vpcCidr: string, azCount: number, systems: number): { cidrs: string[][]; needed: number; available: number; fits: boolean } {
  const [base, bits] = vpcCidr.split('/');
  const prefix = Number(bits);
  const start = ipNumber(base);
  const plan = subnetPlan(prefix, azCount, 'internet');
  let cursor = 0;
  const take = (mask: number): number => {
    const size = 2 ** (32 - mask);
    cursor = Math.ceil(cursor / size) * size;
    const at = cursor;
    cursor += size;
    return at;
  };
  for (const mask of [plan.workloadMask, plan.endpointsMask, plan.attachmentMask!]) for (let i = 0; i < azCount; i++) take(mask);
  const cidrs: string[][] = [];
  for (let s = 0; s < systems; s++) {
    const mine: string[] = [];
    for (let i = 0; i < azCount; i++) mine.push(`${ipText(start + take(MOVED_SYSTEM_MASK))}/${MOVED_SYSTEM_MASK}`);
    cidrs.push(mine);
  }
  const available = 2 ** (32 - prefix);
  return { cidrs, needed: cursor, available, fits: cursor <= available };
}
