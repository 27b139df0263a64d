// test/ullava/train/loader.test.ts: the loader's seeded order (ullava/train/loader.ts).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { epochOrder, sampleSeed } from '../../../ullava/train/loader.js';

test('the shuffle is a permutation fixed by (seed, epoch), different across epochs and seeds', () => {
  const a = epochOrder(50, 42, 0);
  assert.equal([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(epochOrder(50, 42, 0), a);
  assert.ok(epochOrder(50, 42, 1).join() !== a.join() && epochOrder(50, 7, 0).join() !== a.join());
});

test('each sample\'s seed is fixed by (run seed, epoch, index) and differs across each of them', () => {
  const s = sampleSeed(42, 3, 17);
  assert.is(sampleSeed(42, 3, 17), s);
  const others = [sampleSeed(43, 3, 17), sampleSeed(42, 4, 17), sampleSeed(42, 3, 18)];
  assert.ok(others.every((o) => o !== s), `${s} vs ${others}`);
});
