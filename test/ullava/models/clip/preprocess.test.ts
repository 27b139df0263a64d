// CLIP preprocessing on the host: Pillow's resampling (checked on values computed by hand from the
// bicubic kernel's definition and on properties every exact resampler has), expand2square, HF's
// shortest-edge size and centre crop, and the float32 normalisation.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose } from '../../../harness/assert.js';
import {
  pillowResize, precomputeCoeffs, fixedPointCoeffs, PILLOW_FILTERS, PRECISION_BITS, type Image8, type PillowFilter,
} from '../../../../ullava/media/pillow.js';
import {
  expandToSquare, shortestEdgeSize, centerCrop, normalizeToChw, toRgb, clipResizeCrop, preprocessClip,
  preprocessClipBatch, CLIP_MEAN, CLIP_STD,
} from '../../../../ullava/models/clip/preprocess.js';
import { getDevice } from '../../../../engine/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}
function randomImage(w: number, h: number, c: number, seed: number): Image8 {
  const r = rng(seed);
  return { width: w, height: h, channels: c, data: Uint8Array.from({ length: w * h * c }, () => Math.floor(r() * 256)) };
}
const gray = (w: number, h: number, values: number[]): Image8 => ({ width: w, height: h, channels: 1, data: Uint8Array.from(values) });

/** What Pillow does with taps given as exact fractions: fixed point, integer sums, floor, clamp. */
function fixedTap(w: number): number { const one = 2 ** PRECISION_BITS; return w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one); }
function applyTaps(pixels: number[], taps: number[]): number {
  let ss = 2 ** (PRECISION_BITS - 1);
  pixels.forEach((p, i) => { ss += p * fixedTap(taps[i]); });
  return Math.min(255, Math.max(0, Math.floor(ss / 2 ** PRECISION_BITS)));
}

test('pillow: the bicubic kernel (a = -0.5) at the points the hand computations use', () => {
  const f = PILLOW_FILTERS.bicubic.fn;
  assert.equal([f(0), f(1), f(2), f(-1), f(0.25), f(0.75), f(1.25), f(-1.75)], [1, 0, 0, 0, 111 / 128, 29 / 128, -9 / 128, -3 / 128]);
});

test('pillow: bicubic 4 -> 2 downscale = taps [111, 111, 29, -9] / 242 (support stretched to 4), fixed point', () => {
  // scale 2: centres 1 and 3, the kernel evaluated at (x + 0.5 - centre) / 2.
  const c = precomputeCoeffs(4, 0, 4, 2, PILLOW_FILTERS.bicubic);
  assert.equal(c.ksize, 9);
  assert.equal([...c.start, ...c.count], [0, 0, 4, 4]);
  const taps0 = [111, 111, 29, -9].map((v) => v / 242), taps1 = [-9, 29, 111, 111].map((v) => v / 242);
  assertClose(c.weights.subarray(0, 4), taps0, { atol: 1e-15, rtol: 0 });
  assertClose(c.weights.subarray(9, 13), taps1, { atol: 1e-15, rtol: 0 });
  assert.equal([...fixedPointCoeffs(c.weights).subarray(0, 4)], [1923834, 1923834, 502623, -155987]);
  const row = [0, 100, 200, 250];
  const out = pillowResize(gray(4, 1, row), 2, 1);
  // (100 * 111 + 200 * 29 - 250 * 9) / 242 = 60.54 -> 61; (-9 * 0 + 29 * 100 + 111 * 450) / 242 = 218.4 -> 218.
  assert.equal([...out.data], [61, 218]);
  assert.equal([...out.data], [applyTaps(row, taps0), applyTaps(row, taps1)]);
});

