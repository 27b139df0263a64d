// The CLIP vision tower on a tiny configuration against the float64 CPU reference (test/ref/clip.ts):
// every hidden state, the pooled output, the u-LLaVA features, gradients against finite differences of
// the reference, HF key names, strict loading, and checkpoints with and without u-LLaVA's prefix.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose, assertRejects } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { StateDictError } from '../../../../nn/index.js';
import { writeSafetensors, type TensorToWrite } from '../../../../nn/io/safetensors.js';
import {
  ClipVisionModel, CLIP_TINY, CLIP_VIT_L14_224, CLIP_VIT_L14_336, clipVisionConfigFromHF, clipVisionConfigToHF, numPatches,
  selectFeatures, disposeClipOutput, loadClipVisionModel, inferClipVisionConfig, clipVisionStateDict, detectClipPrefix, clipVisionParamShapes,
  type ClipVisionConfig,
} from '../../../../ullava/models/clip/index.js';
import { clipVisionRef, type ClipRefParams } from '../../../ref/clip.js';

const cfg: ClipVisionConfig = CLIP_TINY;
const S = numPatches(cfg) + 1, D = cfg.hiddenSize;

/** The model's parameters on the host, keyed without `vision_model.` (the reference's names). */
async function hostParams(m: ClipVisionModel): Promise<ClipRefParams> {
  const p: ClipRefParams = new Map();
  for (const [k, t] of m.stateDict()) p.set(k.replace(/^vision_model\./, ''), Float64Array.from(await t.toArray()));
  return p;
}

function randomPixels(B: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: B * 3 * cfg.imageSize * cfg.imageSize }, () => { s = (s * 16807) % 2147483647; return (s / 2147483647) * 4 - 2; });
}

/** A tiny model with non-trivial norms (random LayerNorm weights and biases instead of 1 and 0). */
function tinyModel(seed = 1): ClipVisionModel {
  const m = new ClipVisionModel(cfg, { seed });
  let k = 0;
  for (const [name, t] of m.namedParameters()) {
    if (!/norm/.test(name)) continue;
    const v = E.randn(t.shape, /weight/.test(name) ? 1 : 0, 0.3, { seed: seed * 1000 + k++ });
    t.assign(v); v.dispose();
  }
  return m.eval();
}

test('clip: HF CLIPVisionModel key names and shapes', async () => {
  await E.getDevice();
  const m = new ClipVisionModel(cfg, { seed: 3 });
  const keys = [...m.stateDict().keys()];
  const layer = (i: number) => ['self_attn.k_proj', 'self_attn.v_proj', 'self_attn.q_proj', 'self_attn.out_proj', 'layer_norm1', 'mlp.fc1', 'mlp.fc2', 'layer_norm2']
    .flatMap((n) => [`vision_model.encoder.layers.${i}.${n}.weight`, `vision_model.encoder.layers.${i}.${n}.bias`]);
  const expected = ['vision_model.embeddings.class_embedding', 'vision_model.embeddings.patch_embedding.weight', 'vision_model.embeddings.position_embedding.weight',
    'vision_model.pre_layrnorm.weight', 'vision_model.pre_layrnorm.bias', ...layer(0), ...layer(1), 'vision_model.post_layernorm.weight', 'vision_model.post_layernorm.bias'];
  assert.equal([...keys].sort(), [...expected].sort());
  const sd = m.stateDict();
  assert.equal([...sd.get('vision_model.embeddings.patch_embedding.weight')!.shape], [32, 3, 14, 14]);
  assert.equal([...sd.get('vision_model.embeddings.position_embedding.weight')!.shape], [5, 32]);
  assert.equal([...sd.get('vision_model.encoder.layers.1.mlp.fc1.weight')!.shape], [64, 32]);
  // ViT-L/14: 303.2M parameters as HF's CLIPVisionModel (counted from the shapes, not allocated).
  const L = CLIP_VIT_L14_224, Dl = L.hiddenSize;
  const perLayer = 4 * (Dl * Dl + Dl) + 2 * 2 * Dl + (Dl * L.intermediateSize + L.intermediateSize) + (L.intermediateSize * Dl + Dl);
  const total = Dl + Dl * 3 * 14 * 14 + 257 * Dl + 2 * Dl + L.numHiddenLayers * perLayer + 2 * Dl;
  assert.equal(total, 303_179_776);
  assert.equal([numPatches(CLIP_VIT_L14_224), numPatches(CLIP_VIT_L14_336)], [256, 576]);
  // The loader's key/shape list (checked before allocating anything) is the model's.
  assert.equal([...clipVisionParamShapes(cfg)], [...m.stateDict()].map(([k, t]) => [k, [...t.shape]]));
  const big = clipVisionParamShapes(CLIP_VIT_L14_336);
  assert.equal([...big.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0), total + (577 - 257) * Dl);
  m.dispose();
});

