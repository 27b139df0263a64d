import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose, assertRejects } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { LoRALinear, StateDictError, Linear } from '../../../../nn/index.js';
import { writeShardedSafetensors } from '../../../../nn/io/convert.js';
import {
  LlamaForCausalLM, KVCache, tinyLlamaConfig, llamaConfigFromHF, LLAMA_7B, llamaMemoryBytes, llamaParameterCount, checkFits,
  InsufficientMemoryError, loadLlama, loadLlamaWeights, type LlamaConfig,
} from '../../../../ullava/models/llama/index.js';
import { refLlama, refCrossEntropy, type RefWeights } from '../../../ref/llama.js';

const PAD = 0;

/** A tiny model with random weights (norm weights too, so they matter) and its float64 copy. */
async function tinyModel(over: Partial<LlamaConfig> = {}, seed = 11): Promise<{ model: LlamaForCausalLM; w: RefWeights; cfg: LlamaConfig }> {
  await E.getDevice();
  const cfg = tinyLlamaConfig(over);
  const model = new LlamaForCausalLM(cfg, { seed });
  let k = 0;
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('norm.weight')) { const r = E.rand(p.shape, 0.5, 1.5, { seed: seed * 100 + k++ }); p.assign(r); r.dispose(); }
  }
  const w: RefWeights = new Map();
  for (const [name, p] of model.stateDict()) w.set(name, Float64Array.from(await p.toArray()));
  return { model, w, cfg };
}

function ids(rows: number[][]): E.Tensor { return E.Tensor.from(rows.flat(), [rows.length, rows[0].length], 'i32'); }
function randomIds(n: number, vocab: number, salt: number): number[] { return Array.from({ length: n }, (_, i) => 1 + ((i * 37 + salt * 53 + i * i * 11) % (vocab - 1))); }

/** Rows [b][t] of a [B, S, X] array. */
function rowsOf(a: ArrayLike<number>, B: number, S: number, X: number, b: number, t: number): number[] {
  return Array.from(a).slice((b * S + t) * X, (b * S + t + 1) * X);
}

test('llama config: HF config.json fields, LLaMA-7B, nested u-LLaVA llm_config, GQA, clear errors', async () => {
  const vicuna = { architectures: ['LlamaForCausalLM'], hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32,
    num_hidden_layers: 32, rms_norm_eps: 1e-6, vocab_size: 32000, max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
    tie_word_embeddings: false, torch_dtype: 'float16' };
  assert.equal(llamaConfigFromHF(vicuna), { ...LLAMA_7B });
  const nested = llamaConfigFromHF({ architectures: ['UllavaForCausalLM'], llm_config: { ...vicuna, vocab_size: 32010 } });
  assert.equal(nested.vocabSize, 32010);
  const gqa = llamaConfigFromHF({ ...vicuna, num_key_value_heads: 8, rope_theta: 500000 });
  assert.equal([gqa.numKeyValueHeads, gqa.ropeTheta], [8, 500000]);
  await assertRejects(() => llamaConfigFromHF({ ...vicuna, num_key_value_heads: 5 }), /not a multiple of num_key_value_heads 5/);
  await assertRejects(() => llamaConfigFromHF({ ...vicuna, rope_scaling: { type: 'linear', factor: 2 } }), /rope_scaling/);
  assert.equal(llamaParameterCount(LLAMA_7B), 6738415616);
});

