import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLabCa, nameConstraintsFor } from '../lib/proxy/ca';
import { DEFAULT_REFUSED_NETS, isIpLiteral, ProxyConfigInput } from '../lib/proxy/schema';
import { squidConfig, TENANT_HEADERS, validateProxyConfig } from '../lib/proxy/squid-config';
import { accessLog, CERTGEN, freePort, newLogLines, ProxyResult, publicCaAndOrigin, RunningSquid, SQUID, Seen, startOrigin, startSquid, throughProxy } from './helpers/proxy';
import { tmpDir } from './helpers/synth';

/**
 * The α′ inspecting proxy (issue #18): the squid.conf generator, the lab CA,
 * and Debian's Squid (squid-openssl, ssl_bump) running the generated config on
 * 127.0.0.1 in front of a local HTTPS origin that stands in for the SaaS and
 * sign-in hosts (a hosts file maps their names to 127.0.0.1).
 */

const TENANT = '5f1c3a9e-0b7d-4c2a-9e61-3d8f2b7a4c10';
const POLICY = 'a4d2c6e8-1b3f-4a5c-8d7e-9f0a1b2c3d4e';
const GOOGLE_DOMAINS = ['city.example.lg.jp', 'example.jp'];
const MS = 'login.microsoftonline.com';
const MSA = 'login.live.com';
const GOOGLE = 'accounts.google.com';
const SAAS = 'saas.example.net';
/** Allowed, but its record points at the instance metadata service. */
const ALIAS = 'metadata-alias.example.net';
/** Not on the allowlist, though the origin's certificate names it. */
const UNLISTED = 'unlisted.example.org';
/** On the allowlist, but the origin's certificate does not name it. */
const WRONG_CERT = 'other.example.net';

const paths = (dir: string) => ({
  caCert: `${dir}/pki/ca.pem`,
  caKey: `${dir}/pki/ca.key`,
  certDb: `${dir}/ssl_db`,
  accessLog: `${dir}/logs/access.log`,
  cacheLog: `${dir}/logs/cache.log`,
  pidFile: `${dir}/logs/squid.pid`,
  coredumpDir: `${dir}/logs`,
  allowedDomainsFile: `${dir}/allowed-domains.txt`,
});

/** A production-shaped config: what a municipality's proxy host would get. */
function production(over: Partial<ProxyConfigInput> = {}): ProxyConfigInput {
  return {
    listen: { address: '0.0.0.0', port: 3128 },
    clients: ['10.20.0.0/16'],
    allowedDomains: [MS, 'login.microsoft.com', 'login.windows.net', MSA, '.google.com', '.example-saas.jp'],
    tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: POLICY }, google: { allowedDomains: GOOGLE_DOMAINS } },
    paths: paths('/var/lib/threetier-proxy'),
    ...over,
  };
}

/** The problems validateProxyConfig reports for an input, one "field: message" each. */
function problems(input: unknown): string[] {
  try {
    validateProxyConfig(input);
  } catch (e) {
    return (e as { problems?: string[] }).problems ?? [String(e)];
  }
  return [];
}

const directives = (conf: string) => conf.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

