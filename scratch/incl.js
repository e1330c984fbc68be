const fs=require('fs');const p=JSON.parse(fs.readFileSync(process.argv[2]));
const byId=new Map(p.nodes.map(n=>[n.id,n]));const parent=new Map();
for(const n of p.nodes)for(const c of n.children||[])parent.set(c,n.id);
const selfT=new Map();for(let i=0;i<p.samples.length;i++)selfT.set(p.samples[i],(selfT.get(p.samples[i])||0)+(p.timeDeltas[i]||0));
const incl=new Map();
for(const [id,t] of selfT){const seen=new Set();let cur=id;while(cur!==undefined){const n=byId.get(cur);const cf=n.callFrame;const k=`${cf.functionName||'(anon)'} ${cf.url.replace(/.*node_modules\//,'').replace(/.*\/work\/main\//,'')}:${cf.lineNumber}`;if(!seen.has(k)){seen.add(k);incl.set(k,(incl.get(k)||0)+t);}cur=parent.get(cur);}}
const re=new RegExp(process.argv[3]||'.');
for(const [k,v] of [...incl].filter(([k])=>re.test(k)).sort((a,b)=>b[1]-a[1]).slice(0,+process.argv[4]||40))console.log((v/1000).toFixed(0).padStart(7),k);