test('clip: forward matches the float64 reference at every hidden state and the pooled output', async () => {
  await E.getDevice();
  const m = tinyModel(5);
  const B = 2;
  const px = randomPixels(B, 42);
  const ref = clipVisionRef(cfg, await hostParams(m), Float64Array.from(px), B);
  const pixels = E.Tensor.from(px, [B, 3, 28, 28]);
  const t0 = performance.now();
  const out = E.noGrad(() => m.forward(pixels));
  await out.pooled!.toArray();
  const ms = performance.now() - t0;
  assert.equal(out.hiddenStates.length, cfg.numHiddenLayers + 1);
  assert.ok(out.lastHiddenState === out.hiddenStates[2]);
  for (let i = 0; i < out.hiddenStates.length; i++) {
    assert.equal([...out.hiddenStates[i].shape], [B, S, D]);
    assertClose(await out.hiddenStates[i].toArray(), ref.hiddenStates[i], { atol: 2e-5, rtol: 2e-4, message: `hidden state ${i}` });
  }
  assert.equal([...out.pooled!.shape], [B, D]);
  assertClose(await out.pooled!.toArray(), ref.pooled, { atol: 2e-5, rtol: 2e-4, message: 'pooled' });
  console.log(`     tiny CLIP forward (B=2, 5 tokens, 2 layers, width 32): ${ms.toFixed(1)} ms first call`);
  const t1 = performance.now();
  const again = E.noGrad(() => m.forward(pixels));
  await again.pooled!.toArray();
  console.log(`     tiny CLIP forward, warm: ${(performance.now() - t1).toFixed(1)} ms`);
  disposeClipOutput(again);
  disposeClipOutput(out);
  pixels.dispose();
  m.dispose();
});

test('clip: u-LLaVA features = hidden_states[-2] without CLS; the early stop skips the last layer and keeps nothing else', async () => {
  const dev = await E.getDevice();
  const m = tinyModel(6);
  const B = 2;
  const px = randomPixels(B, 7);
  const ref = clipVisionRef(cfg, await hostParams(m), Float64Array.from(px), B);
  const want: number[] = [];
  for (let b = 0; b < B; b++) want.push(...ref.hiddenStates[1].subarray((b * S + 1) * D, (b + 1) * S * D));
  const pixels = E.Tensor.from(px, [B, 3, 28, 28]);
  const baseline = dev.memory().liveBytes;
  const feats = E.noGrad(() => m.features(pixels));
  assert.equal([...feats.shape], [B, S - 1, D]);
  assertClose(await feats.toArray(), want, { atol: 2e-5, rtol: 2e-4 });
  feats.dispose();
  assert.equal(dev.memory().liveBytes, baseline, 'features() leaves only its result alive');
  const early = E.noGrad(() => m.forward(pixels, { stopAt: -2 }));
  assert.equal(early.hiddenStates.length, 2);
  assert.ok(early.lastHiddenState === null && early.pooled === null);
  const sel = selectFeatures(early);
  assert.equal([...sel.shape], [B, S - 1, D]);
  assertClose(await sel.toArray(), want, { atol: 2e-5, rtol: 2e-4 });
  const withCls = selectFeatures(early, 0, false);
  assertClose(await withCls.toArray(), ref.hiddenStates[0], { atol: 2e-5, rtol: 2e-4 });
  await assertRejects(() => selectFeatures(early, -1), /was not computed/);
  await assertRejects(() => selectFeatures(early, 3), /out of range/);
  for (const t of [sel, withCls]) t.dispose();
  disposeClipOutput(early);
  assert.equal(dev.memory().liveBytes, baseline, 'forward outputs disposed');
  // 336 px input to a 224 px tower is refused before anything runs.
  await assertRejects(() => m.features(E.zeros([1, 3, 42, 42])), /pixels must be \[B, 3, 28, 28\]/);
  pixels.dispose();
  m.dispose();
});

