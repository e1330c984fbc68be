import * as fx from './test/helpers/sanitizer-fixtures';
import { sanitize } from './lib/sanitizer/engine';
import { activeContent } from './test/helpers/active-content';
(async()=>{
for (const [n, b] of [['alt.docx', fx.docxWithAltChunkRtf()], ['html.docx', fx.docxWithAltChunkHtmlMht()], ['nest.docx', fx.docxWithAltChunkDocx()], ['imports.docx', fx.docxWithImports()], ['nomacro.docm', fx.docmWithoutMacros()], ['f.xlsx', fx.xlsxWithDdeFormulas()], ['w.xml', fx.word2003Xml()]] as [string, Buffer][]) {
  const o = await sanitize(b, n);
  console.log(n, o.record.verdict, o.record.output?.name, o.record.reason ?? '', '\n  in:', activeContent(b, n).length, '\n  ', o.record.removed.join('\n   '), '\n  OUT DETECTOR:', o.output ? activeContent(o.output, o.record.output!.name) : '');
}})();
