import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../../config/cidr';
import { ConfigError } from '../../config/errors';

/**
 * The inspecting forward proxy of model α′ (issue #18): LGWAN-tier terminals
 * reach *named* cloud services through a local breakout, restricted by
 * destination (an allowlist of names) and by tenant (headers the identity
 * providers read). This is the proxy's own config; `squidConfig()` in
 * ./squid-config.ts turns it into squid.conf. docs/proxy.en.md explains it.
 */

/** Microsoft Entra ID sign-in hosts that read tenant restrictions v2 (sec-Restrict-Tenant-Access-Policy: <tenantId>:<policyId>). */
export const MICROSOFT_TENANT_HOSTS = ['login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net'] as const;
/** Microsoft consumer accounts (MSA) sign-in host; tenant restrictions v2 blocks them with the value "restrict-msa". */
export const MICROSOFT_CONSUMER_HOST = 'login.live.com';
/**
 * Google: the header X-GoogApps-Allowed-Domains goes on every request to google.com and its
 * subdomains (Google's "Block access to consumer accounts", support.google.com/a/answer/1668854).
 * In Squid's notation ".google.com" is google.com and every name under it.
 */
export const GOOGLE_TENANT_HOSTS = ['.google.com'] as const;
/** The Google sign-in host that must be reachable when Google tenant restrictions are set. */
export const GOOGLE_SIGN_IN_HOST = 'accounts.google.com';

/**
 * Suffixes under which anyone can get a name (registries, and cloud storage or hosting
 * that serves every customer under one domain). A ".suffix" entry for one of these would
 * let a terminal send data to anyone's bucket or site. Not exhaustive: the allowlist is
 * reviewed by people; this catches the common mistakes.
 */
export const SHARED_SUFFIXES: readonly string[] = [
  'jp', 'com', 'net', 'org', 'io', 'app', 'dev', 'cloud',
  'co.jp', 'ne.jp', 'or.jp', 'go.jp', 'lg.jp', 'ac.jp', 'ed.jp', 'gr.jp', 'ad.jp',
  'amazonaws.com', 's3.amazonaws.com', 'cloudfront.net', 'awsapps.com',
  'windows.net', 'core.windows.net', 'blob.core.windows.net', 'azurewebsites.net', 'azureedge.net', 'azurefd.net', 'sharepoint.com', 'onmicrosoft.com',
  'googleapis.com', 'googleusercontent.com', 'appspot.com', 'web.app', 'firebaseapp.com', 'run.app',
  'github.io', 'githubusercontent.com', 'herokuapp.com', 'vercel.app', 'netlify.app', 'pages.dev', 'workers.dev',
];

const MAX_NAME = 253;
const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Whether a host (as a client or Squid writes it) is an IP address in any notation resolvers accept. */
export function isIpLiteral(host: string): boolean {
  const h = host.replace(/\.$/, '');
  if (h.startsWith('[') || h.includes(':')) return true; // IPv6, bracketed or not; no DNS name has ':'
  if (isIPv4(h) || isIPv6(h)) return true;
  // inet_aton also accepts 127.1, 2130706433 and 0x7f.0.0.1: a last label of digits or 0x-hex is never a DNS name.
  const last = h.split('.').pop() ?? '';
  return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

/** Whether an allowlist entry ("name" exactly, ".suffix" = suffix and every name under it) covers a host. */
export function covers(entry: string, host: string): boolean {
  if (!entry.startsWith('.')) return entry === host;
  return host === entry.slice(1) || host.endsWith(entry);
}

/** Whether entry `a` covers everything entry `b` does. */
function subsumes(a: string, b: string): boolean {
  return covers(a, b.startsWith('.') ? b.slice(1) : b) && (a.startsWith('.') || !b.startsWith('.'));
}

/** Problems with one allowlist entry, each a sentence that says how to fix it. */
export function allowEntryProblem(entry: string): string | undefined {
  const example = 'e.g. "login.microsoftonline.com" (that name) or ".example-saas.jp" (that domain and every name under it)';
  if (entry.length === 0) return `is empty; give a name, ${example}`;
  if (entry.length > MAX_NAME + 1) return `"${entry.slice(0, 40)}..." is ${entry.length} characters; a DNS name has at most ${MAX_NAME}`;
  if (entry.includes('*')) {
    if (entry === '*' || entry === '*.') return '"*" would allow the whole internet; list the names the service needs';
    return `"${entry}" uses "*"; write ".${entry.replace(/^\*\.?/, '')}" for a domain and every name under it (Squid's notation), or list exact names`;
  }
  if (/\s/.test(entry)) return `"${entry}" contains whitespace; give one name per entry`;
  if (isIpLiteral(entry.replace(/^\./, '')) || entry.includes('/')) {
    return `"${entry}" is an IP address or range; the proxy allows names only (a name is what the TLS SNI, the certificate and the tenant headers are about). List the service's host names`;
  }
  if (entry !== entry.toLowerCase()) return `"${entry}" has upper-case letters; write it in lower case: "${entry.toLowerCase()}"`;
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(entry)) return `"${entry}" is not ASCII; write an internationalised name in its xn-- (punycode) form`;
  const name = entry.startsWith('.') ? entry.slice(1) : entry;
  if (name.endsWith('.')) return `"${entry}" ends with "."; drop the trailing dot`;
  const labels = name.split('.');
  if (labels.some((l) => !LABEL_RE.test(l))) {
    return `"${entry}" is not a valid host name; use labels of a-z, 0-9 and "-" (not at either end, 1-63 characters) separated by single dots, ${example}`;
  }
  if (entry.startsWith('.') && (labels.length < 2 || SHARED_SUFFIXES.includes(name))) {
    return `"${entry}" covers a suffix under which anyone can get a name (registry, shared cloud storage or hosting), so any bucket or site there would be reachable; list the exact host names of the service instead`;
  }
  if (labels.length < 2) return `"${entry}" is a single label; give a fully qualified name such as "login.microsoftonline.com"`;
  return undefined;
}

