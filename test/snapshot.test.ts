import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { maskAssetHashes, synthShipped } from './helpers/synth';

/**
 * Snapshot of the pilot's templates, asset hashes masked. A change to any
 * template shows up here for review. Refresh with
 * `UPDATE_SNAPSHOTS=1 npm test` and read the diff before committing.
 */
const SNAPSHOT = path.join(__dirname, '__snapshots__', 'pilot.templates.json');

test('pilot templates match the snapshot (asset hashes masked)', () => {
  const s = synthShipped('pilot');
  const current = maskAssetHashes(Object.fromEntries([...s.templates.entries()].sort(([a], [b]) => a.localeCompare(b))));
  const text = `${JSON.stringify(current, null, 1)}\n`;
  assert.doesNotMatch(text, /[0-9a-f]{64}/, 'no unmasked asset hash remains');
  if (process.env.UPDATE_SNAPSHOTS === '1' || (!fs.existsSync(SNAPSHOT) && process.env.CI !== 'true')) {
    fs.mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
    fs.writeFileSync(SNAPSHOT, text);
  }
  assert.ok(fs.existsSync(SNAPSHOT), `snapshot ${SNAPSHOT} is missing; run UPDATE_SNAPSHOTS=1 npm test and commit it`);
  const expected = JSON.parse(fs.readFileSync(SNAPSHOT, 'utf8'));
  assert.deepEqual(current, expected, 'templates changed; if intended, run UPDATE_SNAPSHOTS=1 npm test and review the diff');
});

test('asset hashes are masked wherever they appear', () => {
  const masked = maskAssetHashes({ a: `s3://bucket/${'ab'.repeat(32)}.zip`, b: ['x'] });
  assert.deepEqual(masked, { a: 's3://bucket/<asset-hash>.zip', b: ['x'] });
});
