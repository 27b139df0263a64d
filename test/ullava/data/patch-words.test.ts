// test/ullava/data/patch-words.test.ts: the dense word targets of the "vision" stage, on hand-drawn masks:
// which patch names which object, background, ignored patches, a small object never left unnamed, and
// CLIP's pad-to-square geometry; the manifest's "objects" field parsed and refused when malformed.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { patchWordTargets, BACKGROUND_COVER, OBJECT_COVER } from '../../../ullava/data/patch-words.js';
import { parseRecord } from '../../../ullava/data/manifest-parse.js';

/** A w x h mask with the pixels of rectangle [x0, x1) x [y0, y1) set. */
function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return m;
}

test('each patch names the words of the object covering it, background, or nothing when half-covered', () => {
  assert.is(OBJECT_COVER, 0.25); assert.is(BACKGROUND_COVER, 0.05);
  // 8x8 image, CLIP 8, patch 4: a 2x2 grid of 16-pixel patches.
  const big = rect(8, 8, 0, 0, 4, 4);          // fills patch 0
  const edge = rect(8, 8, 4, 0, 6, 1);         // 2 pixels (12.5%) of patch 1: neither object nor background...
  const t = patchWordTargets([{ mask: big, words: [10, 11] }, { mask: edge, words: [20] }], 8, 8, 8, 4, 99);
  // ...but patch 1 is the edge object's best patch, so it names it rather than leaving it unnamed.
  assert.equal(t, [[10, 11], [20], [99], [99]]);
  // A patch shared by two objects below OBJECT_COVER, and not the best of either: ignored.
  const a = rect(8, 8, 0, 0, 4, 4), b = rect(8, 8, 4, 4, 5, 6), c = rect(8, 8, 0, 4, 8, 8);
  const t2 = patchWordTargets([{ mask: a, words: [1] }, { mask: b, words: [2] }, { mask: c, words: [3] }], 8, 8, 8, 4, 99);
  assert.equal(t2[0], [1]);
  assert.equal(t2[3], [3], 'patch 3: object c covers all of it');
  const d = rect(8, 8, 4, 4, 6, 5), e = rect(8, 8, 0, 0, 8, 4);
  // d: 2 pixels of patch 3 (12.5%), its only patch, so it names d; e covers patches 0 and 1 fully.
  assert.equal(patchWordTargets([{ mask: e, words: [5] }, { mask: d, words: [6] }], 8, 8, 8, 4, 99), [[5], [5], [99], [6]]);
  const f = rect(8, 8, 0, 4, 2, 5), g = rect(8, 8, 0, 4, 4, 8);
  // f (2 px) lies inside g's patch 2, where g covers more: patch 2 names g and f's best patch is g's.
  assert.equal(patchWordTargets([{ mask: g, words: [7] }, { mask: f, words: [8] }], 8, 8, 8, 4, 99)[2], [7]);
});

test('the geometry is CLIP\'s pad-to-square then resize: a wide image\'s padding is background', () => {
  // 8 wide, 4 tall: padded to 8x8 with 2 rows above and below; CLIP 4, patch 2: a 2x2 grid of 4x4 source blocks.
  const full = rect(8, 4, 0, 0, 8, 4);
  const t = patchWordTargets([{ mask: full, words: [1] }], 8, 4, 4, 2, 99);
  // Each patch covers source rows [-2, 2) or [2, 6): half image, half padding, so half covered.
  assert.equal(t, [[1], [1], [1], [1]]);
  const left = rect(8, 4, 0, 0, 4, 4);
  assert.equal(patchWordTargets([{ mask: left, words: [1] }], 8, 4, 4, 2, 99), [[1], [99], [1], [99]]);
  assert.throws(() => patchWordTargets([], 8, 8, 10, 4, 99), /not a multiple of the patch size/);
  assert.throws(() => patchWordTargets([{ mask: new Uint8Array(3), words: [1] }], 8, 8, 8, 4, 99), /a mask of 3 pixels for a 8x8 image/);
});

test('the manifest\'s "objects": category, attribute words and a mask per object; malformed ones are named', () => {
  const rle = { size: [2, 2], counts: [1, 3] };
  const line = { image: 'a.png', conversations: [{ from: 'human', value: '<image>\nDescribe.' }, { from: 'gpt', value: 'A square.' }],
    objects: [{ category: 'square', attributes: ['red', 'small'], mask: rle }, { category: 'circle', mask: rle }] };
  const { record } = parseRecord(line, 'm.jsonl:1', 1, '/data');
  assert.equal(record!.objects.map((o) => [o.category, o.attributes]), [['square', ['red', 'small']], ['circle', []]]);
  assert.equal(record!.objects[0].mask, { rle: { size: [2, 2], counts: [1, 3] } });
  const bad = parseRecord({ ...line, objects: [{ category: '', attributes: ['red', 3], mask: 'x.png' }, 'no'] }, 'm.jsonl:2', 2, '/data');
  assert.is(bad.record, null);
  const fields = bad.issues.map((i) => i.field);
  assert.equal(fields, ['objects[0].category', 'objects[0].attributes', 'objects[1]']);
  assert.equal(parseRecord({ ...line, objects: {} }, 'm.jsonl:3', 3, '/data').issues.map((i) => i.field), ['objects']);
});
