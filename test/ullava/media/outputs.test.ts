import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { masksToBoxes, boxIoU, normalizeToPaddedSquare, denormalizeFromPaddedSquare, type Box } from '../../../ullava/media/boxes.js';
import { drawOverlay, writeOverlayPng, OVERLAY_COLORS } from '../../../ullava/media/overlay.js';
import { writeFileAtomic } from '../../../ullava/media/atomic-write.js';
import { writePng } from '../../../ullava/media/write-png.js';
import { loadImage } from '../../../ullava/media/load-image.js';
import { MediaError } from '../../../ullava/media/errors.js';
import { image, withTempDir } from './helpers.js';

function maskFrom(rows: string[]): Float32Array {
  return Float32Array.from(rows.join('').split(''), (c) => (c === '#' ? 1.5 : -2));
}

test('boxes: masksToBoxes is torchvision\'s [min x, min y, max x, max y] with inclusive maxima; empty -> null', () => {
  const m = maskFrom([
    '......',
    '..#...',
    '.....#',
    '...#..',
  ]);
  assert.equal(masksToBoxes(m, 6, 4), [2, 1, 5, 3]);
  assert.equal(masksToBoxes(maskFrom(['...', '.#.']), 3, 2), [1, 1, 1, 1], 'one pixel: x1 == x2');
  assert.equal(masksToBoxes(maskFrom(['###', '###']), 3, 2), [0, 0, 2, 1]);
  assert.equal(masksToBoxes(maskFrom(['...', '...']), 3, 2), null);
  assert.equal(masksToBoxes(Uint8Array.from([0, 255, 0, 0]), 2, 2), [1, 0, 1, 0], 'binary 0/255 masks too');
  assert.equal(masksToBoxes(Float32Array.from([0.2, 0.9, 0.4, 0.6]), 2, 2, { threshold: 0.5 }), [1, 0, 1, 1]);
  let threw = false;
  try { masksToBoxes(new Float32Array(5), 2, 2); } catch { threw = true; }
  assert.ok(threw, 'a size mismatch throws');
});

test('boxes: boxIoU as torchvision box_iou; padded-square normalisation as DetToolBox', () => {
  assert.equal(boxIoU([0, 0, 2, 2], [1, 1, 3, 3]), 1 / 7);
  assert.equal(boxIoU([0, 0, 2, 2], [0, 0, 2, 2]), 1);
  assert.equal(boxIoU([0, 0, 1, 1], [2, 2, 3, 3]), 0);
  assert.equal(boxIoU([0, 0, 4, 2], [2, 0, 6, 2]), 4 / 12);
  assert.equal(boxIoU([1, 1, 1, 1], [1, 1, 1, 1]), 0, 'empty union: 0 (torch gives NaN)');
  // bbox_iou's own example: [2, 3.1, 7, 5] vs [2, 4, 7, 5]: inter 5 * 1, union 5 * 1.9.
  assertClose([boxIoU([2, 3.1, 7, 5], [2, 4, 7, 5])], [1 / 1.9], { atol: 1e-12 });
  // 200 x 100 image: S = 200, pad_y = 50.
  const b: Box = [20, 10, 120, 60];
  assert.equal(normalizeToPaddedSquare(b, 200, 100), [0.1, 0.3, 0.6, 0.55]);
  // 101 x 200: pad_x = 49.5 (a float, as the reference).
  assert.equal(normalizeToPaddedSquare([0, 0, 101, 200], 101, 200), [49.5 / 200, 0, 150.5 / 200, 1]);
  assertClose(denormalizeFromPaddedSquare(normalizeToPaddedSquare(b, 200, 100), 200, 100), b, { atol: 1e-9 });
  assertClose(denormalizeFromPaddedSquare([0.3, 0.1, 0.7, 0.9], 90, 160), [48 - 35, 16, 112 - 35, 144], { atol: 1e-9 });
});

