import { editIntent, editTemplate, resourcesOf, routeTableOf, subnetIds, vpcId, zoneStack } from './assembly';

/**
 * Deliberately broken templates for the channels that are not packet routes
 * (DNS and the AWS-managed doors). Each is caught by the ThreeTier pack (rule
 * ids) and/or the path analyzer (finding text), in the same shape as the
 * mutations of test/isolation.test.ts, which runs them.
 */
export interface ChannelMutation {
  label: string;
  config?: string;
  apply: (dir: string) => void;
  rules?: string[];
  analyzer?: RegExp[];
}

const CODE = '131016';
const rt = (t: any): string => routeTableOf(t, subnetIds(t, 'workload')[0]);
const firstOf = (t: any, type: string): [string, any] => resourcesOf(t, type)[0];
/** The allowlist rule group of a zone (the DNS Firewall the zone stack creates). */
const ruleGroup = (t: any): any => firstOf(t, 'AWS::Route53Resolver::FirewallRuleGroup')[1];
const allowList = (t: any): any => resourcesOf(t, 'AWS::Route53Resolver::FirewallDomainList').find(([, r]) => !r.Properties.Domains.includes('*'))![1];
const inZone = (zone: string, edit: (t: any) => void) => (d: string) => editTemplate(d, zoneStack(d, CODE, zone), edit);

