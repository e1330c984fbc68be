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
  screenTransfer: {
    implementation: 'sbc-privatelink',
    port: 8443,
    prewarmed: 2,
    maxHosts: 10,
    idleTimeoutMinutes: 60,
    disconnectTimeoutMinutes: 30,
    // Staff sign in with the municipality's OpenID Connect provider on the LGWAN side (docs/virtual-browser.en.md).
    // Placeholders: the IdP, the names in the LGWAN DNS and the broker's key pair are the municipality's own. The
    // private key is a SecureString in SSM Parameter Store; only its public half is here.
    signIn: {
      issuer: 'https://sso.city.chiyoda.example.jp/realms/staff',
      idpCidrs: ['192.168.20.10/32'],
      clientId: 'virtual-browser',
      clientSecretParameter: '/three-tier/pilot/131016/screen-broker/client-secret',
      usernameClaim: 'preferred_username',
      loginDomain: 'city.chiyoda.example.jp',
      signingKeyParameter: '/three-tier/pilot/131016/screen-broker/signing-key',
      publicKeys: { '2026-12': { kty: 'EC', crv: 'P-256', x: '7s8VHxGRV5e29hP_JZgCgjEzOIotgHSi-hD7aTKC6Gk', y: 'dAYP4nvaNIJ_AA3ANfLNi_xm4uGO-0T0PkVbfkAyFe0' } },
      activeKeyId: '2026-12',
      tokenTtlSeconds: 30,
      brokerUrl: 'https://vb-signin.city.chiyoda.example.jp',
      screenUrl: 'https://vb.city.chiyoda.example.jp:8443',
    },
  },
  securityCloud: { name: 'Tokyo', cidr: '10.0.0.0/16' },
  // Updates feed (#19): ClamAV signature databases, fetched through the security cloud, verified in transfer
  // against ClamAV's published key, served by a mirror in each isolated tier. docs/updates.en.md adds channels.
  updates: {
    channels: [{ name: 'clamav', kind: 'clamav', urls: ['https://database.clamav.net/daily.cvd', 'https://database.clamav.net/main.cvd', 'https://database.clamav.net/bytecode.cvd'], schedule: 'rate(1 hour)' }],
  },
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
      // Mail (X3, X4, the MX): the internet domain the MX accepts, the LGWAN mail server in lgwan, and the DKIM
      // selector and Secrets Manager secret of the key that signs outbound mail (docs/mail-authentication.en.md).
      mail: { domains: ['city.chiyoda.example.jp'], lgwanMailServer: '10.1.16.25', dkim: { selector: 'tt2026', privateKeySecretId: 'three-tier/131016/dkim-tt2026' } },
      // Staff terminals per tier, each segment over its own VPN. The customer
      // gateway addresses are documentation placeholders (192.0.2.0/24): put
      // the office routers' public addresses here before deploying.
      terminals: {
        mynumber: { officeCidrs: ['192.168.10.0/24'], connection: { type: 'vpn', customerGatewayIp: '192.0.2.10', bgpAsn: 65010 } },
        lgwan: { officeCidrs: ['192.168.20.0/24'], connection: { type: 'vpn', customerGatewayIp: '192.0.2.20', bgpAsn: 65020 } },
        internet: { officeCidrs: ['192.168.30.0/24'], connection: { type: 'vpn', customerGatewayIp: '192.0.2.30', bgpAsn: 65030 } },
      },
      // The pickup page of sanitized files signs staff in itself at the municipality's identity provider
      // (OpenID Connect, code flow with PKCE); the client secret stays in Secrets Manager. The IdP address is a
      // placeholder in the LGWAN terminals' segment: put your IdP's addresses here (docs/pickup-identity.en.md).
      pickup: {
        url: 'https://pickup.city.chiyoda.lg.jp',
        identity: {
          mode: 'oidc',
          issuer: 'https://idp.city.chiyoda.lg.jp/realms/staff',
          clientId: 'three-tier-pickup',
          clientSecretId: 'three-tier/131016/pickup-oidc-client',
          allowedGroups: ['lgwan-staff'],
          idpAddresses: ['192.168.20.10'],
        },
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
