// test/ullava/data/coco/rle.test.ts: COCO RLE (ullava/data/coco/rle.ts). Known vectors from pycocotools 2.0.11
// (frPyObjects / merge / area / toBbox, run at authoring time), a hand-decoded mask, and round trips.
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import {
  compressRle, decodeRle, decodeRleColumnMajor, encodeMask, mergeRles, rleArea, rleCounts, rleCountsFromString,
  rleCountsToString, rleToBbox,
} from '../../../../ullava/data/coco/rle.js';
import { polygonToRle } from '../../../../ullava/data/coco/polygon.js';

test('uncompressed counts by hand: 4 x 5, column-major, 0-run first', () => {
  // counts [3, 2, 0, 4, 11]: 3 zeros, 2 ones, no zeros, 4 ones, 11 zeros. Column 0 = 0,0,0,1;
  // column 1 all 1; column 2 = 1,0,0,0 (the second 1-run spills over); the rest 0. pycocotools prints the same.
  const rle = { size: [4, 5] as [number, number], counts: [3, 2, 0, 4, 11] };
  const rows = Array.from({ length: 4 }, (_, y) => Array.from(decodeRle(rle).subarray(y * 5, y * 5 + 5)).join(''));
  assert.equal(rows, ['01100', '01000', '01000', '11000']);
  assert.equal(Array.from(decodeRleColumnMajor(rle)), [0, 0, 0, 1, 1, 1, 1, 1, 1, ...new Array(11).fill(0)]);
  // pycocotools: frPyObjects(...)['counts'] == b'3202;', area 6, toBbox [0, 0, 3, 4]
  assert.is(compressRle(rle).counts, '3202;');
  assert.is(rleArea(rle), 6);
  assert.equal(rleToBbox(rle), [0, 0, 3, 4]);
});

test('large counts (beyond 32 bits of intermediate shifts) and negative deltas: pycocotools strings', () => {
  const rle = { size: [2000, 3000] as [number, number], counts: [0, 5, 1999995, 70000, 3930000] };
  assert.is(rleCountsToString(rle.counts), '05kSQm1[[T2ehlj1');
  assert.equal(rleCountsFromString('05kSQm1[[T2ehlj1'), rle.counts);
  assert.is(rleArea(rle), 70005);
  assert.equal(rleToBbox(rle), [0, 0, 1035, 2000]);
});

test('merge (union) and intersection equal pycocotools merge', () => {
  const a = polygonToRle([0, 0, 5, 0, 5, 5, 0, 5], 8, 8), b = polygonToRle([3, 2, 7, 2, 7, 7, 3, 7], 8, 8);
  assert.is(rleCountsToString(a.counts), '0530000000h0');
  assert.is(rleCountsToString(b.counts), 'j053000006');
  const u = mergeRles([a, b]), i = mergeRles([a, b], true);
  assert.is(rleCountsToString(u.counts), '05300002N02N006');
  assert.is(rleArea(u), 39); assert.equal(rleToBbox(u), [0, 0, 7, 7]);
  assert.is(rleCountsToString(i.counts), 'j0350f0');
  assert.is(rleArea(i), 6); assert.equal(rleToBbox(i), [3, 2, 2, 3]);
  // against pixel-wise OR / AND
  const ma = decodeRle(a), mb = decodeRle(b);
  assert.equal(Array.from(decodeRle(u)), Array.from(ma, (v, k) => v | mb[k]));
  assert.equal(Array.from(decodeRle(i)), Array.from(ma, (v, k) => v & mb[k]));
  assert.throws(() => mergeRles([a, { size: [8, 9], counts: [72] }], false, 'ann 4'), /ann 4\[1\]: size \[8,9\] differs/);
});

test('round trips on random masks: encode -> string -> decode, area and bbox against the pixels', () => {
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let t = 0; t < 40; t++) {
    const h = 1 + Math.floor(rand() * 17), w = 1 + Math.floor(rand() * 23), p = rand();
    const mask = Uint8Array.from({ length: h * w }, () => (rand() < p ? 1 : 0));
    const rle = encodeMask(mask, h, w);
    const s = compressRle(rle);
    assert.equal(rleCountsFromString(s.counts), rle.counts, 'string round trip');
    assert.equal(Array.from(decodeRle(s)), Array.from(mask), 'mask round trip');
    let area = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (mask[y * w + x]) {
      area++; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    assert.is(rleArea(s), area, 'area');
    assert.equal(rleToBbox(s), area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0], 'bbox');
  }
});

test('wrong RLE gives a clear error naming where it came from', () => {
  assert.throws(() => rleCounts({ size: [2, 3], counts: [1, 2] }, 'refs: ann 5'), /refs: ann 5: RLE counts cover 3 pixels, the size says 2 x 3 = 6/);
  assert.throws(() => rleCounts({ size: [2, 3], counts: [4, 4] }, 'a'), /a: RLE counts cover more than 2 x 3 pixels/);
  assert.throws(() => rleCounts({ size: [2, 3], counts: [1, -1, 6] }, 'a'), /a: RLE counts\[1\] = -1 is not a non-negative integer/);
  assert.throws(() => rleCounts({ size: [2, 3], counts: '6`' }, 'b'), /b: RLE string ends inside a number/);
  assert.throws(() => rleCounts({ size: [2, 3], counts: '6 ' }, 'c'), /c: RLE string has a character " " outside "0".."o" at index 1/);
  assert.throws(() => rleCounts({ size: [2], counts: [6] } as never, 'd'), /d: RLE "size" must be \[height, width\]/);
  assert.throws(() => rleCounts({ size: [2, 3], counts: { a: 1 } } as never, 'e'), /e: RLE "counts" must be a list of run lengths or a compressed string/);
});
