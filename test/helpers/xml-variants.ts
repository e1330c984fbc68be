import { SaxesParser, SaxesTagNS } from 'saxes';
import { unzipSync, zipSync } from 'fflate';

/**
 * Differential-test generator: writes an XML document again, semantically
 * unchanged for any conforming reader (and for Office), in another spelling.
 * It reads with saxes (like the independent detector, unlike the engine) and
 * writes text itself. Kinds, combinable:
 *
 * - `prefixes`: every namespace gets a new prefix, the root element's
 *   namespace becomes the default namespace (attributes keep a prefix);
 * - `charref-dec` / `charref-hex`: every character of the dangerous words
 *   (DDE, DDEAUTO, MACROBUTTON, cmd, calc, ...) as a character reference,
 *   in text and in attribute values;
 * - `cdata`: text in CDATA sections;
 * - `single-quotes` / `double-quotes`: attribute quoting;
 * - `reorder`: attributes (namespace declarations included) in reverse order;
 * - `whitespace`: spaces and newlines inside tags and around `=`;
 * - `comments`: comments after every start tag and before every end tag
 *   (so text is split into several text nodes);
 * - `split-runs`: Word field instructions split across runs, one run per
 *   few characters; `split-chars`: one run per character.
 */

export const VARIANT_KINDS = ['prefixes', 'charref-dec', 'charref-hex', 'cdata', 'single-quotes', 'double-quotes', 'reorder', 'whitespace', 'comments', 'split-runs', 'split-chars'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

const W_NS = new Set(['http://schemas.openxmlformats.org/wordprocessingml/2006/main', 'http://schemas.microsoft.com/office/word/2003/wordml', 'http://purl.oclc.org/ooxml/wordprocessingml/main']);
const MC_NS = 'http://schemas.openxmlformats.org/markup-compatibility/2006';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const DANGEROUS = /DDEAUTO|DDE|MACROBUTTON|INCLUDETEXT|INCLUDEPICTURE|cmd|calc|powershell|ddeService|ddeTopic/gi;

const escText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string, q: string) => escText(s).replace(q === '"' ? /"/g : /'/g, q === '"' ? '&quot;' : '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');

function charRefs(s: string, hex: boolean, escape: (x: string) => string): string {
  let out = '';
  let last = 0;
  for (const m of s.matchAll(DANGEROUS)) {
    out += escape(s.slice(last, m.index));
    out += [...m[0]].map((c) => (hex ? `&#x${c.codePointAt(0)!.toString(16)};` : `&#${c.codePointAt(0)};`)).join('');
    last = m.index! + m[0].length;
  }
  return out + escape(s.slice(last));
}

/** One XML document in another spelling. */
export function xmlVariant(xml: string, kinds: ReadonlySet<VariantKind>): string {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const out: string[] = [];
  const q = kinds.has('single-quotes') ? "'" : '"';
  const ws = (n = 1) => (kinds.has('whitespace') ? ['\n  ', ' \t', '\r\n'][n % 3] : '');
  // New prefixes: one per namespace URI, in order of appearance; the root's namespace is the default too.
  const prefixOf = new Map<string, string>();
  let defaultNs: string | undefined;
  let root = true;
  const scopes: Record<string, string>[] = [];
  const stack: { tag: SaxesTagNS; qname: string }[] = [];
  let instr: { runQName: string; runStart: string; instrQName: string; instrStart: string } | undefined;
  const newPrefix = (uri: string) => {
    if (uri === XML_NS) return 'xml';
    let p = prefixOf.get(uri);
    if (!p) {
      p = `ns${prefixOf.size}`;
      prefixOf.set(uri, p);
    }
    return p;
  };
  const elName = (t: SaxesTagNS) => {
    if (!kinds.has('prefixes')) return t.name;
    if (t.uri && t.uri === defaultNs) return t.local;
    return t.uri ? `${newPrefix(t.uri)}:${t.local}` : t.local;
  };
  const attrText = (v: string) => (kinds.has('charref-dec') || kinds.has('charref-hex') ? charRefs(v, kinds.has('charref-hex'), (x) => escAttr(x, q)) : escAttr(v, q));
  const text = (s: string) => {
    if (!s) return '';
    const refs = kinds.has('charref-dec') || kinds.has('charref-hex');
    if (kinds.has('cdata') && s.trim() && !refs) return `<![CDATA[${s.split(']]>').join(']]]]><![CDATA[>')}]]>`;
    if (kinds.has('cdata') && s.trim()) {
      // CDATA and character references together: references outside, plain parts in CDATA.
      return charRefs(s, kinds.has('charref-hex'), (x) => (x ? `<![CDATA[${x.split(']]>').join(']]]]><![CDATA[>')}]]>` : ''));
    }
    return refs ? charRefs(s, kinds.has('charref-hex'), escText) : escText(s);
  };
  parser.on('xmldecl', (d) => out.push(`<?xml version="${d.version ?? '1.0'}"${d.encoding ? ` encoding="${d.encoding}"` : ''}${d.standalone ? ` standalone="${d.standalone}"` : ''}?>${kinds.has('whitespace') ? '\n' : ''}`));
  parser.on('processinginstruction', (pi) => out.push(`<?${pi.target}${pi.body ? ` ${pi.body}` : ''}?>`));
  parser.on('comment', (c) => out.push(`<!--${c}-->`));
  parser.on('opentag', (t) => {
    scopes.push({ ...(scopes[scopes.length - 1] ?? {}), ...t.ns });
    const attrs: string[] = [];
    if (kinds.has('prefixes') && root) {
      defaultNs = t.uri || undefined;
      // Declare every namespace of the document on the root (collected in a first pass).
      for (const uri of allNamespaces) attrs.push(`xmlns:${newPrefix(uri)}=${q}${escAttr(uri, q)}${q}`);
      if (defaultNs) attrs.push(`xmlns=${q}${escAttr(defaultNs, q)}${q}`);
    }
    if (kinds.has('prefixes') && !root && !t.uri && defaultNs) attrs.push(`xmlns=${q}${q}`);
    for (const a of Object.values(t.attributes)) {
      if (kinds.has('prefixes') && (a.prefix === 'xmlns' || a.name === 'xmlns')) continue;
      let name = a.name;
      if (kinds.has('prefixes')) name = a.uri ? `${newPrefix(a.uri)}:${a.local}` : a.local;
      let value = a.value;
      if (kinds.has('prefixes') && a.uri === MC_NS && /^(Ignorable|ProcessContent|MustUnderstand|PreserveElements|PreserveAttributes)$/.test(a.local)) {
        const scope = scopes[scopes.length - 1];
        value = value
          .split(/\s+/)
          .filter(Boolean)
          .map((tok) => {
            const [p, rest] = tok.includes(':') ? tok.split(':') : [tok, undefined];
            const uri = scope[p];
            return uri ? `${newPrefix(uri)}${rest !== undefined ? `:${rest}` : ''}` : tok;
          })
          .join(' ');
      }
      attrs.push(`${name}${kinds.has('whitespace') ? ' = ' : '='}${q}${attrText(value)}${q}`);
    }
    if (kinds.has('reorder')) attrs.reverse();
    const qname = elName(t);
    const start = `<${qname}${attrs.map((a, i) => ` ${ws(i)}${a}`).join('')}${ws(2)}`;
    root = false;
    const parent = stack[stack.length - 1];
    stack.push({ tag: t, qname });
    if (W_NS.has(t.uri) && (t.local === 'instrText' || t.local === 'delInstrText') && parent && W_NS.has(parent.tag.uri) && parent.tag.local === 'r') {
      const instrStart = `${start.replace(/\s*$/, '')}${t.attributes['xml:space'] ? '' : ' xml:space="preserve"'}>`;
      instr = { runQName: parent.qname, runStart: runStarts.get(parent.tag)!, instrQName: qname, instrStart };
    }
    if (t.isSelfClosing) {
      out.push(`${start}/>`);
    } else {
      const s = `${start}>`;
      runStarts.set(t, s);
      out.push(s);
      if (kinds.has('comments')) out.push('<!-- variant -->');
    }
  });
  const runStarts = new Map<SaxesTagNS, string>();
  const onText = (s: string) => {
    if (!stack.length) return; // whitespace outside the root
    if (instr && (kinds.has('split-runs') || kinds.has('split-chars'))) {
      const size = kinds.has('split-chars') ? 1 : 3;
      const pieces: string[] = [];
      for (let i = 0; i < s.length; i += size) pieces.push(s.slice(i, i + size));
      const sep = `</${instr.instrQName}></${instr.runQName}>${instr.runStart}${instr.instrStart}`;
      out.push(pieces.map(text).join(sep));
      return;
    }
    out.push(text(s));
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', (t) => {
    const top = stack.pop()!;
    scopes.pop();
    if (W_NS.has(t.uri) && (t.local === 'instrText' || t.local === 'delInstrText')) instr = undefined;
    if (t.isSelfClosing) return;
    if (kinds.has('comments')) out.push('<!-- variant -->');
    out.push(`</${top.qname}${kinds.has('whitespace') ? ' ' : ''}>`);
  });
  // First pass: every namespace URI used or declared.
  const allNamespaces = new Set<string>();
  if (kinds.has('prefixes')) {
    const first = new SaxesParser({ xmlns: true, position: false });
    first.on('opentag', (t) => {
      if (t.uri) allNamespaces.add(t.uri);
      for (const a of Object.values(t.attributes)) if (a.uri && a.uri !== 'http://www.w3.org/2000/xmlns/' && a.uri !== XML_NS) allNamespaces.add(a.uri);
      for (const uri of Object.values(t.ns)) if (uri) allNamespaces.add(uri);
    });
    first.write(xml).close();
  }
  parser.write(xml).close();
  return out.join('');
}

