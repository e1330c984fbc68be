import { awsManagedRepositoryBuckets } from '../network/endpoint-policies';

/**
 * The names an isolated zone needs to resolve (its Route 53 Resolver DNS
 * Firewall allowlist), computed from what the zone reaches: the AWS service
 * names of its interface endpoints, S3 (regional, the OS repository buckets,
 * the project's buckets), its own EC2 host names, PrivateLink endpoint names,
 * and the names the config adds. Everything else is blocked (`*`, NXDOMAIN).
 * The intent and the construct use the same function, so the analyzer can
 * tell a name added to a deployed allowlist by hand.
 */

export interface ZoneDnsNeeds {
  readonly region: string;
  /** Services the zone reaches through endpoints, as in the intent's crossings (`ssm`, `s3`, `appstream.streaming`, ...). */
  readonly services: readonly string[];
  /** Whether the zone consumes a PrivateLink endpoint service (its endpoint names live under vpce.amazonaws.com). */
  readonly privateLink: boolean;
  /** Extra names from the config (already validated: no bare `*`, no TLD alone). */
  readonly extra: readonly string[];
}

/** Sorted, de-duplicated, lower-case names; wildcards only as the first label. */
export function zoneDnsNames(needs: ZoneDnsNeeds): string[] {
  const r = needs.region;
  const names = new Set<string>();
  // The zone's own hosts (EC2 private DNS) and the Amazon-provided resolver's own answers.
  names.add(`${r}.compute.internal`);
  names.add(`*.${r}.compute.internal`);
  for (const svc of needs.services) {
    if (svc === 's3') {
      names.add(`s3.${r}.amazonaws.com`);
      names.add(`s3.dualstack.${r}.amazonaws.com`);
      // S3 names answer with a CNAME to s3-r-w.<region>; the rules inspect every name of the chain.
      names.add(`s3-r-w.${r}.amazonaws.com`);
      // Amazon Linux 2 package mirrors are addressed by this host name (a CNAME into S3).
      names.add(`amazonlinux.${r}.amazonaws.com`);
      // Package managers and the SSM agent address the repository buckets virtual-hosted style.
      for (const b of awsManagedRepositoryBuckets(r)) {
        names.add(`${b}.s3.${r}.amazonaws.com`);
        names.add(`${b}.s3.dualstack.${r}.amazonaws.com`);
      }
      continue;
    }
    // com.amazonaws.<region>.<service> answers at <service>.<region>.amazonaws.com (private DNS of the endpoint).
    names.add(`${svc}.${r}.amazonaws.com`);
  }
  if (needs.privateLink) names.add(`*.vpce-svc.${r}.vpce.amazonaws.com`).add(`*.${r}.vpce.amazonaws.com`);
  for (const n of needs.extra) names.add(n.toLowerCase());
  return [...names].sort();
}

/** The virtual-hosted names of a bucket (for the project's buckets, which the intent fills after synthesis). */
export function bucketDnsNames(bucket: string, region: string): string[] {
  return [`${bucket}.s3.${region}.amazonaws.com`];
}

/**
 * Whether `name` is matched by a DNS Firewall domain list entry: exact, or
 * `*.suffix` for any subdomain of suffix, or `*` for everything.
 */
export function domainMatches(entry: string, name: string): boolean {
  const e = entry.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase().replace(/\.$/, '');
  if (e === '*') return true;
  if (e.startsWith('*.')) return n.endsWith(e.slice(1));
  return e === n;
}

/** Whether an allowlist entry lets a name the zone does not own resolve anywhere on the internet: `*` or a TLD. */
export function isOpenEntry(entry: string): boolean {
  const e = entry.trim().toLowerCase().replace(/\.$/, '');
  if (e === '*' || e === '') return true;
  const bare = e.replace(/^\*\./, '');
  return !bare.includes('.');
}

/**
 * A CloudFormation value as text, with `${AWS::AccountId}`-style placeholders
 * for references (the same for the intent and the analyzer). `resolve`, when
 * given, evaluates any other part (e.g. an `Fn::Sub` of a shape's parameters)
 * and is used when that gives a string.
 */
export function flattenResolved(v: unknown, resolve?: (part: unknown) => unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return (Array.isArray(parts) ? parts : []).map((p) => flattenResolved(p, resolve)).join(sep);
    }
    if (typeof o.Ref === 'string') return `\${${o.Ref}}`;
    const r = resolve?.(v);
    if (typeof r === 'string') return r;
  }
  return '${?}';
}