test('overlay: tinted inside masks with distinct colours, untouched elsewhere, box edges in the box colour, clipped', () => {
  const W = 10, H = 8;
  const img = image(W, H, (x, y) => [x * 20, y * 30, 100]);
  const m0 = new Float32Array(W * H).fill(-1), m1 = new Float32Array(W * H).fill(-1);
  m0[2 * W + 3] = 5; m0[2 * W + 4] = 0.1;       // two pixels of mask 0
  m1[2 * W + 4] = 1; m1[6 * W + 8] = 1;          // mask 1 overlaps mask 0 at (4, 2)
  const out = drawOverlay(img, [m0, m1], [[1, 1, 5, 4], [7, 5, 12, 20]], { alpha: 0.5, lineWidth: 1 });
  const px = (im: { data: Uint8Array }, x: number, y: number) => [...im.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)];
  const [c0, c1] = OVERLAY_COLORS;
  const mix = (p: number[], c: readonly number[]) => p.map((v, k) => Math.round(0.5 * v + 0.5 * c[k]));
  assert.equal(px(out, 3, 2), mix(px(img, 3, 2), c0), 'mask 0 tint');
  assert.equal(px(out, 4, 2), mix(mix(px(img, 4, 2), c0), c1), 'mask 1 over mask 0');
  // Box 0 [1,1,5,4], 1 px: its edges are colour 0; inside and outside untouched.
  for (const [x, y] of [[1, 1], [5, 1], [1, 4], [5, 4], [3, 1], [1, 3], [5, 2], [3, 4]]) assert.equal(px(out, x, y), [...c0], `edge ${x},${y}`);
  assert.equal(px(out, 2, 3), px(img, 2, 3), 'inside the box, outside masks');
  assert.equal(px(out, 0, 0), px(img, 0, 0), 'outside everything');
  assert.equal(px(out, 6, 2), px(img, 6, 2), 'right of the box');
  // Box 1 runs off the image: its left and top edges are drawn, the rest clipped (no wrap-around).
  assert.equal(px(out, 7, 7), [...c1]);
  assert.equal(px(out, 9, 5), [...c1]);
  assert.equal(px(out, 8, 6), mix(px(img, 8, 6), c1), 'mask 1 pixel inside box 1 stays tinted');
  assert.equal(px(out, 9, 6), px(img, 9, 6), 'inside box 1, not an edge');
  let changed = 0;
  for (let i = 0; i < img.data.length; i++) if (out.data[i] !== img.data[i]) changed++;
  assert.ok(changed > 0 && [...img.data].every((v, i) => i % 3 !== 2 || v === 100), 'input not modified');
  // 3 px lines go inward.
  const thick = drawOverlay(img, [], [[1, 1, 9, 7]], { lineWidth: 3 });
  assert.equal(px(thick, 5, 3), [...c0], '3 px: row 3 is the top edge\'s third row');
  assert.equal(px(thick, 7, 4), [...c0], '3 px: column 7 is the right edge\'s third column');
  assert.equal(px(thick, 5, 4), px(img, 5, 4), '3 px: centre untouched');
  assert.equal(px(thick, 0, 0), px(img, 0, 0), '3 px: outside untouched');
});

test('overlay: writeOverlayPng writes what drawOverlay draws', () => withTempDir(async (dir) => {
  const img = image(12, 9, (x, y) => [x * 10, 200 - y * 10, 50]);
  const m = new Float32Array(12 * 9).map((_, i) => (i % 5 === 0 ? 1 : -1));
  const p = join(dir, 'overlay.png');
  await writeOverlayPng(p, img, [m], [[0, 0, 11, 8]]);
  const back = await loadImage(p);
  assert.equal([...back.data], [...drawOverlay(img, [m], [[0, 0, 11, 8]]).data]);
}));

test('atomic write: a failure leaves the old file intact and no temporary file behind', () => withTempDir(async (dir) => {
  const p = join(dir, 'out.png');
  const good = image(4, 3, () => [9, 9, 9]);
  await writePng(p, good);
  const before = readFileSync(p);
  // A producer that fails half way (an encoder error, a full disk).
  function* failing(): Generator<Uint8Array> { yield before.subarray(0, 10); throw new Error('disk full (simulated)'); }
  const e = await assertRejects(() => writeFileAtomic(p, failing()), /out\.png: could not be written \(disk full \(simulated\)\); any previous file there is unchanged/);
  assert.ok(e instanceof MediaError && e.code === 'write-failed');
  assert.equal(readFileSync(p).equals(before), true, 'old file intact');
  assert.equal(readdirSync(dir), ['out.png'], 'no temporary file left');
  // Bad arguments throw before the disk is touched.
  await assertRejects(() => writeOverlayPng(p, good, [new Float32Array(5)]), /mask 0: mask has 5 values/);
  assert.equal(readFileSync(p).equals(before), true);
  // A target that cannot be replaced (a directory), and a missing directory.
  mkdirSync(join(dir, 'adir'));
  writeFileSync(join(dir, 'adir', 'x'), 'x');
  const d = await assertRejects(() => writePng(join(dir, 'adir'), good), /could not be written/);
  assert.equal((d as MediaError).code, 'write-failed');
  await assertRejects(() => writePng(join(dir, 'nodir', 'a.png'), good), /directory .*nodir does not exist/);
  assert.equal(readdirSync(dir).sort(), ['adir', 'out.png']);
  assert.ok(!existsSync(join(dir, 'nodir')));
}));