test('llama memory: 7B bf16 figures, checkFits refuses with the breakdown', async () => {
  const m = llamaMemoryBytes(LLAMA_7B, { dtype: 'bf16', batch: 1, maxTokens: 2048, attentionScores: false });
  assert.equal(m.weights, 6738415616 * 2);
  assert.equal(m.kvCachePerToken, 2 * 32 * 4096 * 2); // 512 KiB per token
  assert.equal(m.kvCache, 2048 * 524288);
  assert.ok(m.total === m.weights + m.kvCache + m.activations && m.activations > 0 && m.activations < 2 ** 30, JSON.stringify(m));
  const device = await E.getDevice();
  const err = await assertRejects(() => checkFits(device, m, { budgetBytes: 8 * 2 ** 30, what: 'Vicuna-7B' }), /Vicuna-7B needs 12\.55 GiB weights \+ 1\.00 GiB KV cache/);
  assert.ok(err instanceof InsufficientMemoryError);
  // The 7B embedding (250 MiB in bf16) must fit one storage binding: lavapipe binds at most 128 MiB.
  const maxBinding = device.maxBindingBytes;
  if (maxBinding < m.largestTensor) await assertRejects(() => checkFits(device, m, { budgetBytes: 2 ** 40 }), /binds at most/);
  else checkFits(device, m, { budgetBytes: 2 ** 40 });
  checkFits(device, llamaMemoryBytes(tinyLlamaConfig(), { dtype: 'f32', batch: 2, maxTokens: 16 }), { budgetBytes: 2 ** 30 });
});

test('llama forward: logits and final-norm hidden states match the float64 reference (GQA, 2 layers)', async () => {
  const { model, w, cfg } = await tinyModel();
  const rows = [randomIds(7, cfg.vocabSize, 1), randomIds(7, cfg.vocabSize, 2)];
  const out = E.noGrad(() => model.forward({ inputIds: ids(rows) }));
  assert.equal(out.logits.shape, [2, 7, cfg.vocabSize]);
  assert.equal(out.hidden.shape, [2, 7, cfg.hiddenSize]);
  const logits = await out.logits.toArray(), hidden = await out.hidden.toArray();
  for (let b = 0; b < 2; b++) {
    const ref = refLlama(cfg, w, { ids: rows[b] });
    for (let t = 0; t < 7; t++) {
      assertClose(rowsOf(logits, 2, 7, cfg.vocabSize, b, t), ref.logits[t], { atol: 2e-4, rtol: 1e-3, message: `logits b${b} t${t}` });
      assertClose(rowsOf(hidden, 2, 7, cfg.hiddenSize, b, t), ref.hidden[t], { atol: 1e-4, rtol: 1e-3, message: `hidden b${b} t${t}` });
    }
  }
  // Input embeddings give the same result as the ids they embed (the path image features take).
  const emb = E.noGrad(() => model.forward({ inputsEmbeds: model.embed(ids(rows)) }));
  assertClose(await emb.logits.toArray(), logits, { atol: 1e-6, rtol: 0 });
  model.dispose();
});

test('llama forward: left-padded batch equals each sequence alone (masked keys never attended, positions from the mask)', async () => {
  const { model, w, cfg } = await tinyModel();
  const a = randomIds(6, cfg.vocabSize, 3), b = randomIds(3, cfg.vocabSize, 4);
  const rows = [a, [PAD, PAD, PAD, ...b]];
  const mask = E.Tensor.from([1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1], [2, 6], 'i32');
  const out = E.noGrad(() => model.forward({ inputIds: ids(rows), attentionMask: mask }));
  const logits = await out.logits.toArray();
  const ra = refLlama(cfg, w, { ids: a }), rb = refLlama(cfg, w, { ids: b });
  for (let t = 0; t < 6; t++) assertClose(rowsOf(logits, 2, 6, cfg.vocabSize, 0, t), ra.logits[t], { atol: 2e-4, rtol: 1e-3, message: `a t${t}` });
  for (let t = 0; t < 3; t++) assertClose(rowsOf(logits, 2, 6, cfg.vocabSize, 1, t + 3), rb.logits[t], { atol: 2e-4, rtol: 1e-3, message: `b t${t}` });
  assert.ok(Array.from(logits).every(Number.isFinite), 'padding rows stay finite');
  model.dispose();
});

