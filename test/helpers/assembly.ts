import * as fs from 'fs';
import * as path from 'path';
import { ThreeTierConfigInput } from '../../config';
import { Crossing, INTENT_FILE, IsolationIntent } from '../../lib/isolation/intent';
import { checkAssembly, IsolationReport } from '../../lib/isolation/check';
import { CfnTemplate, synth, tmpDir } from './synth';

/** Synthesizes once per config (cached) and hands out private copies of the assembly to edit. */
const bases = new Map<string, string>();
export function freshAssembly(config: string | ThreeTierConfigInput = 'pilot'): string {
  const key = typeof config === 'string' ? config : JSON.stringify(config);
  let base = bases.get(key);
  if (!base) {
    base = synth(config).outdir;
    bases.set(key, base);
  }
  const copy = tmpDir('mutant');
  fs.cpSync(base, copy, { recursive: true });
  return copy;
}

export function stackNames(dir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return Object.entries<any>(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([n]) => n);
}

export function readTemplate(dir: string, stack: string): CfnTemplate {
  return JSON.parse(fs.readFileSync(path.join(dir, `${stack}.template.json`), 'utf8'));
}

/** Edits one stack's template in place. */
export function editTemplate(dir: string, stack: string, edit: (t: CfnTemplate & { Outputs?: Record<string, any> }) => void): void {
  const t = readTemplate(dir, stack);
  edit(t);
  fs.writeFileSync(path.join(dir, `${stack}.template.json`), JSON.stringify(t, null, 1));
}

export function editIntent(dir: string, edit: (i: IsolationIntent & { crossings: Crossing[] }) => void): void {
  const file = path.join(dir, INTENT_FILE);
  const intent = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(intent);
  fs.writeFileSync(file, JSON.stringify(intent, null, 1));
}

export function check(dir: string): IsolationReport {
  return checkAssembly(dir).report;
}

/** Pack rule ids and analyzer finding kinds of a report, for assertions. */
export function summary(r: IsolationReport): { rules: string[]; analyzer: string[] } {
  return { rules: [...new Set(r.pack.findings.map((f) => f.rule))].sort(), analyzer: r.analyzer.findings.map((f) => `${f.kind}: ${f.message}`) };
}

// --- finding things in a zone template by tags (as the checks do) ------------

function tag(props: any, key: string): string | undefined {
  return (props?.Tags ?? []).find((t: any) => t.Key === key)?.Value;
}

export function zoneStack(dir: string, code: string, zone: string): string {
  const name = stackNames(dir).find((s) => {
    const t = readTemplate(dir, s);
    return Object.values(t.Resources).some((r) => r.Type === 'AWS::EC2::VPC' && tag(r.Properties, 'ThreeTier:Zone') === zone && tag(r.Properties, 'ThreeTier:Municipality') === code);
  });
  if (!name) throw new Error(`no ${zone} stack for ${code}`);
  return name;
}

export function securityCloudStack(dir: string): string {
  return stackNames(dir).find((s) => s.includes('-SecurityCloud-'))!;
}

export function vpcId(t: CfnTemplate): string {
  return Object.entries(t.Resources).find(([, r]) => r.Type === 'AWS::EC2::VPC')![0];
}

export function subnetIds(t: CfnTemplate, group: string): string[] {
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type === 'AWS::EC2::Subnet' && tag(r.Properties, 'aws-cdk:subnet-name') === group)
    .map(([id]) => id);
}

