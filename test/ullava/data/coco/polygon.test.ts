// test/ullava/data/coco/polygon.test.ts: polygons rasterised as pycocotools does (ullava/data/coco/polygon.ts).
// The expected strings, areas, boxes and pixel rows were produced at authoring time by pycocotools 2.0.11
// (mask.frPyObjects + merge, decode, area, toBbox) -- an independent implementation (maskApi.c) of the
// rules the file comment describes; the masks must match it bit for bit.
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { polygonToRle, polygonsToMask, segmentationToRle } from '../../../../ullava/data/coco/polygon.js';
import { decodeRle, rleArea, rleCountsToString, rleToBbox, compressRle } from '../../../../ullava/data/coco/rle.js';

interface Case { name: string; polygons: number[][]; h: number; w: number; string: string; area: number; bbox: number[]; rows?: string[] }
const PYCOCOTOOLS: Case[] = [
  {"name": "triangle", "polygons": [[1.0, 1.0, 8.0, 2.0, 4.0, 9.0]], "h": 10, "w": 12, "string": ";193M3M01M2O1NX1", "area": 27, "bbox": [1, 1, 7, 7], "rows": ["000000000000", "011110000000", "001111110000", "001111100000", "001111100000", "000111000000", "000110000000", "000110000000", "000000000000", "000000000000"]},
  {"name": "fractional square at pixel edges", "polygons": [[0.5, 0.5, 4.5, 0.5, 4.5, 3.5, 0.5, 3.5]], "h": 6, "w": 7, "string": "73300000;", "area": 12, "bbox": [1, 1, 4, 3], "rows": ["0000000", "0111100", "0111100", "0111100", "0000000", "0000000"]},
  {"name": "square on pixel centres", "polygons": [[1, 1, 4, 1, 4, 3, 1, 3]], "h": 6, "w": 7, "string": "724000a0", "area": 6, "bbox": [1, 1, 3, 2], "rows": ["0000000", "0111000", "0111000", "0000000", "0000000", "0000000"]},
  {"name": "non-convex L, partly outside", "polygons": [[-2.3, -1.2, 6.7, -1.0, 6.6, 3.2, 2.9, 3.4, 3.1, 11.8, -1.5, 12.0]], "h": 9, "w": 8, "string": "0n06UO00009", "area": 39, "bbox": [0, 0, 7, 9], "rows": ["11111110", "11111110", "11111110", "11100000", "11100000", "11100000", "11100000", "11100000", "11100000"]},
  {"name": "two polygons (union)", "polygons": [[0, 0, 3, 0, 3, 3, 0, 3], [2.2, 2.4, 7.9, 2.1, 5.5, 6.8]], "h": 8, "w": 9, "string": "0350002OO1O2NN2N8", "area": 23, "bbox": [0, 0, 8, 7], "rows": ["111000000", "111000000", "111111110", "000111100", "000011100", "000001000", "000001000", "000000000"]},
  {"name": "thin sliver", "polygons": [[0.2, 0.1, 9.7, 0.4, 9.8, 0.6]], "h": 3, "w": 11, "string": "e0120003", "area": 3, "bbox": [7, 0, 3, 1], "rows": ["00000001110", "00000000000", "00000000000"]},
  {"name": "coco-like", "polygons": [[239.97, 260.24, 222.04, 270.49, 199.84, 253.41, 213.5, 227.79, 259.62, 200.46, 274.13, 202.17, 277.55, 210.71, 249.37, 253.41, 237.41, 264.51, 242.54, 261.95, 228.87, 271.34]], "h": 300, "w": 290, "string": "ljj12X93M2N3N2M3M2N3M3M3M3N1N3M3N2O0O2N2O1N101N2N10O010O01O010O010O000YHaNc7_1\\HaNd7_1\\HaNe7_1ZHbNe7^1[HbNf7^1YHaNh7_1XHaN00f7_1ZHbNh7`1001O00001O001O00001O0O2O0O101N101N100O2O2M2O1N2N2O1N2O1N3N1N2O1N2O2M4M4K4MoY3", "area": 2760, "bbox": [200, 200, 78, 70]},];

for (const c of PYCOCOTOOLS) {
  test(`polygon "${c.name}": the same RLE string, area, box${c.rows ? ' and pixels' : ''} as pycocotools`, () => {
    const rle = segmentationToRle(c.polygons, c.h, c.w, c.name);
    assert.is(compressRle(rle).counts, c.string, 'compressed counts');
    assert.is(rleArea(rle), c.area, 'area');
    assert.equal(rleToBbox(rle), c.bbox, 'bbox');
    if (c.rows) {
      const m = decodeRle(rle);
      const rows = Array.from({ length: c.h }, (_, y) => Array.from(m.subarray(y * c.w, (y + 1) * c.w)).join(''));
      assert.equal(rows, c.rows, 'pixels');
    }
  });
}

test('pixel-centre rule, by hand: a square whose edges sit on pixel centres 1..4 x 1..3 covers 3 x 2 pixels', () => {
  // Edges at x = 1 and x = 4 pass through pixel centres: the left column (x = 1) is in, the right (x = 4) out;
  // likewise y = 1 in, y = 3 out. So pixels x 1..3, y 1..2: area 6, box [1, 1, 3, 2].
  const rle = polygonToRle([1, 1, 4, 1, 4, 3, 1, 3], 6, 7);
  assert.is(rleArea(rle), 6);
  assert.equal(rleToBbox(rle), [1, 1, 3, 2]);
  // column-major: column 0 empty (6), column 1: row 0 out, rows 1-2 in -> runs 7, 2, 4, 2, 4, 2, then the rest.
  assert.equal(rle.counts, [7, 2, 4, 2, 4, 2, 21]);
  assert.is(rleCountsToString(rle.counts), '724000a0');
});

test('a polygon entirely outside the image is an empty mask; one covering it is full', () => {
  assert.equal(polygonToRle([20, 20, 30, 20, 25, 30], 5, 5).counts, [25]);
  const full = polygonToRle([-1, -1, 10, -1, 10, 10, -1, 10], 5, 5);
  assert.is(rleArea(full), 25);
  assert.equal(rleToBbox(full), [0, 0, 5, 5]);
});

test('bad polygons are refused with the annotation named', () => {
  assert.throws(() => segmentationToRle([[1, 2, 3, 4]], 5, 5, 'instances.json: annotations[3].segmentation'),
    /instances\.json: annotations\[3\]\.segmentation\[0\]: a polygon must be .* at least 3 points/);
  assert.throws(() => segmentationToRle([[1, 2, 3, 4, 5, 'x']], 5, 5, 'ann 7'), /ann 7\[0\]: a polygon/);
  assert.throws(() => segmentationToRle([], 5, 5, 'ann 8'), /ann 8: empty segmentation/);
  assert.throws(() => segmentationToRle({ size: [4, 4], counts: [16] }, 5, 5, 'ann 9'), /ann 9: RLE size \[4,4\] is not the image's \[5, 5\]/);
});

test('polygonsToMask: the manifest\'s polygon mask as a row-major 0/1 mask', () => {
  const c = PYCOCOTOOLS[0];
  const m = polygonsToMask({ size: [c.h, c.w], polygons: c.polygons });
  assert.equal(Array.from({ length: c.h }, (_, y) => Array.from(m.subarray(y * c.w, (y + 1) * c.w)).join('')), c.rows);
});
