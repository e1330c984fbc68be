const fs=require('fs');const f=process.argv[2];const p=JSON.parse(fs.readFileSync(f));
const self=new Map();const byId=new Map(p.nodes.map(n=>[n.id,n]));
const dt=p.timeDeltas;const counts=new Map();
for(let i=0;i<p.samples.length;i++){counts.set(p.samples[i],(counts.get(p.samples[i])||0)+(dt[i]||0));}
for(const n of p.nodes){const t=(counts.get(n.id)||0)/1000;const cf=n.callFrame;const k=`${cf.functionName||'(anon)'} ${cf.url.replace(/.*node_modules\//,'')}:${cf.lineNumber}`;self.set(k,(self.get(k)||0)+t);}
const tot=[...self.values()].reduce((a,b)=>a+b,0);
console.log('total ms',tot.toFixed(0));
for(const [k,v] of [...self].sort((a,b)=>b[1]-a[1]).slice(0,+process.argv[3]||30))console.log(v.toFixed(0).padStart(7),k);
