import {
  CreateNetworkInsightsAccessScopeCommand,
  CreateNetworkInsightsPathCommand,
  DeleteNetworkInsightsAccessScopeAnalysisCommand,
  DeleteNetworkInsightsAccessScopeCommand,
  DeleteNetworkInsightsAnalysisCommand,
  DeleteNetworkInsightsPathCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkInsightsAccessScopeAnalysesCommand,
  DescribeNetworkInsightsAnalysesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewaysCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  DescribeVpnGatewaysCommand,
  EC2Client,
  GetNetworkInsightsAccessScopeAnalysisFindingsCommand,
  Instance,
  PathComponent,
  StartNetworkInsightsAccessScopeAnalysisCommand,
  StartNetworkInsightsAnalysisCommand,
  Tag,
  TransitGatewayAttachmentResourceType,
  Vpc,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ThreeTierConfig, ZONES } from '../../config';
import { INTERFACE_ENDPOINT_SERVICES } from '../../lib/isolation/intent';

/**
 * An EC2 API stand-in for a deployed config (aws-sdk-client-mock): the VPCs,
 * instances, gateways and endpoints that `cdk deploy` would have created,
 * tagged as the stacks tag them, and Network Access Analyzer / Reachability
 * Analyzer that answer per check (by the check id in the Name tag). No call
 * leaves the process.
 */
export interface FakeAccountOptions {
  /** Zones not deployed, as `<code>/<zone>`. */
  readonly skipZones?: string[];
  readonly skipProbes?: string[];
  readonly skipFirewallAttachment?: boolean;
  /** Page size for DescribeVpcs / DescribeInstances (pagination). */
  readonly pageSize?: number;
  /** Forbidden paths by check id: each a list of findings, each a list of component ids. */
  readonly findings?: Record<string, string[][]>;
  /** Findings per page of GetNetworkInsightsAccessScopeAnalysisFindings. */
  readonly findingsPageSize?: number;
  /** Permitted paths that are not reachable, by check id, with the explanation code. */
  readonly unreachable?: Record<string, string>;
  /** Check ids whose analysis ends `failed`. */
  readonly failed?: Record<string, string>;
  /** How many polls report `running` before the analysis is done. */
  readonly runningPolls?: number;
}

// The TGW-attached Network Firewall's attachment type; newer than the enum of the pinned SDK (kept for its @smithy/types).
const NETWORK_FUNCTION = 'network-function' as TransitGatewayAttachmentResourceType;

const tags = (t: Record<string, string | undefined>): Tag[] => Object.entries(t).filter(([, v]) => v !== undefined).map(([Key, Value]) => ({ Key, Value }));

