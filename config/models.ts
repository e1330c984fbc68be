import { z } from 'zod';
import { allowEntry, allowEntryProblem, port, tenantRestrictionProblems, tenantRestrictionsSchema } from '../lib/proxy/schema';
import { parseCidr } from './cidr';
import { ipv4, secretRef } from './pickup-schema';

/**
 * The network models of the MIC guideline (総務省「地方公共団体における情報セキュリティ
 * ポリシーに関するガイドライン」, 第3編), chosen per municipality, and the sections each one
 * needs. What a model changes in the network is data in the isolation intent
 * (lib/isolation/models.ts); the checks read that data, not the model name.
 *
 * - alpha (α): terminals in the LGWAN tier; the internet only through the virtual browser.
 * - alpha-prime (α′, 2024 revision): α, plus named cloud services reached from the LGWAN
 *   tier directly (local breakout), restricted by destination and tenant, through the
 *   inspecting proxy in the security cloud.
 * - beta (β, 2020): main staff terminals in the internet tier; LGWAN systems reached from
 *   there only by screen transfer; EDR on the terminals is a condition.
 * - beta-prime (β′): β, plus business systems moved into the internet tier.
 */
export const MODELS = ['alpha', 'alpha-prime', 'beta', 'beta-prime'] as const;
export type NetworkModel = (typeof MODELS)[number];

export const MODEL_LABELS: Record<NetworkModel, string> = { alpha: 'α', 'alpha-prime': 'α′', beta: 'β', 'beta-prime': 'β′' };

export const modelSchema = z.enum(MODELS, {
  error:
    'must be "alpha" (α, the default: terminals in the LGWAN tier), "alpha-prime" (α′: named cloud services from the LGWAN tier through the inspecting proxy), "beta" (β: staff terminals in the internet tier, LGWAN systems by screen transfer) or "beta-prime" (β′: β plus business systems moved into the internet tier)',
});

const systemName = z.string({ error: 'must be a short name such as "payroll"' }).regex(/^[a-z][a-z0-9-]{0,30}$/, { error: 'must be 1-31 characters of a-z, 0-9 and "-", starting with a letter, e.g. "payroll" (it becomes part of resource names)' });
const instanceTypes = z
  .array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type such as "c6i.large"' }))
  .min(2, { error: 'must list at least 2 instance types so the group survives a shortage of one' });

/** α′: the named cloud services, the tenants to enforce, and the municipality's CA for the inspecting proxy. */
export const alphaPrimeSchema = z.strictObject(
  {
    /** The named cloud services: exact host names, or ".domain" for a domain and every name under it (Squid's notation). */
    allowedDomains: z.array(allowEntry, { error: 'must be a list of host names, e.g. ["login.microsoftonline.com", ".sharepoint.example-tenant.jp"]' }).min(1, { error: 'must list at least one host name: α′ allows only the named services' }),
    /** The headers that restrict sign-in to the municipality's own tenant (Microsoft tenant restrictions v2, Google Workspace). */
    tenantRestrictions: tenantRestrictionsSchema.default({}),
    /**
     * The Secrets Manager secret holding the municipality's intermediate CA for TLS interception,
     * as JSON { "certificate": PEM, "privateKey": PEM } (docs/proxy.en.md: the procedure; the lab
     * generates one with `npm run proxy-ca`). Never the key itself.
     */
    caSecretId: secretRef,
    /** The port terminals configure as their proxy (explicit proxy, HTTP CONNECT). */
    port: port.default(3128),
    /**
     * The proxy VPC in the security cloud account (a /24: hosts, NLB, endpoints, Transit Gateway
     * attachment): private space outside every zone, office segment and the security cloud's CIDR.
     * Required for α′ (checked with the other model problems, so each missing field is reported).
     */
    proxyCidr: z.string({ error: 'must be an IPv4 CIDR string such as "10.1.64.0/24"' }).optional(),
    /** Nitro types with encryption in transit (Control Tower CT.AUTOSCALING.PR.11). */
    instanceTypes: instanceTypes.default(['c6i.large', 'c7i.large']),
    minHosts: z.number().int().min(1, { error: 'must be at least 1' }).default(2),
    maxHosts: z.number().int().min(1, { error: 'must be at least 1' }).default(4),
  },
  { error: 'must be { allowedDomains, tenantRestrictions, caSecretId }: the named cloud services, the tenant to enforce and the CA for the inspecting proxy' },
);

