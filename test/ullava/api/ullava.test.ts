// The programmatic API against the session it is built on: the same image given as a path, PNG bytes,
// BMP bytes (through ffmpeg) or raw RGB gives the same answer and masks; masks are the session's logits
// thresholded at 0, at the image's size, with their area and box; turns replayed from an array answer as
// the session's own multi-turn history does; calls made at once queue; bad input is refused with a reason.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { Ullava, defaultModelDir, encodeMaskPng, type Mask } from '../../../ullava/index.js';
import { UllavaSession } from '../../../ullava/session.js';
import { loadUllava, type LoadedUllava } from '../../../ullava/models/ullava/load.js';
import { DEFAULT_CAPTION_PROMPT, FORCED_SEG_PREFIX, segmentationQuestion } from '../../../ullava/chat/conversation.js';
import { decodePng, encodeRgbPng, type RgbImage } from '../../../ullava/media/index.js';
import { tinySafetensorsDir } from '../models/ullava/fixture.js';
import { requireFfmpeg } from '../media/helpers.js';
import { encodeBmp } from '../../harness/bmp.js';

const tmp = mkdtempSync(join(tmpdir(), 'ullava-api-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** A red square on grey, w x h. */
function square(width = 40, height = 30, color: [number, number, number] = [220, 30, 30]): RgbImage {
  const data = new Uint8Array(width * height * 3).fill(200);
  for (let y = Math.floor(height / 4); y < (3 * height) / 4; y++) for (let x = Math.floor(width / 4); x < width / 2; x++) data.set(color, (y * width + x) * 3);
  return { width, height, data };
}

let shared: Promise<{ m: Ullava; loaded: LoadedUllava }> | undefined;
/** One API model and, on the same weights, one plain session model (the independent side). */
function models(): Promise<{ m: Ullava; loaded: LoadedUllava }> {
  shared ??= (async () => {
    const dir = await tinySafetensorsDir();
    return { m: await Ullava.load(dir, { dtype: 'f32' }), loaded: await loadUllava(dir, { dtype: 'f32' }) };
  })();
  return shared;
}

/** The mask's box computed here from its pixels (x0, y0, x1, y1 inclusive), null when empty. */
function boxOf(k: Mask): number[] | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < k.height; y++) for (let x = 0; x < k.width; x++) {
    if (k.mask[y * k.width + x]) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

async function rejects(p: Promise<unknown>, kind: ErrorConstructor, pattern: RegExp, what: string): Promise<void> {
  let err: unknown;
  try { await p; } catch (e) { err = e; }
  assert.ok(err instanceof kind, `${what}: expected a ${kind.name}, got ${err === undefined ? 'success' : String(err)}`);
  assert.ok(pattern.test((err as Error).message), `${what}: message "${(err as Error).message}" does not match ${pattern}`);
}

test('segment: a path, PNG bytes, BMP bytes and raw RGB give one answer and the session\'s masks as 0/1 bytes at the image size', async () => {
  const { m, loaded } = await models();
  const img = square();
  const pngPath = join(tmp, 'square.png');
  writeFileSync(pngPath, encodeRgbPng(img));
  const inputs: [string, Parameters<Ullava['segment']>[0]][] = [['raw RGB', img], ['path', pngPath], ['PNG bytes', encodeRgbPng(img)]];
  try { requireFfmpeg(); inputs.push(['BMP bytes', encodeBmp(img)]); } catch { /* no ffmpeg: the three others still run */ }
  const results = [];
  for (const [, input] of inputs) results.push(await m.segment(input, 'the red square', { forceSeg: true, maxNewTokens: 2 }));

  // The independent side: the session with the RES question and the forced prefix, mask logits > 0.
  const s = new UllavaSession(loaded);
  try {
    s.setImage(img);
    const ref = await s.ask(segmentationQuestion('the red square'), { answerPrefix: FORCED_SEG_PREFIX, maxNewTokens: 2 });
    assert.ok(ref.masks.length >= 1, 'the forced [SEG] gives a mask');
    results.forEach((r, i) => {
      const what = inputs[i][0];
      assert.equal(r.question, 'Output the segmentation mask of the red square in the image.', what);
      assert.equal(r.answer, ref.text, `${what}: answer`);
      assert.equal(r.masks.length, ref.masks.length, `${what}: masks`);
      r.masks.forEach((k, j) => {
        assert.equal([k.width, k.height, k.mask.length], [40, 30, 40 * 30], `${what}: mask size`);
        let area = 0;
        for (let p = 0; p < k.mask.length; p++) {
          assert.equal(k.mask[p], ref.masks[j][p] > 0 ? 1 : 0, `${what}: mask ${j} pixel ${p}`);
          area += k.mask[p];
        }
        assert.equal(k.area, area, `${what}: area`);
        assert.equal(k.box, boxOf(k), `${what}: the mask's box`);
      });
      assert.equal(r.boxSource, 'mask');
      assert.equal(r.boxes, r.masks.map((k) => k.box), `${what}: boxes of the published layout are the masks' boxes`);
    });
  } finally { s.dispose(); }

  // The PNG of a mask is 0/255 grayscale, the same pixels.
  const k = results[0].masks[0];
  const png = decodePng(encodeMaskPng(k), 'mask', 1e6);
  for (let p = 0; p < k.mask.length; p++) assert.equal(png.data[p * 3], k.mask[p] * 255, `mask PNG pixel ${p}`);
});

test('chat: turns replayed from an array answer as the session\'s own multi-turn history; onToken streams the text', async () => {
  const { m, loaded } = await models();
  const img = square(32, 32);
  const o = { image: img, maxNewTokens: 4 };
  let streamed = '';
  const first = await m.chat('What is in the picture?', { ...o, onToken: (t) => { streamed += t; } });
  assert.equal(streamed, first.text, 'onToken pieces add up to the text');
  const second = await m.chat([
    { role: 'user', content: 'What is in the picture?' }, { role: 'assistant', content: first.text }, { role: 'user', content: 'Where is it?' },
  ], o);
  const textOnly = await m.chat('Hello', { maxNewTokens: 3 });

  const s = new UllavaSession(loaded);
  try {
    s.setImage(img);
    const a1 = await s.ask('What is in the picture?', { maxNewTokens: 4 });
    const a2 = await s.ask('Where is it?', { maxNewTokens: 4 });
    s.clearMedia();
    const a3 = await s.ask('Hello', { maxNewTokens: 3 });
    assert.equal([first.text, second.text, textOnly.text], [a1.text, a2.text, a3.text]);
    assert.equal([first.tokens, second.tokens], [a1.tokens, a2.tokens]);
  } finally { s.dispose(); }
  assert.equal(second.masks, [], 'no [SEG], no mask');
});

test('calls made at once run one after another and give what they give alone', async () => {
  const { m } = await models();
  const a = square(36, 24), b = square(24, 36, [30, 30, 220]);
  const calls = () => [
    () => m.chat('Describe it.', { image: a, maxNewTokens: 3 }),
    () => m.segment(b, 'the blue square', { forceSeg: true, maxNewTokens: 2 }),
    () => m.chat('Describe it.', { image: a, maxNewTokens: 3 }),
    () => m.caption([a, b, a, b], { maxNewTokens: 3 }),
  ];
  const alone = [];
  for (const c of calls()) alone.push(await c());
  const together = await Promise.all(calls().map((c) => c()));
  const summary = (r: Awaited<ReturnType<Ullava['chat']>> | Awaited<ReturnType<Ullava['segment']>>) =>
    JSON.stringify({ text: 'text' in r ? r.text : r.answer, masks: r.masks.map((k) => [k.area, k.box]) });
  assert.equal(together.map(summary), alone.map(summary));
});

test('caption: frames as raw RGB answer as the session with the default prompt', async () => {
  const { m, loaded } = await models();
  const frames = [square(), square(40, 30, [30, 220, 30]), square(), square(40, 30, [30, 30, 220])];
  const r = await m.caption(frames, { maxNewTokens: 3 });
  const s = new UllavaSession(loaded);
  try {
    s.setVideo(frames);
    assert.equal(r.text, (await s.ask(DEFAULT_CAPTION_PROMPT, { maxNewTokens: 3 })).text);
  } finally { s.dispose(); }
  assert.equal(r.masks, [], 'no masks for a video');
});

test('the same image again (another object, same pixels) reuses its encoded features; another image does not', async () => {
  const { m } = await models();
  const proto = UllavaSession.prototype;
  const original = proto.setImage;
  let encoded = 0;
  proto.setImage = function (this: UllavaSession, image: RgbImage) { encoded++; return original.call(this, image); };
  try {
    await m.chat('Hi', { image: square(20, 20, [1, 2, 3]), maxNewTokens: 1 });
    await m.segment(square(20, 20, [1, 2, 3]), 'the square', { maxNewTokens: 1 });
    await m.chat([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'And?' }], { image: square(20, 20, [1, 2, 3]), maxNewTokens: 1 });
    assert.equal(encoded, 1, 'one encoding for three calls about the same pixels');
    await m.chat('Hi', { image: square(20, 20, [1, 2, 4]), maxNewTokens: 1 });
    assert.equal(encoded, 2, 'a different image is encoded');
  } finally { proto.setImage = original; }
});

test('bad input is refused with what was wrong, and the model keeps working', async () => {
  const { m } = await models();
  const img = square();
  await rejects(m.chat([]), TypeError, /empty array/, 'no turns');
  await rejects(m.chat([{ role: 'assistant', content: 'x' }]), RangeError, /turn 0 has role "assistant" where "user" belongs/, 'assistant first');
  await rejects(m.chat([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]), RangeError, /last turn is the assistant's/, 'no question');
  await rejects(m.chat([{ role: 'user' } as never]), TypeError, /turn 0 has no string content/, 'no content');
  await rejects(m.chat('q', { image: img, video: [img] }), TypeError, /an image or a video, not both/, 'both media');
  await rejects(m.segment(42 as never, 'x'), TypeError, /segment: image: an image is a file path, encoded image bytes .* or raw RGB .*; got number/, 'a number');
  await rejects(m.segment({ data: new Uint8Array(5), width: 2, height: 2 }, 'x'), RangeError, /expected 2 x 2 x 3 = 12/, 'short RGB');
  await rejects(m.segment(img, '  '), TypeError, /the prompt must be the text of what to find/, 'empty prompt');
  await rejects(m.segment(join(tmp, 'missing.png'), 'x'), Error, /missing\.png: no such file/, 'missing file');
  await rejects(m.segment(new Uint8Array([1, 2, 3]), 'x'), Error, /image bytes/, 'bytes that are no image');
  await rejects(m.caption([]), RangeError, /the video has no frames/, 'no frames');
  await rejects(Ullava.load(''), TypeError, /dir must be a model directory path/, 'empty dir');
  const r = await m.segment(img, 'the red square', { forceSeg: true, maxNewTokens: 1 });
  assert.equal(r.masks.length >= 1, true, 'works after the refusals');
});

test('Ullava.load() without a directory loads the built-in shapes model (models/shapes) and writes nothing to the cache; a disposed model refuses calls', async () => {
  const cache = join(tmp, 'cache');
  const saved = process.env.ULLAVA_CACHE;
  process.env.ULLAVA_CACHE = cache;
  let m: Ullava;
  try { m = await Ullava.load(); } finally {
    if (saved === undefined) delete process.env.ULLAVA_CACHE; else process.env.ULLAVA_CACHE = saved;
  }
  assert.equal([m.dir, m.demo], [defaultModelDir(), true]);
  assert.ok(m.dir.endsWith(join('models', 'shapes')), m.dir);
  assert.ok(!existsSync(cache), 'the built-in model needs no cache');
  const r = await m.segment(square(), 'the red square', { forceSeg: true, maxNewTokens: 1 });
  assert.ok(r.answer.startsWith('Sure. Info:') && r.masks.length >= 1, r.answer);
  await m.dispose();
  await rejects(m.chat('hello'), Error, /disposed; load it again/, 'after dispose');
  const { m: sharedModel, loaded } = await models();
  await sharedModel.dispose();
  loaded.model.dispose();
});
