import { ThreeTierConfigInput } from './schema';

/**
 * The pilot's shape at the cheapest sizes, for a throw-away lab account:
 * interface endpoints in one AZ, a 7-day log retention in GOVERNANCE mode so
 * the lab can be torn down, one MX host, and the same four zones.
 */
export const lab: ThreeTierConfigInput = {
  name: 'lab',
  model: 'alpha',
  region: 'ap-northeast-1',
  availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c'],
  logArchive: { retentionDays: 7, objectLockMode: 'GOVERNANCE' },
  sizing: { interfaceEndpointAzs: 1, flowLogAggregationSeconds: 600 },
  screenTransfer: { implementation: 'sbc-privatelink', port: 8443, prewarmed: 1, maxHosts: 2, instanceTypes: ['c6a.large', 'c6i.large'] },
  // One SSM-managed probe per zone for the live checks, and a simulated LGWAN network.
  probes: true,
  securityCloud: {
    name: 'Lab',
    cidr: '10.0.0.0/18',
    // One MX host on the cheapest Nitro types with encryption in transit.
    mailGateway: { instanceTypes: ['c6a.large', 'c6i.large'], minHosts: 1, maxHosts: 1 },
    soc: { alarmEmails: [], firewallDropThreshold: 50 },
  },
  // Updates feed (#19): ClamAV signature databases, fetched through the security cloud, verified in transfer
  // against ClamAV's published key, served by a mirror in each isolated tier. docs/updates.en.md adds channels.
  updates: {
    channels: [{ name: 'clamav', kind: 'clamav', urls: ['https://database.clamav.net/daily.cvd', 'https://database.clamav.net/main.cvd', 'https://database.clamav.net/bytecode.cvd'], schedule: 'rate(1 hour)' }],
  },
  municipalities: [
    {
      code: '131016',
      name: '千代田区 (ラボ)',
      nameEn: 'Chiyoda Lab',
      cidrs: {
        mynumber: '10.0.64.0/20',
        lgwan: '10.0.80.0/20',
        internet: '10.0.96.0/20',
        transfer: '10.0.112.0/20',
      },
      lgwanMailDomains: ['city.chiyoda.lg.jp'],
      // Mail (X3, X4, the MX): the internet domain the MX accepts, the LGWAN mail server in lgwan, and the DKIM
      // selector and Secrets Manager secret of the key that signs outbound mail (docs/mail-authentication.en.md).
      mail: { domains: ['city.chiyoda.example.jp'], lgwanMailServer: '10.0.80.25', dkim: { selector: 'tt2026', privateKeySecretId: 'three-tier/131016/dkim-tt2026' } },
      // The lab keeps the compatibility mode: a single sign-on front at 10.0.80.40 in lgwan sets the user header,
      // and the page admits HTTPS from that address only (docs/pickup-identity.en.md).
      pickup: { url: 'https://pickup.lab.city.chiyoda.lg.jp', identity: { mode: 'header', frontAddresses: ['10.0.80.40'] } },
      specificCommunications: {
        lgwanConnection: { type: 'simulated' },
        lgwanNetworkCidr: '10.250.0.0/24',
        destinations: [{ name: '中間サーバー', address: '10.250.0.10', port: 443, protocol: 'tcp' }],
        mailPeer: '10.250.0.20',
      },
    },
  ],
};