test('pillow: bicubic 2 -> 4 upscale = taps [111, -9] / 102 and [111, 29] / 140 at the borders, clipped to bytes', () => {
  const c = precomputeCoeffs(2, 0, 2, 4, PILLOW_FILTERS.bicubic);
  assert.equal([...c.start], [0, 0, 0, 0]);
  assert.equal([...c.count], [2, 2, 2, 2]);
  const taps = [[111 / 102, -9 / 102], [111 / 140, 29 / 140], [29 / 140, 111 / 140], [-9 / 102, 111 / 102]];
  taps.forEach((t, i) => assertClose(c.weights.subarray(i * c.ksize, i * c.ksize + 2), t, { atol: 1e-15, rtol: 0 }));
  // 50, 200: 3750 / 102 = 36.8 -> 37; 11350 / 140 = 81.1 -> 81; 23650 / 140 = 168.9 -> 169; 21750 / 102 = 213.2 -> 213.
  assert.equal([...pillowResize(gray(2, 1, [50, 200]), 4, 1).data], [37, 81, 169, 213]);
  // 0, 255: the border taps overshoot to -22.5 and 277.5, clamped.
  const ends = [...pillowResize(gray(2, 1, [0, 255]), 4, 1).data];
  assert.equal(ends, taps.map((t) => applyTaps([0, 255], t)));
  assert.equal([ends[0], ends[3]], [0, 255]);
  // Vertically the same taps.
  assert.equal([...pillowResize(gray(1, 2, [50, 200]), 1, 4).data], [37, 81, 169, 213]);
});

test('pillow: 2-D resize is horizontal then vertical with the intermediate rounded to bytes', () => {
  const img = randomImage(4, 4, 1, 7);
  const out = pillowResize(img, 2, 2);
  const taps = [[111, 111, 29, -9], [-9, 29, 111, 111]].map((t) => t.map((v) => v / 242));
  const px = (x: number, y: number) => img.data[y * 4 + x];
  const mid = [0, 1, 2, 3].map((y) => taps.map((t) => applyTaps([0, 1, 2, 3].map((x) => px(x, y)), t))); // [4 rows][2 cols], bytes
  const expected: number[] = [];
  for (const t of taps) for (let x = 0; x < 2; x++) expected.push(applyTaps([0, 1, 2, 3].map((y) => mid[y][x]), t));
  assert.equal([...out.data], expected);
});

test('pillow: identity at the same size, constant images stay constant, mirror symmetry', () => {
  const img = randomImage(5, 4, 3, 11);
  assert.equal([...pillowResize(img, 5, 4).data], [...img.data]);
  // The taps of a same-size axis are exactly the identity (the kernel is 1 at 0 and 0 at the other integers).
  const id = precomputeCoeffs(6, 0, 6, 6, PILLOW_FILTERS.bicubic);
  for (let i = 0; i < 6; i++) {
    const w = [...id.weights.subarray(i * id.ksize, i * id.ksize + id.count[i])];
    assert.equal(w.map((v, j) => (j + id.start[i] === i ? v === 1 : v === 0)).every(Boolean), true, `row ${i}: ${w}`);
  }
  // Changing one axis only leaves the other untouched.
  const wide = pillowResize(img, 9, 4);
  const wide2 = pillowResize(img, 9, 4);
  assert.equal([...wide.data], [...wide2.data]);
  for (const [w, h] of [[3, 2], [13, 11], [2, 9], [224, 224], [1, 1]]) {
    for (const filter of ['bicubic', 'bilinear', 'box', 'lanczos', 'hamming'] as const) {
      for (const v of [0, 1, 128, 254, 255]) {
        const flat: Image8 = { width: 7, height: 5, channels: 3, data: new Uint8Array(7 * 5 * 3).fill(v) };
        const out = pillowResize(flat, w, h, filter);
        assert.ok(out.data.every((x) => x === v), `${filter} ${w}x${h} of constant ${v}: got ${[...new Set(out.data)]}`);
      }
    }
  }
  const mirror = (im: Image8): Image8 => {
    const d = new Uint8Array(im.data.length);
    for (let y = 0; y < im.height; y++) for (let x = 0; x < im.width; x++) for (let c = 0; c < im.channels; c++) {
      d[(y * im.width + (im.width - 1 - x)) * im.channels + c] = im.data[(y * im.width + x) * im.channels + c];
    }
    return { ...im, data: d };
  };
  // Scales that are exact in binary, so the arithmetic is exactly symmetric.
  for (const [w, h, W, H] of [[8, 6, 4, 3], [4, 4, 8, 8], [16, 8, 4, 2], [6, 6, 12, 3]]) {
    const im = randomImage(w, h, 3, w * 31 + h);
    assert.equal([...pillowResize(mirror(im), W, H).data], [...mirror(pillowResize(im, W, H)).data], `mirror ${w}x${h} -> ${W}x${H}`);
  }
});

