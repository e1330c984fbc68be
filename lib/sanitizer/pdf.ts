import { PDFArray, PDFDict, PDFDocument, PDFName, PDFObject, PDFRef, PDFStream } from 'pdf-lib';
import { Budget, checkTime, FamilyResult, Quarantine } from './types';

/**
 * PDF: removes JavaScript (document, names tree, fields, annotations),
 * OpenAction, every additional-action (AA) dictionary, Launch, GoToR, GoToE,
 * SubmitForm, ImportData, Rendition and Movie/Sound actions, embedded files
 * (names tree and FileAttachment annotations), RichMedia/Screen/Sound/Movie/3D
 * annotations and XFA forms. Every dictionary is walked, including those that
 * came out of object streams. The output holds only the objects still
 * reachable from the trailer, so removed payloads are really gone.
 */

export function isPdf(buf: Buffer): boolean {
  const head = buf.subarray(0, 1024).toString('latin1');
  return head.includes('%PDF-');
}

const N = (s: string) => PDFName.of(s);
const DANGEROUS_ACTIONS = new Set(['JavaScript', 'Launch', 'GoToR', 'GoToE', 'SubmitForm', 'ImportData', 'Rendition', 'Movie', 'Sound', 'RichMediaExecute', 'GoTo3DView']);
const DANGEROUS_ANNOTS = new Set(['FileAttachment', 'RichMedia', 'Screen', 'Sound', 'Movie', '3D']);

function nameOf(o: PDFObject | undefined): string | undefined {
  return o instanceof PDFName ? o.decodeText() : undefined;
}

