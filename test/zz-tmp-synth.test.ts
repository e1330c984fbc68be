import { test } from '@jest/globals';
import { synth } from './helpers/synth';
import { check, summary } from './helpers/assembly';
test('synth', () => {
  for (const c of ['pilot']) {
    let s;
    try { s = synth(c, { rulebooks: true }); } catch (e) { console.log(c, (e as Error).message.slice(0, 3000)); continue; }
    console.log(c, JSON.stringify(summary(check(s.outdir))));
  }
}, 900000);