const isXmlPart = (name: string) => /\.(xml|rels|vml)$/i.test(name) || name === '[Content_Types].xml';

/** The same variant applied to every XML part of a zip package (or to a flat XML file). */
export function fileVariant(buf: Buffer, name: string, kinds: ReadonlySet<VariantKind>): Buffer {
  if (buf.readUInt32LE(0) === 0x04034b50) {
    const files = unzipSync(new Uint8Array(buf));
    const out: Record<string, Uint8Array> = {};
    for (const [n, b] of Object.entries(files)) out[n] = isXmlPart(n) ? new Uint8Array(Buffer.from(xmlVariant(Buffer.from(b).toString('utf8').replace(/^\ufeff/, ''), kinds), 'utf8')) : b;
    return Buffer.from(zipSync(out));
  }
  if (/\.xml$/i.test(name)) return Buffer.from(xmlVariant(buf.toString('utf8').replace(/^\ufeff/, ''), kinds), 'utf8');
  throw new Error(`not an XML-carrying sample: ${name}`);
}

/** A deterministic stream of kind sets: each kind alone first, then random combinations. */
export function* variantPlan(count: number, seed = 0x5eed): Generator<ReadonlySet<VariantKind>> {
  let state = seed >>> 0;
  const rnd = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < count; i++) {
    if (i < VARIANT_KINDS.length) {
      yield new Set([VARIANT_KINDS[i]]);
      continue;
    }
    const set = new Set<VariantKind>();
    for (const k of VARIANT_KINDS) if (rnd() < 0.35) set.add(k);
    if (set.has('single-quotes') && set.has('double-quotes')) set.delete(rnd() < 0.5 ? 'single-quotes' : 'double-quotes');
    if (set.has('split-runs') && set.has('split-chars')) set.delete('split-runs');
    if (!set.size) set.add(VARIANT_KINDS[Math.floor(rnd() * VARIANT_KINDS.length)]);
    yield set;
  }
}