export const allowEntry = z.string({ error: 'must be a host name string, e.g. "login.microsoftonline.com" or ".example-saas.jp"' }).superRefine((e, ctx) => {
  const p = allowEntryProblem(e);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const guid = (what: string) =>
  z
    .string({ error: `must be ${what} (a GUID such as "00000000-0000-0000-0000-000000000000" in quotes)` })
    .transform((s) => s.trim().toLowerCase())
    .refine((s) => GUID_RE.test(s), { error: (iss) => `"${String(iss.input)}" is not a GUID; it must be ${what}, 8-4-4-4-12 hexadecimal digits such as "72f988bf-86f1-41af-91ab-2d7cd011db47"` });

const googleDomain = z
  .string({ error: 'must be a Google Workspace domain string such as "city.example.lg.jp"' })
  .refine((d) => !d.startsWith('.') && !d.includes('*') && allowEntryProblem(d) === undefined, {
    error: (iss) => `"${String(iss.input)}" is not a lower-case domain name; give the primary or a secondary domain of the municipality's Google Workspace account exactly, e.g. "city.example.lg.jp" (no "*", no leading dot)`,
  });

/** A TCP port 1-65535 (shared with the model sections of the config). */
export const port = z.number({ error: 'must be a TCP port number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be a port 1-65535' }).max(65535, { error: 'must be a port 1-65535' });

const squidPath = z
  .string({ error: 'must be an absolute path such as "/etc/squid/ssl/ca.pem"' })
  .regex(/^\/[^\s"'#\\]*$/, { error: 'must be an absolute path without spaces, quotes, "#" or "\\" (squid.conf cannot quote paths), e.g. "/etc/squid/ssl/ca.pem"' });

const cidr46 = z.string({ error: 'must be a CIDR string such as "10.20.0.0/16" or "fc00::/7"' }).superRefine((c, ctx) => {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(c);
  if (m && isIPv6(m[1]) && Number(m[2]) <= 128) return;
  const v4 = parseCidr(c);
  if (typeof v4 === 'string') ctx.addIssue({ code: 'custom', message: `"${c}": ${v4.replace(/IPv4 CIDR/, 'IPv4 or IPv6 CIDR')}` });
});

/**
 * Addresses an allowed name must never resolve to. An allowed SaaS name that resolves to
 * the instance metadata service, loopback or the municipality's own networks would turn
 * the proxy into a way into them (DNS rebinding, a hijacked record).
 */
export const DEFAULT_REFUSED_NETS: readonly string[] = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/4', '240.0.0.0/4',
  '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8',
];

/** The headers that restrict sign-in to the municipality's own tenant (shared with the α′ section of the config). */
export const tenantRestrictionsSchema = z
  .strictObject(
    {
      microsoft: z
        .strictObject(
          {
            /** The municipality's Entra ID tenant ID (Entra admin center → Overview). */
            tenantId: guid('the Entra ID tenant ID (Entra admin center → Overview → Tenant ID)'),
            /** The tenant restrictions v2 policy ID (Cross-tenant access settings → Default settings → Tenant restrictions → Policy ID). */
            policyId: guid('the tenant restrictions v2 policy ID (Entra admin center → External Identities → Cross-tenant access settings → Default settings → Tenant restrictions)'),
            /** Also block Microsoft consumer accounts ("restrict-msa" on login.live.com) when login.live.com is allowed. */
            restrictConsumerAccounts: z.boolean({ error: 'must be true or false' }).default(true),
          },
          { error: 'must be { tenantId, policyId } (GUIDs from the Entra admin center)' },
        )
        .optional(),
      google: z
        .strictObject(
          {
            /** The municipality's Google Workspace domains (primary and secondary); only accounts of these domains may sign in. */
            allowedDomains: z.array(googleDomain, { error: 'must list the Google Workspace domains, e.g. ["city.example.lg.jp"]' }).min(1, { error: 'must list at least one Google Workspace domain, e.g. ["city.example.lg.jp"]' }),
          },
          { error: 'must be { allowedDomains: [...] } with the Google Workspace domains' },
        )
        .optional(),
    },
    { error: 'must be { microsoft?, google? }' },
  );

export const proxyConfigSchema = z
  .strictObject({
    /** Where Squid listens, e.g. { address: "0.0.0.0", port: 3128 } on the proxy host in the lgwan zone. */
    listen: z.strictObject(
      {
        address: z.string().refine((a) => isIPv4(a) || isIPv6(a), { error: (iss) => `"${String(iss.input)}" is not an IP address; give the address to listen on, e.g. "0.0.0.0" or "10.20.1.10"` }),
        port,
      },
      { error: 'must be { address, port }, e.g. { address: "0.0.0.0", port: 3128 }' },
    ),
    /**
     * Optional: the load balancer in front of Squid that sends a PROXY protocol header (v1 or v2)
     * with the terminal's address (an NLB behind PrivateLink). Squid then requires the header on
     * its port, accepts it only from these addresses, and takes the client address from it: the
     * `clients` check and the access log see the terminal, not the load balancer.
     */
    proxyProtocolFrom: z.array(cidr46, { error: 'must list the load balancer\'s networks (CIDRs), e.g. ["10.1.64.0/24"]' }).min(1, { error: 'must list at least one network, or leave proxyProtocolFrom out' }).optional(),
    /** Who may use the proxy: the LGWAN terminal segments (CIDRs). */
    clients: z.array(cidr46, { error: 'must list the client networks (CIDRs), e.g. ["10.20.0.0/16"]' }).min(1, { error: 'must list at least one client network, e.g. the LGWAN terminal segment "10.20.0.0/16"' }),
    /**
     * The named cloud services: exact host names, or ".domain" for a domain and every name
     * under it. Everything else is refused. Lower case, names only (no IP addresses, no "*").
     */
    allowedDomains: z.array(allowEntry, { error: 'must be a list of host names, e.g. ["login.microsoftonline.com", ".example-saas.jp"]' }).min(1, { error: 'must list at least one host name; the proxy allows only what is listed' }),
    /** The headers that restrict sign-in to the municipality's own tenant. */
    tenantRestrictions: tenantRestrictionsSchema.default({}),
    /** Ports a CONNECT (HTTPS) may go to. Only 443 in production; tests add the local origin's port. */
    tlsPorts: z.array(port).min(1, { error: 'must list at least one port, normally [443]' }).default([443]),
    /** Ports plain http:// requests may go to; [] refuses plain HTTP. */
    httpPorts: z.array(port).default([80]),
    /** Addresses an allowed name must never resolve to (see DEFAULT_REFUSED_NETS). */
    refusedNets: z.array(cidr46).default([...DEFAULT_REFUSED_NETS]),
    paths: z.strictObject(
      {
        /** The CA certificate (PEM) Squid signs the per-site certificates with: the municipality's intermediate CA. */
        caCert: squidPath,
        /** Its private key (PEM). Read by Squid at start, as root, before it drops to the effective user. */
        caKey: squidPath,
        /** security_file_certgen's database of generated certificates (initialise with `security_file_certgen -c -s <dir> -M 4MB`). */
        certDb: squidPath,
        /** The access log the host ships to the log archive. */
        accessLog: squidPath,
        cacheLog: squidPath,
        pidFile: squidPath,
        coredumpDir: squidPath,
        /** Where the allowlist file is written (squid.conf reads it; the generator returns its content). */
        allowedDomainsFile: squidPath,
        /** Optional: a hosts file Squid resolves from before DNS (tests map the service names to 127.0.0.1). Default: /etc/hosts. */
        hostsFile: squidPath.optional(),
        /** Optional: an extra CA (PEM) trusted for origin servers besides the system store (tests: the local origin's CA). */
        upstreamCaFile: squidPath.optional(),
      },
      { error: 'must give the paths { caCert, caKey, certDb, accessLog, cacheLog, pidFile, coredumpDir, allowedDomainsFile }' },
    ),
    /** The certificate generator shipped with Debian's squid-openssl. */
    certgenProgram: squidPath.default('/usr/lib/squid/security_file_certgen'),
    /** The user Squid drops to after start (when started as root). */
    effectiveUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'must be a Unix user name such as "proxy"' }).default('proxy'),
    /** Seconds Squid waits for open connections on shutdown. */
    shutdownLifetimeSeconds: z.number().int().min(0).max(300).default(10),
  })
  .superRefine((c, ctx) => {
    const at = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    // The checks across fields see only the entries that are valid on their own (the others are reported already).
    const valid = c.allowedDomains.filter((e) => allowEntryProblem(e) === undefined);
    // Duplicates and entries covered by another: Squid warns and drops one, which hides mistakes.
    c.allowedDomains.forEach((e, i) => {
      if (!valid.includes(e)) return;
      const j = c.allowedDomains.findIndex((o, k) => k !== i && valid.includes(o) && subsumes(o, e) && (!subsumes(e, o) || k < i));
      if (j >= 0) at(['allowedDomains', i], `"${e}" is already covered by "${c.allowedDomains[j]}" (allowedDomains[${j}]); remove one`);
    });
    for (const p of tenantRestrictionProblems(valid, c.tenantRestrictions)) at(p.path, p.message);
    c.clients.forEach((n, i) => {
      if (/^(0\.0\.0\.0|::)\/0$/.test(n)) at(['clients', i], `"${n}" is every address; list the LGWAN terminal segments that may use the proxy`);
    });
    if (new Set(c.tlsPorts).size !== c.tlsPorts.length) at(['tlsPorts'], 'lists a port twice; list each once');
  });


/**
 * Cross-field checks between the allowlist and the tenant restrictions: an allowed sign-in
 * host needs its tenant header, and a tenant header needs its sign-in host. `valid` holds
 * only the allowlist entries that are valid on their own.
 */
export function tenantRestrictionProblems(valid: readonly string[], tr: z.output<typeof tenantRestrictionsSchema>): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const at = (path: (string | number)[], message: string) => out.push({ path, message });
  const allowed = (host: string) => valid.some((e) => covers(e, host));
  const anyUnder = (domain: string) => valid.some((e) => covers(domain, e.replace(/^\./, '')) || covers(e, domain.replace(/^\./, '')));
  const msAllowed = [...MICROSOFT_TENANT_HOSTS, MICROSOFT_CONSUMER_HOST].filter(allowed);
  if (msAllowed.length && !tr.microsoft) {
    at(['tenantRestrictions', 'microsoft'], `is required: allowedDomains lets terminals reach ${msAllowed.join(', ')} (Microsoft sign-in), and without tenant restrictions staff could sign in to any Microsoft tenant or personal account; set { tenantId, policyId } of the municipality's tenant restrictions v2 policy`);
  }
  if (tr.microsoft && !MICROSOFT_TENANT_HOSTS.some(allowed)) {
    at(['allowedDomains'], `must include the Microsoft sign-in host(s) the tenant restriction is for (${MICROSOFT_TENANT_HOSTS.join(', ')}); tenantRestrictions.microsoft is set but none of them is allowed`);
  }
  if (anyUnder('.google.com') && !tr.google) {
    at(['tenantRestrictions', 'google'], 'is required: allowedDomains lets terminals reach google.com hosts, and without X-GoogApps-Allowed-Domains staff could sign in with any Google account; set { allowedDomains: [the municipality\'s Google Workspace domains] }');
  }
  if (tr.google && !allowed(GOOGLE_SIGN_IN_HOST)) {
    at(['allowedDomains'], `must include "${GOOGLE_SIGN_IN_HOST}" (or ".google.com"): tenantRestrictions.google is set but Google sign-in is not allowed`);
  }
  return out;
}

export type ProxyConfigInput = z.input<typeof proxyConfigSchema>;
export type ProxyConfig = z.output<typeof proxyConfigSchema>;

/** Validates a proxy config; throws ConfigError with one "field: problem and fix" line per problem. */
export function validateProxyConfig(input: unknown): ProxyConfig {
  const r = proxyConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const where = (path: readonly PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('') || '(proxy)';
  const message = (i: z.core.$ZodIssue) =>
    i.code === 'unrecognized_keys' ? `has unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}; remove them or check the spelling against lib/proxy/schema.ts` : i.message;
  throw new ConfigError('proxy', r.error.issues.map((i) => `${where(i.path)}: ${message(i)}`));
}