/** β and β′: the LGWAN systems reached by screen transfer, and the endpoint measures the guideline makes a condition. */
export const betaSchema = z.strictObject(
  {
    /** The LGWAN business systems staff reach from the internet tier, each only on its screen-transfer port (RDP 3389, Amazon DCV 8443, ...). */
    screenSystems: z
      .array(
        z.strictObject(
          {
            name: systemName,
            /** The system's screen-transfer host in the lgwan zone. */
            address: ipv4,
            /** Its one screen-transfer port. */
            port,
          },
          { error: 'must be { name, address, port }: the LGWAN system, its screen-transfer host in the lgwan zone and its port' },
        ),
        { error: 'must list the LGWAN systems reached by screen transfer' },
      )
      .min(1, { error: 'must list at least one LGWAN system reached by screen transfer: under β that is the only way from the internet tier into lgwan' }),
    /** The EDR the internet-tier terminals must run (the guideline's condition for β); stated in the review pack, enforced outside CDK. */
    edr: z.strictObject(
      {
        product: z.string({ error: 'must name the EDR product, e.g. "Microsoft Defender for Endpoint"' }).min(1, { error: 'must name the EDR product' }),
        agent: z.string({ error: 'must name the agent and the minimum version the terminals run, e.g. "MsSense 10.8"' }).min(1, { error: 'must name the agent the terminals run' }),
      },
      { error: 'must be { product, agent }: under β the internet-tier terminals must run EDR (a condition of the guideline)' },
    ),
  },
  { error: 'must be { screenSystems, edr }' },
);

/** β′: the business systems moved into the internet tier (人事給与, 財務会計, 文書管理, ...). */
export const betaPrimeSchema = z.strictObject(
  {
    movedSystems: z
      .array(
        z.strictObject(
          {
            name: systemName,
            /** The ports its users reach it on (from the internet tier's office segments). */
            ports: z.array(port, { error: 'must list the TCP ports, e.g. [443]' }).min(1, { error: 'must list at least one port' }),
          },
          { error: 'must be { name, ports }' },
        ),
        { error: 'must list the business systems moved into the internet tier' },
      )
      .min(1, { error: 'must list at least one moved system: otherwise the model is β' }),
  },
  { error: 'must be { movedSystems }' },
);

/** The model sections of one municipality (merged into municipalitySchema). */
export const modelSections = {
  /** Its network model; absent: the config's `model` (default alpha). */
  model: modelSchema.optional(),
  alphaPrime: alphaPrimeSchema.optional(),
  beta: betaSchema.optional(),
  betaPrime: betaPrimeSchema.optional(),
};

type Sections = { model?: NetworkModel; alphaPrime?: z.output<typeof alphaPrimeSchema>; beta?: z.output<typeof betaSchema>; betaPrime?: z.output<typeof betaPrimeSchema>; cidrs: { lgwan: string }; terminals?: { internet?: unknown } };

const NEEDS: Record<NetworkModel, readonly ('alphaPrime' | 'beta' | 'betaPrime')[]> = {
  alpha: [],
  'alpha-prime': ['alphaPrime'],
  beta: ['beta'],
  'beta-prime': ['beta', 'betaPrime'],
};
const WHAT: Record<'alphaPrime' | 'beta' | 'betaPrime', string> = {
  alphaPrime: '{ allowedDomains, tenantRestrictions, caSecretId } (the named cloud services and the inspecting proxy\'s CA)',
  beta: '{ screenSystems, edr } (the LGWAN systems reached by screen transfer and the terminals\' EDR)',
  betaPrime: '{ movedSystems } (the business systems moved into the internet tier)',
};

