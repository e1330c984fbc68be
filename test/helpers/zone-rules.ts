import { ISOLATED_ZONES, Zone } from '../../config';
import { CfnTemplate, resources, tagValue } from './synth';

export interface ZoneContext {
  zone: Zone;
  code: string;
  cidr: string;
  configName: string;
  region: string;
}

const FORBIDDEN_IN_ISOLATED = [
  'AWS::EC2::InternetGateway',
  'AWS::EC2::EgressOnlyInternetGateway',
  'AWS::EC2::NatGateway',
  'AWS::EC2::EIP',
  'AWS::EC2::TransitGatewayAttachment',
  'AWS::EC2::TransitGatewayVpcAttachment',
];
const FORBIDDEN_IN_INTERNET = ['AWS::EC2::InternetGateway', 'AWS::EC2::EgressOnlyInternetGateway', 'AWS::EC2::NatGateway', 'AWS::EC2::EIP'];
const TAGGED_TYPES = ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::SecurityGroup', 'AWS::EC2::Instance', 'AWS::EC2::FlowLog'];
const INTERFACE_SERVICES = ['ssm', 'ssmmessages', 'ec2messages', 'kms', 'logs'];

function asList<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** True when a statement allows any principal on any resource, with no condition. */
export function isOpenStatement(st: any): boolean {
  if (st.Effect !== 'Allow') return false;
  const principalAll = st.Principal === '*' || asList(st.Principal?.AWS).includes('*');
  const resourceAll = asList(st.Resource).includes('*') || st.NotResource !== undefined;
  return principalAll && resourceAll;
}

/**
 * The foundation's zone rules, as an independent oracle over one zone's
 * template. Returns one readable line per violation (empty when the zone is
 * compliant).
 */
