import { pilot } from './pilot';
import { ThreeTierConfigInput } from './schema';

/**
 * One pilot-sized config per model besides α (issue #18): the pilot municipality
 * (千代田区, the same CIDRs, mail and terminals) under α′, β and β′. The values in
 * the model sections are placeholders a municipality replaces with its own
 * (docs/models.en.md says which and where they come from).
 */
const base = pilot.municipalities[0];

/** α′: Microsoft 365 and a document SaaS from the LGWAN tier, through the inspecting proxy. */
export const alphaPrime: ThreeTierConfigInput = {
  ...pilot,
  name: 'alpha-prime',
  municipalities: [
    {
      ...base,
      model: 'alpha-prime',
      alphaPrime: {
        // The named cloud services (the tenant's own SharePoint name, Microsoft sign-in, a document SaaS).
        allowedDomains: ['login.microsoftonline.com', 'login.microsoft.com', 'chiyodacity.sharepoint.com', 'docs.example-saas.jp'],
        // Placeholders: the municipality's Entra ID tenant ID and its tenant restrictions v2 policy ID.
        tenantRestrictions: { microsoft: { tenantId: '00000000-0000-4000-8000-000000131016', policyId: '11111111-1111-4111-8111-000000131016' } },
        caSecretId: 'three-tier/131016/proxy-ca',
        // The proxy VPC in the security cloud account: right after the municipality's zones (10.1.0.0/18).
        proxyCidr: '10.1.64.0/24',
      },
    },
  ],
};

/** β: staff terminals in the internet tier; 住民記録 and 文書管理 in lgwan, by screen transfer only. */
export const beta: ThreeTierConfigInput = {
  ...pilot,
  name: 'beta',
  municipalities: [
    {
      ...base,
      model: 'beta',
      beta: {
        screenSystems: [
          { name: 'resident-records', address: '10.1.16.40', port: 3389 },
          { name: 'documents', address: '10.1.16.41', port: 8443 },
        ],
        edr: { product: 'Microsoft Defender for Endpoint', agent: 'MsSense 10.8' },
      },
    },
  ],
};

/** β′: β, plus payroll and finance moved into the internet tier. */
export const betaPrime: ThreeTierConfigInput = {
  ...pilot,
  name: 'beta-prime',
  municipalities: [
    {
      ...base,
      model: 'beta-prime',
      beta: {
        screenSystems: [{ name: 'resident-records', address: '10.1.16.40', port: 3389 }],
        edr: { product: 'Microsoft Defender for Endpoint', agent: 'MsSense 10.8' },
      },
      betaPrime: {
        movedSystems: [
          { name: 'payroll', ports: [443] },
          { name: 'finance', ports: [443] },
        ],
      },
    },
  ],
};
