import { ThreeTierConfig, ZONES } from '../../config/schema';
import { securityCloudStackName } from '../core/naming';
import { alphaPrimeMunicipalities, PROXY_AWS_SERVICES, PROXY_PACKAGE_HOSTS, proxyDnsNames } from '../security-cloud/proxy';
import type { Crossing, EnforcingResource, IntentZone } from './intent';

/**
 * Model α′ as intent data (docs/proxy.en.md, "Where the proxy sits"): for every α′ municipality,
 *
 * - A1 lgwan → security-cloud: the LGWAN terminals reach the inspecting proxy, and nothing else,
 *   through PrivateLink on the proxy port; `fqdns` is what the proxy lets them reach (its allowlist);
 * - A1 security-cloud → public-internet: the proxy's own egress, through the Transit Gateway and the
 *   firewall, only to those names;
 * - X6 security-cloud → public-internet: the proxy hosts' package source (Debian's CDN), through the
 *   firewall too, which Squid's allowlist does not contain.
 *
 * The checks read these crossings, never the model's name: ThreeTier-AP1 compares each enforcing
 * allowlist parameter and firewall rule group with the `fqdns` of the crossings that name it.
 */
export function alphaPrimeCrossings(cfg: ThreeTierConfig, stackName: (code: string, zone: (typeof ZONES)[number]) => string, hubStack: string): Crossing[] {
  const out: Crossing[] = [];
  const scAccount = cfg.securityCloud.account ?? cfg.account;
  for (const m of alphaPrimeMunicipalities(cfg)) {
    const ap = m.alphaPrime!;
    const proxy = securityCloudStackName(cfg.name, `Proxy${m.code}`);
    const lgwan = stackName(m.code, 'lgwan');
    const at = (stack: string, path: string, role: string): EnforcingResource => ({ stack, constructPath: `${stack}/${path}`, role });
    const passRules = at(hubStack, `Inspection/Proxy${m.code}`, `firewall rule group: from the proxy VPC only TLS SNI / HTTP Host on the allowlist and ${PROXY_PACKAGE_HOSTS.join(', ')}`);
    const closing = at(hubStack, 'Inspection/ProxyClosing', 'firewall rule group: drops everything else from the proxy VPCs');
    const attachment = at(proxy, 'Proxy/Attachment', 'Transit Gateway attachment of the proxy VPC (tenants route table: out only through the firewall)');
    // The lgwan endpoint exists only when lgwan is in the security cloud's account (cross-stack reference).
    const sameAccount = (m.account ?? cfg.account) === scAccount;
    out.push({
      id: 'A1',
      municipality: m.code,
      from: 'lgwan',
      to: 'security-cloud',
      mechanism: 'privatelink',
      ports: [ap.port],
      fqdns: [...ap.allowedDomains],
      description: `LGWAN terminals in ${(m.terminals.lgwan?.officeCidrs ?? []).join(', ') || '(no office segment configured)'} use the inspecting proxy (port ${ap.port}) through PrivateLink; it decrypts, adds the tenant headers and lets them reach only ${ap.allowedDomains.join(', ')}`,
      enforcedBy: [
        ...(sameAccount ? [at(lgwan, 'AlphaPrimeProxy/Endpoint/Resource', 'interface endpoint (consumer) in lgwan: the proxy port from the LGWAN terminal segments only')] : []),
        at(proxy, 'Proxy/Service/Service', 'endpoint service (provider) in the security cloud: the municipality\'s account only'),
        at(proxy, 'Proxy/Nlb/Resource', 'internal NLB on the proxy port'),
        at(proxy, 'Proxy/HostSg/Resource', 'proxy hosts: the proxy port from the NLB only'),
        at(proxy, 'Proxy/Allowlist', 'allowlist parameter: the names Squid allows (read by the hosts at boot)'),
        passRules,
        closing,
      ],
    });
    out.push({
      id: 'A1',
      municipality: m.code,
      from: 'security-cloud',
      to: 'public-internet',
      mechanism: 'tgw-firewall-nat',
      ports: [80, 443],
      fqdns: [...ap.allowedDomains],
      description: `the inspecting proxy of ${m.code} reaches only the allowlisted services, through the Transit Gateway, the Network Firewall and NAT, both directions inspected`,
      enforcedBy: [attachment, passRules, closing, at(hubStack, 'Inspection/Firewall', 'Network Firewall attached to the Transit Gateway')],
    });
    out.push({
      id: 'X6',
      municipality: m.code,
      from: 'security-cloud',
      to: 'aws-apis',
      mechanism: 'vpc-endpoint',
      ports: [443],
      services: [...PROXY_AWS_SERVICES],
      description: `the proxy hosts of ${m.code} reach SSM (Session Manager, the allowlist parameter, the CA through /aws/reference/secretsmanager) and S3 (the SSM agent package, their access logs into the log archive) through endpoints with restrictive policies`,
      enforcedBy: [
        ...['Ssm', 'Ssmmessages', 'Ec2messages'].map((e) => at(proxy, `Proxy/Vpc/${e}/Resource`, `${e.toLowerCase()} interface endpoint of the proxy VPC`)),
        at(proxy, 'Proxy/Vpc/S3/Resource', 's3 gateway endpoint of the proxy VPC'),
      ],
    });
    out.push({
      id: 'X6',
      municipality: m.code,
      from: 'security-cloud',
      to: 'public-internet',
      mechanism: 'tgw-firewall-nat',
      ports: [443],
      fqdns: [...PROXY_PACKAGE_HOSTS],
      description: `the proxy hosts of ${m.code} install and update their packages (squid-openssl, security updates) from Debian's CDN over HTTPS, through the firewall; Squid's allowlist does not contain it`,
      enforcedBy: [attachment, passRules, closing],
    });
  }
  return out;
}

/**
 * The proxy VPC of every α′ municipality as a zone of the intent: `security-cloud` of that
 * municipality, not isolated, resolving only its allowlist (proxyDnsNames: the named services,
 * the Debian CDN, the AWS service names), which the channel analysis compares with its DNS Firewall.
 */
export function alphaPrimeZones(cfg: ThreeTierConfig): IntentZone[] {
  return alphaPrimeMunicipalities(cfg).map((m) => {
    const dns = proxyDnsNames(cfg, m);
    return { municipality: m.code, zone: 'security-cloud', cidr: m.alphaPrime!.proxyCidr!, isolated: false, dns: { policy: 'allowlist', names: [...new Set([...dns.trusted, ...dns.inspected])].sort() } };
  });
}