test('clip: gradients of a scalar of hidden_states[-2] match finite differences of the reference', async () => {
  await E.getDevice();
  const m = tinyModel(8);
  const B = 1;
  const px = randomPixels(B, 9);
  const params = await hostParams(m);
  const w = randomPixels(1, 10).slice(0, B * S * D).map((v) => v / 2);
  const scalarRef = (p: ClipRefParams) => {
    const h = clipVisionRef(cfg, p, Float64Array.from(px), B).hiddenStates[cfg.numHiddenLayers - 1];
    let s = 0;
    for (let i = 0; i < h.length; i++) s += h[i] * w[i];
    return s;
  };
  const pixels = E.Tensor.from(px, [B, 3, 28, 28]);
  const out = m.forward(pixels, { stopAt: -2 });
  const wt = E.Tensor.from(w, [B, S, D]);
  const loss = E.sum(E.mul(out.hiddenStates[1], wt));
  E.backward(loss);
  const sd = m.stateDict();
  const names = ['embeddings.class_embedding', 'embeddings.position_embedding.weight', 'pre_layrnorm.weight',
    'encoder.layers.0.self_attn.q_proj.bias', 'encoder.layers.0.layer_norm2.bias', 'encoder.layers.0.mlp.fc1.bias'];
  const h = 1e-5;
  for (const n of names) {
    const g = sd.get(`vision_model.${n}`)!.grad;
    assert.ok(g !== null, `${n} has no gradient`);
    const v = params.get(n)!;
    const numeric = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x0 = v[i];
      v[i] = x0 + h; const lp = scalarRef(params);
      v[i] = x0 - h; const lm = scalarRef(params);
      v[i] = x0;
      numeric[i] = (lp - lm) / (2 * h);
    }
    assertClose(await g.toArray(), numeric, { atol: 5e-4, rtol: 2e-3, message: `grad of ${n}` });
  }
  // The last layer and post_layernorm are not used by hidden_states[-2]: no gradient reaches them.
  assert.ok(sd.get('vision_model.encoder.layers.1.mlp.fc2.weight')!.grad === null);
  assert.ok(sd.get('vision_model.post_layernorm.weight')!.grad === null);
  // The patch convolution's gradient, checked on a few entries.
  const gConv = await sd.get('vision_model.embeddings.patch_embedding.weight')!.grad!.toArray();
  const conv = params.get('embeddings.patch_embedding.weight')!;
  for (const i of [0, 17, 600, 5000, conv.length - 1]) {
    const x0 = conv[i];
    conv[i] = x0 + h; const lp = scalarRef(params);
    conv[i] = x0 - h; const lm = scalarRef(params);
    conv[i] = x0;
    assertClose([gConv[i]], [(lp - lm) / (2 * h)], { atol: 5e-4, rtol: 2e-3, message: `grad of patch_embedding.weight[${i}]` });
  }
  E.noGrad(() => { loss.dispose(); wt.dispose(); disposeClipOutput(out); pixels.dispose(); });
  m.zeroGrad();
  m.dispose();
});

test('clip: strict loading reports missing, unexpected and mis-shaped keys; HF configs parse to ViT-L/14', async () => {
  await E.getDevice();
  const a = new ClipVisionModel(cfg, { seed: 11 });
  const b = new ClipVisionModel(cfg, { seed: 12 });
  const sd = new Map(a.stateDict());
  sd.delete('vision_model.encoder.layers.1.mlp.fc2.bias');
  sd.set('vision_model.embeddings.position_ids', E.zeros([1, 5], 'i32'));
  sd.set('vision_model.post_layernorm.weight', E.zeros([31]));
  let err: unknown;
  try { b.loadStateDict(sd); } catch (e) { err = e; }
  assert.ok(err instanceof StateDictError, String(err));
  const msg = (err as Error).message;
  assert.ok(/missing 1: vision_model.encoder.layers.1.mlp.fc2.bias/.test(msg) && /unexpected 1: vision_model.embeddings.position_ids/.test(msg)
    && /wrong shape 1: vision_model.post_layernorm.weight/.test(msg), msg);
  // The loader's view of a whole checkpoint: u-LLaVA's prefix found, position_ids and other towers dropped.
  const full = new Map<string, E.Tensor>([...a.stateDict()].map(([k, t]) => [`llm.vision_encoder.${k}`, t]));
  full.set('llm.vision_encoder.vision_model.embeddings.position_ids', sd.get('vision_model.embeddings.position_ids')!);
  full.set('llm.model.embed_tokens.weight', sd.get('vision_model.post_layernorm.weight')!);
  assert.equal(detectClipPrefix(full.keys()), 'llm.vision_encoder.');
  b.loadStateDict(clipVisionStateDict(full));
  assertClose(await b.visionModel.encoder.layers.at(1).mlp.fc2.weight.toArray(), await a.visionModel.encoder.layers.at(1).mlp.fc2.weight.toArray(), { atol: 0, rtol: 0 });
  // openai/clip-vit-large-patch14's config.json (a CLIPConfig listing only what differs from the defaults).
  const openai = { model_type: 'clip', projection_dim: 768, vision_config: { hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16,
    num_hidden_layers: 24, patch_size: 14, projection_dim: 768 }, text_config: { hidden_size: 768 } };
  assert.equal(clipVisionConfigFromHF(openai), CLIP_VIT_L14_224);
  assert.equal(clipVisionConfigFromHF({ ...openai.vision_config, image_size: 336 }), CLIP_VIT_L14_336);
  assert.equal(clipVisionConfigFromHF(clipVisionConfigToHF(CLIP_TINY)), CLIP_TINY);
  await assertRejects(() => clipVisionConfigFromHF({ hidden_size: 30, num_attention_heads: 4 }), /not a multiple of 4 heads/);
  await assertRejects(() => clipVisionConfigFromHF({ hidden_act: 'swish' }), /unsupported hidden_act/);
  await assertRejects(() => clipVisionConfigFromHF({ image_size: 225, patch_size: 14 }), /not a multiple of patch size/);
  E.noGrad(() => { for (const k of ['vision_model.embeddings.position_ids', 'vision_model.post_layernorm.weight']) sd.get(k)!.dispose(); });
  a.dispose(); b.dispose();
});