export function zoneRuleViolations(t: CfnTemplate, ctx: ZoneContext): string[] {
  const out: string[] = [];
  const isolated = (ISOLATED_ZONES as readonly string[]).includes(ctx.zone);
  const forbidden = isolated ? FORBIDDEN_IN_ISOLATED : ctx.zone === 'internet' ? FORBIDDEN_IN_INTERNET : [];
  for (const [id, r] of Object.entries(t.Resources)) {
    if (forbidden.includes(r.Type)) out.push(`${ctx.zone}: ${r.Type} ${id} is not allowed in this zone`);
  }
  const vgws = new Set(resources(t, 'AWS::EC2::VPNGateway').filter(([, p]) => ['terminal-landing', 'lgwan-network', 'terminal-landing+lgwan-network'].includes(tagValue(p, 'ThreeTier:Role') ?? '')).map(([id]) => id));
  for (const [id] of resources(t, 'AWS::EC2::VPNGateway')) if (!vgws.has(id)) out.push(`${ctx.zone}: VPN gateway ${id} has no terminal-landing / lgwan-network role`);
  for (const [id, p] of resources(t, 'AWS::EC2::VPCPeeringConnection')) {
    const simulated = id.startsWith('SimulatedLgwanPeering') && JSON.stringify(p.PeerVpcId).includes('LgwanNetwork-Simulated');
    if (!simulated || !(ctx.zone === 'mynumber' || ctx.zone === 'lgwan')) out.push(`${ctx.zone}: AWS::EC2::VPCPeeringConnection ${id} is not allowed in this zone`);
  }
  for (const [id, p] of resources(t, 'AWS::EC2::Route')) {
    if (!(isolated || ctx.zone === 'internet')) continue;
    if (p.RouteTableId?.['Fn::ImportValue']) continue; // a return route in another VPC's table (simulated LGWAN)
    if (p.DestinationCidrBlock === '0.0.0.0/0' && ctx.zone !== 'internet') out.push(`${ctx.zone}: route ${id} to 0.0.0.0/0`);
    const viaVgw = p.GatewayId?.Ref && vgws.has(p.GatewayId.Ref);
    const viaSimPeering = p.VpcPeeringConnectionId?.Ref?.startsWith('SimulatedLgwanPeering') && String(p.DestinationCidrBlock).endsWith('/32');
    if (p.NatGatewayId || p.EgressOnlyInternetGatewayId || (p.GatewayId && !viaVgw) || (p.VpcPeeringConnectionId && !viaSimPeering)) {
      out.push(`${ctx.zone}: route ${id} to 0.0.0.0/0 or another gateway (${JSON.stringify(p)})`);
    }
    if (ctx.zone === 'internet' && p.DestinationCidrBlock === '0.0.0.0/0' && !p.TransitGatewayId) out.push(`${ctx.zone}: default route ${id} does not go to the security cloud`);
  }
  for (const [id, p] of resources(t, 'AWS::EC2::Subnet')) {
    if (p.MapPublicIpOnLaunch === true) out.push(`${ctx.zone}: subnet ${id} assigns public IPs`);
  }
  for (const [id, p] of resources(t, 'AWS::EC2::Instance')) {
    if (asList(p.NetworkInterfaces).some((n: any) => n.AssociatePublicIpAddress === true)) out.push(`${ctx.zone}: instance ${id} has a public IP`);
  }
  for (const [id, p] of resources(t, 'AWS::EC2::LaunchTemplate')) {
    if (asList(p.LaunchTemplateData?.NetworkInterfaces).some((n: any) => n.AssociatePublicIpAddress === true)) out.push(`${ctx.zone}: launch template ${id} has a public IP`);
  }
  for (const [id, p] of resources(t, 'AWS::EC2::SecurityGroup')) {
    if (!isolated) continue;
    for (const rule of asList(p.SecurityGroupIngress)) {
      if ((rule as any).CidrIp === '0.0.0.0/0' || (rule as any).CidrIpv6 === '::/0') out.push(`${ctx.zone}: security group ${id} allows 0.0.0.0/0`);
    }
  }
  for (const [id, p] of resources(t, 'AWS::EC2::SecurityGroupIngress')) {
    if (isolated && (p.CidrIp === '0.0.0.0/0' || p.CidrIpv6 === '::/0')) out.push(`${ctx.zone}: security group ingress ${id} allows 0.0.0.0/0`);
  }

  // Default security group closed: the CDK custom resource strips it.
  const vpcs = resources(t, 'AWS::EC2::VPC');
  for (const [vpcId] of vpcs) {
    const closed = Object.values(t.Resources).some(
      (r) => r.Type === 'Custom::VpcRestrictDefaultSG' && JSON.stringify(r.Properties?.DefaultSecurityGroupId ?? '').includes(vpcId),
    );
    if (!closed) out.push(`${ctx.zone}: the default security group is not closed for ${vpcId}`);
    const flows = resources(t, 'AWS::EC2::FlowLog').filter(([, p]) => p.ResourceId?.Ref === vpcId);
    if (!flows.some(([, p]) => p.TrafficType === 'ALL')) out.push(`${ctx.zone}: ${vpcId} has no flow log of ALL traffic`);
    for (const [fid, p] of flows) {
      if (p.TrafficType !== 'ALL') out.push(`${ctx.zone}: flow log ${fid} captures ${p.TrafficType}, not ALL`);
      const dest = JSON.stringify(p.LogDestination ?? '');
      if (!dest.includes(`${ctx.configName}-log-archive-`) || !dest.includes(`/vpc-flow-logs/${ctx.code}/${ctx.zone}/`)) {
        out.push(`${ctx.zone}: flow log ${fid} does not deliver to the log archive (${dest})`);
      }
    }
  }

  // Endpoints: every one has a policy, none open to every principal and resource.
  const endpoints = resources(t, 'AWS::EC2::VPCEndpoint');
  for (const [id, p] of endpoints) {
    if (JSON.stringify(p.ServiceName).includes('com.amazonaws.vpce')) continue; // PrivateLink to an endpoint service: no endpoint policy applies
    if (!p.PolicyDocument) {
      out.push(`${ctx.zone}: endpoint ${id} has no endpoint policy (the default allows everything)`);
      continue;
    }
    for (const st of asList(p.PolicyDocument.Statement)) {
      if (isOpenStatement(st)) out.push(`${ctx.zone}: endpoint ${id} policy is open to every principal and every resource`);
    }
  }
  if (isolated) {
    const have = endpoints.filter(([, p]) => p.VpcEndpointType === 'Interface').map(([, p]) => String(p.ServiceName).split('.').pop());
    for (const svc of INTERFACE_SERVICES) if (!have.includes(svc)) out.push(`${ctx.zone}: missing interface endpoint ${svc}`);
  }
  if (!endpoints.some(([, p]) => p.VpcEndpointType === 'Gateway' && JSON.stringify(p.ServiceName).includes('.s3"'))) {
    out.push(`${ctx.zone}: missing S3 gateway endpoint`);
  }

  // Tags on every VPC, subnet, route table, security group, instance, flow log.
  for (const [id, r] of Object.entries(t.Resources)) {
    if (!TAGGED_TYPES.includes(r.Type)) continue;
    const props = r.Properties ?? {};
    if (r.Type === 'AWS::EC2::SecurityGroup' && props.Tags === undefined && JSON.stringify(props.VpcId ?? '').includes('ImportValue')) continue;
    if (tagValue(props, 'ThreeTier:Zone') !== ctx.zone) out.push(`${ctx.zone}: ${r.Type} ${id} lacks ThreeTier:Zone=${ctx.zone}`);
    if (tagValue(props, 'ThreeTier:Municipality') !== ctx.code) out.push(`${ctx.zone}: ${r.Type} ${id} lacks ThreeTier:Municipality=${ctx.code}`);
  }
  return out;
}
