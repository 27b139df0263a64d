// test/ullava/data/collate.test.ts: one manifest record to a PreparedExample (ullava/data/collate.ts): targets
// drawn by seed, media blocks, masks (label maps with ignore 255) and boxes, truncation, the per-image cache,
// and the worker-thread pool giving exactly what the inline runner gives.
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { readManifest } from '../../../ullava/data/manifest.js';
import { prepareExample, IGNORE_INDEX, type PreparedExample, type PrepareOptions } from '../../../ullava/data/collate.js';
import { ImageCache } from '../../../ullava/data/collate-cache.js';
import { MediaWorkerPool } from '../../../ullava/data/collate-pool.js';
import { inlineMediaRunner } from '../../../ullava/data/collate-media.js';
import { preprocessClip } from '../../../ullava/models/clip/preprocess.js';
import { loadImage } from '../../../ullava/media/index.js';
import { ullavaTokenizer, smallConfig, tempDir, writeImage, labelPng } from './helpers.js';

const W = 12, H = 8;

/** A manifest with every kind of sample, on small images. */
async function writeData(): Promise<string> {
  const dir = await tempDir('collate');
  await writeImage(join(dir, 'a.png'), W, H, [2, 1, 6, 5]);
  await writeImage(join(dir, 'b.png'), W, H, [6, 2, 11, 7]);
  for (let f = 0; f < 5; f++) await writeImage(join(dir, `f${f}.png`), W, H, [f, 0, f + 3, 3]);
  const labels = new Uint8Array(W * H);
  for (let p = 0; p < W * H; p++) labels[p] = p % W < 4 ? 3 : p % W < 8 ? 7 : 255;
  await writeFile(join(dir, 'labels.png'), labelPng(labels, W, H, { palette: true, filter: 1 }));
  // COCO RLE (column-major) of the rectangle x 2..5, y 1..4 of a 12 x 8 image.
  const runs = [2 * H + 1, 4, 4, 4, 4, 4, 4, 4];
  const rle = { size: [H, W], counts: [...runs, W * H - runs.reduce((a, b) => a + b, 0)] };
  const lines = [
    { task: 'res', image: 'a.png', targets: [{ sentences: ['the red box', 'the box on the left', 'the small square', 'the square'], category: 'Box', mask: rle }] },
    { task: 'semantic', image: 'b.png', targets: [{ category: 'wall', mask: { label_png: 'labels.png', class_id: 3 } }, { category: 'sky', mask: { label_png: 'labels.png', class_id: 7 } }] },
    { task: 'video', video: { frames: ['f0.png', 'f1.png', 'f2.png', 'f3.png', 'f4.png'] }, conversations: [{ from: 'human', value: '<video>\nWhat moves?' }, { from: 'gpt', value: 'A red box moves right.' }] },
    { image: 'a.png', conversations: [{ from: 'human', value: '<image>\nSegment it.' }, { from: 'gpt', value: 'Sure. Info: [SEG].' }], masks: [rle] },
    { task: 'caption', conversations: [{ from: 'human', value: 'Say hi.' }, { from: 'gpt', value: 'Hi.' }] },
  ];
  const p = join(dir, 'data.jsonl');
  await writeFile(p, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return p;
}

async function options(o: Partial<PrepareOptions> = {}): Promise<PrepareOptions> {
  return { tokenizer: await ullavaTokenizer(), config: smallConfig(), maxLength: 400, videoFrames: 4, ...o };
}

test('a res record with targets: 3 rounds drawn by seed, each [SEG] supervised with the decoded mask; CLIP and SAM inputs', async () => {
  const [r] = await readManifest(await writeData());
  const o = await options();
  const e = await prepareExample(r, { ...o, seed: 7 });
  assert.is(e.media, 'image');
  assert.is(e.ids[e.mediaStart], o.config.tokens.imageStart);
  assert.equal(e.ids.slice(e.mediaStart + 1, e.mediaStart + 5), [32001, 32001, 32001, 32001], '4 patches at 28 px');
  assert.is(e.ids[e.mediaStart + 5], o.config.tokens.imageEnd);
  assert.is(e.segPositions.length, 3);
  assert.ok(e.segPositions.every((p) => e.ids[p] === 32007 && e.labels[p] === 32007));
  const expected = new Uint8Array(W * H);
  for (let y = 1; y < 5; y++) for (let x = 2; x < 6; x++) expected[y * W + x] = 1;
  assert.equal(e.masks.map((m) => Array.from(m)), [Array.from(expected), Array.from(expected), Array.from(expected)]);
  const img = await loadImage(r.image!);
  assert.equal(Array.from(e.clipPixels!), Array.from(preprocessClip(img, { size: 28 })));
  assert.equal([e.sam!.originalSize, e.sam!.inputSize], [[H, W], [Math.round(o.config.sam.encoder.imageSize * H / W), o.config.sam.encoder.imageSize]]);
  // The same seed draws the same conversation; another seed (usually) another one.
  assert.equal((await prepareExample(r, { ...o, seed: 7 })).ids, e.ids);
  const others = await Promise.all([1, 2, 3, 4, 5].map((s) => prepareExample(r, { ...o, seed: s })));
  assert.ok(others.some((x) => x.ids.join() !== e.ids.join()));
});

test('truncation drops whole later rounds with their masks; a first round that cannot fit names the line', async () => {
  const [r] = await readManifest(await writeData());
  const o = await options();
  const full = await prepareExample(r, { ...o, seed: 7 });
  const ends = full.labels.flatMap((l, p) => (l === 2 ? [p + 1] : []));   // where each round ends (after its </s>)
  assert.is(ends.length, 3);
  const two = await prepareExample(r, { ...o, seed: 7, maxLength: ends[2] - 1 });
  assert.equal([two.ids, two.segPositions, two.masks.length, two.droppedRounds], [full.ids.slice(0, ends[1]), full.segPositions.slice(0, 2), 2, 1]);
  await assertRejects(() => prepareExample(r, { ...o, seed: 7, maxLength: ends[0] - 1 }), /data\.jsonl:1: the first round is \d+ tokens \(6 of them the image block\), over max_length/);
});

test('a label-map target keeps 255 (ignore) in its mask; the [LOC] style takes its box from the mask', async () => {
  const [, r] = await readManifest(await writeData());
  const o = await options({ config: smallConfig('head'), tokenizer: await ullavaTokenizer(true) });
  const e = await prepareExample(r, { ...o, seed: 3 });
  assert.is(e.masks.length, 2);
  const tags = [...(await ullavaTokenizer(true)).decode(e.ids).matchAll(/\[tag\](\w+)\[\/tag\]/g)].map((m) => m[1]);
  assert.equal([...tags].sort(), ['sky', 'wall']);
  e.masks.forEach((m, k) => {
    const inside = tags[k] === 'wall' ? [0, 4] : [4, 8];   // class 3 in columns 0..3, class 7 in 4..7, 255 in 8..11
    for (let p = 0; p < W * H; p++) {
      const x = p % W;
      assert.is(m[p], x >= 8 ? 255 : x >= inside[0] && x < inside[1] ? 1 : 0, `mask ${k} pixel ${p}`);
    }
    // Box of the mask (255 not inside), normalised in the padded 12 x 12 square (2 pixels of padding on top).
    assert.equal(e.boxes[k], [inside[0] / 12, 2 / 12, (inside[1] - 1) / 12, 9 / 12]);
  });
  assert.equal(e.locPositions.length, 2);
});

test('a video sample: T frames through CLIP and a block of T + patches video tokens at the end of the first question', async () => {
  const [, , r] = await readManifest(await writeData());
  const o = await options();
  const e = await prepareExample(r, { ...o, seed: 1 });
  assert.equal([e.media, e.frames, e.clipPixels!.length], ['video', 4, 4 * 3 * 28 * 28]);
  assert.is(e.ids[e.mediaStart], o.config.tokens.videoStart);
  assert.equal(e.ids.slice(e.mediaStart + 1, e.mediaStart + 9), new Array(8).fill(32002), '4 temporal + 4 spatial tokens');
  assert.is(e.ids[e.mediaStart + 9], o.config.tokens.videoEnd);
  assert.ok(e.labels.slice(0, e.mediaStart + 10).every((l) => l === IGNORE_INDEX));
  assert.equal(e.sam, null);
  // headtail: frames drawn by the sample's seed, the same for the same seed.
  assert.equal(Array.from((await prepareExample(r, { ...o, seed: 1 })).clipPixels!), Array.from(e.clipPixels!));
});

const plain = (e: PreparedExample) => JSON.parse(JSON.stringify(e, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)));

