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
  })),
};