async function checkCachedDecoding(kvDtype: E.DType, tol: { atol: number; rtol: number }): Promise<void> {
  const { model, cfg } = await tinyModel({}, 13);
  const V = cfg.vocabSize;
  const a = randomIds(9, V, 5), b = randomIds(6, V, 6);
  const full = [a, [PAD, PAD, PAD, ...b]];
  const maskRows = [new Array(9).fill(1), [0, 0, 0, 1, 1, 1, 1, 1, 1]];
  const ref = E.noGrad(() => model.forward({ inputIds: ids(full), attentionMask: E.Tensor.from(maskRows.flat(), [2, 9], 'i32') }));
  const refLogits = await ref.logits.toArray();
  // Prefill 5 tokens into a cache with room for 6 (it grows by chunks of 4), then 4 single-token steps.
  const cache = new KVCache(cfg, { batch: 2, maxLength: 6, chunk: 4, dtype: kvDtype });
  const P = 5;
  const pre = E.noGrad(() => model.forward({ inputIds: ids(full.map((r) => r.slice(0, P))), kvCache: cache,
    attentionMask: E.Tensor.from(maskRows.map((r) => r.slice(0, P)).flat(), [2, P], 'i32') }));
  const preLogits = await pre.logits.toArray();
  for (let bb = 0; bb < 2; bb++) for (let t = maskRows[bb].indexOf(1); t < P; t++) {
    assertClose(rowsOf(preLogits, 2, P, V, bb, t), rowsOf(refLogits, 2, 9, V, bb, t), { ...tol, message: `prefill b${bb} t${t}` });
  }
  for (let t = P; t < 9; t++) {
    // Step 6 passes the mask HF-style ([B, past + 1]); the others pass only the new token's.
    const m = t === 6 ? E.Tensor.from(maskRows.map((r) => r.slice(0, t + 1)).flat(), [2, t + 1], 'i32') : E.ones([2, 1], 'i32');
    const step = E.noGrad(() => model.forward({ inputIds: ids(full.map((r) => [r[t]])), attentionMask: m, kvCache: cache, lastLogitsOnly: true }));
    assert.equal(step.logits.shape, [2, 1, V]);
    const sl = await step.logits.toArray();
    for (let bb = 0; bb < 2; bb++) assertClose(rowsOf(sl, 2, 1, V, bb, 0), rowsOf(refLogits, 2, 9, V, bb, t), { ...tol, message: `step ${t} b${bb}` });
    step.logits.dispose(); step.hidden.dispose();
  }
  assert.equal([cache.length, cache.capacity], [9, 12]);
  cache.dispose();
  model.dispose();
}

test('llama KV cache: prefill + one-token steps give the full forward logits (batch, left padding, GQA, growth)', () =>
  checkCachedDecoding('f32', { atol: 2e-4, rtol: 1e-3 }));

test('llama KV cache in bf16: same logits within bf16 rounding of K/V', () => checkCachedDecoding('bf16', { atol: 5e-2, rtol: 5e-2 }));

test('llama gradients: d crossEntropy / d parameters match finite differences of the float64 reference', async () => {
  const { model, w, cfg } = await tinyModel({ numHiddenLayers: 2, hiddenSize: 32, intermediateSize: 48, vocabSize: 40 }, 17);
  const seq = randomIds(5, cfg.vocabSize, 7), targets = [...seq.slice(1), -100];
  const loss = E.crossEntropy(model.forward({ inputIds: ids([seq]) }).logits, E.Tensor.from(targets, [1, 5], 'i32'));
  const refLoss = refCrossEntropy(refLlama(cfg, w, { ids: seq }).logits, targets);
  assertClose([await loss.item()], [refLoss], { atol: 1e-5, rtol: 1e-4, message: 'loss' });
  E.backward(loss);
  const params = new Map(model.namedParameters());
  const names = ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.weight',
    'model.layers.1.self_attn.v_proj.weight', 'model.layers.0.self_attn.o_proj.weight', 'model.layers.1.mlp.gate_proj.weight',
    'model.layers.0.mlp.down_proj.weight', 'model.layers.1.input_layernorm.weight', 'model.norm.weight', 'lm_head.weight'];
  const eps = 1e-5;
  for (const name of names) {
    const g = await params.get(name)!.grad!.toArray();
    let best = 0;
    for (let i = 0; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[best])) best = i;
    for (const i of [best, (best * 7 + 3) % g.length]) {
      const W = w.get(name)!, orig = W[i];
      W[i] = orig + eps; const up = refCrossEntropy(refLlama(cfg, w, { ids: seq }).logits, targets);
      W[i] = orig - eps; const down = refCrossEntropy(refLlama(cfg, w, { ids: seq }).logits, targets);
      W[i] = orig;
      assertClose([g[i]], [(up - down) / (2 * eps)], { atol: 2e-5, rtol: 2e-3, message: `${name}[${i}]` });
    }
  }
  model.dispose();
});