test('pillow: box filter 4 -> 2 averages pairs (rounding half up), bilinear 3 -> 1 weighs by the stretched tent', () => {
  assert.equal([...pillowResize(gray(4, 1, [10, 21, 100, 101]), 2, 1, 'box').data], [16, 101]); // 15.5 -> 16, 100.5 -> 101
  // bilinear, scale 3: support 3, centre 1.5, taps tent((x + 0.5 - 1.5) / 3) = [2/3, 1, 2/3] / (7/3).
  assert.equal([...pillowResize(gray(3, 1, [0, 70, 140]), 1, 1, 'bilinear').data], [applyTaps([0, 70, 140], [2 / 7, 3 / 7, 2 / 7])]);
});

test('preprocess: expand2square pads with white, centred with floor offsets; RGBA drops alpha', () => {
  const img = toRgb({ width: 3, height: 1, data: Uint8Array.from([1, 2, 3, 9, 4, 5, 6, 9, 7, 8, 9, 9]) });
  assert.equal([img.width, img.height, img.channels], [3, 1, 3]);
  assert.equal([...img.data], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const sq = expandToSquare(img);
  assert.equal([sq.width, sq.height], [3, 3]);
  const W = 255;
  // (3 - 1) // 2 = 1 row of white above, 1 below.
  assert.equal([...sq.data], [W, W, W, W, W, W, W, W, W, 1, 2, 3, 4, 5, 6, 7, 8, 9, W, W, W, W, W, W, W, W, W]);
  const tall = expandToSquare({ width: 1, height: 4, channels: 3, data: new Uint8Array(12).fill(0) });
  // (4 - 1) // 2 = 1 column on the left, 2 on the right.
  const row0 = [...tall.data.subarray(0, 12)];
  assert.equal(row0, [W, W, W, 0, 0, 0, W, W, W, W, W, W]);
  const gray3 = toRgb({ width: 2, height: 1, channels: 1, data: Uint8Array.from([5, 6]) });
  assert.equal([...gray3.data], [5, 5, 5, 6, 6, 6]);
});

test('preprocess: HF shortest-edge sizes (truncated) and centre crop offsets (floor), padding when too small', () => {
  assert.equal(shortestEdgeSize(640, 480, 224), [298, 224]); // int(224 * 640 / 480) = int(298.67)
  assert.equal(shortestEdgeSize(480, 640, 224), [224, 298]);
  assert.equal(shortestEdgeSize(500, 500, 224), [224, 224]);
  assert.equal(shortestEdgeSize(333, 100, 224), [745, 224]); // 745.92
  const img = { width: 5, height: 4, channels: 1, data: Uint8Array.from({ length: 20 }, (_, i) => i) };
  // top = (4 - 2) // 2 = 1, left = (5 - 2) // 2 = 1.
  assert.equal([...centerCrop(img, 2, 2).data], [6, 7, 11, 12]);
  // A 2x2 crop of a 3x3 image: top = left = 0.
  assert.equal([...centerCrop({ width: 3, height: 3, channels: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) }, 2, 2).data], [1, 2, 4, 5]);
  // Too small: zero padded ceil((new - old) / 2) = 1 before on both axes; top = (1 - 2) // 2 + 1 = 0.
  assert.equal([...centerCrop({ width: 2, height: 1, channels: 1, data: Uint8Array.from([7, 8]) }, 2, 4).data], [0, 0, 0, 0, 0, 7, 8, 0]);
});