export function fakeAccount(cfg: ThreeTierConfig, o: FakeAccountOptions = {}) {
  const mock = mockClient(EC2Client);
  const vpcs: Vpc[] = [];
  const instances: Instance[] = [];
  const endpoints: { VpcEndpointId: string; VpcId: string; ServiceName: string; VpcEndpointType: 'Interface' | 'Gateway' }[] = [];
  const base = { 'ThreeTier:Config': cfg.name };
  vpcs.push({ VpcId: 'vpc-hub', CidrBlock: cfg.securityCloud.cidr, Tags: tags({ ...base, 'ThreeTier:Zone': 'security-cloud' }) });
  instances.push({ InstanceId: 'i-mx-1', VpcId: 'vpc-hub', PrivateIpAddress: '10.0.0.10', Tags: tags({ ...base, 'ThreeTier:Zone': 'security-cloud', 'ThreeTier:Role': 'mail-gateway' }) });
  for (const m of cfg.municipalities) {
    for (const zone of ZONES) {
      if (o.skipZones?.includes(`${m.code}/${zone}`)) continue;
      const id = `vpc-${m.code}-${zone}`;
      vpcs.push({ VpcId: id, CidrBlock: m.cidrs[zone], Tags: tags({ ...base, 'ThreeTier:Zone': zone, 'ThreeTier:Municipality': m.code }) });
      if (cfg.probes && !o.skipProbes?.includes(`${m.code}/${zone}`)) {
        instances.push({ InstanceId: `i-probe-${m.code}-${zone}`, VpcId: id, PrivateIpAddress: m.cidrs[zone].replace(/\.0\/\d+$/, '.10'), Tags: tags({ ...base, 'ThreeTier:Zone': zone, 'ThreeTier:Municipality': m.code, 'ThreeTier:Role': 'probe' }) });
      }
      // The internet relay of a municipality with mail (X3: the MX host connects to it).
      if (zone === 'internet' && m.mail && !o.skipProbes?.includes(`${m.code}/internet-relay`)) {
        instances.push({ InstanceId: `i-relay-${m.code}`, VpcId: id, PrivateIpAddress: m.cidrs[zone].replace(/\.0\/\d+$/, '.20'), Tags: tags({ ...base, 'ThreeTier:Zone': zone, 'ThreeTier:Municipality': m.code, 'ThreeTier:Role': 'internet-relay' }) });
      }
      if (zone !== 'internet') {
        for (const svc of INTERFACE_ENDPOINT_SERVICES) endpoints.push({ VpcEndpointId: `vpce-${m.code}-${zone}-${svc}`, VpcId: id, ServiceName: `com.amazonaws.${cfg.region}.${svc}`, VpcEndpointType: 'Interface' });
      }
      endpoints.push({ VpcEndpointId: `vpce-${m.code}-${zone}-s3`, VpcId: id, ServiceName: `com.amazonaws.${cfg.region}.s3`, VpcEndpointType: 'Gateway' });
      if (zone === 'transfer') endpoints.push({ VpcEndpointId: `vpce-${m.code}-transfer-sqs`, VpcId: id, ServiceName: `com.amazonaws.${cfg.region}.sqs`, VpcEndpointType: 'Interface' });
      if (zone === 'lgwan') endpoints.push({ VpcEndpointId: `vpce-${m.code}-lgwan-sbc`, VpcId: id, ServiceName: `com.amazonaws.vpce.${cfg.region}.vpce-svc-0${m.code}`, VpcEndpointType: 'Interface' });
      // α′: the municipality's proxy endpoint in lgwan; β: one endpoint per screen system in internet.
      if (zone === 'lgwan' && m.alphaPrime) endpoints.push({ VpcEndpointId: `vpce-${m.code}-lgwan-proxy`, VpcId: id, ServiceName: `com.amazonaws.vpce.${cfg.region}.vpce-svc-1${m.code}`, VpcEndpointType: 'Interface' });
      if (zone === 'internet') for (const [i, sys] of (m.beta?.screenSystems ?? []).entries()) endpoints.push({ VpcEndpointId: `vpce-${m.code}-internet-${sys.name}`, VpcId: id, ServiceName: `com.amazonaws.vpce.${cfg.region}.vpce-svc-2${i}${m.code}`, VpcEndpointType: 'Interface' });
    }
    // α′: the municipality's own VPC in the security cloud (the inspecting proxy).
    if (m.alphaPrime?.proxyCidr) vpcs.push({ VpcId: `vpc-${m.code}-proxy`, CidrBlock: m.alphaPrime.proxyCidr, Tags: tags({ ...base, 'ThreeTier:Zone': 'security-cloud', 'ThreeTier:Municipality': m.code }) });
  }
  if (cfg.probes) {
    vpcs.push({ VpcId: 'vpc-lgwan-network', CidrBlock: '10.250.0.0/24', Tags: tags({ ...base, 'ThreeTier:Zone': 'lgwan-network', 'ThreeTier:Role': 'simulated-lgwan' }) });
    const hosts = new Set<string>();
    for (const m of cfg.municipalities) {
      for (const d of m.specificCommunications?.destinations ?? []) hosts.add(d.address);
      if (m.specificCommunications?.mailPeer) hosts.add(m.specificCommunications.mailPeer);
    }
    for (const ip of hosts) instances.push({ InstanceId: `i-lgwan-${ip}`, VpcId: 'vpc-lgwan-network', PrivateIpAddress: ip, Tags: tags({ ...base, 'ThreeTier:Zone': 'lgwan-network', 'ThreeTier:Role': 'lgwan-host' }) });
  }
  const pageSize = o.pageSize ?? 1000;
  const page = <T>(items: T[], token: string | undefined) => {
    const start = token ? Number(token.replace('page-', '')) : 0;
    const next = start + pageSize < items.length ? `page-${start + pageSize}` : undefined;
    return { items: items.slice(start, start + pageSize), next };
  };
  const hasTag = (t: Tag[] | undefined, filters: { Name?: string; Values?: string[] }[] | undefined) =>
    (filters ?? []).filter((f) => f.Name?.startsWith('tag:')).every((f) => t?.some((x) => `tag:${x.Key}` === f.Name && f.Values?.includes(x.Value ?? '')));
  const values = (filters: { Name?: string; Values?: string[] }[] | undefined, name: string) => filters?.find((f) => f.Name === name)?.Values ?? [];

  mock.on(DescribeVpcsCommand).callsFake((input) => {
    const p = page(vpcs.filter((v) => hasTag(v.Tags, input.Filters)), input.NextToken);
    return { Vpcs: p.items, NextToken: p.next };
  });
  mock.on(DescribeInstancesCommand).callsFake((input) => {
    const p = page(instances.filter((i) => hasTag(i.Tags, input.Filters)), input.NextToken);
    return { Reservations: p.items.map((i) => ({ Instances: [i] })), NextToken: p.next };
  });
  mock.on(DescribeInternetGatewaysCommand).callsFake((input) => ({
    InternetGateways: values(input.Filters, 'attachment.vpc-id').includes('vpc-hub') ? [{ InternetGatewayId: 'igw-hub', Attachments: [{ VpcId: 'vpc-hub', State: 'available' }] }] : [],
  }));
  mock.on(DescribeVpcEndpointsCommand).callsFake((input) => ({ VpcEndpoints: endpoints.filter((e) => values(input.Filters, 'vpc-id').includes(e.VpcId)) }));
  mock.on(DescribeVpnGatewaysCommand).resolves({ VpnGateways: [] });
  mock.on(DescribeTransitGatewaysCommand).resolves({ TransitGateways: [{ TransitGatewayId: 'tgw-hub', State: 'available' }] });
  mock.on(DescribeTransitGatewayAttachmentsCommand).resolves({ TransitGatewayAttachments: o.skipFirewallAttachment ? [] : [{ TransitGatewayAttachmentId: 'tgw-attach-firewall', ResourceType: NETWORK_FUNCTION, State: 'available' }] });

  // The analyzers: ids in creation order, check ids from the Name tag.
  let n = 0;
  const checkOf = new Map<string, string>();
  /** Scopes, paths and analyses created and not deleted yet. */
  const live = new Set<string>();
  const polls = new Map<string, number>();
  const nameTag = (input: { TagSpecifications?: { Tags?: Tag[] }[] }) => input.TagSpecifications?.[0]?.Tags?.find((t) => t.Key === 'Name')?.Value ?? '?';
  mock.on(CreateNetworkInsightsAccessScopeCommand).callsFake((input) => {
    const id = `nis-${++n}`;
    checkOf.set(id, nameTag(input));
    live.add(id);
    return { NetworkInsightsAccessScope: { NetworkInsightsAccessScopeId: id } };
  });
  mock.on(StartNetworkInsightsAccessScopeAnalysisCommand).callsFake((input) => {
    const id = `nisa-${input.NetworkInsightsAccessScopeId}`;
    checkOf.set(id, checkOf.get(input.NetworkInsightsAccessScopeId!)!);
    live.add(id);
    return { NetworkInsightsAccessScopeAnalysis: { NetworkInsightsAccessScopeAnalysisId: id, Status: 'running' } };
  });
  const status = (id: string) => {
    const count = (polls.get(id) ?? 0) + 1;
    polls.set(id, count);
    if (count <= (o.runningPolls ?? 0)) return { Status: 'running' as const };
    const failed = o.failed?.[checkOf.get(id)!];
    return failed ? { Status: 'failed' as const, StatusMessage: failed } : { Status: 'succeeded' as const };
  };
  mock.on(DescribeNetworkInsightsAccessScopeAnalysesCommand).callsFake((input) => {
    const id = input.NetworkInsightsAccessScopeAnalysisIds![0];
    const s = status(id);
    return { NetworkInsightsAccessScopeAnalyses: [{ NetworkInsightsAccessScopeAnalysisId: id, ...s, FindingsFound: s.Status === 'succeeded' ? (o.findings?.[checkOf.get(id)!] ? 'true' : 'false') : 'unknown' }] };
  });
  mock.on(GetNetworkInsightsAccessScopeAnalysisFindingsCommand).callsFake((input) => {
    const id = input.NetworkInsightsAccessScopeAnalysisId!;
    const all = (o.findings?.[checkOf.get(id)!] ?? []).map((components, i) => ({
      FindingId: `finding-${i + 1}`,
      NetworkInsightsAccessScopeAnalysisId: id,
      FindingComponents: components.map((c, j): PathComponent => ({ SequenceNumber: j + 1, Component: { Id: c }, ...(c.startsWith('rtb-') ? { RouteTableRoute: { DestinationCidr: '0.0.0.0/0', GatewayId: 'igw-hub' } } : {}) })),
    }));
    const size = o.findingsPageSize ?? 100;
    const start = input.NextToken ? Number(input.NextToken) : 0;
    return { AnalysisFindings: all.slice(start, start + size), NextToken: start + size < all.length ? String(start + size) : undefined, AnalysisStatus: 'succeeded' };
  });
  mock.on(CreateNetworkInsightsPathCommand).callsFake((input) => {
    const id = `nip-${++n}`;
    checkOf.set(id, nameTag(input));
    live.add(id);
    return { NetworkInsightsPath: { NetworkInsightsPathId: id, Source: input.Source, Destination: input.Destination } };
  });
  mock.on(StartNetworkInsightsAnalysisCommand).callsFake((input) => {
    const id = `nia-${input.NetworkInsightsPathId}`;
    checkOf.set(id, checkOf.get(input.NetworkInsightsPathId!)!);
    live.add(id);
    return { NetworkInsightsAnalysis: { NetworkInsightsAnalysisId: id, Status: 'running' } };
  });
  mock.on(DescribeNetworkInsightsAnalysesCommand).callsFake((input) => {
    const id = input.NetworkInsightsAnalysisIds![0];
    const s = status(id);
    if (s.Status !== 'succeeded') return { NetworkInsightsAnalyses: [{ NetworkInsightsAnalysisId: id, ...s }] };
    const why = o.unreachable?.[checkOf.get(id)!];
    return {
      NetworkInsightsAnalyses: [
        why
          ? { NetworkInsightsAnalysisId: id, ...s, NetworkPathFound: false, Explanations: [{ ExplanationCode: why, Component: { Id: 'sg-blocking' }, SecurityGroupRule: { Direction: 'egress', Cidr: '10.0.80.0/20', Protocol: 'tcp' } }] }
          : { NetworkInsightsAnalysisId: id, ...s, NetworkPathFound: true, ForwardPathComponents: [{ SequenceNumber: 1, Component: { Id: 'eni-src' } }, { SequenceNumber: 2, Component: { Id: 'vpce-dst' } }] },
      ],
    };
  });
  const deleted = (id: string | undefined) => {
    if (!id || !live.delete(id)) throw Object.assign(new Error(`${id} does not exist`), { name: 'InvalidParameterValue' });
    return {};
  };
  mock.on(DeleteNetworkInsightsAccessScopeAnalysisCommand).callsFake((i) => deleted(i.NetworkInsightsAccessScopeAnalysisId));
  mock.on(DeleteNetworkInsightsAccessScopeCommand).callsFake((i) => {
    if ([...live].some((x) => x === `nisa-${i.NetworkInsightsAccessScopeId}`)) throw Object.assign(new Error('the scope still has analyses'), { name: 'DependencyViolation' });
    return deleted(i.NetworkInsightsAccessScopeId);
  });
  mock.on(DeleteNetworkInsightsAnalysisCommand).callsFake((i) => deleted(i.NetworkInsightsAnalysisId));
  mock.on(DeleteNetworkInsightsPathCommand).callsFake((i) => {
    if ([...live].some((x) => x === `nia-${i.NetworkInsightsPathId}`)) throw Object.assign(new Error('the path still has analyses'), { name: 'DependencyViolation' });
    return deleted(i.NetworkInsightsPathId);
  });
  return { mock, client: new EC2Client({ region: cfg.region }), checkOf, live };
}

/** A sleep that returns at once and records what it was asked to wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}