test('llama checkpoint: sharded safetensors with a prefix, config.json and an inv_freq key load through loadLlama', async () => {
  const { model, cfg } = await tinyModel({}, 19);
  const dir = await mkdtemp(join(tmpdir(), 'llama-ckpt-'));
  try {
    const tensors = [];
    for (const [name, p] of model.stateDict()) {
      const f = await p.toArray() as Float32Array;
      tensors.push({ name: `llm.${name}`, dtype: 'BF16' as const, shape: [...p.shape], data: new Uint8Array(E.encodeHost('bf16', f).buffer) });
    }
    tensors.push({ name: 'llm.model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32' as const, shape: [8], data: new Uint8Array(32) });
    tensors.push({ name: 'visual_model.image_encoder.pos_embed', dtype: 'F32' as const, shape: [2], data: new Uint8Array(8) });
    const files = await writeShardedSafetensors(dir, 'model', tensors, { maxShardBytes: 40_000 });
    assert.ok(files.length > 2, `${files.length} shards`);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['UllavaForCausalLM'], llm_config: {
      vocab_size: cfg.vocabSize, hidden_size: cfg.hiddenSize, intermediate_size: cfg.intermediateSize, num_hidden_layers: cfg.numHiddenLayers,
      num_attention_heads: cfg.numAttentionHeads, num_key_value_heads: cfg.numKeyValueHeads, rms_norm_eps: cfg.rmsNormEps,
      max_position_embeddings: cfg.maxPositionEmbeddings } }));
    const device = await E.getDevice();
    device.pool.resetPeak();
    const before = device.memory().liveBytes;
    let progress = 0;
    const loaded = await loadLlama(dir, { prefix: 'llm.', dtype: 'bf16', maxTokens: 16, onProgress: (d) => { progress = d; } });
    assert.ok(progress > 0);
    assert.equal(loaded.dtype, 'bf16');
    const x = ids([randomIds(6, cfg.vocabSize, 8)]);
    model.to('bf16');
    const want = await E.noGrad(() => model.forward({ inputIds: x })).logits.toArray();
    const got = await E.noGrad(() => loaded.forward({ inputIds: x })).logits.toArray();
    assertClose(got, want, { atol: 0, rtol: 0, message: 'same bf16 weights, same logits' });
    assert.ok(device.memory().peakLiveBytes - before < 3 * loaded.numParameters() * 2 + 2 ** 20, 'loading holds the model plus about one tensor');
    // Strict: every problem listed in one error, before anything is written.
    const q0 = await loaded.model.layers.at(0).self_attn.q_proj.forward(E.ones([1, cfg.hiddenSize], 'bf16')).toArray();
    const bad = [...tensors.filter((t) => t.name !== 'llm.model.norm.weight' && t.name !== 'llm.lm_head.weight'),
      { name: 'llm.lm_head.weight', dtype: 'F32' as const, shape: [3, cfg.hiddenSize], data: new Uint8Array(12 * cfg.hiddenSize) },
      { name: 'llm.model.extra.weight', dtype: 'F32' as const, shape: [1], data: new Uint8Array(4) }];
    const badDir = join(dir, 'bad');
    await writeShardedSafetensors(badDir, 'model', bad);
    const err = await assertRejects(() => loadLlamaWeights(loaded, badDir, { prefix: 'llm.' }),
      /missing 1: model\.norm\.weight; unexpected 1: llm\.model\.extra\.weight; wrong shape 1: llm\.lm_head\.weight \[3,64\] vs model \[128,64\]/);
    assert.ok(err instanceof StateDictError);
    assertClose(await loaded.model.layers.at(0).self_attn.q_proj.forward(E.ones([1, cfg.hiddenSize], 'bf16')).toArray(), q0, { atol: 0, rtol: 0 });
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('llama: HF key names; LoRA on q/v swaps in with PEFT keys; cached forward refuses gradients with a clear error', async () => {
  const { model, cfg } = await tinyModel({ tieWordEmbeddings: true });
  const keys = [...model.stateDict().keys()];
  assert.equal(keys.slice(0, 11), ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.weight',
    'model.layers.0.self_attn.v_proj.weight', 'model.layers.0.self_attn.o_proj.weight', 'model.layers.0.mlp.gate_proj.weight',
    'model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.down_proj.weight', 'model.layers.0.input_layernorm.weight',
    'model.layers.0.post_attention_layernorm.weight', 'model.layers.1.self_attn.q_proj.weight']);
  assert.equal(keys[keys.length - 1], 'model.norm.weight'); // tied: no lm_head
  const x = ids([randomIds(4, cfg.vocabSize, 9)]);
  const y0 = await E.noGrad(() => model.forward({ inputIds: x })).logits.toArray();
  const attn = model.model.layers.at(0).self_attn;
  attn.replaceProjection('q_proj', new LoRALinear(attn.q_proj as Linear, { r: 2, seed: 3 }));
  assert.ok(model.stateDict().has('model.layers.0.self_attn.q_proj.lora_A.weight'));
  assertClose(await E.noGrad(() => model.forward({ inputIds: x })).logits.toArray(), y0, { atol: 1e-6, rtol: 0 });
  const cache = new KVCache(cfg, { batch: 1, maxLength: 8 });
  await assertRejects(() => model.forward({ inputIds: x, kvCache: cache }), /noGrad/);
  cache.dispose();
  model.dispose();
});