export async function sanitizePdf(buf: Buffer, budget: Budget): Promise<FamilyResult> {
  const tail = buf.subarray(Math.max(0, buf.length - 4096)).toString('latin1');
  if (/\/Encrypt\b/.test(tail) || /\/Encrypt\s+\d+\s+\d+\s+R/.test(buf.toString('latin1'))) throw new Quarantine('encrypted PDF: it cannot be inspected; ask the sender for an unprotected copy');
  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(buf, { ignoreEncryption: false, updateMetadata: false, throwOnInvalidObject: true });
  } catch (e) {
    const msg = (e as Error).message;
    if (/encrypt/i.test(msg)) throw new Quarantine('encrypted PDF: it cannot be inspected; ask the sender for an unprotected copy');
    throw new Quarantine(`malformed PDF: ${msg.split('\n')[0].slice(0, 200)}`);
  }
  const ctx = doc.context;
  const removed: string[] = [];
  const deref = (o: PDFObject | undefined): PDFObject | undefined => (o instanceof PDFRef ? ctx.lookup(o) : o);
  const isDangerousAction = (o: PDFObject | undefined): string | undefined => {
    const d = deref(o);
    const dict = d instanceof PDFDict ? d : undefined;
    const s = dict && nameOf(dict.get(N('S')));
    return s && DANGEROUS_ACTIONS.has(s) ? s : undefined;
  };
  const where = (ref: PDFRef | undefined) => (ref ? `object ${ref.objectNumber} ${ref.generationNumber}` : 'a direct object');

  const visited = new Set<PDFObject>();
  const walk = (o: PDFObject | undefined, ref: PDFRef | undefined, depth: number): void => {
    if (!o || visited.has(o)) return;
    if (depth > 64) throw new Quarantine('PDF nesting deeper than 64 levels');
    visited.add(o);
    const dict = o instanceof PDFStream ? o.dict : o instanceof PDFDict ? o : undefined;
    if (dict) {
      checkTime(budget);
      for (const key of ['OpenAction', 'AA']) {
        if (dict.has(N(key))) {
          removed.push(`${key === 'AA' ? 'additional actions (AA)' : 'OpenAction'}${isDangerousAction(dict.get(N(key))) ? ` (${isDangerousAction(dict.get(N(key)))})` : ''} in ${where(ref)}`);
          dict.delete(N(key));
        }
      }
      for (const key of ['A', 'Next']) {
        const kind = isDangerousAction(dict.get(N(key)));
        if (kind) {
          removed.push(`${kind} action in ${where(ref)}`);
          dict.delete(N(key));
        }
      }
      // Any action dictionary of a dangerous kind, wherever it hangs (also where no viewer would look), is made inert.
      const s = nameOf(dict.get(N('S')));
      if (s && DANGEROUS_ACTIONS.has(s)) {
        removed.push(`${s} action dictionary in ${where(ref)}`);
        dict.delete(N('S'));
        for (const k of ['JS', 'F', 'Win', 'Mac', 'Unix', 'URL']) dict.delete(N(k));
      }
      for (const key of ['JS', 'JavaScript', 'EmbeddedFiles', 'RichMediaContent', 'RichMediaSettings']) {
        if (dict.has(N(key))) {
          removed.push(`/${key} in ${where(ref)}`);
          dict.delete(N(key));
        }
      }
      // A dangerous action name under any other key (a damaged or disguised action) goes too.
      for (const [k, v] of dict.entries()) {
        const n = nameOf(v);
        if (n && (DANGEROUS_ACTIONS.has(n) || DANGEROUS_ANNOTS.has(n) || n === 'EmbeddedFile')) {
          removed.push(`/${k.decodeText()} /${n} in ${where(ref)}`);
          dict.delete(k);
        }
      }
      // References to embedded-file streams are cut, so the streams are not written.
      for (const [k, v] of dict.entries()) {
        const t = deref(v);
        if (t instanceof PDFStream && nameOf(t.dict.get(N('Type'))) === 'EmbeddedFile') {
          removed.push(`reference to an embedded file in ${where(ref)}`);
          dict.delete(k);
        } else if (t instanceof PDFDict && (nameOf(t.get(N('Type'))) === 'Filespec' || nameOf(t.get(N('Type'))) === 'F') && t.has(N('EF'))) {
          t.delete(N('EF'));
          removed.push(`embedded file of a file specification in ${where(ref)}`);
        }
      }
      if (nameOf(dict.get(N('Type'))) === 'EmbeddedFile' || (dict.has(N('EF')) && dict !== undefined)) {
        if (dict.has(N('EF'))) {
          dict.delete(N('EF'));
          removed.push(`embedded file (EF) in ${where(ref)}`);
        }
      }
      if (dict.has(N('XFA'))) {
        removed.push(`XFA form in ${where(ref)}`);
        dict.delete(N('XFA'));
      }
      if (nameOf(dict.get(N('Type'))) === 'Catalog' && dict.has(N('Collection'))) {
        removed.push('portable collection (portfolio)');
        dict.delete(N('Collection'));
      }
      const annots = deref(dict.get(N('Annots')));
      if (annots instanceof PDFArray) {
        for (let i = annots.size() - 1; i >= 0; i--) {
          const a = deref(annots.get(i));
          const sub = a instanceof PDFDict ? nameOf(a.get(N('Subtype'))) : undefined;
          if (sub && DANGEROUS_ANNOTS.has(sub)) {
            removed.push(`${sub} annotation on ${where(ref)}`);
            annots.remove(i);
          }
        }
      }
      for (const [, v] of dict.entries()) walk(v instanceof PDFRef ? undefined : v, ref, depth + 1);
    } else if (o instanceof PDFArray) {
      for (let i = 0; i < o.size(); i++) {
        const v = o.get(i);
        if (!(v instanceof PDFRef)) walk(v, ref, depth + 1);
      }
    }
  };
  // The names dictionary of the catalog: the document JavaScript and embedded files trees.
  const catalog = deref(ctx.trailerInfo.Root as PDFObject | undefined);
  if (!(catalog instanceof PDFDict)) throw new Quarantine('malformed PDF: the trailer has no catalog');
  const names = deref(catalog.get(N('Names')));
  if (names instanceof PDFDict) {
    for (const key of ['JavaScript', 'EmbeddedFiles']) {
      if (names.has(N(key))) {
        removed.push(key === 'JavaScript' ? 'document JavaScript (names tree)' : 'embedded files (names tree)');
        names.delete(N(key));
      }
    }
  }
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) walk(obj, ref, 0);
  walk(catalog, undefined, 0);
  // Dictionaries kept in the trailer (Root, Info) are indirect; the trailer itself is rebuilt by pdf-lib.
  if (removed.length === 0) return { removed: [], type: 'pdf' };

  // Keep only what is reachable from the catalog and the info dictionary.
  const reachable = new Set<string>();
  const stack: PDFObject[] = [ctx.trailerInfo.Root, ...(ctx.trailerInfo.Info ? [ctx.trailerInfo.Info] : [])].filter(Boolean) as PDFObject[];
  while (stack.length) {
    const o = stack.pop()!;
    if (o instanceof PDFRef) {
      const k = o.toString();
      if (reachable.has(k)) continue;
      reachable.add(k);
      const t = ctx.lookup(o);
      if (t) stack.push(t);
    } else if (o instanceof PDFStream) stack.push(o.dict);
    else if (o instanceof PDFDict) for (const [, v] of o.entries()) stack.push(v);
    else if (o instanceof PDFArray) for (let i = 0; i < o.size(); i++) stack.push(o.get(i));
  }
  let dropped = 0;
  for (const [ref] of ctx.enumerateIndirectObjects()) {
    if (!reachable.has(ref.toString())) {
      ctx.delete(ref);
      dropped++;
    }
  }
  if (dropped) removed.push(`${dropped} unreachable object(s) no longer written (removed payloads)`);
  // The trailer /Size follows the highest object number still present.
  ctx.largestObjectNumber = Math.max(0, ...ctx.enumerateIndirectObjects().map(([ref]) => ref.objectNumber));
  const out = Buffer.from(await doc.save({ useObjectStreams: false, addDefaultPage: false, updateFieldAppearances: false }));
  return { removed, output: out, type: 'pdf' };
}
