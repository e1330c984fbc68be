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
    },
  ],
};
