import { Zone } from './schema';

/**
 * How a zone's VPC is cut into subnets, per AZ: half the VPC for workloads,
 * a smaller slice for interface endpoints and, in `internet`, a /28 per AZ
 * for the Transit Gateway attachment. Shared by config validation (so a too
 * small CIDR is refused with a clear message) and the VPC construct.
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

export function subnetPlan(prefix: number, azCount: number, zone: Zone): SubnetPlan {
  const azBits = Math.ceil(Math.log2(Math.max(azCount, 1)));
  const workloadMask = prefix + 1 + azBits;
  const endpointsMask = Math.min(27, prefix + 3 + azBits);
  const attachmentMask = zone === 'internet' ? 28 : undefined;
  const size = (mask: number | undefined): number => (mask === undefined ? 0 : 2 ** (32 - mask));
  const needed = azCount * (size(workloadMask) + size(endpointsMask) + size(attachmentMask));
  return { workloadMask, endpointsMask, attachmentMask, needed, available: 2 ** (32 - prefix) };
}
