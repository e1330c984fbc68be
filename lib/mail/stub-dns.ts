import * as fs from 'fs';
import { DnsResolver } from './sender-auth';

/**
 * A DNS zone in a file, answering like `dns.promises.resolve` does, for the
 * local mail path (`npm run demo:mail`, the crash test) and the tests, where
 * there is no DNS: names map to record types and their answers (TXT as a list
 * of strings, each one record). A missing name is ENOTFOUND, a missing type
 * ENODATA; an answer given as {"error": "ETIMEOUT"} (or ESERVFAIL, ...) fails
 * that lookup as a temporary error would. Never used by the AWS hosts.
 */
export type Zone = Record<string, Record<string, unknown[] | { error: string }>>;

function dnsError(code: string, name: string, rrtype: string): Error {
  return Object.assign(new Error(`query${rrtype} ${code} ${name}`), { code, hostname: name });
}

export function zoneResolver(zone: Zone, onQuery?: (name: string, rrtype: string) => void): DnsResolver {
  const norm = (n: string) => n.toLowerCase().replace(/\.$/, '');
  return async (name: string, rrtype = 'A') => {
    onQuery?.(name, rrtype);
    // Read at every query, so a test can change the zone (a DNS outage that ends).
    const rec = Object.entries(zone).find(([k]) => norm(k) === norm(name))?.[1];
    if (!rec) throw dnsError('ENOTFOUND', name, rrtype);
    const answer = rec[rrtype.toUpperCase()];
    if (!answer) throw dnsError('ENODATA', name, rrtype);
    if (!Array.isArray(answer)) throw dnsError(answer.error, name, rrtype);
    // TXT answers are lists of character-strings per record, as node's resolver returns them.
    return rrtype.toUpperCase() === 'TXT' ? answer.map((r) => (Array.isArray(r) ? r : [String(r)])) : answer;
  };
}

export function zoneFileResolver(file: string): DnsResolver {
  let zone: Zone;
  try {
    zone = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not a DNS zone file (JSON {"name": {"TXT": ["..."]}}): ${(e as Error).message}`);
  }
  return zoneResolver(zone);
}
