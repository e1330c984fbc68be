import { neutraliseWordFields } from './ooxml';
import { FamilyResult, Quarantine } from './types';

/**
 * Office flat XML: Word 2003 XML (w:wordDocument), Word/Excel/PowerPoint
 * 2007+ flat OPC (pkg:package) and Excel 2003 XML (ss:Workbook). Removes OLE
 * data and VBA (w:binData *.mso, w:docSuppData, o:OLEObject), macro,
 * embedding and ActiveX parts of a flat package, external relationships other
 * than hyperlinks, DDE/DDEAUTO fields and DDE formulas.
 */

export type FlatKind = 'word2003' | 'flat-opc' | 'excel2003';

export function flatXmlKind(buf: Buffer): FlatKind | undefined {
  const head = buf.subarray(0, 4096).toString('utf8');
  if (!/^\s*(\ufeff)?<\?xml|^\s*</.test(head)) return undefined;
  if (/<pkg:package\b/.test(head)) return 'flat-opc';
  if (/<w:wordDocument\b/.test(head) || /progid="Word\.Document"/.test(head)) return 'word2003';
  if (/<(ss:)?Workbook\b[^>]*urn:schemas-microsoft-com:office:spreadsheet/.test(head) || /progid="Excel\.Sheet"/.test(head)) return 'excel2003';
  return undefined;
}

export function sanitizeFlatXml(buf: Buffer, kind: FlatKind): FamilyResult {
  if (buf.includes(0)) throw new Quarantine('binary content (NUL bytes) in an XML file');
  let xml = buf.toString('utf8');
  const removed: string[] = [];
  const before = xml;
  if (kind === 'flat-opc') {
    xml = xml.replace(/<pkg:part\b[^>]*pkg:name="([^"]*)"[^>]*>[\s\S]*?<\/pkg:part>/g, (part, name: string) => {
      const lower = name.toLowerCase();
      const why = /vbaproject|vbadata/.test(lower) ? 'VBA project' : /\/embeddings\//.test(lower) ? 'embedded object' : /\/activex\//.test(lower) ? 'ActiveX control' : /\/(macrosheets|dialogsheets)\//.test(lower) ? 'XLM macro sheet' : /\/externallinks\//.test(lower) ? 'external link' : undefined;
      if (!why) return part;
      removed.push(`${why}: ${name}`);
      return '';
    });
    xml = xml.replace(/<Relationship\b[^>]*?\/>/g, (rel) => {
      const external = /TargetMode="External"/i.test(rel);
      const type = /Type="([^"]*)"/.exec(rel)?.[1] ?? '';
      const target = /Target="([^"]*)"/.exec(rel)?.[1] ?? '';
      if (external && !/\/hyperlink$/.test(type)) {
        removed.push(`external relationship ${type.split('/').pop()} → ${target.slice(0, 100)}`);
        return '';
      }
      if (/\/(vbaProject|oleObject|package|control|activeXControlBinary)$/.test(type) || /embeddings\/|activeX\/|vbaProject/i.test(target)) return '';
      return rel;
    });
    xml = xml.replace(/<o:OLEObject\b[^>]*\/>/g, () => {
      removed.push('OLE object reference');
      return '';
    });
    xml = xml.replace(/application\/vnd\.ms-word\.document\.macroEnabled\.main\+xml/g, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml');
  }
  if (kind === 'word2003' || kind === 'flat-opc') {
    if (kind === 'word2003') {
      xml = xml.replace(/<w:binData\b[^>]*w:name="([^"]*\.mso)"[^>]*>[\s\S]*?<\/w:binData>/g, (_m, name) => {
        removed.push(`OLE/VBA data ${name}`);
        return '';
      });
      xml = xml.replace(/<w:docSuppData\b[\s\S]*?<\/w:docSuppData>/g, () => {
        removed.push('VBA project (w:docSuppData)');
        return '';
      });
      xml = xml.replace(/<o:OLEObject\b[^>]*\/>|<o:OLEObject\b[\s\S]*?<\/o:OLEObject>/g, () => {
        removed.push('OLE object reference');
        return '';
      });
    }
    const f = neutraliseWordFields(xml);
    xml = f.xml;
    removed.push(...f.found);
  }
  if (kind === 'excel2003') {
    xml = xml.replace(/(?:\b[\w-]+:)?Formula="([^"]*)"/g, (attr, f: string) => {
      const decoded = f.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&').replace(/"[^"]*"/g, '""');
      // Any pipe (DDE: app|topic!item) or a call into code; formulas with a pipe are rare enough to drop whole.
      if (!f.includes('|') && !/^=\s*(DDE|CALL|EXEC|REGISTER)\s*\(/i.test(decoded)) return attr;
      removed.push(`DDE formula ${f.slice(0, 60)}`);
      return '';
    });
  }
  // Defence in depth: a part or element the patterns above could not take out whole (malformed XML) quarantines the file.
  const left =
    /pkg:name="[^"]*(vbaProject|\/embeddings\/|\/activeX\/|\/macrosheets\/)/i.exec(xml)?.[1] ??
    /<w:binData\b[^>]*\.mso"/.exec(xml)?.[0] ??
    /<o:OLEObject\b/.exec(xml)?.[0] ??
    /<w:docSuppData\b/.exec(xml)?.[0] ??
    (kind === 'excel2003' ? /Formula="[^"]*\|/.exec(xml)?.[0] : undefined);
  if (left) throw new Quarantine(`malformed Office XML: active content (${left}) could not be removed cleanly`);
  if (xml === before) return { removed: [], type: `xml/${kind}` };
  return { removed, output: Buffer.from(xml, 'utf8'), type: `xml/${kind}` };
}
