// Test order for a cold run (a fresh clone has no jest timing cache, and jest
// then orders by file size). The files that take longest start first, so the
// two workers finish together instead of one long file starting last; and the
// rulebooks test, which evaluates the Control Tower controls of every shipped
// config, runs before the tests that synthesize those configs again through
// the CLI, so they find its verdicts in the cache (node_modules/.cache).
// Measured cold on 2 cores (seconds, 2026-12-02): rulebooks 101-125,
// security-cloud 86-91, isolation 71-93, sanitizer-xml 35-53, screen-e2e 37-48,
// sanitizer 31-34, review 26-33, mail-crash 26-27, pickup 22-23.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');

const HEAVY = ['rulebooks', 'security-cloud', 'isolation', 'sanitizer-xml', 'screen-e2e', 'sanitizer', 'review', 'mail-crash', 'pickup', 'property', 'crossings'];

class HeavyFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (t) => {
      const i = HEAVY.indexOf(path.basename(t.path).replace(/\.test\.ts$/, ''));
      return i === -1 ? HEAVY.length : i;
    };
    // jest's own order (failed first, then by recorded duration or size) among the rest.
    const base = super.sort(tests);
    const pos = new Map(base.map((t, i) => [t, i]));
    return [...base].sort((a, b) => rank(a) - rank(b) || pos.get(a) - pos.get(b));
  }
}

module.exports = HeavyFirstSequencer;
