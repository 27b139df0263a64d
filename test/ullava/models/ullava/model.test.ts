import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose, assertRejects } from '../../../harness/assert.js';
import { writeFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../../engine/index.js';
import { loadUllava, type LoadedUllava } from '../../../../ullava/models/ullava/load.js';
import { UllavaSession, clampBox } from '../../../../ullava/session.js';
import { generate } from '../../../../ullava/chat/generate.js';
import { Conversation } from '../../../../ullava/chat/conversation.js';
import { preprocessImage } from '../../../../ullava/models/sam/preprocess.js';
import { masksToBoxes } from '../../../../ullava/media/boxes.js';
import { tinyPublishedDir, tinySafetensorsDir } from './fixture.js';

const image = { width: 40, height: 30, data: Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 37) % 256) };

let loadedBin: Promise<LoadedUllava> | null = null;
function published(): Promise<LoadedUllava> {
  loadedBin ??= E.getDevice().then(async () => loadUllava(await tinyPublishedDir(), { dtype: 'f32' }));
  return loadedBin;
}

/** Greedy next tokens by full forwards (no cache) over prompt + the tokens so far. */
async function uncachedGreedy(l: LoadedUllava, ids: number[], start: number, features: E.Tensor, n: number): Promise<{ tokens: number[]; lastLogits: Float32Array }> {
  const seq = [...ids];
  let last: Float32Array = new Float32Array(0);
  for (let i = 0; i < n; i++) {
    const logits = E.noGrad(() => E.scope(() => {
      const t = E.Tensor.from(seq, [1, seq.length], 'i32');
      const emb = l.model.embedWithMedia(t, [{ start, features }]);
      return l.model.lm.forward({ inputsEmbeds: emb, lastLogitsOnly: true }).logits;
    }));
    last = (await logits.toArray()) as Float32Array;
    logits.dispose();
    let best = 0;
    for (let v = 1; v < last.length; v++) if (last[v] > last[best]) best = v;
    seq.push(best);
  }
  return { tokens: seq.slice(ids.length), lastLogits: last };
}

test('u-LLaVA: the published layout (two bf16 .bin shards + index, tokenizer, added tokens) loads strictly and matches the safetensors copy', async () => {
  const a = await published();
  assert.equal(a.config.layout, 'published');
  assert.equal(a.config.tokens.imageStart, 32003);
  assert.equal(a.tokenizer.tokenId('[SEG]'), 32007);
  const b = await loadUllava(await tinySafetensorsDir(), { dtype: 'f32' });
  // The .bin copy went through bf16: every parameter equals the f32 original rounded to bf16.
  const sa = a.model.stateDict(), sb = b.model.stateDict();
  assert.equal([...sa.keys()].sort(), [...sb.keys()].sort());
  for (const k of ['llm.model.embed_tokens.weight', 'llm.vision_projector.weight', 'visual_model.mask_decoder.iou_token.weight', 'text_hidden_fcs.2.bias']) {
    const x = await sa.get(k)!.toArray(), y = await sb.get(k)!.toArray();
    assertClose(x, Array.from(y, (v) => E.roundTo('bf16', v)), { atol: 0, rtol: 0, message: k });
  }
  b.model.dispose();
});

