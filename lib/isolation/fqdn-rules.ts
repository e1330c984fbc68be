import type { Crossing } from './intent';
import { Json, ResourceRef, asList } from './model';
import type { IsolationRule, RuleContext } from './rules';

/**
 * ThreeTier-AP1: name-restricted crossings (`fqdns` in the intent; model α′'s breakout through
 * the inspecting proxy). Data-driven: every enforcing resource a crossing with `fqdns` names is
 * compared with the union of the `fqdns` of the crossings that name it:
 *
 * - an `AWS::SSM::Parameter` (the proxy's allowlist, a JSON list read by the hosts at boot) must
 *   hold exactly those names;
 * - an `AWS::NetworkFirewall::RuleGroup` with pass rules by TLS SNI / HTTP Host must pass exactly
 *   those names (exact name, or ".domain" for the domain and the names under it) from its one
 *   source variable, and nothing that is not anchored to a name;
 * - the `AWS::NetworkFirewall::FirewallPolicy` must order those groups before every general group,
 *   followed by a group (also named by the crossings) that drops everything else from the same
 *   sources, with no pass rule before that drop other than TCP handshakes.
 */

/** One Suricata rule: header fields and options in order (keyword, value or undefined). */
export interface SuricataRule {
  readonly text: string;
  readonly action: string;
  readonly proto: string;
  readonly src: string;
  readonly srcPort: string;
  readonly direction: string;
  readonly dst: string;
  readonly dstPort: string;
  readonly options: { readonly key: string; readonly value?: string }[];
}

/** Parses Suricata rules (one per line; "#" comments and blank lines skipped). Throws on a line it cannot read. */
export function parseSuricataRules(text: string): SuricataRule[] {
  const out: SuricataRule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const open = line.indexOf('(');
    if (open < 0 || !line.endsWith(')')) throw new Error(`not a Suricata rule: ${line}`);
    const head = line.slice(0, open).trim().split(/\s+/);
    if (head.length !== 7) throw new Error(`a Suricata rule header has 7 fields (action proto src port direction dst port): ${line}`);
    const [action, proto, src, srcPort, direction, dst, dstPort] = head;
    out.push({ text: line, action, proto, src, srcPort, direction, dst, dstPort, options: parseOptions(line.slice(open + 1, -1), line) });
  }
  return out;
}

