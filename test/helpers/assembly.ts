import * as fs from 'fs';
import * as path from 'path';
import { SHIPPED_CONFIGS, ThreeTierConfigInput } from '../../config';
import { Crossing, INTENT_FILE, IsolationIntent } from '../../lib/isolation/intent';
import { checkAssembly, IsolationReport } from '../../lib/isolation/check';
import { CfnTemplate, synth, synthShipped, tmpDir } from './synth';

/** Synthesizes once per config (cached) and hands out private copies of the assembly to edit. */
const bases = new Map<string, string>();
export function freshAssembly(config: string | ThreeTierConfigInput = 'pilot'): string {
  const key = typeof config === 'string' ? config : JSON.stringify(config);
  let base = bases.get(key);
  if (!base) {
    base = typeof config === 'string' && SHIPPED_CONFIGS[config] ? synthShipped(config).outdir : synth(config).outdir;
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

export function hubStack(dir: string): string {
  const name = stackNames(dir).find((s) => Object.values(readTemplate(dir, s).Resources).some((r) => r.Type === 'AWS::EC2::TransitGateway'));
  if (!name) throw new Error('no security cloud hub in the assembly');
  return name;
}

export interface HubIds {
  stack: string;
  tgw: string;
  tenants: string;
  firewall: string;
  egress: string;
  tenantsDefault: string;
  blackholes: string[];
  egressAttachment: string;
  egressReturns: string[];
  policy: string;
}

function nameTag(r: any): string {
  return (r.Properties?.Tags ?? []).find((t: any) => t.Key === 'Name')?.Value ?? '';
}

/** Logical ids of the real hub's parts, found by type and Name tag (as a reviewer would). */
export function hubIds(dir: string): HubIds {
  const stack = hubStack(dir);
  const t = readTemplate(dir, stack);
  const of = (type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
  const table = (suffix: string) => of('AWS::EC2::TransitGatewayRouteTable').find(([, r]) => nameTag(r).endsWith(`-${suffix}`))![0];
  const tenants = table('tenants');
  const egress = table('egress');
  const routesIn = (tbl: string) => of('AWS::EC2::TransitGatewayRoute').filter(([, r]) => r.Properties!.TransitGatewayRouteTableId?.Ref === tbl);
  return {
    stack,
    tgw: of('AWS::EC2::TransitGateway')[0][0],
    tenants,
    firewall: table('firewall'),
    egress,
    tenantsDefault: routesIn(tenants).find(([, r]) => r.Properties!.DestinationCidrBlock === '0.0.0.0/0')![0],
    blackholes: routesIn(tenants).filter(([, r]) => r.Properties!.Blackhole).map(([id]) => id),
    egressAttachment: of('AWS::EC2::TransitGatewayVpcAttachment')[0][0],
    egressReturns: routesIn(egress).map(([id]) => id),
    policy: of('AWS::NetworkFirewall::FirewallPolicy')[0][0],
  };
}

/** Exports a hub resource (adds an Output) and returns the Fn::ImportValue that other stacks use. */
export function importOf(dir: string, stack: string, logicalId: string): { 'Fn::ImportValue': string } {
  const name = `mutation-${logicalId}`;
  editTemplate(dir, stack, (t) => {
    t.Outputs = { ...(t.Outputs ?? {}), [`Mut${logicalId}`]: { Value: { Ref: logicalId }, Export: { Name: name } } };
  });
  return { 'Fn::ImportValue': name };
}

export function resourcesOf(t: CfnTemplate, type: string): [string, any][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}
