import { Construct } from 'constructs';
import { Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { HubParameter, hubParameter, hubSsmParameterArn } from '../scale/hub-parameters';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { DnsFirewall } from './dns-firewall';
import type { SecurityCloudStack } from './security-cloud-stack';

export interface TenantAttachmentProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly vpc: ec2.Vpc;
  /** The hub stack when it is in this municipality's account (cross-stack references work). */
  readonly hub?: SecurityCloudStack;
  /** rollout.stackSets: the hub in the security cloud account, whose ids become bound parameters (lib/scale/hub-parameters.ts). */
  readonly remoteHub?: SecurityCloudStack;
  readonly logArchiveBucketArn: string;
}

/**
 * One tenant's side of the security cloud, built in the municipality's
 * internet-zone stack so the hub's template never grows with tenants: the
 * Transit Gateway attachment (attachment subnets), its association with the
 * tenants route table and propagation into the firewall route table, the
 * default route of every workload subnet to the hub and the DNS Firewall
 * association (the zone stack logs its DNS queries, like every zone's).
 */
export class TenantAttachment extends Construct {
  readonly attachment: ec2.CfnTransitGatewayVpcAttachment;
  /** The Transit Gateway every workload subnet's default route points to (undefined until attached). */
  readonly transitGatewayId: string;

  constructor(scope: Construct, id: string, props: TenantAttachmentProps) {
    super(scope, id);
    const { config: cfg, municipality: m, vpc, hub } = props;
    const remote = props.remoteHub;
    // In another account: the hub's ids as parameters (stack-set overrides, or the hub's SSM parameters shared through RAM).
    const shared = (n: HubParameter['name']) => (cfg.rollout.stackSets ? undefined : hubSsmParameterArn(cfg.name, cfg.region, Stack.of(remote!).account, n));
    if (!hub && !remote) throw new Error(`municipality ${m.code}: its internet zone needs the security cloud stack (same account) or remoteHub (another account)`);
    const tgwId = hub ? hub.hub.tgw.ref : hubParameter(Stack.of(this), remote!, 'HubTransitGatewayId', shared('HubTransitGatewayId'));
    this.transitGatewayId = tgwId;
    const subnets = vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.attachment });
    this.attachment = new ec2.CfnTransitGatewayVpcAttachment(this, 'Attachment', {
      transitGatewayId: tgwId,
      vpcId: vpc.vpcId,
      subnetIds: subnets.subnetIds,
      options: { DnsSupport: 'enable' },
      tags: [{ key: 'Name', value: `${cfg.name}-${m.code}-internet` }],
    });
    if (hub) {
      // When the hub's default tables are set (municipalities in other accounts), they associate and propagate this
      // attachment too: an explicit association would fail ("already associated").
      if (!hub.tenantDefaults) {
        new ec2.CfnTransitGatewayRouteTableAssociation(this, 'Association', { transitGatewayAttachmentId: this.attachment.ref, transitGatewayRouteTableId: hub.hub.tenants.ref });
        new ec2.CfnTransitGatewayRouteTablePropagation(this, 'Propagation', { transitGatewayAttachmentId: this.attachment.ref, transitGatewayRouteTableId: hub.hub.firewall.ref });
      }
      DnsFirewall.associate(this, 'DnsFirewall', hub.dnsFirewall.ruleGroup.attrId, vpc.vpcId);
    } else {
      // The hub associates and propagates this attachment by its default route tables (lib/security-cloud/tenant-defaults.ts).
      DnsFirewall.associate(this, 'DnsFirewall', hubParameter(Stack.of(this), remote!, 'HubDnsFirewallRuleGroupId', shared('HubDnsFirewallRuleGroupId')), vpc.vpcId);
    }
    vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.workload }).subnets.forEach((subnet, i) => {
      const route = new ec2.CfnRoute(this, `Default${i}`, { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: '0.0.0.0/0', transitGatewayId: tgwId });
      route.addResourceDependency(this.attachment);
    });
  }
}
