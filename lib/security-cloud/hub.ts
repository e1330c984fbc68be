import { Construct } from 'constructs';
import { aws_ec2 as ec2 } from 'aws-cdk-lib';

/** RFC 1918: what a tenant must never reach through the hub except via the firewall's explicit routes. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

export interface TransitHubProps {
  readonly name: string;
  /** Where the firewall is attached; filled once the firewall exists. */
  readonly description: string;
  /**
   * Multi-account rollout (rollout.stackSets): accept attachments from the
   * accounts the hub is shared with (the prefecture OUs) without a manual
   * step; they take the default route tables set by TenantDefaults.
   */
  readonly acceptSharedAttachments?: boolean;
}

/**
 * The Transit Gateway hub (DESIGN X7): default route-table association and
 * propagation disabled, auto-accept off, and three explicit route tables:
 *
 * - tenants: every municipality's internet-zone attachment; 0.0.0.0/0 and
 *   the security cloud's CIDR to the firewall, blackholes for the private
 *   ranges, so no tenant reaches another;
 * - firewall: the firewall's own attachment; 0.0.0.0/0 to the egress VPC,
 *   each tenant's CIDR propagated, so inspected traffic returns to its tenant;
 * - egress: the security cloud VPC's attachment; private ranges back to the
 *   firewall, so return traffic is inspected too.
 */
export class TransitHub extends Construct {
  readonly tgw: ec2.CfnTransitGateway;
  readonly tenants: ec2.CfnTransitGatewayRouteTable;
  readonly firewall: ec2.CfnTransitGatewayRouteTable;
  readonly egress: ec2.CfnTransitGatewayRouteTable;

  constructor(scope: Construct, id: string, props: TransitHubProps) {
    super(scope, id);
    this.tgw = new ec2.CfnTransitGateway(this, 'Tgw', {
      description: props.description,
      amazonSideAsn: 64512,
      defaultRouteTableAssociation: 'disable',
      defaultRouteTablePropagation: 'disable',
      autoAcceptSharedAttachments: props.acceptSharedAttachments ? 'enable' : 'disable',
      dnsSupport: 'enable',
      vpnEcmpSupport: 'enable',
      tags: [{ key: 'Name', value: `${props.name}-hub` }],
    });
    const table = (tid: string, name: string): ec2.CfnTransitGatewayRouteTable =>
      new ec2.CfnTransitGatewayRouteTable(this, tid, { transitGatewayId: this.tgw.ref, tags: [{ key: 'Name', value: `${props.name}-${name}` }] });
    this.tenants = table('TenantsTable', 'tenants');
    this.firewall = table('FirewallTable', 'firewall');
    this.egress = table('EgressTable', 'egress');
  }

  /** Wires the route tables once the firewall and the egress attachment exist. */
  wire(firewallAttachmentId: string, egressAttachment: ec2.CfnTransitGatewayVpcAttachment, securityCloudCidr: string): void {
    const route = (rid: string, table: ec2.CfnTransitGatewayRouteTable, destinationCidrBlock: string, transitGatewayAttachmentId?: string): void => {
      new ec2.CfnTransitGatewayRoute(this, rid, {
        transitGatewayRouteTableId: table.ref,
        destinationCidrBlock,
        ...(transitGatewayAttachmentId ? { transitGatewayAttachmentId } : { blackhole: true }),
      });
    };
    // Tenants: out through the firewall; to the security cloud (MX, NAT) through the firewall; nothing else private.
    route('TenantsDefault', this.tenants, '0.0.0.0/0', firewallAttachmentId);
    route('TenantsToSecurityCloud', this.tenants, securityCloudCidr, firewallAttachmentId);
    PRIVATE_RANGES.forEach((cidr, i) => route(`TenantsBlackhole${i}`, this.tenants, cidr));
    // Firewall: inspected traffic leaves via the egress VPC; tenant CIDRs are propagated by each tenant.
    route('FirewallDefault', this.firewall, '0.0.0.0/0', egressAttachment.ref);
    // Egress: everything coming back toward private space crosses the firewall again.
    PRIVATE_RANGES.forEach((cidr, i) => route(`EgressReturn${i}`, this.egress, cidr, firewallAttachmentId));
    new ec2.CfnTransitGatewayRouteTableAssociation(this, 'FirewallAssociation', { transitGatewayAttachmentId: firewallAttachmentId, transitGatewayRouteTableId: this.firewall.ref });
    new ec2.CfnTransitGatewayRouteTableAssociation(this, 'EgressAssociation', { transitGatewayAttachmentId: egressAttachment.ref, transitGatewayRouteTableId: this.egress.ref });
  }
}
