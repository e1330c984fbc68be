import { MUNICIPALITY_TAG, ZONE_TAG } from '../core/tags';
import { CloudModel, Json, ResourceRef, keyOf, tagsOf } from './model';

/** Zones of DESIGN section 2, plus `public-internet`: the real internet as a source of inbound traffic. */
export type ZoneName = 'mynumber' | 'lgwan' | 'internet' | 'transfer' | 'security-cloud' | 'lgwan-network' | 'public-internet';
export const ZONE_NAMES: readonly ZoneName[] = ['mynumber', 'lgwan', 'internet', 'transfer', 'security-cloud', 'lgwan-network', 'public-internet'];
export const ISOLATED: readonly ZoneName[] = ['mynumber', 'lgwan', 'transfer'];

export interface ZoneVpc {
  readonly vpc: ResourceRef;
  readonly zone: ZoneName;
  readonly municipality?: string;
  readonly cidrs: string[];
}

/** Where a resource sits: found by the ThreeTier tags of its VPC (or its own tags), never by name. */
export class ZoneIndex {
  private readonly vpcs = new Map<string, ZoneVpc>();

  constructor(readonly model: CloudModel) {
    for (const vpc of model.ofType('AWS::EC2::VPC')) {
      const tags = tagsOf(vpc.resolved);
      const zone = tags[ZONE_TAG] as ZoneName | undefined;
      if (!zone) continue;
      const cidrs = [model.literal(vpc.stack, vpc.resolved.CidrBlock)].filter((c): c is string => !!c);
      this.vpcs.set(keyOf(vpc), { vpc, zone, municipality: tags[MUNICIPALITY_TAG], cidrs });
    }
    for (const extra of model.ofType('AWS::EC2::VPCCidrBlock')) {
      const vpc = model.refTo(extra.stack, extra.props.VpcId);
      const cidr = model.literal(extra.stack, extra.resolved.CidrBlock);
      const z = vpc && this.vpcs.get(keyOf(vpc));
      if (z && cidr) z.cidrs.push(cidr);
    }
  }

  zoneVpcs(): ZoneVpc[] {
    return [...this.vpcs.values()];
  }

  vpcZone(vpc: ResourceRef | undefined): ZoneVpc | undefined {
    return vpc ? this.vpcs.get(keyOf(vpc)) : undefined;
  }

  /** The VPC a resource belongs to, following VpcId / SubnetId / RouteTableId / GroupId / NetworkAclId. */
  vpcOf(r: ResourceRef, depth = 0): ResourceRef | undefined {
    if (depth > 4) return undefined;
    if (r.type === 'AWS::EC2::VPC') return r;
    const p = r.props;
    const via = (v: Json): ResourceRef | undefined => {
      const t = this.model.refTo(r.stack, v);
      return t ? this.vpcOf(t, depth + 1) : undefined;
    };
    if (p.VpcId !== undefined) return via(p.VpcId);
    if (p.SubnetId !== undefined) return via(p.SubnetId);
    if (p.RouteTableId !== undefined) return via(p.RouteTableId);
    if (p.GroupId !== undefined) return via(p.GroupId);
    if (p.NetworkAclId !== undefined) return via(p.NetworkAclId);
    if (Array.isArray(p.SubnetIds) && p.SubnetIds.length) return via(p.SubnetIds[0]);
    if (Array.isArray(p.SubnetMappings) && p.SubnetMappings.length) return via(p.SubnetMappings[0].SubnetId);
    return undefined;
  }

  /**
   * The zone of any resource: its VPC's tags first (the authoritative ones),
   * else its own ThreeTier tags (e.g. an internet gateway that is not attached).
   */
  zoneOf(r: ResourceRef): { zone?: ZoneName; municipality?: string } {
    const z = this.vpcZone(this.vpcOf(r));
    if (z) return { zone: z.zone, municipality: z.municipality };
    const tags = tagsOf(r.resolved);
    return { zone: tags[ZONE_TAG] as ZoneName | undefined, municipality: tags[MUNICIPALITY_TAG] };
  }

  isIsolated(r: ResourceRef): boolean {
    const z = this.zoneOf(r).zone;
    return !!z && ISOLATED.includes(z);
  }
}
