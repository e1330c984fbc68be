import { createHash } from 'node:crypto';
import { Cidr, formatIpv4, parseCidr, parseIpv4 } from '../../config/cidr';
import type { Municipality, ThreeTierConfig } from '../../config/schema';

/**
 * Template shapes (issue #17, first part): a municipality's zone template with
 * every municipality-specific value turned into a CloudFormation parameter.
 *
 * How a shape is made, and why it fails closed:
 * - The values of a municipality are named: its code, names, every address,
 *   CIDR, domain and e-mail address in its config (named by their config
 *   path, so list entries become numbered slots), and every address or CIDR
 *   in its templates that lies inside one of its zone CIDRs (named by zone,
 *   offset and mask: the subnet plan allocates the same offsets in every
 *   municipality whose zone CIDRs have the same size).
 * - `generalize` replaces each value where it stands as a whole token in a
 *   string (not inside a longer name or number) by `${Parameter}` in an
 *   `Fn::Sub`, and declares the parameter. Keys of objects must not hold a
 *   value (a shape cannot parameterize them): that is an error, not a guess.
 * - Two municipalities share a shape when their generalized templates are
 *   byte-identical. Nothing trusts a config-derived key: a municipality whose
 *   template differs in any way that is not one of its named values gets a
 *   shape of its own.
 * - `instantiate` puts a municipality's values back. Tests check that this
 *   gives exactly the template a direct synth of that municipality gives.
 */

