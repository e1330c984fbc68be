import { municipalityBlock, SECURITY_CLOUD_CIDR } from './layout';
import { ThreeTierConfigInput } from './schema';

/**
 * One security cloud shared by twelve municipalities of Kanagawa prefecture.
 * CIDRs follow the address plan in config/layout.ts (one /18 per
 * municipality, one /20 per zone); the comment on each line shows the block.
 */
const cities: [code: string, name: string, nameEn: string, domain: string][] = [
  ['141003', '横浜市', 'Yokohama', 'city.yokohama.lg.jp'],
  ['141305', '川崎市', 'Kawasaki', 'city.kawasaki.lg.jp'],
  ['141500', '相模原市', 'Sagamihara', 'city.sagamihara.lg.jp'],
  ['142018', '横須賀市', 'Yokosuka', 'city.yokosuka.lg.jp'],
  ['142034', '平塚市', 'Hiratsuka', 'city.hiratsuka.lg.jp'],
  ['142042', '鎌倉市', 'Kamakura', 'city.kamakura.lg.jp'],
  ['142051', '藤沢市', 'Fujisawa', 'city.fujisawa.lg.jp'],
  ['142069', '小田原市', 'Odawara', 'city.odawara.lg.jp'],
  ['142077', '茅ヶ崎市', 'Chigasaki', 'city.chigasaki.lg.jp'],
  ['142085', '逗子市', 'Zushi', 'city.zushi.lg.jp'],
  ['142107', '三浦市', 'Miura', 'city.miura.lg.jp'],
  ['142115', '秦野市', 'Hadano', 'city.hadano.lg.jp'],
];

/**
 * One security cloud serves municipalities under different models (docs/models.en.md): three of the
 * twelve are not α, so the prefecture's review pack compares models side by side. Office segments,
 * customer gateways (192.0.2.0/24, documentation), tenant ids and the proxy CA's secret are placeholders.
 */
const vpn = (n: number) => ({ type: 'vpn' as const, customerGatewayIp: `192.0.2.${100 + n}`, bgpAsn: 65100 + n });
const MODELS: Record<string, Partial<ThreeTierConfigInput['municipalities'][number]>> = {
  // 川崎市: α′, Microsoft 365 through the inspecting proxy.
  '141305': {
    model: 'alpha-prime',
    terminals: { lgwan: { officeCidrs: ['192.168.101.0/24'], connection: vpn(1) } },
    alphaPrime: {
      allowedDomains: ['login.microsoftonline.com', 'kawasakicity.sharepoint.com'],
      tenantRestrictions: { microsoft: { tenantId: '00000000-0000-4000-8000-000000141305', policyId: '11111111-1111-4111-8111-000000141305' } },
      caSecretId: 'three-tier/141305/proxy-ca',
      proxyCidr: '10.255.0.0/24',
    },
  },
  // 相模原市: β, staff terminals in the internet tier, 住民記録 by screen transfer.
  '141500': {
    model: 'beta',
    terminals: { internet: { officeCidrs: ['192.168.102.0/24'], connection: vpn(2) } },
    beta: { screenSystems: [{ name: 'resident-records', address: '10.0.208.40', port: 3389 }], edr: { product: 'Microsoft Defender for Endpoint', agent: 'MsSense 10.8' } },
  },
  // 横須賀市: β′, payroll moved into the internet tier.
  '142018': {
    model: 'beta-prime',
    terminals: { internet: { officeCidrs: ['192.168.103.0/24'], connection: vpn(3) } },
    beta: { screenSystems: [{ name: 'resident-records', address: '10.1.16.40', port: 3389 }], edr: { product: 'CrowdStrike Falcon', agent: 'falcon-sensor 7' } },
    betaPrime: { movedSystems: [{ name: 'payroll', ports: [443] }] },
  },
};

export const prefecture: ThreeTierConfigInput = {
  name: 'prefecture',
  model: 'alpha',
  region: 'ap-northeast-1',
  availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d'],
  logArchive: { retentionDays: 365, objectLockMode: 'COMPLIANCE' },
  sizing: { interfaceEndpointAzs: 2, flowLogAggregationSeconds: 600 },
  securityCloud: {
    name: 'Kanagawa',
    cidr: SECURITY_CLOUD_CIDR,
    firewall: {
      domainMode: 'denylist',
      domains: ['.example-malware.invalid', '.example-phishing.invalid'],
      managedThreatGroups: ['ThreatSignaturesBotnetStrictOrder', 'ThreatSignaturesMalwareStrictOrder', 'ThreatSignaturesExploitsStrictOrder', 'MalwareDomainsStrictOrder', 'BotNetCommandAndControlDomainsStrictOrder'],
    },
    dns: { managedDomainLists: ['AWSManagedDomainsMalwareDomainList', 'AWSManagedDomainsBotnetCommandandControl', 'AWSManagedDomainsAggregateThreatList'], blockDomains: ['*.example-malware.invalid'] },
    mailGateway: { instanceTypes: ['c6i.large', 'c7i.large'], minHosts: 2, maxHosts: 6 },
    // Replace with the prefecture SOC's address; every alarm and OK goes there.
    soc: { alarmEmails: ['soc@example.com'], firewallDropThreshold: 500 },
  },
  municipalities: cities.map(([code, name, nameEn, domain], n) => ({
    code,
    name,
    nameEn,
    cidrs: municipalityBlock(n), // 10.(n+1)*64/18 → four /20s
    lgwanMailDomains: [domain],
    ...(MODELS[code] ?? {}),
  })),
};