test('the worker-thread pool prepares exactly what the inline runner does; its errors name the line and path; the cache serves shared images', async () => {
  const path = await writeData();
  const records = await readManifest(path);
  const o = await options();
  const pool = new MediaWorkerPool(2);
  try {
    const cache = new ImageCache();
    const inline = await Promise.all(records.map((r, i) => prepareExample(r, { ...o, seed: 10 + i, runner: inlineMediaRunner })));
    const pooled = await Promise.all(records.map((r, i) => prepareExample(r, { ...o, seed: 10 + i, runner: pool, cache })));
    assert.equal(pooled.map(plain), inline.map(plain));
    assert.equal([cache.misses, cache.hits], [2, 1], 'a.png is preprocessed once for lines 1 and 4');
    const bad = { ...records[0], image: join(path, '..', 'missing.png') };
    await assertRejects(() => prepareExample(bad, { ...o, runner: pool }), /data\.jsonl:1: "image": .*missing\.png/);
  } finally { await pool.close(); }
});

test('a video file (ffmpeg) sample: headtail frames drawn by the seed, the same on a worker thread as inline', async () => {
  const { ffmpegEncode, videoArgs, indexFrame } = await import('../media/helpers.js');
  const dir = await tempDir('collate-video');
  const { ext, args } = videoArgs();
  ffmpegEncode(Array.from({ length: 12 }, (_, i) => indexFrame(i)), join(dir, `clip.${ext}`), args);
  await writeFile(join(dir, 'v.jsonl'), JSON.stringify({ task: 'video', video: `clip.${ext}`,
    conversations: [{ from: 'human', value: 'What happens?' }, { from: 'gpt', value: 'The colour changes.' }] }) + '\n');
  const [r] = await readManifest(join(dir, 'v.jsonl'));
  const o = await options();
  const pool = new MediaWorkerPool(1);
  try {
    const a = await prepareExample(r, { ...o, seed: 4 });
    const b = await prepareExample(r, { ...o, seed: 4, runner: pool });
    assert.equal([a.media, a.frames, a.ids[a.mediaStart]], ['video', 4, o.config.tokens.videoStart]);
    assert.equal(plain(b), plain(a));
    const draws = new Set(await Promise.all([1, 2, 3, 5, 6, 7].map(async (s) => Array.from((await prepareExample(r, { ...o, seed: s })).clipPixels!.slice(0, 3 * 28 * 28 * 2)).join())));
    assert.ok(draws.size > 1, 'other seeds draw other head frames');
  } finally { await pool.close(); }
});
