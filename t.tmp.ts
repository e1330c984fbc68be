import * as fs from 'fs'; import * as path from 'path';
import { sanitize } from './lib/sanitizer/engine';
import { activeContent } from './test/helpers/active-content';
const root='test/fixtures/corpus'; const walk=(d:string):string[]=>fs.readdirSync(d,{withFileTypes:true}).flatMap(e=>e.isDirectory()?walk(path.join(d,e.name)):[path.join(d,e.name)]);
(async()=>{ for (const f of walk(root)) { if (/MANIFEST|LICENSE/.test(f)) continue; const b=fs.readFileSync(f); const t=Date.now(); const o=await sanitize(b,path.basename(f));
 const ac = o.output ? activeContent(o.output, o.record.output!.name) : [];
 console.log(o.record.verdict.padEnd(11), (Date.now()-t+'ms').padEnd(6), f.replace(root+'/',''), o.record.output?.name && o.record.output.name!==path.basename(f) ? '→ '+o.record.output.name : '', o.record.reason ?? '', ac.length? 'DETECTOR: '+ac.join('; '):'', process.env.V ? '\n   '+o.record.removed.join('\n   ') : '');
}})();