export interface NamedValue {
  readonly name: string;
  readonly value: string;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Template = { [k: string]: Json };

/** Where a shape keeps what CloudFormation cannot take as a parameter (the template description). */
export const SHAPE_METADATA = 'ThreeTier::Shape';

const IPV4 = String.raw`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:/\d{1,2})?`;
const DOMAIN_LIKE = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const EMAIL_LIKE = /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i;

function pascalPath(parts: (string | number)[]): string {
  return parts
    .map((p) => String(p))
    .map((p) => p.replace(/[^A-Za-z0-9]+/g, ' ').trim().split(' ').filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(''))
    .join('');
}

function isAddressLike(v: string): boolean {
  return new RegExp(`^${IPV4}$`).test(v) && (parseIpv4(v.split('/')[0]) !== undefined);
}

/** The municipality's own values from its config: code, names, addresses, CIDRs, domains and e-mail addresses. */
export function configValues(m: Municipality): NamedValue[] {
  const out: NamedValue[] = [{ name: 'Code', value: m.code }, { name: 'Name', value: m.name }];
  if (m.nameEn) out.push({ name: 'NameEn', value: m.nameEn });
  const walk = (v: unknown, p: (string | number)[]) => {
    if (typeof v === 'string') {
      if (p.length === 1 && ['code', 'name', 'nameEn'].includes(String(p[0]))) return;
      if (isAddressLike(v) || DOMAIN_LIKE.test(v) || EMAIL_LIKE.test(v)) out.push({ name: pascalPath(p), value: v });
      // A single address usually stands in a template as a /32: that CIDR is a value of its own, so a file can widen it.
      if (isAddressLike(v) && !v.includes('/')) out.push({ name: `${pascalPath(p)}Cidr`, value: `${v}/32` });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(m, []);
  return out;
}

function strings(j: Json, out: Set<string>): void {
  if (typeof j === 'string') out.add(j);
  else if (Array.isArray(j)) for (const x of j) strings(x, out);
  else if (j && typeof j === 'object') for (const [k, x] of Object.entries(j)) {
    out.add(k);
    strings(x, out);
  }
}

/**
 * Addresses and CIDRs in the templates that lie inside one of the
 * municipality's zone CIDRs and are not config values: the subnets the plan
 * derives. Named by zone, offset from the zone's first address, and mask.
 */
export function derivedValues(m: Municipality, templates: Template[], known: NamedValue[]): NamedValue[] {
  const zones = Object.entries(m.cidrs).map(([zone, text]) => ({ zone, cidr: parseCidr(text) as Cidr }));
  const taken = new Set(known.map((k) => k.value));
  const seen = new Set<string>();
  const all = new Set<string>();
  for (const t of templates) strings(t, all);
  const re = new RegExp(`(?<![A-Za-z0-9.])${IPV4}(?![0-9])`, 'g');
  const out: NamedValue[] = [];
  for (const s of all) {
    for (const hit of s.match(re) ?? []) {
      if (taken.has(hit) || seen.has(hit)) continue;
      const [ip, mask] = hit.split('/');
      const n = parseIpv4(ip);
      if (n === undefined) continue;
      const z = zones.find((x) => n >= x.cidr.start && n <= x.cidr.end);
      if (!z) continue;
      seen.add(hit);
      out.push({ name: `${pascalPath([z.zone])}Plus${n - z.cidr.start}${mask ? `Mask${mask}` : ''}`, value: hit });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The value of a derived name for another municipality: the same offset and mask in its own zone CIDR. */
export function derivedValueFor(m: Municipality, name: string): string | undefined {
  const r = /^([A-Z][a-z]+)Plus(\d+)(?:Mask(\d+))?$/.exec(name);
  if (!r) return undefined;
  const text = (m.cidrs as Record<string, string>)[r[1].toLowerCase()];
  if (!text) return undefined;
  const c = parseCidr(text) as Cidr;
  const n = c.start + Number(r[2]);
  if (n > c.end) return undefined;
  return `${formatIpv4(n)}${r[3] ? `/${r[3]}` : ''}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One regular expression for all values, longest first, whole tokens only. */
function matcher(values: NamedValue[]): { re: RegExp; byValue: Map<string, string> } | undefined {
  const byValue = new Map<string, string>();
  for (const v of values) if (v.value && !byValue.has(v.value)) byValue.set(v.value, v.name);
  if (byValue.size === 0) return undefined;
  const alts = [...byValue.keys()].sort((a, b) => b.length - a.length).map(escapeRe);
  return { re: new RegExp(`(?<![A-Za-z0-9.])(?:${alts.join('|')})(?![A-Za-z0-9])`, 'g'), byValue };
}

export class ShapeError extends Error {}

/**
 * Turns a municipality's template into its shape: every value becomes a
 * `${Parameter}` of an `Fn::Sub`. Returns the shape and the parameters it uses.
 */
export function generalize(template: Template, values: NamedValue[]): { shape: Template; parameters: string[] } {
  const m = matcher(values);
  const used = new Set<string>();
  const sub = (s: string, escapeExisting: boolean): string | undefined => {
    if (!m) return undefined;
    let hit = false;
    m.re.lastIndex = 0;
    const base = escapeExisting ? s.replace(/\$\{/g, '${!') : s;
    const out = base.replace(m.re, (v) => {
      hit = true;
      const name = m.byValue.get(v)!;
      used.add(name);
      return `\${${name}}`;
    });
    return hit ? out : undefined;
  };
  const checkKey = (k: string, where: string) => {
    if (m && (m.re.lastIndex = 0, m.re.test(k))) throw new ShapeError(`${where}: the key ${JSON.stringify(k)} holds a municipality value; a shape cannot parameterize keys`);
  };
  const walk = (j: Json, where: string): Json => {
    if (typeof j === 'string') {
      const s = sub(j, true);
      return s === undefined ? j : { 'Fn::Sub': s };
    }
    if (Array.isArray(j)) return j.map((x, i) => walk(x, `${where}/${i}`));
    if (j && typeof j === 'object') {
      const keys = Object.keys(j);
      if (keys.length === 1 && keys[0] === 'Fn::Sub') {
        const v = j['Fn::Sub'];
        if (typeof v === 'string') return { 'Fn::Sub': sub(v, false) ?? v };
        if (Array.isArray(v) && typeof v[0] === 'string') return { 'Fn::Sub': [sub(v[0], false) ?? v[0], walk(v[1], `${where}/Fn::Sub/1`)] };
      }
      const out: { [k: string]: Json } = {};
      for (const k of keys) {
        checkKey(k, where);
        out[k] = walk(j[k], `${where}/${k}`);
      }
      return out;
    }
    return j;
  };
  const shape: Template = {};
  const textOnly: Record<string, string> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k === 'Description' && typeof v === 'string') {
      const s = sub(v, false);
      if (s !== undefined) textOnly.description = s;
      shape.Description = s === undefined ? v : `${s.replace(/\$\{[A-Za-z0-9]+\}/g, '…')}`;
    } else if (k === 'Resources' && v && typeof v === 'object' && !Array.isArray(v)) {
      const res: { [k: string]: Json } = {};
      for (const [id, r] of Object.entries(v)) {
        checkKey(id, 'Resources');
        const { Metadata, ...rest } = r as { [k: string]: Json };
        const g = walk(rest, `Resources/${id}`) as { [k: string]: Json };
        // Metadata is not evaluated by CloudFormation: its text keeps placeholders, put back on instantiation.
        if (Metadata !== undefined) {
          const meta = JSON.stringify(Metadata);
          const s = sub(meta, false);
          g.Metadata = s === undefined ? Metadata : { [SHAPE_METADATA]: s };
        }
        res[id] = g;
      }
      shape.Resources = res;
    } else if (k === 'Parameters' || k === 'Rules' || k === 'Conditions' || k === 'Mappings') {
      const s = sub(JSON.stringify(v), false);
      if (s !== undefined) throw new ShapeError(`${k}: holds a municipality value; a shape cannot parameterize it`);
      shape[k] = v;
    } else {
      shape[k] = walk(v, k);
    }
  }
  const parameters = [...used].sort();
  if (parameters.length) {
    const declared = { ...((shape.Parameters ?? {}) as { [k: string]: Json }) };
    for (const p of parameters) {
      if (declared[p]) throw new ShapeError(`parameter ${p} is already declared by the template`);
      declared[p] = { Type: 'String', Description: `municipality value ${p}` };
    }
    shape.Parameters = declared;
  }
  if (Object.keys(textOnly).length) shape.Metadata = { ...((shape.Metadata as object) ?? {}), [SHAPE_METADATA]: textOnly };
  return { shape, parameters };
}

/** Puts a municipality's values into a shape: the template a direct synth of that municipality gives. */
export function instantiate(shape: Template, values: Record<string, string>): Template {
  const fill = (s: string, where: string): string =>
    s.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) => {
      if (!(name in values)) {
        if (/^AWS/.test(name) || !(shape.Parameters as Record<string, unknown> | undefined)?.[name]) return whole;
        throw new ShapeError(`${where}: no value for parameter ${name}`);
      }
      // CloudFormation puts a parameter's value in literally: a "${...}" inside the value is not substituted again.
      return values[name].replace(/\$\{/g, '${!');
    });
  const walk = (j: Json, where: string): Json => {
    if (Array.isArray(j)) return j.map((x, i) => walk(x, `${where}/${i}`));
    if (j && typeof j === 'object') {
      const keys = Object.keys(j);
      if (keys.length === 1 && keys[0] === 'Fn::Sub') {
        const v = j['Fn::Sub'];
        if (typeof v === 'string') {
          const s = fill(v, where);
          // A string the shape made into Fn::Sub becomes a plain string again once nothing is left to substitute.
          return /\$\{(?!!)/.test(s) ? { 'Fn::Sub': s } : s.replace(/\$\{!/g, '${');
        }
        if (Array.isArray(v) && typeof v[0] === 'string') return { 'Fn::Sub': [fill(v[0], where), walk(v[1], where)] };
      }
      const out: { [k: string]: Json } = {};
      for (const k of keys) out[k] = walk(j[k], `${where}/${k}`);
      return out;
    }
    return j;
  };
  const out: Template = {};
  const meta = (shape.Metadata as { [k: string]: Json } | undefined)?.[SHAPE_METADATA] as { description?: string } | undefined;
  for (const [k, v] of Object.entries(shape)) {
    if (k === 'Parameters') {
      const rest = Object.fromEntries(Object.entries(v as object).filter(([p]) => !(p in values)));
      if (Object.keys(rest).length) out.Parameters = rest as Json;
    } else if (k === 'Metadata') {
      const rest = Object.fromEntries(Object.entries(v as object).filter(([p]) => p !== SHAPE_METADATA));
      if (Object.keys(rest).length) out.Metadata = rest as Json;
    } else if (k === 'Description') {
      out.Description = meta?.description ? fill(meta.description, 'Description') : v;
    } else if (k === 'Resources') {
      const res: { [k: string]: Json } = {};
      for (const [id, r] of Object.entries(v as object)) {
        const { Metadata, ...rest } = r as { [k: string]: Json };
        const g = walk(rest, `Resources/${id}`) as { [k: string]: Json };
        if (Metadata !== undefined) {
          const packed = (Metadata as { [k: string]: Json })[SHAPE_METADATA];
          g.Metadata = typeof packed === 'string' ? JSON.parse(fill(packed, `Resources/${id}/Metadata`)) : Metadata;
        }
        res[id] = g;
      }
      out.Resources = res;
    } else out[k] = walk(v, k);
  }
  return out;
}

function canonical(j: Json): string {
  return Array.isArray(j) ? `[${j.map(canonical).join(',')}]` : j && typeof j === 'object' ? `{${Object.keys(j).sort().map((k) => `${JSON.stringify(k)}:${canonical(j[k])}`).join(',')}}` : JSON.stringify(j);
}

/** Equal as JSON values (key order ignored). */
export function sameJson(a: Json, b: Json): boolean {
  return canonical(a) === canonical(b);
}

/** A stable digest of a shape (its canonical JSON). */
export function shapeDigest(shape: Template): string {
  return createHash('sha256').update(canonical(shape)).digest('hex').slice(0, 16);
}

/** All named values of a municipality for its templates: config values first, then derived addresses. */
export function municipalityValues(m: Municipality, templates: Template[]): NamedValue[] {
  const fromConfig = configValues(m);
  return [...fromConfig, ...derivedValues(m, templates, fromConfig)];
}

export interface ShapeMember {
  readonly code: string;
  readonly stackName: string;
  readonly parameters: Record<string, string>;
}

export interface ShapeClass {
  readonly id: string;
  readonly shape: Template;
  readonly parameters: string[];
  readonly members: ShapeMember[];
}

/**
 * Groups the zone stacks of every municipality by shape. `templatesOf` gives a
 * municipality's templates by stack name (e.g. its four zone stacks). Stacks
 * whose generalized templates are identical share one class.
 */
export function classify(cfg: ThreeTierConfig, templatesOf: (m: Municipality) => Map<string, Template>, kindOf: (stackName: string) => string): ShapeClass[] {
  const classes = new Map<string, ShapeClass>();
  for (const m of cfg.municipalities) {
    const templates = templatesOf(m);
    const values = municipalityValues(m, [...templates.values()]);
    const byName = Object.fromEntries(values.map((v) => [v.name, v.value]));
    for (const [stackName, t] of templates) {
      let { shape, parameters } = generalize(t, values);
      // Fail closed: a generalization that does not give the template back exactly is not used; the stack keeps a shape of its own.
      if (!sameJson(instantiate(shape, Object.fromEntries(values.filter((v) => parameters.includes(v.name)).map((v) => [v.name, v.value]))), t)) {
        shape = t;
        parameters = [];
      }
      const id = `${kindOf(stackName)}-${shapeDigest(shape)}`;
      let c = classes.get(id);
      if (!c) {
        c = { id, shape, parameters, members: [] };
        classes.set(id, c);
      }
      c.members.push({ code: m.code, stackName, parameters: Object.fromEntries(parameters.map((p) => [p, byName[p]])) });
    }
  }
  return [...classes.values()];
}
