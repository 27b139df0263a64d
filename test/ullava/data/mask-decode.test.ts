// test/ullava/data/mask-decode.test.ts: every MASK form to pixels (ullava/data/mask-decode.ts, label-png.ts).
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { decodeMask } from '../../../ullava/data/mask-decode.js';
import { decodeLabelPng } from '../../../ullava/data/label-png.js';
import { encodeGrayPng, encodeRgbPng } from '../../../ullava/media/index.js';
import { labelPng, tempDir } from './helpers.js';

const W = 5, H = 3;
const LABELS = Uint8Array.from([0, 0, 3, 3, 255, 1, 3, 3, 255, 255, 7, 7, 0, 3, 254]);

test('label maps: gray and palette PNGs give the ids (not the palette colours), under every row filter', () => {
  for (const palette of [false, true]) {
    for (const filter of [0, 1, 2] as const) {
      const m = decodeLabelPng(labelPng(LABELS, W, H, { palette, filter }), 'l.png');
      assert.equal([m.width, m.height, Array.from(m.labels)], [W, H, Array.from(LABELS)], `palette ${palette} filter ${filter}`);
    }
  }
  // pngjs's gray writer (adaptive filters) reads back the same.
  assert.equal(Array.from(decodeLabelPng(encodeGrayPng(LABELS, W, H), 'g.png').labels), Array.from(LABELS));
  assert.throws(() => decodeLabelPng(encodeRgbPng({ width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) }), 'rgb.png'), /rgb\.png: a label map must be a single-channel PNG .* this one is RGB/);
  assert.throws(() => decodeLabelPng(Buffer.from('GIF89a'), 'x.gif'), /x\.gif: not a PNG file/);
});

test('decodeMask: PNG, RLE (list and string), label map with ignore 255; polygons (pycocotools rasterisation)', async () => {
  const dir = await tempDir('maskdecode');
  await writeFile(join(dir, 'labels.png'), labelPng(LABELS, W, H, { palette: true }));
  const m = await decodeMask({ label_png: 'labels.png', class_id: 3 }, dir, 'x.jsonl:2');
  assert.equal(Array.from(m.data), Array.from(LABELS).map((v) => (v === 3 ? 1 : v === 255 ? 255 : 0)));
  const png = new Uint8Array(W * H); png[7] = 200;
  await writeFile(join(dir, 'm.png'), encodeGrayPng(png, W, H));
  assert.equal(Array.from((await decodeMask('m.png', dir)).data), Array.from(png).map((v) => (v ? 1 : 0)));
  // Column-major runs on 3 x 5: 4 zeros, 2 ones -> (y=1,x=1), (y=2,x=1).
  const rle = await decodeMask({ size: [H, W], counts: [4, 2, 9] }, dir);
  assert.equal([rle.width, rle.height, [...rle.data].flatMap((v, p) => (v ? [p] : []))], [W, H, [6, 11]]);
  assert.equal(Array.from((await decodeMask({ size: [H, W], counts: '429' }, dir)).data), Array.from(rle.data), 'compressed string "429" = [4, 2, 9]');
  // A polygon covering the whole 3 x 5 image (corners on the pixel edges) sets every pixel; a bad one names the line.
  assert.equal(Array.from((await decodeMask({ size: [H, W], polygons: [[0, 0, W, 0, W, H, 0, H]] }, dir)).data), new Array(W * H).fill(1));
  await assertRejects(() => decodeMask({ size: [H, W], polygons: [[0, 0, 4, 0, 4]] }, dir, 'x.jsonl:3'), /x\.jsonl:3/);
  await assertRejects(() => decodeMask({ label_png: 'labels.png', class_id: 255 }, dir, 'x.jsonl:4'), /x\.jsonl:4: "mask\.class_id" must be an integer class id in 0\.\.254/);
  await assertRejects(() => decodeMask({ label_png: 'nope.png', class_id: 1 }, dir, 'x.jsonl:5'), /x\.jsonl:5: "mask": .*nope\.png: cannot read the label map \(ENOENT\)/);
});