test('preprocess: rescale in float64 then normalise in float32, channels first', () => {
  const img: Image8 = { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 128, 255, 10, 20, 30]) };
  const out = normalizeToChw(img);
  const f = Math.fround;
  const expect = (v: number, c: number) => f(f(f(v / 255) - f(CLIP_MEAN[c])) / f(CLIP_STD[c]));
  assert.equal([...out], [expect(0, 0), expect(10, 0), expect(128, 1), expect(20, 1), expect(255, 2), expect(30, 2)]);
  assertClose([out[0]], [(0 - 0.48145466) / 0.26862954], { atol: 1e-6 });
});

test('preprocess: the whole CLIP pipeline (pad white, bicubic shortest edge 224, crop, normalise) and the batch tensor', async () => {
  const img = randomImage(60, 40, 3, 3);
  const crop = clipResizeCrop(img);
  assert.equal([crop.width, crop.height, crop.channels], [224, 224, 3]);
  // Same as doing the steps by hand.
  const manual = pillowResize(expandToSquare(img), 224, 224, 'bicubic');
  assert.equal([...crop.data], [...manual.data]);
  // The white band (rows 0..9 of the 60x60 square scale to rows 0..~37) is exactly white away from the image.
  assert.equal([...crop.data.subarray(0, 224 * 3)].every((v) => v === 255), true);
  const px = preprocessClip(img);
  assert.equal(px.length, 3 * 224 * 224);
  assertClose([px[0], px[224 * 224], px[2 * 224 * 224]], [0, 1, 2].map((c) => (1 - CLIP_MEAN[c]) / CLIP_STD[c]), { atol: 1e-6 });
  // Without padding: shortest edge 224 then a centre crop of the 336-wide resize.
  const np = clipResizeCrop(img, { pad: false });
  const wide = pillowResize(img, 336, 224, 'bicubic');
  assert.equal([...np.data], [...centerCrop(wide, 224, 224).data]);
  // 336 px tower.
  assert.equal(preprocessClip(img, { size: 336 }).length, 3 * 336 * 336);
  await getDevice();
  const t = preprocessClipBatch([img, randomImage(30, 30, 3, 4)]);
  try {
    assert.equal([...t.shape], [2, 3, 224, 224]);
    const v = await t.toArray();
    assert.equal([...v.subarray(0, px.length)], [...px]);
  } finally { t.dispose(); }
});

// ---- against the real Pillow: test/fixtures/pillow_resize.json, written by pillow_resize.py ----

interface PillowCase { name: string; mode: 'L' | 'RGB'; src: [number, number]; seed: number; filter: PillowFilter; pad?: boolean;
  out: [number, number]; bytes?: string; sha256?: string }

/** The fixture script's image bytes: a 32-bit LCG, top byte. */
function lcgImage(w: number, h: number, c: number, seed: number): Image8 {
  let s = seed >>> 0;
  const data = new Uint8Array(w * h * c);
  for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = s >>> 24; }
  return { width: w, height: h, channels: c, data };
}

test('pillow: byte-exact against the real Pillow (bicubic, bilinear, box, hamming, lanczos; up, down, CLIP pad path)', () => {
  const path = join(dirname(fileURLToPath(import.meta.url)), '../../../../../test/fixtures/pillow_resize.json');
  const fx = JSON.parse(readFileSync(path, 'utf8')) as { pillow: string; cases: PillowCase[] };
  assert.ok(fx.cases.length >= 10);
  for (const c of fx.cases) {
    const img = lcgImage(c.src[0], c.src[1], c.mode === 'L' ? 1 : 3, c.seed);
    const out = c.pad ? clipResizeCrop(img, { pad: true }) : pillowResize(img, c.out[0], c.out[1], c.filter);
    assert.equal([out.width, out.height], c.out, c.name);
    if (c.bytes !== undefined) {
      const want = Buffer.from(c.bytes, 'base64');
      const bad = out.data.findIndex((v, i) => v !== want[i]);
      assert.ok(bad < 0 && want.length === out.data.length, `${c.name} (Pillow ${fx.pillow}): byte ${bad} is ${out.data[bad]}, Pillow gives ${want[bad]}`);
    } else {
      assert.equal(createHash('sha256').update(out.data).digest('hex'), c.sha256, `${c.name} (Pillow ${fx.pillow})`);
    }
  }
});
