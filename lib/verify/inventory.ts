import {
  DescribeInstancesCommand,
  DescribeInstancesCommandOutput,
  DescribeInternetGatewaysCommand,
  DescribeInternetGatewaysCommandOutput,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayAttachmentsCommandOutput,
  DescribeTransitGatewaysCommand,
  DescribeTransitGatewaysCommandOutput,
  DescribeVpcEndpointsCommand,
  DescribeVpcEndpointsCommandOutput,
  DescribeVpcsCommand,
  DescribeVpcsCommandOutput,
  DescribeVpnGatewaysCommand,
  DescribeVpnGatewaysCommandOutput,
  Filter,
  Tag,
} from '@aws-sdk/client-ec2';
import { CONFIG_TAG, MUNICIPALITY_TAG, ROLE_TAG, ZONE_TAG } from '../core/tags';
import { ZoneName } from '../isolation/zones';
import { Ec2Caller } from './aws';

/**
 * What is deployed for one config, found only by the ThreeTier:* tags
 * (DESIGN section 2) and by attachment to the VPCs found that way.
 */
export interface DeployedVpc {
  readonly id: string;
  readonly zone: ZoneName;
  readonly municipality?: string;
  readonly role?: string;
  readonly cidr?: string;
}

export interface DeployedInstance {
  readonly id: string;
  readonly vpcId?: string;
  readonly privateIp?: string;
  readonly zone?: ZoneName;
  readonly municipality?: string;
  readonly role?: string;
}

export interface Inventory {
  readonly config: string;
  readonly region: string;
  readonly vpcs: DeployedVpc[];
  readonly instances: DeployedInstance[];
  readonly internetGateways: { id: string; vpcId: string }[];
  readonly endpoints: { id: string; vpcId: string; serviceName: string; type: string }[];
  readonly transitGateways: string[];
  /** Transit Gateway attachments of the TGW-attached Network Firewall (resource type `network-function`). */
  readonly firewallAttachments: string[];
  readonly vpnGateways: { id: string; vpcId: string }[];
}

function tag(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** Every page of a Describe* call: follows NextToken until it is gone. */
async function allPages<T>(fetch: (token: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await fetch(token);
    out.push(...page.items);
    token = page.next;
    if (token !== undefined) {
      if (seen.has(token)) throw new Error(`pagination loop: NextToken ${token} returned twice`);
      seen.add(token);
    }
  } while (token);
  return out;
}

/** Filters take at most 200 values; larger sets are split. */
function chunks<T>(values: T[], size = 200): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

export async function discover(ec2: Ec2Caller, config: string, region: string): Promise<Inventory> {
  const configFilter: Filter = { Name: `tag:${CONFIG_TAG}`, Values: [config] };
  const vpcs = (
    await allPages(async (NextToken) => {
      const r = await ec2.send<DescribeVpcsCommandOutput>(new DescribeVpcsCommand({ Filters: [configFilter], NextToken }));
      return { items: r.Vpcs ?? [], next: r.NextToken };
    })
  )
    .map((v) => ({ id: v.VpcId!, zone: tag(v.Tags, ZONE_TAG) as ZoneName, municipality: tag(v.Tags, MUNICIPALITY_TAG), role: tag(v.Tags, ROLE_TAG), cidr: v.CidrBlock }))
    .filter((v) => v.zone);
  const vpcIds = vpcs.map((v) => v.id);

  const instances: DeployedInstance[] = [];
  const reservations = await allPages(async (NextToken) => {
    const r = await ec2.send<DescribeInstancesCommandOutput>(new DescribeInstancesCommand({ Filters: [configFilter, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }], NextToken }));
    return { items: r.Reservations ?? [], next: r.NextToken };
  });
  for (const res of reservations) {
    for (const i of res.Instances ?? []) {
      instances.push({ id: i.InstanceId!, vpcId: i.VpcId, privateIp: i.PrivateIpAddress, zone: tag(i.Tags, ZONE_TAG) as ZoneName | undefined, municipality: tag(i.Tags, MUNICIPALITY_TAG), role: tag(i.Tags, ROLE_TAG) });
    }
  }

  const internetGateways: Inventory['internetGateways'] = [];
  const endpoints: Inventory['endpoints'] = [];
  const vpnGateways: Inventory['vpnGateways'] = [];
  for (const ids of chunks(vpcIds)) {
    const igws = await allPages(async (NextToken) => {
      const r = await ec2.send<DescribeInternetGatewaysCommandOutput>(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: ids }], NextToken }));
      return { items: r.InternetGateways ?? [], next: r.NextToken };
    });
    for (const g of igws) for (const a of g.Attachments ?? []) if (a.VpcId && ids.includes(a.VpcId)) internetGateways.push({ id: g.InternetGatewayId!, vpcId: a.VpcId });
    const eps = await allPages(async (NextToken) => {
      const r = await ec2.send<DescribeVpcEndpointsCommandOutput>(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: ids }], NextToken }));
      return { items: r.VpcEndpoints ?? [], next: r.NextToken };
    });
    for (const e of eps) endpoints.push({ id: e.VpcEndpointId!, vpcId: e.VpcId!, serviceName: e.ServiceName ?? '', type: String(e.VpcEndpointType ?? '') });
    // DescribeVpnGateways has no pagination.
    const vgws = await ec2.send<DescribeVpnGatewaysCommandOutput>(new DescribeVpnGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: ids }] }));
    for (const g of vgws.VpnGateways ?? []) for (const a of g.VpcAttachments ?? []) if (a.VpcId && a.State !== 'detached' && ids.includes(a.VpcId)) vpnGateways.push({ id: g.VpnGatewayId!, vpcId: a.VpcId });
  }

  const transitGateways = (
    await allPages(async (NextToken) => {
      const r = await ec2.send<DescribeTransitGatewaysCommandOutput>(new DescribeTransitGatewaysCommand({ Filters: [configFilter], NextToken }));
      return { items: r.TransitGateways ?? [], next: r.NextToken };
    })
  )
    .filter((t) => t.State !== 'deleted' && t.State !== 'deleting')
    .map((t) => t.TransitGatewayId!);
  const firewallAttachments: string[] = [];
  if (transitGateways.length) {
    const atts = await allPages(async (NextToken) => {
      const r = await ec2.send<DescribeTransitGatewayAttachmentsCommandOutput>(
        new DescribeTransitGatewayAttachmentsCommand({
          Filters: [
            { Name: 'transit-gateway-id', Values: transitGateways },
            // `network-function`: the TGW-attached Network Firewall (newer than the pinned SDK's enum; the API takes the string).
            { Name: 'resource-type', Values: ['network-function'] },
          ],
          NextToken,
        }),
      );
      return { items: r.TransitGatewayAttachments ?? [], next: r.NextToken };
    });
    for (const a of atts) if (a.State !== 'deleted' && a.State !== 'deleting') firewallAttachments.push(a.TransitGatewayAttachmentId!);
  }
  return { config, region, vpcs, instances, internetGateways, endpoints, transitGateways, firewallAttachments, vpnGateways };
}