test('llama cached decoding without a mask, explicit position ids, and live memory flat across steps', async () => {
  const { model, cfg } = await tinyModel({}, 23);
  const V = cfg.vocabSize;
  const seq = randomIds(7, V, 10);
  const ref = await E.noGrad(() => model.forward({ inputIds: ids([seq]) })).logits.toArray();
  const withPos = await E.noGrad(() => model.forward({ inputIds: ids([seq]), positionIds: E.reshape(E.arange(0, 7, 1, 'i32'), [1, 7]) })).logits.toArray();
  assertClose(withPos, ref, { atol: 0, rtol: 0 });
  const device = await E.getDevice();
  const cache = new KVCache(cfg, { batch: 1, maxLength: 16 });
  E.noGrad(() => model.forward({ inputIds: ids([seq.slice(0, 3)]), kvCache: cache }));
  let live = 0;
  for (let t = 3; t < 7; t++) {
    if (t === 5) live = device.memory().liveBytes;
    const out = E.scope(() => E.noGrad(() => model.forward({ inputIds: ids([[seq[t]]]), kvCache: cache, lastLogitsOnly: true })).logits);
    assertClose(await out.toArray(), rowsOf(ref, 1, 7, V, 0, t), { atol: 2e-4, rtol: 1e-3, message: `step ${t}` });
    out.dispose();
  }
  assert.equal(device.memory().liveBytes, live, 'a decoding step leaves nothing behind');
  cache.dispose();
  model.dispose();
});
