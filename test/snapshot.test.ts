import { describe, expect, test } from '@jest/globals';
import { synthShipped } from './helpers/synth';

/**
 * Jest snapshots of the pilot's templates, one per stack, with CDK asset
 * hashes masked by test/jest/asset-hash-serializer.js. A change to any
 * template shows up here for review: refresh with `npx jest test/snapshot.test.ts -u`
 * and read the diff before committing. In CI (`--ci`, CI=true) a missing
 * snapshot fails instead of being written.
 */
describe('pilot templates', () => {
  const s = synthShipped('pilot');
  for (const name of [...s.templates.keys()].sort()) {
    test(`${name} matches its snapshot (asset hashes masked)`, () => {
      expect(s.templates.get(name)).toMatchSnapshot();
    });
  }
});

test('the serializer masks asset hashes wherever they appear', () => {
  expect({ a: `s3://bucket/${'ab'.repeat(32)}.zip`, b: ['x'] }).toMatchInlineSnapshot(`
{
  "a": "s3://bucket/<asset-hash>.zip",
  "b": [
    "x",
  ],
}
`);
});