/** Problems between a municipality's model and its sections, each with the field and the fix. */
export function modelProblems(configModel: NetworkModel, m: Sections): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const model = m.model ?? configModel;
  const needs = NEEDS[model];
  for (const s of ['alphaPrime', 'beta', 'betaPrime'] as const) {
    if (needs.includes(s) && !m[s]) out.push({ path: [s], message: `is required for model "${model}": give ${WHAT[s]}` });
    if (!needs.includes(s) && m[s]) {
      const models = (Object.keys(NEEDS) as NetworkModel[]).filter((k) => NEEDS[k].includes(s)).map((k) => `"${k}"`).join(' or ');
      out.push({ path: [s], message: `is only for model ${models}, but this municipality's model is "${model}"; remove it or set model: ${models.split(' or ')[0]}` });
    }
  }
  if (m.alphaPrime) {
    const valid = m.alphaPrime.allowedDomains.filter((e) => allowEntryProblem(e) === undefined);
    for (const p of tenantRestrictionProblems(valid, m.alphaPrime.tenantRestrictions)) out.push({ path: ['alphaPrime', ...p.path], message: p.message });
    if (m.alphaPrime.proxyCidr === undefined) out.push({ path: ['alphaPrime', 'proxyCidr'], message: 'is missing; add it: a private /24 for the inspecting proxy\'s VPC in the security cloud, outside every zone, office segment and securityCloud.cidr (e.g. "10.1.64.0/24")' });
    if (m.alphaPrime.minHosts > m.alphaPrime.maxHosts) out.push({ path: ['alphaPrime', 'minHosts'], message: `is ${m.alphaPrime.minHosts} but maxHosts is ${m.alphaPrime.maxHosts}; minHosts must not exceed maxHosts` });
  }
  if (m.beta && !m.terminals?.internet) {
    out.push({ path: ['terminals', 'internet'], message: `is required for model "${model}": the staff terminals sit in the internet tier, and the screen-transfer endpoints (B1) admit only their office segments; give { officeCidrs, connection }` });
  }
  if (m.beta) {
    const lgwan = parseCidr(m.cidrs.lgwan);
    const names = new Map<string, number>();
    m.beta.screenSystems.forEach((s, i) => {
      const a = parseCidr(`${s.address}/32`);
      if (typeof lgwan !== 'string' && typeof a !== 'string' && !(a.start >= lgwan.start && a.end <= lgwan.end)) {
        out.push({ path: ['beta', 'screenSystems', i, 'address'], message: `"${s.address}" is not inside the lgwan zone "${m.cidrs.lgwan}"; give the address of the system's screen-transfer host in the lgwan zone` });
      }
      const prev = names.get(s.name);
      if (prev !== undefined) out.push({ path: ['beta', 'screenSystems', i, 'name'], message: `"${s.name}" is also screenSystems[${prev}]; give each system its own name` });
      else names.set(s.name, i);
    });
  }
  if (m.betaPrime) {
    const names = new Map<string, number>();
    m.betaPrime.movedSystems.forEach((s, i) => {
      const prev = names.get(s.name);
      if (prev !== undefined) out.push({ path: ['betaPrime', 'movedSystems', i, 'name'], message: `"${s.name}" is also movedSystems[${prev}]; give each system its own name` });
      else names.set(s.name, i);
      if (new Set(s.ports).size !== s.ports.length) out.push({ path: ['betaPrime', 'movedSystems', i, 'ports'], message: 'lists a port twice; list each once' });
    });
  }
  return out;
}

/** A municipality's model: its own, or the config's. */
export function modelOf(cfg: { model: NetworkModel }, m: { model?: NetworkModel }): NetworkModel {
  return m.model ?? cfg.model;
}