function parseOptions(body: string, line: string): { key: string; value?: string }[] {
  const out: { key: string; value?: string }[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /\s/.test(body[i])) i++;
    if (i >= body.length) break;
    let key = '';
    while (i < body.length && body[i] !== ':' && body[i] !== ';') key += body[i++];
    key = key.trim();
    if (body[i] === ';') {
      out.push({ key });
      i++;
      continue;
    }
    if (body[i] !== ':') throw new Error(`option "${key}" is not terminated by ";": ${line}`);
    i++;
    let value = '';
    let quoted = false;
    while (i < body.length) {
      const c = body[i];
      if (c === '\\' && i + 1 < body.length) {
        value += body[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') quoted = !quoted;
      else if (c === ';' && !quoted) break;
      else value += c;
      i++;
    }
    if (quoted || body[i] !== ';') throw new Error(`option "${key}" is not terminated by ";": ${line}`);
    i++;
    out.push({ key, value: value.trim() });
  }
  return out;
}

/** What a pass rule passes by name: an exact name, a ".domain" suffix, or something not anchored to a name. */
export function passedName(rule: SuricataRule): { kind: 'exact' | 'suffix'; name: string; buffer: string } | { kind: 'unanchored'; why: string } | undefined {
  const keys = rule.options.map((o) => o.key);
  const buffer = keys.find((k) => k === 'tls.sni' || k === 'http.host' || k === 'tls_sni' || k === 'http_host');
  if (!buffer) return undefined;
  const contents = rule.options.filter((o) => o.key === 'content');
  if (contents.length !== 1) return { kind: 'unanchored', why: `${contents.length} content matches on ${buffer}` };
  const at = rule.options.findIndex((o) => o.key === 'content');
  const before = keys.slice(0, at);
  const after = keys.slice(at + 1);
  const value = contents[0].value!.toLowerCase();
  const modifiers = new Set(after.filter((k) => ['startswith', 'endswith', 'nocase', 'dotprefix', 'depth', 'offset', 'within', 'distance', 'isdataat', 'fast_pattern'].includes(k)));
  for (const k of ['depth', 'offset', 'within', 'distance', 'isdataat']) if (modifiers.has(k)) return { kind: 'unanchored', why: `${k} on ${buffer}` };
  if (!modifiers.has('endswith')) return { kind: 'unanchored', why: `"${value}" is not anchored at the end of ${buffer}` };
  if (before.includes('dotprefix') || after.includes('dotprefix')) {
    if (!value.startsWith('.')) return { kind: 'unanchored', why: `dotprefix with "${value}"` };
    return { kind: 'suffix', name: value, buffer };
  }
  if (!modifiers.has('startswith')) return { kind: 'unanchored', why: `"${value}" is not anchored at the start of ${buffer} (it would also match "x${value}")` };
  return { kind: 'exact', name: value, buffer };
}

/** The crossings with `fqdns` that name this resource as an enforcer. */
function namingCrossings(ctx: RuleContext, r: ResourceRef): Crossing[] {
  return (ctx.intent?.crossings ?? []).filter((c) => c.fqdns && c.enforcedBy.some((e) => e.stack === r.stack && e.logicalId === r.logicalId));
}

function expectedNames(crossings: Crossing[]): string[] {
  return [...new Set(crossings.flatMap((c) => c.fqdns ?? []))].sort();
}

function ids(crossings: Crossing[]): string {
  return [...new Set(crossings.map((c) => `${c.id} ${c.from} → ${c.to}${c.municipality ? ` (${c.municipality})` : ''}`))].join(', ');
}

/** The Suricata rules of a rule group resource, or a problem. */
function rulesOf(r: ResourceRef): { rules: SuricataRule[]; variables: Record<string, string[]> } | { error: string } | undefined {
  const text = r.props.RuleGroup?.RulesSource?.RulesString;
  if (typeof text !== 'string') return undefined;
  const variables: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((r.props.RuleGroup?.RuleVariables?.IPSets ?? {}) as Record<string, Json>)) variables[k] = asList(v?.Definition).map(String);
  try {
    return { rules: parseSuricataRules(text), variables };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Whether a rule is a TCP handshake pass (no payload can cross it). */
function isHandshakePass(rule: SuricataRule): boolean {
  const flow = rule.options.find((o) => o.key === 'flow')?.value ?? '';
  return rule.action === 'pass' && rule.proto === 'tcp' && flow.split(',').map((s) => s.trim()).includes('not_established') && !rule.options.some((o) => o.key === 'content');
}

function checkParameter(r: ResourceRef, crossings: Crossing[]): string[] {
  const expected = expectedNames(crossings);
  let listed: unknown;
  try {
    listed = JSON.parse(String(r.resolved.Value));
  } catch {
    return [`allowlist parameter ${JSON.stringify(r.resolved.Value)} is not a JSON list of names (crossings ${ids(crossings)})`];
  }
  if (!Array.isArray(listed) || listed.some((x) => typeof x !== 'string')) return [`allowlist parameter is not a JSON list of names (crossings ${ids(crossings)})`];
  const names = listed as string[];
  const out: string[] = [];
  for (const n of names) if (!expected.includes(n)) out.push(`allowlist parameter lists "${n}", which the intent does not (crossings ${ids(crossings)} allow only ${expected.join(', ')})`);
  for (const n of expected) if (!names.includes(n)) out.push(`allowlist parameter lacks "${n}", which crossings ${ids(crossings)} list`);
  if (new Set(names).size !== names.length) out.push('allowlist parameter lists a name twice');
  return out;
}

function checkRuleGroup(r: ResourceRef, crossings: Crossing[]): string[] {
  const parsed = rulesOf(r);
  if (!parsed) return [];
  if ('error' in parsed) return [`rule group cannot be read: ${parsed.error}`];
  const byName = parsed.rules.filter((x) => x.action === 'pass' && passedName(x) !== undefined);
  if (byName.length === 0) return []; // a closing group: the policy rule checks it
  const expected = expectedNames(crossings);
  const out: string[] = [];
  const sources = new Set(byName.map((x) => x.src));
  if (sources.size !== 1 || ![...sources][0].startsWith('$') || !parsed.variables[[...sources][0].slice(1)]) {
    out.push(`pass rules by name must all come from one source variable of the group; they come from ${[...sources].join(', ')}`);
  }
  const passed = { exact: new Set<string>(), suffix: new Set<string>() };
  for (const rule of parsed.rules) {
    if (rule.action !== 'pass') continue;
    const n = passedName(rule);
    if (n === undefined) {
      if (!isHandshakePass(rule)) out.push(`pass rule not restricted to a name: ${rule.text}`);
      continue;
    }
    if (n.kind === 'unanchored') {
      out.push(`pass rule broader than a name (${n.why}): ${rule.text}`);
      continue;
    }
    passed[n.kind].add(n.name);
  }
  // Squid notation: "name" exactly; ".domain" = the domain itself (an exact rule) and every name under it (a suffix rule).
  const entries = new Set<string>();
  for (const s of passed.suffix) entries.add(s);
  for (const e of passed.exact) if (!passed.suffix.has(`.${e}`)) entries.add(e);
  for (const e of entries) if (!expected.includes(e)) out.push(`passes "${e}" from the proxy, which crossings ${ids(crossings)} do not list (they allow ${expected.join(', ')})`);
  for (const e of expected) {
    if (e.startsWith('.') ? !(passed.suffix.has(e) && passed.exact.has(e.slice(1))) : !passed.exact.has(e)) out.push(`does not pass "${e}", which crossings ${ids(crossings)} list`);
  }
  return out;
}

function checkPolicy(r: ResourceRef, ctx: RuleContext): string[] {
  const refs = asList(r.props.FirewallPolicy?.StatefulRuleGroupReferences).map((x: Json) => ({ group: ctx.model.refTo(r.stack, x?.ResourceArn), priority: Number(x?.Priority) }));
  const named = (g: ResourceRef | undefined): Crossing[] => (g ? namingCrossings(ctx, g) : []);
  const out: string[] = [];
  // Every rule group an fqdns crossing names in this stack must be in the policy.
  for (const c of (ctx.intent?.crossings ?? []).filter((x) => x.fqdns)) {
    for (const e of c.enforcedBy) {
      const g = e.stack === r.stack && e.logicalId ? ctx.model.get(e.stack, e.logicalId) : undefined;
      if (e.stack === r.stack && e.logicalId && !g) out.push(`crossing ${c.id} ${c.from} → ${c.to} (${c.municipality}) names ${e.logicalId} (${e.role}), which is not in the assembly`);
      if (g?.type === 'AWS::NetworkFirewall::RuleGroup' && !refs.some((x) => x.group === g)) out.push(`rule group ${g.logicalId} (${e.role}) of crossing ${c.id} is not in the firewall policy`);
    }
  }
  const general = refs.filter((x) => named(x.group).length === 0).map((x) => x.priority);
  const firstGeneral = general.length ? Math.min(...general) : Infinity;
  for (const p of refs) {
    const crossings = named(p.group);
    if (!p.group || crossings.length === 0) continue;
    const parsed = rulesOf(p.group);
    if (!parsed || 'error' in parsed) continue;
    const byName = parsed.rules.filter((x) => x.action === 'pass' && passedName(x) !== undefined);
    if (byName.length === 0) continue;
    if (p.priority >= firstGeneral) out.push(`rule group ${p.group.logicalId} (names of ${ids(crossings)}) has priority ${p.priority}, after a general group (${firstGeneral}): general pass rules would see the proxy's traffic first`);
    const sources = parsed.variables[byName[0].src.replace(/^\$/, '')] ?? [];
    // The closing drop: a later group named by the same crossings that drops everything from a variable covering these sources.
    const closing = refs.find((q) => {
      if (!q.group || q.priority <= p.priority || q.priority >= firstGeneral) return false;
      if (!named(q.group).some((c) => crossings.includes(c))) return false;
      const qr = rulesOf(q.group);
      if (!qr || 'error' in qr) return false;
      const dropAt = qr.rules.findIndex((x) => x.action === 'drop' && x.proto === 'ip' && x.src.startsWith('$') && sources.every((s) => (qr.variables[x.src.slice(1)] ?? []).includes(s)) && x.srcPort === 'any' && x.dst === 'any' && x.dstPort === 'any' && x.options.every((o) => ['msg', 'sid', 'rev'].includes(o.key)));
      return dropAt >= 0 && qr.rules.slice(0, dropAt).every((x) => x.action !== 'pass' || isHandshakePass(x));
    });
    if (!closing) out.push(`nothing drops the rest of the traffic from ${sources.join(', ')} after rule group ${p.group.logicalId}: a group named by ${ids(crossings)}, before the general groups, must end with "drop ip $<sources> any -> any any" and pass nothing but TCP handshakes before it`);
  }
  return out;
}

export const fqdnCrossingsEnforced: IsolationRule = {
  id: 'ThreeTier-AP1',
  info: 'A name-restricted crossing (α′ proxy) is not enforced exactly: its allowlist parameter or firewall rules differ from the intent\'s names, or the rest of its traffic is not dropped.',
  explanation:
    'Model α′ lets LGWAN terminals reach named cloud services only, through the inspecting proxy in the security cloud (docs/proxy.en.md). The intent lists those names (fqdns) on the crossings; the proxy\'s allowlist parameter must hold exactly them, the Network Firewall must pass exactly them (TLS SNI / HTTP Host, exact or ".domain") from the proxy VPC, ahead of the general rules, and drop everything else from it. An extra or broader name is a way out that nobody reviewed.',
  types: ['AWS::SSM::Parameter', 'AWS::NetworkFirewall::RuleGroup', 'AWS::NetworkFirewall::FirewallPolicy'],
  check(r, ctx) {
    if (r.type === 'AWS::NetworkFirewall::FirewallPolicy') return checkPolicy(r, ctx);
    const crossings = namingCrossings(ctx, r);
    if (crossings.length === 0) return [];
    return r.type === 'AWS::SSM::Parameter' ? checkParameter(r, crossings) : checkRuleGroup(r, crossings);
  },
};