test('u-LLaVA: strict loading names the missing key; a config/tokenizer mismatch is refused', async () => {
  await E.getDevice();
  const src = await tinySafetensorsDir();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-bad-'));
  for (const f of ['tokenizer.model', 'added_tokens.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
    await writeFile(join(dir, f), await readFile(join(src, f)));
  }
  const index = JSON.parse(await readFile(join(src, 'model.safetensors.index.json'), 'utf8'));
  delete index.weight_map['text_hidden_fcs.0.weight'];
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  await assertRejects(() => loadUllava(dir, { dtype: 'f32' }), /config\.json/);
  const cfg = JSON.parse(await readFile(join(src, 'config.json'), 'utf8'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
  await assertRejects(() => loadUllava(dir, { dtype: 'f32' }), /missing 1: text_hidden_fcs\.0\.weight/);
  cfg.seg_token_idx = 32008;
  await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
  await assertRejects(() => loadUllava(dir, { dtype: 'f32' }), /maps \[SEG\] to 32007, the config says 32008/);
  await assertRejects(() => loadUllava(join(dir, 'nope')), /not a model directory/);
});

test('u-LLaVA: KV-cached generation equals uncached full forwards, token by token', async () => {
  const l = await published();
  const s = new UllavaSession(l);
  s.setImage(image);
  const conv = new Conversation({ kind: 'image' }).user('Describe the image.');
  const ids = l.tokenizer.encode(conv.prompt(), { bos: true });
  const start = ids.indexOf(l.config.tokens.imageStart);
  assert.equal(ids.filter((i) => i === l.config.tokens.imagePatch).length, 256);
  const features = (s as unknown as { media: { features: E.Tensor } }).media.features;
  const [cached] = await generate(l.model, l.tokenizer, [{ ids, span: { start, features } }], { maxNewTokens: 6, stop: [] });
  const ref = await uncachedGreedy(l, ids, start, features, cached.ids.length);
  assert.equal(cached.ids, ref.tokens);
  s.dispose();
});

test('u-LLaVA: batched generation with left padding equals each prompt alone', async () => {
  const l = await published();
  const s = new UllavaSession(l);
  s.setImage(image);
  const features = (s as unknown as { media: { features: E.Tensor } }).media.features;
  const prompts = ['Hi.', 'What is in the picture, in a few words?'].map((q) => {
    const ids = l.tokenizer.encode(new Conversation({ kind: 'image' }).user(q).prompt(), { bos: true });
    return { ids, span: { start: ids.indexOf(l.config.tokens.imageStart), features } };
  });
  const both = await generate(l.model, l.tokenizer, prompts, { maxNewTokens: 5, stop: [] });
  for (let i = 0; i < 2; i++) {
    const [alone] = await generate(l.model, l.tokenizer, [prompts[i]], { maxNewTokens: 5, stop: [] });
    assert.equal(both[i].ids, alone.ids, `prompt ${i}`);
  }
  s.dispose();
});

test('u-LLaVA: the [SEG] state is the one that emitted the token (an off-by-one gives another mask)', async () => {
  const l = await published();
  // Random weights make SAM's answer barely depend on its prompt; scale the seg head's output so that a
  // different hidden state gives a clearly different mask.
  const w = l.model.segHead.layers[1].weight;
  const scaled = E.noGrad(() => E.mul(w, 40));
  w.assign(scaled);
  scaled.dispose();
  const s = new UllavaSession(l);
  s.setImage(image);
  const q = UllavaSession.segmentationPrompt('thing');
  const a = await s.ask(q, { answerPrefix: 'Sure. Info: [SEG]', maxNewTokens: 4 });
  assert.equal(a.masks.length, 1);
  assert.equal(a.masks[0].length, image.width * image.height, 'mask at the original size');
  assert.equal(a.boxSource, 'mask');
  assert.equal(a.boxes[0], masksToBoxes(a.masks[0], image.width, image.height));
  // Recompute by hand from one full forward over prompt + answer.
  const promptIds = l.tokenizer.encode(new Conversation({ kind: 'image' }).user(q).prompt(), { bos: true });
  const answerIds = l.tokenizer.encode('Sure. Info: [SEG]');
  const all = [...promptIds, ...answerIds];
  const segPos = all.indexOf(l.config.segTokenId);
  const features = (s as unknown as { media: { features: E.Tensor } }).media.features;
  const sam = l.model.visualModel;
  const input = preprocessImage(image.data, image.height, image.width, { imageSize: sam.config.encoder.imageSize });
  const S = sam.config.encoder.imageSize;
  const maskAt = async (pos: number) => E.noGrad(() => E.scopeAsync(async () => {
    const ids = E.Tensor.from(all, [1, all.length], 'i32');
    const out = l.model.lm.forward({ inputsEmbeds: l.model.embedWithMedia(ids, [{ start: promptIds.indexOf(l.config.tokens.imageStart), features }]) });
    const h = E.reshape(E.slice(out.hidden, 1, pos, pos + 1), [1, out.hidden.shape[2]]);
    const emb = sam.encodeImage(E.Tensor.fromHost(input.pixels, [1, 3, S, S], 'f32'));
    return l.model.decodeMasks(h, emb, input.inputSize, [image.height, image.width]).toArray();
  }));
  const before = await maskAt(segPos - 1);
  const at = await maskAt(segPos);
  let same = 0, diff = 0;
  for (let i = 0; i < at.length; i++) {
    same = Math.max(same, Math.abs(a.masks[0][i] - before[i]));
    diff = Math.max(diff, Math.abs(at[i] - before[i]));
  }
  assert.ok(same < 1e-3, `the session used the state before [SEG] (max diff ${same})`);
  assert.ok(diff > 100 * same && diff > 1e-2, `the state at [SEG] itself gives a different mask (max diff ${diff} vs ${same})`);
  // Two [SEG] in one answer give two masks.
  const b = await s.ask('And both?', { answerPrefix: '[SEG] and [SEG]', maxNewTokens: 4 });
  assert.equal(b.masks.length, 2);
  s.dispose();
});

test('u-LLaVA: multi-turn keeps the history; video input splices T + 256 features', async () => {
  const l = await published();
  const s = new UllavaSession(l);
  s.setImage(image);
  await s.ask('First?', { maxNewTokens: 2 });
  await s.ask('Second?', { maxNewTokens: 2 });
  const p = s.conversation.prompt();
  assert.ok(p.includes('USER: ') && p.split('USER:').length === 3 && p.includes('</s>USER: Second?'), p.slice(-200));
  s.reset();
  assert.equal(s.conversation.turns, 0);
  const frames = Array.from({ length: 8 }, (_, f) => ({ width: 16, height: 12, data: new Uint8Array(16 * 12 * 3).fill(f * 30) }));
  s.setVideo(frames);
  const a = await s.ask('What happens?', { maxNewTokens: 3 });
  assert.ok(a.tokens >= 1);
  assert.ok(s.conversation.prompt().includes('<vid_beg>'));
  s.dispose();
});

test('u-LLaVA: the newer layout decodes [LOC] into a pixel box inside the image', async () => {
  await E.getDevice();
  const l = await loadUllava(await tinySafetensorsDir('head'), { dtype: 'f32' });
  assert.equal(l.config.layout, 'head');
  assert.equal(l.config.locTokenId, 32008);
  const s = new UllavaSession(l);
  s.setImage(image);
  const a = await s.ask('Where is it?', { answerPrefix: 'Sure. Mask: [SEG]; Location: [LOC]', maxNewTokens: 2 });
  assert.equal(a.masks.length, 1);
  assert.equal(a.boxSource, 'loc-decoder');
  assert.equal(a.boxes.length, 1);
  const [x0, y0, x1, y1] = a.boxes[0]!;
  assert.ok(0 <= x0 && x0 <= x1 && x1 <= image.width - 1 && 0 <= y0 && y0 <= y1 && y1 <= image.height - 1, `box ${a.boxes[0]} inside the image`);
  s.dispose();
  l.model.dispose();
});

test('u-LLaVA: a prompt longer than the model allows is refused before generating', async () => {
  const l = await published();
  await assertRejects(() => generate(l.model, l.tokenizer, [{ ids: [1, 2, 3] }], { maxNewTokens: 5000 }), /exceeds the model's 2048 positions/);
  await assertRejects(() => generate(l.model, l.tokenizer, [{ ids: [1] }], { temperature: -1 }), /temperature/);
});

test('u-LLaVA: decoder boxes are ordered and clamped to the image', () => {
  assert.equal(clampBox([50, 20, -10, 5], 40, 30), [0, 5, 39, 20]);
  assert.equal(clampBox([1.5, 2, 3, 4], 40, 30), [1.5, 2, 3, 4]);
});