export function routeTableOf(t: CfnTemplate, subnet: string): string {
  const assoc = Object.values(t.Resources).find((r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties?.SubnetId?.Ref === subnet);
  return assoc!.Properties!.RouteTableId.Ref;
}

export function zoneTags(zone: string, code?: string): { Key: string; Value: string }[] {
  return [{ Key: 'ThreeTier:Zone', Value: zone }, ...(code ? [{ Key: 'ThreeTier:Municipality', Value: code }] : [])];
}

/**
 * Adds a minimal security-cloud hub to an assembly, in the shape DESIGN
 * section 3 (X7) asks for: a Transit Gateway without default association or
 * propagation; a tenants route table with 0.0.0.0/0 to a TGW-attached
 * Network Firewall and blackholes for private ranges; a firewall route table
 * that reaches the egress VPC and each tenant; an egress VPC with NAT and
 * internet gateway whose return route goes back through the firewall. Every
 * internet zone attaches to it from its own stack through exports/imports,
 * and the intent gains X7 for each municipality.
 */
export function addHub(dir: string, egressCidr = '10.0.0.0/18'): void {
  const sc = securityCloudStack(dir);
  const fwAtt = { 'Fn::GetAtt': ['HubFirewall', 'TransitGatewayAttachmentId'] };
  editTemplate(dir, sc, (t) => {
    const R = t.Resources as Record<string, any>;
    const sct = zoneTags('security-cloud');
    R.HubTgw = { Type: 'AWS::EC2::TransitGateway', Properties: { DefaultRouteTableAssociation: 'disable', DefaultRouteTablePropagation: 'disable', AutoAcceptSharedAttachments: 'disable', Tags: sct } };
    for (const rt of ['HubTenantRt', 'HubFirewallRt', 'HubEgressRt']) R[rt] = { Type: 'AWS::EC2::TransitGatewayRouteTable', Properties: { TransitGatewayId: { Ref: 'HubTgw' } } };
    R.HubPolicy = { Type: 'AWS::NetworkFirewall::FirewallPolicy', Properties: { FirewallPolicyName: 'hub', FirewallPolicy: { StatelessDefaultActions: ['aws:forward_to_sfe'], StatelessFragmentDefaultActions: ['aws:forward_to_sfe'], StatefulDefaultActions: ['aws:drop_strict'], StatefulEngineOptions: { RuleOrder: 'STRICT_ORDER' } } } };
    R.HubFirewall = { Type: 'AWS::NetworkFirewall::Firewall', Properties: { FirewallName: 'hub', FirewallPolicyArn: { Ref: 'HubPolicy' }, TransitGatewayId: { Ref: 'HubTgw' }, AvailabilityZoneMappings: [{ AvailabilityZone: 'ap-northeast-1a' }, { AvailabilityZone: 'ap-northeast-1c' }] } };
    R.HubFirewallAssoc = { Type: 'AWS::EC2::TransitGatewayRouteTableAssociation', Properties: { TransitGatewayAttachmentId: fwAtt, TransitGatewayRouteTableId: { Ref: 'HubFirewallRt' } } };
    R.HubEgressVpc = { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: egressCidr, Tags: sct } };
    R.HubEgressFlowLog = { Type: 'AWS::EC2::FlowLog', Properties: { ResourceId: { Ref: 'HubEgressVpc' }, ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 's3', LogDestination: 'arn:aws:s3:::archive' } };
    const base = egressCidr.split('/')[0].split('.').slice(0, 2).join('.');
    R.HubTgwSubnet = { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'HubEgressVpc' }, CidrBlock: `${base}.0.0/24`, Tags: sct } };
    R.HubPublicSubnet = { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'HubEgressVpc' }, CidrBlock: `${base}.1.0/24`, Tags: sct } };
    for (const [rt, subnet] of [['HubTgwSubnetRt', 'HubTgwSubnet'], ['HubPublicRt', 'HubPublicSubnet']]) {
      R[rt] = { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'HubEgressVpc' }, Tags: sct } };
      R[`${rt}Assoc`] = { Type: 'AWS::EC2::SubnetRouteTableAssociation', Properties: { SubnetId: { Ref: subnet }, RouteTableId: { Ref: rt } } };
    }
    R.HubIgw = { Type: 'AWS::EC2::InternetGateway', Properties: { Tags: sct } };
    R.HubIgwAttach = { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: { Ref: 'HubEgressVpc' }, InternetGatewayId: { Ref: 'HubIgw' } } };
    R.HubEip = { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc', Tags: sct } };
    R.HubNat = { Type: 'AWS::EC2::NatGateway', Properties: { SubnetId: { Ref: 'HubPublicSubnet' }, AllocationId: { 'Fn::GetAtt': ['HubEip', 'AllocationId'] }, Tags: sct } };
    R.HubTgwSubnetDefault = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: 'HubTgwSubnetRt' }, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: 'HubNat' } } };
    R.HubPublicDefault = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: 'HubPublicRt' }, DestinationCidrBlock: '0.0.0.0/0', GatewayId: { Ref: 'HubIgw' } } };
    R.HubPublicReturn = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: 'HubPublicRt' }, DestinationCidrBlock: '10.0.0.0/8', TransitGatewayId: { Ref: 'HubTgw' } } };
    R.HubEgressAttach = { Type: 'AWS::EC2::TransitGatewayVpcAttachment', Properties: { TransitGatewayId: { Ref: 'HubTgw' }, VpcId: { Ref: 'HubEgressVpc' }, SubnetIds: [{ Ref: 'HubTgwSubnet' }], Options: { ApplianceModeSupport: 'enable' } } };
    R.HubEgressAssoc = { Type: 'AWS::EC2::TransitGatewayRouteTableAssociation', Properties: { TransitGatewayAttachmentId: { Ref: 'HubEgressAttach' }, TransitGatewayRouteTableId: { Ref: 'HubEgressRt' } } };
    R.HubEgressReturn = { Type: 'AWS::EC2::TransitGatewayRoute', Properties: { TransitGatewayRouteTableId: { Ref: 'HubEgressRt' }, DestinationCidrBlock: '10.0.0.0/8', TransitGatewayAttachmentId: fwAtt } };
    R.HubFirewallDefault = { Type: 'AWS::EC2::TransitGatewayRoute', Properties: { TransitGatewayRouteTableId: { Ref: 'HubFirewallRt' }, DestinationCidrBlock: '0.0.0.0/0', TransitGatewayAttachmentId: { Ref: 'HubEgressAttach' } } };
    R.HubTenantDefault = { Type: 'AWS::EC2::TransitGatewayRoute', Properties: { TransitGatewayRouteTableId: { Ref: 'HubTenantRt' }, DestinationCidrBlock: '0.0.0.0/0', TransitGatewayAttachmentId: fwAtt } };
    for (const [i, cidr] of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].entries()) {
      R[`HubTenantBlackhole${i}`] = { Type: 'AWS::EC2::TransitGatewayRoute', Properties: { TransitGatewayRouteTableId: { Ref: 'HubTenantRt' }, DestinationCidrBlock: cidr, Blackhole: true } };
    }
    t.Outputs = {
      ...(t.Outputs ?? {}),
      HubTgwOut: { Value: { Ref: 'HubTgw' }, Export: { Name: 'hub-tgw' } },
      HubTenantRtOut: { Value: { Ref: 'HubTenantRt' }, Export: { Name: 'hub-tenant-rt' } },
      HubFirewallRtOut: { Value: { Ref: 'HubFirewallRt' }, Export: { Name: 'hub-firewall-rt' } },
    };
  });
  const codes: string[] = [];
  for (const s of stackNames(dir)) {
    const t = readTemplate(dir, s);
    const vpc = Object.values(t.Resources).find((r) => r.Type === 'AWS::EC2::VPC');
    if (!vpc || tag(vpc.Properties, 'ThreeTier:Zone') !== 'internet') continue;
    const code = tag(vpc.Properties, 'ThreeTier:Municipality')!;
    codes.push(code);
    editTemplate(dir, s, (tt) => {
      const R = tt.Resources as Record<string, any>;
      R.TenantAttach = { Type: 'AWS::EC2::TransitGatewayVpcAttachment', Properties: { TransitGatewayId: { 'Fn::ImportValue': 'hub-tgw' }, VpcId: { Ref: vpcId(tt) }, SubnetIds: subnetIds(tt, 'attachment').map((id) => ({ Ref: id })), Tags: zoneTags('internet', code) } };
      R.TenantAssoc = { Type: 'AWS::EC2::TransitGatewayRouteTableAssociation', Properties: { TransitGatewayAttachmentId: { Ref: 'TenantAttach' }, TransitGatewayRouteTableId: { 'Fn::ImportValue': 'hub-tenant-rt' } } };
      R.TenantPropagation = { Type: 'AWS::EC2::TransitGatewayRouteTablePropagation', Properties: { TransitGatewayAttachmentId: { Ref: 'TenantAttach' }, TransitGatewayRouteTableId: { 'Fn::ImportValue': 'hub-firewall-rt' } } };
      for (const [i, subnet] of subnetIds(tt, 'workload').entries()) {
        R[`TenantDefault${i}`] = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: routeTableOf(tt, subnet) }, DestinationCidrBlock: '0.0.0.0/0', TransitGatewayId: { 'Fn::ImportValue': 'hub-tgw' } } };
      }
    });
  }
  editIntent(dir, (i) => {
    for (const code of codes) {
      i.crossings.push({ id: 'X7', municipality: code, from: 'internet', to: 'internet', mechanism: 'tgw-firewall-nat', ports: [80, 443], description: 'web egress through the security cloud (test hub)', enforcedBy: [] });
    }
  });
}
