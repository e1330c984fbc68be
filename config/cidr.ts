/** Small IPv4 CIDR helpers used by config validation and the generators. */

export interface Cidr {
  readonly text: string;
  readonly start: number; // first address as unsigned 32-bit integer
  readonly end: number; // last address, inclusive
  readonly prefix: number;
}

export function parseIpv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/n"; returns a reason string when invalid. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m) return 'must be an IPv4 CIDR such as "10.1.0.0/20"';
  const ip = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined) return `"${m[1]}" is not an IPv4 address`;
  if (prefix > 32) return `prefix /${prefix} is larger than /32`;
  const size = 2 ** (32 - prefix);
  if (ip % size !== 0) {
    const base = formatIpv4(ip - (ip % size));
    return `host bits are set; the network address for /${prefix} is ${base}/${prefix}`;
  }
  return { text, start: ip, end: ip + size - 1, prefix };
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** True when the CIDR lies inside RFC 1918 private space. */
export function isRfc1918(c: Cidr): boolean {
  const ranges = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((r) => parseCidr(r) as Cidr);
  return ranges.some((r) => c.start >= r.start && c.end <= r.end);
}

/**
 * The smallest list of CIDRs covering exactly the same addresses as `cidrs`
 * (contained blocks dropped, adjacent aligned halves merged): lossless.
 */
export function collapseCidrs(cidrs: string[]): string[] {
  let blocks = cidrs
    .map((c) => parseCidr(c))
    .filter((c): c is Cidr => typeof c !== 'string')
    .map((c) => ({ start: c.start, prefix: c.prefix }));
  for (;;) {
    blocks.sort((a, b) => a.start - b.start || a.prefix - b.prefix);
    const out: { start: number; prefix: number }[] = [];
    let changed = false;
    for (const b of blocks) {
      const last = out[out.length - 1];
      const size = (p: number) => 2 ** (32 - p);
      if (last && b.start >= last.start && b.start + size(b.prefix) <= last.start + size(last.prefix)) {
        changed = true; // contained
        continue;
      }
      if (last && last.prefix === b.prefix && last.prefix > 0 && last.start + size(last.prefix) === b.start && last.start % size(last.prefix - 1) === 0) {
        out[out.length - 1] = { start: last.start, prefix: last.prefix - 1 }; // the two halves of one block
        changed = true;
        continue;
      }
      out.push(b);
    }
    blocks = out;
    if (!changed) break;
  }
  return blocks.map((b) => `${formatIpv4(b.start)}/${b.prefix}`);
}
