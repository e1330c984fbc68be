import { ThreeTierConfigInput } from './schema';

/**
 * The default config: one security cloud and one pilot municipality, model α,
 * everything in one account and region (ap-northeast-1). Set `account` (or
 * CDK_DEFAULT_ACCOUNT at deploy time) to pin the target account.
 */
export const pilot: ThreeTierConfigInput = {
  name: 'pilot',
  model: 'alpha',
  region: 'ap-northeast-1',
  availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c'],
  logArchive: { retentionDays: 365, objectLockMode: 'COMPLIANCE' },
  sizing: { interfaceEndpointAzs: 2, flowLogAggregationSeconds: 600 },
  // X1: a fully private virtual browser (Amazon DCV fleet in internet, PrivateLink from lgwan).
  screenTransfer: { implementation: 'sbc-privatelink', port: 8443, prewarmed: 2, maxHosts: 10, idleTimeoutMinutes: 60, disconnectTimeoutMinutes: 30 },
  securityCloud: { name: 'Tokyo', cidr: '10.0.0.0/16' },
  municipalities: [
    {
      code: '131016',
      name: '千代田区',
      nameEn: 'Chiyoda',
      cidrs: {
        mynumber: '10.1.0.0/20',
        lgwan: '10.1.16.0/20',
        internet: '10.1.32.0/20',
        transfer: '10.1.48.0/20',
      },
      lgwanMailDomains: ['city.chiyoda.lg.jp'],
      // Extra names the lgwan zone may resolve (its DNS Firewall allows AWS service and S3 names, then blocks everything else).
      dnsAllow: { lgwan: ['city.chiyoda.lg.jp', '*.city.chiyoda.lg.jp'] },
      // Mail (X3, X4, the MX): the internet domain the MX accepts, and the LGWAN mail server in lgwan.
      mail: { domains: ['city.chiyoda.example.jp'], lgwanMailServer: '10.1.16.25' },
      // Staff terminals per tier, each segment over its own VPN. The customer
      // gateway addresses are documentation placeholders (192.0.2.0/24): put
      // the office routers' public addresses here before deploying.
      terminals: {
        mynumber: { officeCidrs: ['192.168.10.0/24'], connection: { type: 'vpn', customerGatewayIp: '192.0.2.10', bgpAsn: 65010 } },
        lgwan: { officeCidrs: ['192.168.20.0/24'], connection: { type: 'vpn', customerGatewayIp: '192.0.2.20', bgpAsn: 65020 } },
        internet: { officeCidrs: ['192.168.30.0/24'], connection: { type: 'vpn', customerGatewayIp: '192.0.2.30', bgpAsn: 65030 } },
      },
      // 特定通信 (X5): the LGWAN connection and the destinations mynumber may reach.
      // Addresses are placeholders for the 中間サーバー platform and the LGWAN mail peer.
      specificCommunications: {
        lgwanConnection: { type: 'vpn', customerGatewayIp: '192.0.2.40', bgpAsn: 65040 },
        lgwanNetworkCidr: '172.20.0.0/16',
        destinations: [{ name: '中間サーバー', address: '172.20.1.10', port: 443, protocol: 'tcp' }],
        mailPeer: '172.20.2.25',
      },
    },
  ],
};