async function tensorsToWrite(m: ClipVisionModel, prefix: string): Promise<TensorToWrite[]> {
  const out: TensorToWrite[] = [];
  for (const [k, t] of m.stateDict()) {
    const f = await t.toArray() as Float32Array;
    out.push({ name: prefix + k, dtype: 'F32', shape: [...t.shape], data: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) });
  }
  return out;
}

test('clip: loading safetensors checkpoints (HF layout with config.json; u-LLaVA prefix among LLM weights; bf16)', async () => {
  await E.getDevice();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-clip-'));
  const src = tinyModel(13);
  const px = randomPixels(1, 14);
  const pixels = E.Tensor.from(px, [1, 3, 28, 28]);
  const want = await E.noGrad(() => src.features(pixels)).toArray();
  try {
    // 1. HF CLIPVisionModel directory: model.safetensors + config.json; an old transformers' position_ids buffer.
    const hf = join(dir, 'hf');
    await mkdir(hf);
    const ids = new BigInt64Array([0n, 1n, 2n, 3n, 4n]);
    await writeSafetensors(join(hf, 'model.safetensors'), [...await tensorsToWrite(src, ''),
      { name: 'vision_model.embeddings.position_ids', dtype: 'I64', shape: [1, 5], data: new Uint8Array(ids.buffer) }]);
    await writeFile(join(hf, 'config.json'), JSON.stringify(clipVisionConfigToHF(cfg)));
    const a = await loadClipVisionModel(hf);
    assert.equal(a.prefix, '');
    assert.equal(a.config, cfg);
    assertClose(await E.noGrad(() => a.model.features(pixels)).toArray(), want, { atol: 1e-6, rtol: 0 });
    a.model.dispose();
    // 2. u-LLaVA's layout: llm.vision_encoder.* beside other weights, no CLIP config (given explicitly).
    const ul = join(dir, 'ullava.safetensors');
    await writeSafetensors(ul, [{ name: 'llm.lm_head.weight', dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) },
      ...await tensorsToWrite(src, 'llm.vision_encoder.'), { name: 'visual_model.x', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    const b = await loadClipVisionModel(ul, { config: cfg });
    assert.equal(b.prefix, 'llm.vision_encoder.');
    assert.ok(b.model.parameters().every((t) => !t.requiresGrad), 'the loaded tower is frozen by default');
    assertClose(await E.noGrad(() => b.model.features(pixels)).toArray(), want, { atol: 1e-6, rtol: 0 });
    b.model.dispose();
    // Shapes alone give everything but the head count (64-dim heads assumed unless told).
    const inferred = inferClipVisionConfig((await tensorsToWrite(src, '')).map((t) => ({ name: t.name, shape: t.shape })), 2);
    assert.equal(inferred, cfg);
    // 3. bf16 parameters: close to f32.
    const c = await loadClipVisionModel(ul, { config: cfg, dtype: 'bf16' });
    assert.equal(c.model.visionModel.encoder.layers.at(0).mlp.fc1.weight.dtype, 'bf16');
    const got = await E.noGrad(() => c.model.features(pixels)).toArray();
    assertClose(got, want, { atol: 0.1, rtol: 0.05 });
    c.model.dispose();
    // 4. A tower with a tensor missing is refused, naming it.
    const broken = join(dir, 'broken.safetensors');
    await writeSafetensors(broken, (await tensorsToWrite(src, 'llm.vision_encoder.')).filter((t) => !t.name.endsWith('layers.1.layer_norm2.bias')));
    await assertRejects(() => loadClipVisionModel(broken, { config: cfg }), /missing 1: vision_model.encoder.layers.1.layer_norm2.bias/);
    await assertRejects(() => loadClipVisionModel(broken, { config: CLIP_VIT_L14_224 }), /wrong shape/);
    const none = join(dir, 'none.safetensors');
    await writeSafetensors(none, [{ name: 'llm.lm_head.weight', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    await assertRejects(() => loadClipVisionModel(none), /no CLIP vision tower/);
  } finally {
    await rm(dir, { recursive: true });
    pixels.dispose();
    src.dispose();
  }
});