describe('squid.conf generator', () => {
  test('invalid allowlist entries are refused, each naming the entry and the fix', () => {
    const cases: [string, RegExp][] = [
      ['*.example.com', /^allowedDomains\[0\]: "\*\.example\.com" uses "\*"; write "\.example\.com"/],
      ['*', /^allowedDomains\[0\]: "\*" would allow the whole internet/],
      ['203.0.113.7', /^allowedDomains\[0\]: "203\.0\.113\.7" is an IP address or range; the proxy allows names only/],
      ['2130706433', /is an IP address/],
      ['[2001:db8::1]', /is an IP address/],
      ['2001:db8::1', /is an IP address/],
      ['10.0.0.0/8', /is an IP address or range/],
      ['Login.Microsoftonline.com', /has upper-case letters; write it in lower case: "login\.microsoftonline\.com"/],
      ['.com', /covers a suffix under which anyone can get a name/],
      ['.lg.jp', /covers a suffix under which anyone can get a name/],
      ['.amazonaws.com', /covers a suffix under which anyone can get a name.*list the exact host names/],
      ['localhost', /is a single label; give a fully qualified name/],
      [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.jp`, /characters; a DNS name has at most 253/],
      ['bad_name.example.jp', /is not a valid host name; use labels of a-z, 0-9 and "-"/],
      ['-x.example.jp', /is not a valid host name/],
      ['例え.jp', /is not ASCII; write an internationalised name in its xn-- \(punycode\) form/],
      ['', /is empty; give a name/],
      ['saas.example.jp.', /ends with "\."; drop the trailing dot/],
    ];
    for (const [entry, re] of cases) {
      const p = problems(production({ allowedDomains: [entry], tenantRestrictions: {} }));
      assert.equal(p.length, 1, `${entry}: ${p.join(' | ')}`);
      assert.match(p[0], re, entry);
    }
  });

  test('other invalid fields name the field and say how to fix it', () => {
    const cases: [Partial<ProxyConfigInput> | Record<string, unknown>, RegExp][] = [
      [{ tenantRestrictions: { microsoft: { tenantId: 'contoso.onmicrosoft.com', policyId: POLICY }, google: { allowedDomains: GOOGLE_DOMAINS } } }, /^tenantRestrictions\.microsoft\.tenantId: "contoso\.onmicrosoft\.com" is not a GUID; it must be the Entra ID tenant ID/],
      [{ tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: '123' }, google: { allowedDomains: GOOGLE_DOMAINS } } }, /^tenantRestrictions\.microsoft\.policyId: "123" is not a GUID; it must be the tenant restrictions v2 policy ID/],
      [{ tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: POLICY }, google: { allowedDomains: [] } } }, /^tenantRestrictions\.google\.allowedDomains: must list at least one Google Workspace domain/],
      [{ tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: POLICY }, google: { allowedDomains: ['*.example.jp'] } } }, /^tenantRestrictions\.google\.allowedDomains\[0\]: "\*\.example\.jp" is not a lower-case domain name; give the primary or a secondary domain/],
      [{ tenantRestrictions: { google: { allowedDomains: GOOGLE_DOMAINS } } }, /^tenantRestrictions\.microsoft: is required: allowedDomains lets terminals reach login\.microsoftonline\.com.*set \{ tenantId, policyId \}/],
      [{ tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: POLICY } } }, /^tenantRestrictions\.google: is required: allowedDomains lets terminals reach google\.com hosts/],
      [{ allowedDomains: [SAAS], tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: POLICY } } }, /^allowedDomains: must include the Microsoft sign-in host\(s\)/],
      [{ allowedDomains: ['.example.net', SAAS], tenantRestrictions: {} }, /^allowedDomains\[1\]: "saas\.example\.net" is already covered by "\.example\.net" \(allowedDomains\[0\]\); remove one/],
      [{ listen: { address: 'proxy.local', port: 3128 } }, /^listen\.address: "proxy\.local" is not an IP address/],
      [{ listen: { address: '0.0.0.0', port: 70000 } }, /^listen\.port: must be a port 1-65535/],
      [{ clients: ['0.0.0.0/0'] }, /^clients\[0\]: "0\.0\.0\.0\/0" is every address; list the LGWAN terminal segments/],
      [{ clients: ['10.20.0.1/16'] }, /^clients\[0\]: "10\.20\.0\.1\/16": host bits are set; the network address for \/16 is 10\.20\.0\.0\/16/],
      [{ paths: { ...paths('/srv'), caKey: 'relative/ca.key' } }, /^paths\.caKey: must be an absolute path/],
      [{ paths: { ...paths('/srv'), accessLog: '/var/log/squid proxy/access.log' } }, /^paths\.accessLog: must be an absolute path without spaces/],
      [{ tlsPorts: [443, 443] }, /^tlsPorts: lists a port twice/],
      [{ cacheEverything: true } as Record<string, unknown>, /^\(proxy\): has unknown field\(s\) "cacheEverything"; remove them or check the spelling/],
    ];
    for (const [over, re] of cases) {
      const p = problems({ ...production(), ...over });
      assert.ok(p.some((x) => re.test(x)), `${re}: got ${JSON.stringify(p)}`);
    }
    assert.deepEqual(problems(production()), []);
  });

  test('IP literals are refused before anything else, and nothing is allowed before them', () => {
    const { squidConf } = squidConfig(validateProxyConfig(production()));
    const access = directives(squidConf).filter((l) => l.startsWith('http_access '));
    assert.deepEqual(access.slice(0, 2), ['http_access deny to_ip_literal', 'http_access deny to_numeric_host']);
    // Every allow comes after the IP-literal denials, after the allowlist rule, and the last rule denies everything else.
    const firstAllow = access.findIndex((l) => l.startsWith('http_access allow'));
    assert.ok(firstAllow > access.indexOf('http_access deny !allowed_host'));
    assert.ok(firstAllow > access.indexOf('http_access deny CONNECT !allowed_connect'));
    assert.equal(access.at(-1), 'http_access deny all');
    assert.deepEqual(access.filter((l) => l.startsWith('http_access allow')), ['http_access allow lgwan_clients']);
    // The ACLs say what they claim: every address notation, never resolved.
    const acl = (name: string) => directives(squidConf).filter((l) => l.startsWith(`acl ${name} `));
    assert.deepEqual(acl('to_ip_literal'), ['acl to_ip_literal dst -n all']);
    assert.match(acl('to_numeric_host')[0], /^acl to_numeric_host dstdom_regex -n -i /);
    const regexes = acl('to_numeric_host')[0].split(' ').slice(5).map((r) => new RegExp(r, 'i'));
    for (const h of ['127.0.0.1', '2130706433', '0x7f.1', '127.1', '[::1]', '::1', '0.0.0.0']) assert.ok(regexes.some((r) => r.test(h)) && isIpLiteral(h), h);
    for (const h of [MS, 'cafe.example.jp', 'x1.example.jp', 'beef']) assert.ok(!regexes.some((r) => r.test(h)) && !isIpLiteral(h), h);
    // Refused CONNECTs are reset, not decrypted to show an error page (which would mint a certificate).
    for (const a of ['to_ip_literal', 'to_numeric_host', 'allowed_connect', 'connect_ports', 'connect_to_refused_net']) assert.ok(directives(squidConf).includes(`deny_info TCP_RESET ${a}`), a);
  });

  test('TLS: peek first, decrypt only allowed names, terminate the rest, never splice; origins verified', () => {
    const { squidConf } = squidConfig(validateProxyConfig(production()));
    const d = directives(squidConf);
    assert.deepEqual(d.filter((l) => l.startsWith('ssl_bump ')), ['ssl_bump peek tls_step1', 'ssl_bump bump allowed_sni', 'ssl_bump terminate all']);
    assert.ok(!/splice|DONT_VERIFY|sslproxy_cert_error allow|sslproxy_flags/.test(d.join('\n')));
    assert.ok(d.includes('sslproxy_cert_error deny all'));
    assert.ok(d.includes('sslproxy_cert_adapt setCommonName all'));
    assert.ok(d.includes('on_unsupported_protocol respond all'));
    for (const l of ['cache deny all', 'via off', 'forwarded_for delete', 'strip_query_terms on']) assert.ok(d.includes(l), l);
  });

  test('tenant headers: stripped from terminals, inserted only on each provider\'s sign-in hosts', () => {
    const { squidConf } = squidConfig(validateProxyConfig(production()));
    const d = directives(squidConf);
    for (const h of TENANT_HEADERS) assert.ok(d.includes(`request_header_access ${h} deny all`), h);
    assert.deepEqual(d.filter((l) => l.startsWith('request_header_add ')), [
      `request_header_add sec-Restrict-Tenant-Access-Policy "${TENANT}:${POLICY}" idp_microsoft`,
      'request_header_add sec-Restrict-Tenant-Access-Policy "restrict-msa" idp_microsoft_consumer',
      'request_header_add X-GoogApps-Allowed-Domains "city.example.lg.jp,example.jp" idp_google',
    ]);
    assert.deepEqual(d.filter((l) => /^acl idp_\w+ dstdomain/.test(l)), [
      'acl idp_microsoft dstdomain -n login.microsoftonline.com login.microsoft.com login.windows.net',
      'acl idp_microsoft_consumer dstdomain -n login.live.com',
      'acl idp_google dstdomain -n .google.com',
    ]);
    // GUIDs are written in lower case whatever the input's case; no consumer block without login.live.com.
    const upper = squidConfig(validateProxyConfig(production({ allowedDomains: [MS], tenantRestrictions: { microsoft: { tenantId: TENANT.toUpperCase(), policyId: POLICY } } }))).squidConf;
    assert.deepEqual(directives(upper).filter((l) => l.startsWith('request_header_add ')), [`request_header_add sec-Restrict-Tenant-Access-Policy "${TENANT}:${POLICY}" idp_microsoft`]);
    // No provider on the list: no header is added, the terminals' copies are still removed.
    const none = directives(squidConfig(validateProxyConfig(production({ allowedDomains: ['.example-saas.jp'], tenantRestrictions: {} }))).squidConf);
    assert.equal(none.filter((l) => l.startsWith('request_header_add')).length, 0);
    assert.equal(none.filter((l) => l.startsWith('request_header_access')).length, 2);
  });

  test('every security directive is explained by a comment above its group', () => {
    const lines = squidConfig(validateProxyConfig(production())).squidConf.split('\n');
    const important = /^(http_port|ssl_bump|http_access|request_header_(access|add)|sslproxy_cert_(error|adapt)|tls_outgoing_options|deny_info|cache deny|via|forwarded_for|access_log|acl to_|acl allowed_|on_unsupported_protocol)/;
    for (let i = 0; i < lines.length; i++) {
      if (!important.test(lines[i])) continue;
      let j = i - 1;
      while (j >= 0 && lines[j] && !lines[j].startsWith('#')) j--;
      assert.ok(j >= 0 && lines[j].startsWith('#'), `no comment above: ${lines[i]}`);
    }
  });

  test('the allowlist file holds the entries, and the production config parses in Squid 5 without errors', () => {
    const dir = tmpDir('proxy-parse');
    try {
      const ca = createLabCa({ dir: path.join(dir, 'pki'), permittedNames: production().allowedDomains });
      const cfg = validateProxyConfig(production({ paths: paths(dir) }));
      const out = squidConfig(cfg);
      assert.equal(ca.certPath, cfg.paths.caCert);
      assert.deepEqual(out.files.map((f) => f.path), [cfg.paths.allowedDomainsFile]);
      assert.deepEqual(out.files[0].content.split('\n').filter((l) => l && !l.startsWith('#')), production().allowedDomains);
      for (const f of out.files) fs.writeFileSync(f.path, f.content);
      fs.writeFileSync(path.join(dir, 'squid.conf'), out.squidConf);
      const r = spawnSync(SQUID, ['-k', 'parse', '-f', path.join(dir, 'squid.conf')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // "HTTP requires the use of Via" is the only warning: via off is deliberate.
      const complaints = r.stderr.split('\n').filter((l) => /ERROR|WARNING|FATAL|Bungled|unrecognized/i.test(l) && !/Processing:/.test(l));
      assert.deepEqual(complaints.map((l) => l.replace(/^\S+ \S+\| /, '')), ['WARNING: HTTP requires the use of Via']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lab CA', () => {
  test('CA:TRUE pathlen:0, signing only, name-constrained to the allowlist with IP addresses excluded; the key is 0600', () => {
    const dir = tmpDir('proxy-ca');
    try {
      const ca = createLabCa({ dir, permittedNames: [MS, '.google.com'] });
      const text = execFileSync('openssl', ['x509', '-in', ca.certPath, '-noout', '-text'], { encoding: 'utf8' });
      assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
      assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
      assert.match(text, /Name Constraints: critical\s+Permitted:\s+DNS:login\.microsoftonline\.com\s+DNS:google\.com\s+Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
      assert.match(text, /ASN1 OID: prime256v1/);
      assert.equal(fs.statSync(ca.keyPath).mode & 0o777, 0o600);
      // A certificate the CA signs for a name outside the constraints does not verify.
      const leaf = (name: string) => {
        const key = path.join(dir, `${name}.key`);
        const csr = path.join(dir, `${name}.csr`);
        const crt = path.join(dir, `${name}.pem`);
        execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', csr], { stdio: 'pipe' });
        execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-days', '1', '-copy_extensions', 'copy', '-out', crt], { stdio: 'pipe' });
        return spawnSync('openssl', ['verify', '-CAfile', ca.certPath, crt], { encoding: 'utf8' });
      };
      assert.equal(leaf(MS).status, 0);
      assert.equal(leaf('mail.google.com').status, 0);
      const outside = leaf('bank.example.jp');
      assert.notEqual(outside.status, 0);
      assert.match(outside.stdout + outside.stderr, /permitted subtree violation/);
      // A second CA into the same directory is refused rather than overwriting the first.
      assert.throws(() => createLabCa({ dir }), /exists; refusing to overwrite a CA/);
      assert.equal(nameConstraintsFor(['.example-saas.jp', 'app.example-saas.jp']).split(',').filter((x) => x.startsWith('permitted')).length, 2);
      assert.throws(() => nameConstraintsFor(['10.0.0.1']), /is an IP address/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Squid (squid-openssl) on 127.0.0.1 with the generated config', () => {
  let root = '';
  let p = paths('/nonexistent');
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let squid: RunningSquid | undefined;
  let proxyPort = 0;
  let trust = '';
  const asRoot = process.getuid?.() === 0;

  /** A request through the proxy; returns its result, the new access log lines and what the origin saw. */
  async function request(o: Omit<Parameters<typeof throughProxy>[1], 'trust'>, logLines: number) {
    const before = accessLog(p.accessLog).length;
    const seenBefore = origin.seen.length;
    const result: ProxyResult = await throughProxy(proxyPort, { ...o, trust });
    const log = await newLogLines(p.accessLog, before, logLines);
    return { result, log, seen: origin.seen.slice(seenBefore) };
  }
  const port = () => origin.port;
  const one = (seen: Seen[]) => {
    assert.equal(seen.length, 1);
    return seen[0];
  };

  beforeAll(async () => {
    assert.ok(fs.existsSync(SQUID) && fs.existsSync(CERTGEN), 'squid-openssl is not installed; run scripts/system-deps.sh');
    root = tmpDir('proxy');
    p = paths(root);
    // Squid drops to the proxy user, which must reach its files in the temporary directory (mkdtemp makes it 0700).
    fs.chmodSync(root, 0o755);
    const tlsPair = publicCaAndOrigin(path.join(root, 'web-pki'), [MS, MSA, GOOGLE, SAAS, UNLISTED]);
    origin = await startOrigin(tlsPair);
    proxyPort = await freePort();
    const allowedDomains = [MS, MSA, GOOGLE, SAAS, ALIAS, WRONG_CERT];
    // The municipality's CA: the lab CA, name-constrained to the allowlist.
    trust = createLabCa({ dir: path.join(root, 'pki'), permittedNames: allowedDomains }).certPem;
    const cfg = validateProxyConfig({
      listen: { address: '127.0.0.1', port: proxyPort },
      clients: ['127.0.0.1/32'],
      allowedDomains,
      tenantRestrictions: { microsoft: { tenantId: TENANT, policyId: POLICY }, google: { allowedDomains: GOOGLE_DOMAINS } },
      // The local origin listens on a random port, which CONNECT must be allowed to reach (production: 443 only).
      tlsPorts: [443, origin.port],
      httpPorts: [],
      // The origin is on loopback, so 127.0.0.0/8 cannot be refused here; everything else of the default stays.
      refusedNets: DEFAULT_REFUSED_NETS.filter((n) => n !== '127.0.0.0/8'),
      paths: { ...p, hostsFile: `${root}/hosts`, upstreamCaFile: tlsPair.caPath },
      effectiveUser: asRoot ? 'proxy' : os.userInfo().username,
      shutdownLifetimeSeconds: 0,
    });
    const out = squidConfig(cfg);
    fs.writeFileSync(path.join(root, 'squid.conf'), out.squidConf);
    for (const f of out.files) fs.writeFileSync(f.path, f.content);
    fs.writeFileSync(`${root}/hosts`, `127.0.0.1 ${[MS, MSA, GOOGLE, SAAS, UNLISTED, WRONG_CERT].join(' ')}\n169.254.169.254 ${ALIAS}\n`);
    fs.mkdirSync(path.join(root, 'logs'));
    execFileSync(CERTGEN, ['-c', '-s', p.certDb, '-M', '4MB'], { stdio: 'pipe' });
    // The certificate database holds the minted certificates with their private key (Squid 5 reuses the CA's): owner only.
    fs.chmodSync(p.certDb, 0o700);
    if (asRoot) execFileSync('chown', ['-R', 'proxy:proxy', p.certDb, path.join(root, 'logs')]);
    squid = await startSquid(path.join(root, 'squid.conf'), proxyPort, p.accessLog);
  }, 120_000);

  afterAll(async () => {
    await squid?.stop();
    await origin?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  test('the Microsoft sign-in host receives sec-Restrict-Tenant-Access-Policy: <tenant>:<policy>, whatever the terminal sent', async () => {
    const { result, log, seen } = await request(
      { authority: `${MS}:${port()}`, path: '/ms/authorize?client_id=x&code=secret', headers: { 'sec-Restrict-Tenant-Access-Policy': '00000000-0000-0000-0000-000000000000:00000000-0000-0000-0000-000000000001', 'X-GoogApps-Allowed-Domains': 'gmail.com' } },
      2,
    );
    assert.equal(result.status, 200);
    // The certificate the terminal sees: minted for that name only, by the municipality's CA.
    assert.deepEqual(result.cert, { subject: MS, san: `DNS:${MS}`, issuer: 'three-tier lab TLS inspection CA (not for real terminals)' });
    const s = one(seen);
    assert.equal(s.host, `${MS}:${port()}`);
    assert.deepEqual(s.headers['sec-restrict-tenant-access-policy'], [`${TENANT}:${POLICY}`]);
    assert.equal(s.headers['x-googapps-allowed-domains'], undefined);
    for (const h of ['via', 'x-forwarded-for', 'forwarded']) assert.equal(s.headers[h], undefined, h);
    const get = log.find((l) => l.method === 'GET')!;
    assert.deepEqual(
      { url: get.url, host: get.host, status: get.status, sni: get.sni, tls: get.tlsDecision, tenant: get.tenantHeader, refused: get.refused, client: get.client },
      // The query string (sign-in codes) is not logged.
      { url: `https://${MS}:${port()}/ms/authorize?`, host: MS, status: '200', sni: MS, tls: 'bump', tenant: 'microsoft', refused: '-', client: '127.0.0.1' },
    );
    assert.match(get.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Number(get.bytes) > 0);
    assert.ok(log.some((l) => l.method === 'CONNECT' && l.url === `${MS}:${port()}` && l.squidStatus === 'NONE_NONE'));
  });

  test('Google sign-in receives X-GoogApps-Allowed-Domains with the Workspace domains, and not the Microsoft header', async () => {
    const { result, log, seen } = await request({ authority: `${GOOGLE}:${port()}`, path: '/signin', headers: { 'X-GoogApps-Allowed-Domains': 'gmail.com' } }, 2);
    assert.equal(result.status, 200);
    const s = one(seen);
    assert.deepEqual(s.headers['x-googapps-allowed-domains'], ['city.example.lg.jp,example.jp']);
    assert.equal(s.headers['sec-restrict-tenant-access-policy'], undefined);
    assert.equal(log.find((l) => l.method === 'GET')?.tenantHeader, 'google');
  });

  test('Microsoft consumer sign-in (login.live.com) receives restrict-msa', async () => {
    const { result, seen } = await request({ authority: `${MSA}:${port()}`, path: '/login' }, 2);
    assert.equal(result.status, 200);
    assert.deepEqual(one(seen).headers['sec-restrict-tenant-access-policy'], ['restrict-msa']);
  });

  test('an allowed service that is not a sign-in host receives neither header, even when the terminal sends them', async () => {
    const { result, log, seen } = await request(
      { authority: `${SAAS}:${port()}`, path: '/app', headers: { 'sec-Restrict-Tenant-Access-Policy': `${TENANT}:${POLICY}`, 'X-GoogApps-Allowed-Domains': 'example.jp' } },
      2,
    );
    assert.equal(result.status, 200);
    assert.equal(result.cert?.san, `DNS:${SAAS}`);
    const s = one(seen);
    assert.equal(s.headers['sec-restrict-tenant-access-policy'], undefined);
    assert.equal(s.headers['x-googapps-allowed-domains'], undefined);
    assert.equal(log.find((l) => l.method === 'GET')?.tenantHeader, '-');
  });

  test('a name not on the allowlist: the CONNECT is answered by a TCP reset before any TLS, and logged as refused', async () => {
    const { result, log, seen } = await request({ authority: `www.example.org:${port()}`, path: '/' }, 1);
    assert.deepEqual(result, { connectError: 'ECONNRESET' });
    assert.equal(seen.length, 0);
    assert.deepEqual(
      { method: log[0].method, url: log[0].url, squidStatus: log[0].squidStatus, error: log[0].error, refused: log[0].refused },
      { method: 'CONNECT', url: `www.example.org:${port()}`, squidStatus: 'TCP_DENIED', error: 'TCP_RESET', refused: 'not-on-allowlist' },
    );
  });

  test('CONNECT to IPv4 and IPv6 addresses, in any notation, is answered by a TCP reset (the origin listens on 127.0.0.1)', async () => {
    for (const host of ['127.0.0.1', '[::1]', '2130706433', '0x7f.0.0.1', '127.1']) {
      const { result, log, seen } = await request({ authority: `${host}:${port()}`, path: '/' }, 1);
      assert.deepEqual(result, { connectError: 'ECONNRESET' }, host);
      assert.equal(seen.length, 0, host);
      assert.deepEqual({ method: log[0].method, squidStatus: log[0].squidStatus, error: log[0].error, refused: log[0].refused }, { method: 'CONNECT', squidStatus: 'TCP_DENIED', error: 'TCP_RESET', refused: 'ip-address' }, host);
    }
  });

  test('an allowed name whose record points at the metadata service (169.254.169.254) is refused', async () => {
    const { result, log } = await request({ authority: `${ALIAS}:${port()}`, path: '/latest/meta-data/' }, 1);
    assert.deepEqual(result, { connectError: 'ECONNRESET' });
    assert.deepEqual({ squidStatus: log[0].squidStatus, refused: log[0].refused }, { squidStatus: 'TCP_DENIED', refused: 'refused-address' });
  });

  test('CONNECT to a port other than the TLS ports is refused', async () => {
    const { result, log } = await request({ authority: `${SAAS}:8443`, path: '/' }, 1);
    assert.deepEqual(result, { connectError: 'ECONNRESET' });
    assert.deepEqual({ squidStatus: log[0].squidStatus, refused: log[0].refused }, { squidStatus: 'TCP_DENIED', refused: 'port' });
  });

  test('inside an allowed CONNECT, a TLS SNI not on the allowlist is terminated: no certificate, no request', async () => {
    const { result, log, seen } = await request({ authority: `${SAAS}:${port()}`, sni: 'www.example.org', path: '/' }, 1);
    assert.equal(result.connectStatus, 200);
    assert.ok(result.tlsError, 'the TLS handshake must fail');
    assert.equal(result.cert, undefined);
    assert.equal(seen.length, 0);
    assert.deepEqual({ method: log[0].method, sni: log[0].sni, tls: log[0].tlsDecision }, { method: 'CONNECT', sni: 'www.example.org', tls: 'terminate' });
  });

  test('inside an allowed tunnel, a Host not on the allowlist gets 403, though the origin certificate covers it', async () => {
    const { result, log, seen } = await request({ authority: `${SAAS}:${port()}`, host: `${UNLISTED}:${port()}`, path: '/exfiltrate' }, 2);
    assert.equal(result.status, 403);
    assert.equal(seen.length, 0);
    const get = log.find((l) => l.method === 'GET')!;
    assert.deepEqual({ host: get.host, squidStatus: get.squidStatus, error: get.error, refused: get.refused }, { host: UNLISTED, squidStatus: 'TCP_DENIED', error: 'ERR_ACCESS_DENIED', refused: 'not-on-allowlist' });
  });

  test('domain fronting around the tenant header is refused both ways', async () => {
    // A sign-in request inside a tunnel opened for another host would reach Microsoft without passing the sign-in rules.
    const a = await request({ authority: `${SAAS}:${port()}`, host: `${MS}:${port()}`, path: '/front' }, 2);
    // A tunnel opened for the sign-in host must not carry requests for other hosts.
    const b = await request({ authority: `${MS}:${port()}`, host: `${SAAS}:${port()}`, path: '/front' }, 2);
    for (const { result, log, seen } of [a, b]) {
      assert.equal(result.status, 403);
      assert.equal(seen.length, 0);
      assert.equal(log.find((l) => l.method === 'GET')?.refused, 'sign-in-host-mismatch');
    }
  });

  test('an origin whose certificate is not valid for the name is refused: 503 inside TLS, nothing forwarded', async () => {
    const { result, log, seen } = await request({ authority: `${WRONG_CERT}:${port()}`, path: '/' }, 2);
    assert.equal(result.status, 503);
    assert.match(result.headers?.['x-squid-error'] ?? '', /^ERR_SECURE_CONNECT_FAIL/);
    assert.equal(seen.length, 0);
    assert.equal(log.find((l) => l.method === 'GET')?.error, 'ERR_SECURE_CONNECT_FAIL');
  });

  test('every request above has its line in the access log, and the CA signed certificates for allowed names only', () => {
    const log = accessLog(p.accessLog);
    const refused = log.filter((l) => l.squidStatus === 'TCP_DENIED');
    // 1 unlisted name + 5 address notations + metadata alias + port + 1 unlisted Host + 2 fronting
    assert.equal(refused.length, 11);
    assert.equal(log.filter((l) => l.method === 'CONNECT').length, 17);
    assert.equal(log.filter((l) => l.method === 'GET' && l.status === '200').length, 4);
    assert.equal(log.filter((l) => l.tlsDecision === 'terminate').length, 1);
    const index = fs.readFileSync(path.join(p.certDb, 'index.txt'), 'utf8');
    const minted = [...index.matchAll(/\t\/CN=([^\t\n/]+)/g)].map((m) => m[1]).sort();
    assert.deepEqual(minted, [GOOGLE, MSA, MS, SAAS, WRONG_CERT].sort());
  });
});
