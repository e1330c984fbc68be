const fs=require('fs');const p=JSON.parse(fs.readFileSync(process.argv[2]));
const byId=new Map(p.nodes.map(n=>[n.id,n]));const parent=new Map();
for(const n of p.nodes)for(const c of n.children||[])parent.set(c,n.id);
const selfT=new Map();for(let i=0;i<p.samples.length;i++)selfT.set(p.samples[i],(selfT.get(p.samples[i])||0)+(p.timeDeltas[i]||0));
const re=new RegExp(process.argv[3]);const chains=new Map();
const name=id=>{const cf=byId.get(id).callFrame;return `${cf.functionName||'(anon)'} ${cf.url.replace(/.*node_modules\//,'').replace(/.*\/work\/main\//,'')}:${cf.lineNumber}`};
for(const [id,t] of selfT){let cur=id;const ch=[];let hit=false;while(cur!==undefined){const nm=name(cur);if(re.test(nm))hit=true;if(hit)ch.push(nm);cur=parent.get(cur);}if(hit){const k=ch.slice(0,+process.argv[4]||12).join(' < ');chains.set(k,(chains.get(k)||0)+t);}}
for(const [k,v] of [...chains].sort((a,b)=>b[1]-a[1]).slice(0,5))console.log((v/1000).toFixed(0),k,'\n');
