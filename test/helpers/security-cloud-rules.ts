import { ThreeTierConfig } from '../../config';
import { CfnTemplate } from './synth';

/**
 * The security cloud's acceptance rules as an independent oracle over the
 * synthesized templates (by stack name). Returns one line per violation.
 */
export const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

function of(t: CfnTemplate, type: string): [string, any][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type).map(([id, r]) => [id, r.Properties ?? {}]);
}
function tag(p: any, key: string): string | undefined {
  return (p?.Tags ?? []).find((x: any) => x.Key === key)?.Value;
}
function refId(v: any): string | undefined {
  return v?.Ref ?? (Array.isArray(v?.['Fn::GetAtt']) ? v['Fn::GetAtt'][0] : undefined);
}
function isFirewallAttachment(v: any, firewallId: string): boolean {
  const ga = v?.['Fn::GetAtt'];
  return Array.isArray(ga) && ga[0] === firewallId && ga[1] === 'TransitGatewayAttachmentId';
}

export function hubTemplate(templates: Map<string, CfnTemplate>): [string, CfnTemplate] {
  const hit = [...templates.entries()].find(([, t]) => of(t, 'AWS::EC2::TransitGateway').length > 0);
  if (!hit) throw new Error('no hub template');
  return hit;
}

export function securityCloudViolations(templates: Map<string, CfnTemplate>, cfg: ThreeTierConfig): string[] {
  const out: string[] = [];
  let hubName: string;
  let hub: CfnTemplate;
  try {
    [hubName, hub] = hubTemplate(templates);
  } catch {
    return ['no Transit Gateway hub anywhere'];
  }
  const archive = `${cfg.name}-log-archive-`;

  // The firewall is attached to the TGW: both directions of every flow pass it.
  const firewalls = of(hub, 'AWS::NetworkFirewall::Firewall');
  const fw = firewalls[0];
  if (!fw || !fw[1].TransitGatewayId) out.push('firewall: not attached to the Transit Gateway');
  const fwId = fw?.[0] ?? '';
  if (fw && (fw[1].AvailabilityZoneMappings ?? []).length < 2) out.push('firewall: fewer than 2 AZs');

  const tables = of(hub, 'AWS::EC2::TransitGatewayRouteTable');
  const table = (suffix: string) => tables.find(([, p]) => (tag(p, 'Name') ?? '').endsWith(`-${suffix}`))?.[0];
  const routes = (tbl: string | undefined) => of(hub, 'AWS::EC2::TransitGatewayRoute').filter(([, p]) => p.TransitGatewayRouteTableId?.Ref === tbl).map(([, p]) => p);
  const tenants = table('tenants');
  const egress = table('egress');
  const firewallTable = table('firewall');
  const tr = routes(tenants);
  for (const cidr of PRIVATE) {
    if (!tr.some((p) => p.DestinationCidrBlock === cidr && p.Blackhole === true)) out.push(`tenants table: no blackhole for ${cidr}`);
  }
  const def = tr.find((p) => p.DestinationCidrBlock === '0.0.0.0/0');
  if (!def || !isFirewallAttachment(def.TransitGatewayAttachmentId, fwId)) out.push('tenants table: 0.0.0.0/0 does not go to the firewall');
  const er = routes(egress);
  for (const cidr of PRIVATE) {
    const r = er.find((p) => p.DestinationCidrBlock === cidr);
    if (!r || !isFirewallAttachment(r.TransitGatewayAttachmentId, fwId)) out.push(`egress table: return traffic to ${cidr} does not cross the firewall`);
  }
  const assoc = of(hub, 'AWS::EC2::TransitGatewayRouteTableAssociation');
  if (!assoc.some(([, p]) => isFirewallAttachment(p.TransitGatewayAttachmentId, fwId) && p.TransitGatewayRouteTableId?.Ref === firewallTable)) out.push('firewall attachment: not associated with the firewall table');
  const tgw = of(hub, 'AWS::EC2::TransitGateway')[0][1];
  if (tgw.DefaultRouteTableAssociation !== 'disable' || tgw.DefaultRouteTablePropagation !== 'disable') out.push('transit gateway: default association or propagation enabled');

  // Default drop.
  const policy = of(hub, 'AWS::NetworkFirewall::FirewallPolicy')[0]?.[1]?.FirewallPolicy ?? {};
  if (policy.StatefulEngineOptions?.RuleOrder !== 'STRICT_ORDER') out.push('policy: not strict order');
  if (!(policy.StatefulDefaultActions ?? []).some((a: string) => a.startsWith('aws:drop'))) out.push('policy: stateful default does not drop');
  if (!(policy.StatelessDefaultActions ?? []).every((a: string) => a === 'aws:forward_to_sfe' || a === 'aws:drop') || (policy.StatelessDefaultActions ?? []).length === 0) out.push('policy: stateless default passes traffic');

  // Egress: NAT per AZ and an IGW only in the hub.
  if (of(hub, 'AWS::EC2::NatGateway').length < cfg.availabilityZones.length) out.push('egress: fewer NAT gateways than AZs');
  if (of(hub, 'AWS::EC2::InternetGateway').length !== 1) out.push('egress: the hub needs exactly one internet gateway');
  for (const [name, t] of templates) {
    if (name !== hubName && (of(t, 'AWS::EC2::InternetGateway').length || of(t, 'AWS::EC2::NatGateway').length)) out.push(`${name}: IGW or NAT outside the security cloud`);
  }

  // Logs reach the archive.
  const logging = of(hub, 'AWS::NetworkFirewall::LoggingConfiguration')[0]?.[1]?.LoggingConfiguration?.LogDestinationConfigs ?? [];
  for (const type of ['ALERT', 'FLOW']) {
    const d = logging.find((x: any) => x.LogType === type);
    if (!d || !JSON.stringify(d.LogDestination).includes(archive)) out.push(`firewall ${type} logs do not reach the log archive`);
  }
  const hubVpc = of(hub, 'AWS::EC2::VPC')[0]?.[0];
  if (!of(hub, 'AWS::EC2::FlowLog').some(([, p]) => p.ResourceId?.Ref === hubVpc && p.TrafficType === 'ALL' && JSON.stringify(p.LogDestination).includes(archive))) out.push('hub VPC flow logs do not reach the archive');
  if (!of(hub, 'AWS::Route53Resolver::ResolverQueryLoggingConfig').some(([, p]) => JSON.stringify(p.DestinationArn).includes(archive))) out.push('hub DNS query logs do not reach the archive');

  // DNS firewall on the hub VPC with the managed lists and associated with every tenant.
  const rg = of(hub, 'AWS::Route53Resolver::FirewallRuleGroup')[0];
  if (!rg) out.push('dns firewall: no rule group');
  else if ((rg[1].FirewallRules ?? []).filter((r: any) => r.Action === 'BLOCK').length < cfg.securityCloud.dns.managedDomainLists.length) out.push('dns firewall: managed lists are not all blocked');
  if (!of(hub, 'AWS::Route53Resolver::FirewallRuleGroupAssociation').some(([, p]) => p.VpcId?.Ref === hubVpc)) out.push('dns firewall: not associated with the security cloud VPC');

  // Every tenant: default route to the TGW, DNS firewall, query logs.
  for (const m of cfg.municipalities) {
    const entry = [...templates.entries()].find(([, t]) => of(t, 'AWS::EC2::VPC').some(([, p]) => tag(p, 'ThreeTier:Zone') === 'internet' && tag(p, 'ThreeTier:Municipality') === m.code));
    if (!entry) {
      out.push(`${m.code}: no internet zone`);
      continue;
    }
    const [, t] = entry;
    const vpcId = of(t, 'AWS::EC2::VPC')[0][0];
    const workloadTables = of(t, 'AWS::EC2::SubnetRouteTableAssociation')
      .filter(([, p]) => tag(t.Resources[refId(p.SubnetId)!]?.Properties, 'aws-cdk:subnet-name') === 'workload')
      .map(([, p]) => refId(p.RouteTableId));
    for (const rt of workloadTables) {
      const r = of(t, 'AWS::EC2::Route').find(([, p]) => refId(p.RouteTableId) === rt && p.DestinationCidrBlock === '0.0.0.0/0');
      if (!r || !r[1].TransitGatewayId) out.push(`${m.code}: workload route table ${rt} has no default route to the Transit Gateway`);
    }
    if (!of(t, 'AWS::EC2::TransitGatewayVpcAttachment').some(([, p]) => p.VpcId?.Ref === vpcId)) out.push(`${m.code}: internet zone not attached`);
    if (!of(t, 'AWS::Route53Resolver::FirewallRuleGroupAssociation').some(([, p]) => p.VpcId?.Ref === vpcId)) out.push(`${m.code}: dns firewall not associated with the internet zone`);
    if (!of(t, 'AWS::Route53Resolver::ResolverQueryLoggingConfig').some(([, p]) => JSON.stringify(p.DestinationArn).includes(archive) && JSON.stringify(p.DestinationArn).includes(`dns-query-logs/${m.code}`))) out.push(`${m.code}: DNS query logs do not reach the archive under its prefix`);
  }
  for (const [name, t] of templates) {
    const n = Object.keys(t.Resources).length;
    if (n > 450) out.push(`${name}: ${n} resources (limit 450)`);
  }
  return out;
}
