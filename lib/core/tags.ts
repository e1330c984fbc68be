import { IConstruct } from 'constructs';
import { Tags } from 'aws-cdk-lib';

/** Tag keys the checks use to find zones (DESIGN section 2). Never find zones by path or name. */
export const ZONE_TAG = 'ThreeTier:Zone';
export const MUNICIPALITY_TAG = 'ThreeTier:Municipality';
export const CONFIG_TAG = 'ThreeTier:Config';
/** What a resource is for, when rules need to know (e.g. "log-archive"). */
export const ROLE_TAG = 'ThreeTier:Role';
/** The crossing (X1-X7) a bucket or endpoint serves. */
export const CROSSING_TAG = 'ThreeTier:Crossing';

export type ZoneTagValue = 'mynumber' | 'lgwan' | 'internet' | 'transfer' | 'security-cloud' | 'lgwan-network';

/** Tags every taggable resource under scope (VPC, subnets, route tables, security groups, endpoints, instances). */
export function tagZone(scope: IConstruct, configName: string, zone: ZoneTagValue, municipalityCode?: string): void {
  Tags.of(scope).add(CONFIG_TAG, configName);
  Tags.of(scope).add(ZONE_TAG, zone);
  if (municipalityCode) Tags.of(scope).add(MUNICIPALITY_TAG, municipalityCode);
}
/** The pickup page's identity mode (oidc, signed-jwt, header) on its security group, for ThreeTier-PICKUP1. */
export const PICKUP_IDENTITY_TAG = 'ThreeTier:PickupIdentity';