export const CHANNEL_MUTATIONS: ChannelMutation[] = [
  // --- DNS ---------------------------------------------------------------------
  {
    label: 'DNS: the DNS Firewall association removed from mynumber (today\'s hole: any public name resolves)',
    apply: inZone('mynumber', (t) => {
      for (const [id] of resourcesOf(t, 'AWS::Route53Resolver::FirewallRuleGroupAssociation')) delete t.Resources[id];
    }),
    rules: ['ThreeTier-DNS1'],
    analyzer: [/forbidden-reach: mynumber@131016 reaches public-internet via dns \(no DNS Firewall rule group is associated with its VPC\)/],
  },
  {
    label: 'DNS: the mynumber DNS Firewall fails open',
    apply: inZone('mynumber', (t) => {
      firstOf(t, 'AWS::Route53Resolver::FirewallConfig')[1].Properties.FirewallFailOpen = 'ENABLED';
    }),
    rules: ['ThreeTier-DNS1'],
    analyzer: [/forbidden-reach: mynumber@131016 reaches public-internet via dns \(the DNS Firewall fails open \(FirewallFailOpen ENABLED\)\)/],
  },
  {
    label: 'DNS: the fail-closed setting removed from transfer (pack only: AWS defaults to closed)',
    apply: inZone('transfer', (t) => {
      delete t.Resources[firstOf(t, 'AWS::Route53Resolver::FirewallConfig')[0]];
    }),
    rules: ['ThreeTier-DNS1'],
  },
  {
    label: 'DNS: the lgwan allowlist allows "*"',
    apply: inZone('lgwan', (t) => {
      allowList(t).Properties.Domains.push('*');
    }),
    rules: ['ThreeTier-DNS1'],
    analyzer: [/forbidden-reach: lgwan@131016 reaches public-internet via dns \(ALLOW rule 100 in Pilot-131016-Lgwan\/\w+ allows "\*"\)/],
  },
  {
    label: 'DNS: the lgwan allowlist allows a whole top-level domain ("*.jp")',
    apply: inZone('lgwan', (t) => {
      allowList(t).Properties.Domains.push('*.jp');
    }),
    rules: ['ThreeTier-DNS1'],
    analyzer: [/lgwan@131016 reaches public-internet via dns \(ALLOW rule 100 .* allows "\*\.jp"\)/],
  },
  {
    label: 'DNS: the last rule (BLOCK "*") removed from transfer',
    apply: inZone('transfer', (t) => {
      const g = ruleGroup(t);
      g.Properties.FirewallRules = g.Properties.FirewallRules.filter((r: any) => r.Action !== 'BLOCK');
    }),
    rules: ['ThreeTier-DNS1'],
    analyzer: [/transfer@131016 reaches public-internet via dns \(no rule blocks "\*" for every query type after the allowlist\)/],
  },
  {
    label: 'DNS: BLOCK "*" narrowed to A queries in mynumber (TXT still tunnels)',
    apply: inZone('mynumber', (t) => {
      ruleGroup(t).Properties.FirewallRules.find((r: any) => r.Action === 'BLOCK').Qtype = 'A';
    }),
    rules: ['ThreeTier-DNS1'],
    analyzer: [/mynumber@131016 reaches public-internet via dns \(no rule blocks "\*" for every query type/],
  },
  {
    label: 'DNS: the allowlist trusts CNAME targets in lgwan',
    apply: inZone('lgwan', (t) => {
      ruleGroup(t).Properties.FirewallRules.find((r: any) => r.Action === 'ALLOW').FirewallDomainRedirectionAction = 'TRUST_REDIRECTION_DOMAIN';
    }),
    rules: ['ThreeTier-DNS1'],
  },
  {
    label: 'DNS: an attacker\'s name added by hand to the mynumber allowlist (not in the intent)',
    apply: inZone('mynumber', (t) => {
      allowList(t).Properties.Domains.push('*.attacker.example.net');
    }),
    analyzer: [/forbidden-reach: mynumber@131016 resolves names its intent does not list via dns: \*\.attacker\.example\.net/],
  },
  {
    label: 'DNS: a Route 53 Resolver outbound endpoint and a forwarding rule for "." in lgwan',
    apply: inZone('lgwan', (t) => {
      const sg = resourcesOf(t, 'AWS::EC2::SecurityGroup')[0][0];
      const [a, b] = subnetIds(t, 'workload');
      t.Resources.Outbound = { Type: 'AWS::Route53Resolver::ResolverEndpoint', Properties: { Direction: 'OUTBOUND', IpAddresses: [{ SubnetId: { Ref: a } }, { SubnetId: { Ref: b } }], SecurityGroupIds: [{ 'Fn::GetAtt': [sg, 'GroupId'] }] } };
      t.Resources.ForwardAll = { Type: 'AWS::Route53Resolver::ResolverRule', Properties: { DomainName: '.', RuleType: 'FORWARD', ResolverEndpointId: { 'Fn::GetAtt': ['Outbound', 'ResolverEndpointId'] }, TargetIps: [{ Ip: '198.51.100.53', Port: '53' }] } };
      t.Resources.ForwardAllAssoc = { Type: 'AWS::Route53Resolver::ResolverRuleAssociation', Properties: { ResolverRuleId: { 'Fn::GetAtt': ['ForwardAll', 'ResolverRuleId'] }, VPCId: { Ref: vpcId(t) } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [
      /lgwan@131016 reaches public-internet via dns \(resolver rule forwards "\." to resolvers outside the VPC\)/,
      /lgwan@131016 has a Route 53 Resolver outbound endpoint \(DNS queries leave the zone\) \(door resolver-forwarding\)/,
      /lgwan@131016 has a Route 53 Resolver rule association forwarding "\." .* \(door resolver-forwarding\)/,
    ],
  },
  {
    label: 'DNS: a forwarding rule for one domain associated with transfer',
    apply: inZone('transfer', (t) => {
      t.Resources.Fwd = { Type: 'AWS::Route53Resolver::ResolverRule', Properties: { DomainName: 'corp.example.jp', RuleType: 'FORWARD', ResolverEndpointId: 'rslvr-out-0123456789abcdef0', TargetIps: [{ Ip: '192.0.2.53' }] } };
      t.Resources.FwdAssoc = { Type: 'AWS::Route53Resolver::ResolverRuleAssociation', Properties: { ResolverRuleId: { 'Fn::GetAtt': ['Fwd', 'ResolverRuleId'] }, VPCId: { Ref: vpcId(t) } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/transfer@131016 forwards "corp\.example\.jp" to resolvers outside the VPC via dns/, /door resolver-forwarding/],
  },
  // --- AWS-managed doors ----------------------------------------------------------
  {
    label: 'door: an EC2 Instance Connect endpoint in mynumber',
    apply: inZone('mynumber', (t) => {
      t.Resources.Eice = { Type: 'AWS::EC2::InstanceConnectEndpoint', Properties: { SubnetId: { Ref: subnetIds(t, 'workload')[0] } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/forbidden-reach: mynumber@131016 has an EC2 Instance Connect endpoint .* \(door instance-connect-endpoint\), which the intent does not list/],
  },
  {
    label: 'door: a Client VPN endpoint with a target-network association in lgwan',
    apply: inZone('lgwan', (t) => {
      t.Resources.Cvpn = { Type: 'AWS::EC2::ClientVpnEndpoint', Properties: { ClientCidrBlock: '100.64.0.0/22', ServerCertificateArn: 'arn:aws:acm:ap-northeast-1:111111111111:certificate/x', AuthenticationOptions: [], ConnectionLogOptions: { Enabled: false } } };
      t.Resources.CvpnNet = { Type: 'AWS::EC2::ClientVpnTargetNetworkAssociation', Properties: { ClientVpnEndpointId: { Ref: 'Cvpn' }, SubnetId: { Ref: subnetIds(t, 'workload')[0] } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/lgwan@131016 has a Client VPN target-network association .* \(door client-vpn\)/],
  },
  {
    label: 'door: VPC Lattice: mynumber associated with a service network that shares a service',
    apply: inZone('mynumber', (t) => {
      t.Resources.Net = { Type: 'AWS::VpcLattice::ServiceNetwork', Properties: { Name: 'side-door' } };
      t.Resources.NetVpc = { Type: 'AWS::VpcLattice::ServiceNetworkVpcAssociation', Properties: { ServiceNetworkIdentifier: { Ref: 'Net' }, VpcIdentifier: { Ref: vpcId(t) } } };
      t.Resources.Svc = { Type: 'AWS::VpcLattice::Service', Properties: { Name: 'exporter' } };
      t.Resources.NetSvc = { Type: 'AWS::VpcLattice::ServiceNetworkServiceAssociation', Properties: { ServiceNetworkIdentifier: { Ref: 'Net' }, ServiceIdentifier: { Ref: 'Svc' } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/mynumber@131016 has a VPC Lattice service-network association .* \(door vpc-lattice\)/, /mynumber@131016 has a VPC Lattice service association .* \(door vpc-lattice\)/],
  },
  {
    label: 'door: a Verified Access endpoint in front of a load balancer in transfer',
    apply: inZone('transfer', (t) => {
      t.Resources.Vae = { Type: 'AWS::EC2::VerifiedAccessEndpoint', Properties: { ApplicationDomain: 'x.example.jp', AttachmentType: 'vpc', DomainCertificateArn: 'arn:aws:acm:ap-northeast-1:111111111111:certificate/x', EndpointDomainPrefix: 'x', EndpointType: 'load-balancer', VerifiedAccessGroupId: 'vagr-0123456789abcdef0', LoadBalancerOptions: { LoadBalancerArn: 'arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/x/0', Port: 443, Protocol: 'https', SubnetIds: subnetIds(t, 'workload').map((s) => ({ Ref: s })) } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/transfer@131016 has a Verified Access endpoint .* \(door verified-access\)/],
  },
  {
    label: 'door: a Gateway Load Balancer endpoint in mynumber and a default route to it',
    apply: inZone('mynumber', (t) => {
      t.Resources.Gwlbe = { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcId: { Ref: vpcId(t) }, VpcEndpointType: 'GatewayLoadBalancer', ServiceName: 'com.amazonaws.vpce.ap-northeast-1.vpce-svc-0123456789abcdef0', SubnetIds: [{ Ref: subnetIds(t, 'endpoints')[0] }] } };
      t.Resources.ToGwlbe = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: rt(t) }, DestinationCidrBlock: '0.0.0.0/0', VpcEndpointId: { Ref: 'Gwlbe' } } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/mynumber@131016 has a Gateway Load Balancer endpoint .* \(door gateway-load-balancer-endpoint\)/, /mynumber@131016 has a route \(0\.0\.0\.0\/0\) to a Gateway Load Balancer endpoint \(door gateway-load-balancer-endpoint\)/],
  },
  {
    label: 'door: an interface endpoint in transfer to an endpoint service the intent does not name',
    apply: inZone('transfer', (t) => {
      t.Resources.Unknown = { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcId: { Ref: vpcId(t) }, VpcEndpointType: 'Interface', ServiceName: 'com.amazonaws.vpce.ap-northeast-1.vpce-svc-0fedcba9876543210', SubnetIds: [{ Ref: subnetIds(t, 'endpoints')[0] }] } };
    }),
    analyzer: [/forbidden-reach: transfer@131016 reaches external:endpoint service com\.amazonaws\.vpce\.ap-northeast-1\.vpce-svc-0fedcba9876543210 via privatelink, which no crossing permits/],
  },
  {
    label: 'door: an egress-only internet gateway and an IPv6 default route in the internet zone (around the security cloud)',
    apply: inZone('internet', (t) => {
      t.Resources.Eigw = { Type: 'AWS::EC2::EgressOnlyInternetGateway', Properties: { VpcId: { Ref: vpcId(t) } } };
      t.Resources.V6 = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: rt(t) }, DestinationIpv6CidrBlock: '::/0', EgressOnlyInternetGatewayId: { Ref: 'Eigw' } } };
    }),
    analyzer: [/internet@131016 has an egress-only internet gateway .* \(door ipv6-egress\)/, /internet@131016 has an IPv6 route ::\/0 to an egress-only internet gateway \(door ipv6-egress\)/],
  },
  {
    label: 'door: an IPv6 default route in lgwan to a gateway outside the assembly',
    apply: inZone('lgwan', (t) => {
      t.Resources.V6 = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: rt(t) }, DestinationIpv6CidrBlock: '::/0', GatewayId: 'igw-0123456789abcdef0' } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/lgwan@131016 has an IPv6 route ::\/0 to "igw-0123456789abcdef0" \(door ipv6-egress\)/],
  },
  {
    label: 'door: a route in transfer to an instance (a home-made NAT)',
    apply: inZone('transfer', (t) => {
      t.Resources.ToInstance = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: rt(t) }, DestinationCidrBlock: '203.0.113.0/24', InstanceId: 'i-0123456789abcdef0' } };
    }),
    rules: ['ThreeTier-DR1'],
    analyzer: [/transfer@131016 has a route \(203\.0\.113\.0\/24\) to an instance .* \(door route-to-instance\)/],
  },
  {
    label: 'door: a door the intent lists for another zone is still forbidden here',
    apply: (d) => {
      editIntent(d, (i) => {
        (i as any).doors = [{ kind: 'instance-connect-endpoint', municipality: CODE, zone: 'lgwan', description: 'break-glass access to lgwan (test)' }];
      });
      editTemplate(d, zoneStack(d, CODE, 'mynumber'), (t) => {
        t.Resources.Eice = { Type: 'AWS::EC2::InstanceConnectEndpoint', Properties: { SubnetId: { Ref: subnetIds(t, 'workload')[0] } } };
      });
    },
    rules: ['ThreeTier-DR1'],
    analyzer: [/mynumber@131016 has an EC2 Instance Connect endpoint .* \(door instance-connect-endpoint\)/],
  },
];
