// COCO uncompressed RLE (serve/rle.ts) on hand-computed masks: column-major runs, the first counting zeros.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { encodeUncompressedRle } from '../../../ullava/serve/rle.js';

test('RLE: a 3 x 2 mask, by hand', () => {
  // Row-major, width 3, height 2:   0 1 1
  //                                 0 0 1   -> columns: (0,0) (1,0) (1,1) -> 0 0 1 0 1 1 -> runs 2, 1, 1, 2
  assert.equal(encodeUncompressedRle([0, 1, 1, 0, 0, 1], 3, 2), { size: [2, 3], counts: [2, 1, 1, 2] });
});

test('RLE: a mask whose first pixel is inside starts with a zero-length run; empty and full masks', () => {
  assert.equal(encodeUncompressedRle([1, 0, 0, 0], 2, 2).counts, [0, 1, 3]);
  assert.equal(encodeUncompressedRle([0, 0, 0, 0], 2, 2).counts, [4]);
  assert.equal(encodeUncompressedRle([1, 1, 1, 1], 2, 2).counts, [0, 4]);
  assert.throws(() => encodeUncompressedRle([1, 1], 2, 2), /2 values for 2 x 2/);
});
