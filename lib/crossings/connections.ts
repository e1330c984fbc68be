import { Construct } from 'constructs';
import { Tags, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { ROLE_TAG } from '../core/tags';
import { SUBNET_GROUPS } from '../network/zone-vpc';

type Connection = NonNullable<Municipality['specificCommunications']>['lgwanConnection'];

export interface ConnectionLeg {
  /** What the leg connects to: the tier's office terminals, or the LGWAN network (特定通信). */
  readonly role: 'terminal-landing' | 'lgwan-network';
  readonly connection: Connection;
  /** Destinations routed over this leg: office segments, or /32 addresses of 特定通信. */
  readonly routes: string[];
}

/**
 * A zone's private connections outside AWS (terminal landing and 特定通信):
 * one virtual private gateway per zone VPC (AWS allows one), one
 * site-to-site VPN per leg with static routes for exactly the listed
 * destinations, and the same routes in the zone's workload route tables
 * (and, for the office segments, in its endpoint subnets' tables).
 * Direct Connect legs attach the gateway; the Direct Connect gateway
 * association is made outside CloudFormation (see README).
 */
export class ZoneConnections extends Construct {
  readonly vgw?: ec2.CfnVPNGateway;
  readonly vgwAttachment?: ec2.CfnVPCGatewayAttachment;

  constructor(scope: Construct, id: string, props: { config: ThreeTierConfig; code: string; zone: string; vpc: ec2.Vpc; legs: ConnectionLeg[] }) {
    super(scope, id);
    const legs = props.legs.filter((l) => l.connection.type !== 'simulated');
    if (legs.length === 0) return;
    this.vgw = new ec2.CfnVPNGateway(this, 'Vgw', { type: 'ipsec.1', tags: [{ key: 'Name', value: `${props.config.name}-${props.code}-${props.zone}` }] });
    Tags.of(this.vgw).add(ROLE_TAG, [...new Set(legs.map((l) => l.role))].join('+'));
    const attach = new ec2.CfnVPCGatewayAttachment(this, 'VgwAttachment', { vpcId: props.vpc.vpcId, vpnGatewayId: this.vgw.ref });
    this.vgwAttachment = attach;
    legs.forEach((leg, i) => {
      if (leg.connection.type === 'vpn') {
        const cgw = new ec2.CfnCustomerGateway(this, `Cgw${i}`, { type: 'ipsec.1', ipAddress: leg.connection.customerGatewayIp, bgpAsn: leg.connection.bgpAsn, tags: [{ key: 'Name', value: `${props.code}-${props.zone}-${leg.role}` }] });
        const vpn = new ec2.CfnVPNConnection(this, `Vpn${i}`, { type: 'ipsec.1', customerGatewayId: cgw.ref, vpnGatewayId: this.vgw!.ref, staticRoutesOnly: true, tags: [{ key: 'Name', value: `${props.code}-${props.zone}-${leg.role}` }] });
        leg.routes.forEach((dest, j) => new ec2.CfnVPNConnectionRoute(this, `VpnRoute${i}x${j}`, { vpnConnectionId: vpn.ref, destinationCidrBlock: dest }));
      }
      // Office segments are routed from the endpoint subnets too: the interface endpoints that office
      // terminals use (X1's virtual browser, AppStream streaming, the α′ proxy) answer from there, and an
      // answer needs a route back to the terminal. 特定通信 stays in the workload tables (hosts use it).
      const groups = leg.role === 'terminal-landing' ? [SUBNET_GROUPS.workload, SUBNET_GROUPS.endpoints] : [SUBNET_GROUPS.workload];
      const tables = [...new Set(groups.flatMap((g) => props.vpc.selectSubnets({ subnetGroupName: g }).subnets.map((s) => s.routeTable.routeTableId)))];
      tables.forEach((rt, t) =>
        leg.routes.forEach((dest, j) => {
          const r = new ec2.CfnRoute(this, `Route${i}x${t}x${j}`, { routeTableId: rt, destinationCidrBlock: dest, gatewayId: this.vgw!.ref });
          r.addResourceDependency(attach);
        }),
      );
    });
  }
}

/** EC2 descriptions accept ASCII only: keep a readable name or fall back to the address. */
export function ascii(name: string, fallback: string): string {
  return /^[\x20-\x7e]+$/.test(name) ? name : fallback;
}

/** The LGWAN-side routes of 特定通信: each destination as a /32. */
export function specificRoutes(m: Municipality): string[] {
  return (m.specificCommunications?.destinations ?? []).map((d) => `${d.address}/32`);
}

/**
 * Security group for mynumber hosts that use 特定通信: egress to exactly each
 * listed address and port, nothing wider, plus HTTPS to the zone's own
 * endpoints (patching and agents).
 */
export function specificCommunicationsSg(scope: Construct, m: Municipality, vpc: ec2.Vpc): ec2.SecurityGroup | undefined {
  const sc = m.specificCommunications;
  if (!sc) return undefined;
  const sg = new ec2.SecurityGroup(scope, 'SpecificCommunicationsSg', { vpc, description: 'Specific communications (tokutei tsushin): only the listed LGWAN destinations, by address and port', allowAllOutbound: false });
  Tags.of(sg).add(ROLE_TAG, 'specific-communications');
  for (const d of sc.destinations) {
    const port = d.protocol === 'udp' ? ec2.Port.udp(d.port) : ec2.Port.tcp(d.port);
    sg.addEgressRule(ec2.Peer.ipv4(`${d.address}/32`), port, `specific communications to ${ascii(d.name, d.address)}`);
  }
  sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.mynumber), ec2.Port.tcp(443), 'AWS API endpoints of the zone');
  return sg;
}
