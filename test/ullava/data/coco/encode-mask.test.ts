// test/ullava/data/coco/encode-mask.test.ts: encodeMask (ullava/data/coco/rle.ts) on hand-computed masks:
// column-major runs, the first counting zeros (what `ullava serve` returns and the shapes world writes).
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { encodeMask } from '../../../../ullava/data/coco/rle.js';

test('encodeMask: a 3 x 2 mask, by hand', () => {
  // Row-major, width 3, height 2:   0 1 1
  //                                 0 0 1   -> columns: (0,0) (1,0) (1,1) -> 0 0 1 0 1 1 -> runs 2, 1, 1, 2
  assert.equal(encodeMask([0, 1, 1, 0, 0, 1], 2, 3), { size: [2, 3], counts: [2, 1, 1, 2] });
});

test('encodeMask: a mask whose first pixel is inside starts with a zero-length run; empty and full masks', () => {
  assert.equal(encodeMask([1, 0, 0, 0], 2, 2).counts, [0, 1, 3]);
  assert.equal(encodeMask([0, 0, 0, 0], 2, 2).counts, [4]);
  assert.equal(encodeMask([1, 1, 1, 1], 2, 2).counts, [0, 4]);
  assert.throws(() => encodeMask([1, 1], 2, 2), /2 pixels for a 2 x 2 mask/);
});
