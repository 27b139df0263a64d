// The largest bindable buffer (Device.maxBindingBytes, the maxBindingBytes option, WEBGPU_ENGINE_MAX_BINDING):
// NVIDIA binds at most 2 GiB - 4 per storage binding; these tests force a small limit so that the placement it
// requires (pool refusal, chunked transfers, optimizer buckets, matmul plans, model loading) runs here too.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { test, HANG_GUARD_MS } from '../harness/test.js';
import { assertClose, assertRejects } from '../harness/assert.js';
import * as E from '../../engine/index.js';
import { AdamW } from '../../nn/optim/index.js';
import { writeShardedSafetensors } from '../../nn/io/convert.js';
import { LlamaForCausalLM, tinyLlamaConfig, loadLlama } from '../../ullava/models/llama/index.js';
import { newRefParam, adamwStepRef } from '../ref/optim.js';

const KIB64 = 64 * 1024;
const engineUrl = new URL('../../engine/index.js', import.meta.url).href;

/** Runs `fn` with a device capped at `maxBindingBytes` as the default device, then restores the previous one. */
async function withLimitedDevice<T>(maxBindingBytes: number, fn: (d: E.Device) => Promise<T>): Promise<T> {
  const previous = await E.getDevice();
  const d = await E.openDevice({ maxBindingBytes, makeDefault: false });
  E.setDefaultDevice(d);
  try { return await fn(d); } finally { E.setDefaultDevice(previous); await d.close(); }
}

test('parseBytes and bindableBytes: suffixes, the adapter limits win when lower, clear errors', async () => {
  assert.equal([E.parseBytes('65536', 'x'), E.parseBytes('64K', 'x'), E.parseBytes('256m', 'x'), E.parseBytes('2G', 'x'), E.parseBytes('1.5KiB', 'x')],
    [65536, 65536, 256 << 20, 2 ** 31, 1536]);
  await assertRejects(() => E.parseBytes('lots', 'WEBGPU_ENGINE_MAX_BINDING'), /WEBGPU_ENGINE_MAX_BINDING: "lots" is not a byte count/);
  await assertRejects(() => E.parseBytes('0', 'x'), /below 4 bytes/);
  const nvidia = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 31 - 4 };
  assert.is(E.bindableBytes(nvidia), 2 ** 31 - 4);
  assert.is(E.bindableBytes(nvidia, KIB64 + 3), KIB64);
  assert.is(E.bindableBytes({ maxBufferSize: 1000, maxStorageBufferBindingSize: 4000 }, 2 ** 20), 1000);
  await assertRejects(() => E.bindableBytes(nvidia, 2), /at least 4 bytes/);
});

test('a 64 KiB limit: tensors up to it work, one byte-word more is refused naming the limit', async () => {
  await withLimitedDevice(KIB64, async (d) => {
    assert.is(d.maxBindingBytes, KIB64);
    assert.is(d.describe().limits.maxBindingBytes, KIB64);
    const fits = E.arange(0, KIB64 / 4, 1, 'f32');
    assert.is((await fits.toArray())[KIB64 / 4 - 1], KIB64 / 4 - 1);
    await assertRejects(() => E.zeros([KIB64 / 4 + 1], 'f32'),
      /a tensor of 65,540 bytes exceeds this device's largest bindable buffer \(65,536 bytes: .*WEBGPU_ENGINE_MAX_BINDING\): split it/);
    fits.dispose();
  });
});

test('uploads and readbacks go in staging chunks: a 5003-element f32 and a bf16 tensor round-trip in 1000-byte chunks', async () => {
  const d = await E.getDevice();
  const chunk = d.stagingChunkBytes;
  d.stagingChunkBytes = 1000;
  try {
    const v = Float32Array.from({ length: 5003 }, (_, i) => Math.sin(i) * 100);
    const t = E.Tensor.from(v, [5003]);
    assert.equal(Array.from(await t.toArray()), Array.from(v));
    const part = E.slice(t, 0, 997, 4001); // a read at an offset that is not a chunk boundary
    assert.equal(Array.from(await part.toArray()), Array.from(v.subarray(997, 4001)));
    const h = E.Tensor.from(v.subarray(0, 2001), [2001], 'bf16'); // 4002 bytes: the last chunk is not a multiple of 4
    assertClose(await h.toArray(), v.subarray(0, 2001), { rtol: 1 / 128, atol: 0 });
    for (const x of [t, part, h]) x.dispose();
  } finally { d.stagingChunkBytes = chunk; }
});

test('WEBGPU_ENGINE_MAX_BINDING caps the default device; a bad value is a clear error', () => {
  const code = `import('${engineUrl}').then(async (E) => { try { const d = await E.getDevice(); console.log('limit=' + d.maxBindingBytes); }
    catch (e) { console.log(e.name + ': ' + e.message); } })`;
  const run = (v: string) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, WEBGPU_ENGINE_MAX_BINDING: v }, encoding: 'utf8', timeout: HANG_GUARD_MS });
    return `${r.stdout}${r.stderr}`;
  };
  assert.match(run('64K'), /limit=65536/);
  assert.match(run('big'), /WEBGPU_ENGINE_MAX_BINDING: "big" is not a byte count/);
});

test('AdamW over parameters larger than one 64 KiB binding together: state split in buckets, same steps as float64', async () => {
  await withLimitedDevice(KIB64, async () => {
    let s = 7;
    const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 * 2 - 1; };
    const sizes = [12000, 9000, 16384]; // 48 KB, 36 KB, 64 KiB: three buckets of f32 state, the last full
    const init = sizes.map((n) => Float32Array.from({ length: n }, rnd));
    const params = init.map((v) => E.Tensor.from(v, [v.length]).requireGrad());
    const hyper = { lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.95] as [number, number], eps: 1e-8 };
    const opt = new AdamW([{ params }], hyper);
    const refs = init.map((v) => newRefParam(v));
    for (let step = 0; step < 2; step++) {
      const grads = init.map((v) => Float32Array.from({ length: v.length }, rnd));
      params.forEach((p, i) => { p.grad = E.Tensor.from(grads[i], p.shape); });
      opt.step();
      refs.forEach((r, i) => adamwStepRef(r, Array.from(grads[i]), hyper));
      for (let i = 0; i < params.length; i++) assertClose(await params[i].toArray(), refs[i].p, { atol: 1e-6, rtol: 1e-5, message: `param ${i} step ${step}` });
      opt.zeroGrad();
    }
    const buckets = (opt as unknown as { buckets: unknown[] }).buckets;
    assert.is(buckets.length, 3, 'one bucket per parameter: two never share 64 KiB');
    opt.dispose();
    for (const p of params) p.dispose();
  });
});

test('a tiny LLaMA loads under a binding limit just above its largest weight and gives the same logits; below it, a clear refusal', async () => {
  await E.getDevice();
  const cfg = tinyLlamaConfig({ vocabSize: 256 }); // embedding and head 256 x 64 f32 = 64 KiB each
  const model = new LlamaForCausalLM(cfg, { seed: 3 });
  const dir = await mkdtemp(join(tmpdir(), 'binding-limit-'));
  try {
    const tensors = [];
    for (const [name, p] of model.stateDict()) {
      tensors.push({ name, dtype: 'F32' as const, shape: [...p.shape], data: new Uint8Array((await p.toArray() as Float32Array).buffer) });
    }
    await writeShardedSafetensors(dir, 'model', tensors);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], vocab_size: cfg.vocabSize,
      hidden_size: cfg.hiddenSize, intermediate_size: cfg.intermediateSize, num_hidden_layers: cfg.numHiddenLayers,
      num_attention_heads: cfg.numAttentionHeads, num_key_value_heads: cfg.numKeyValueHeads, rms_norm_eps: cfg.rmsNormEps,
      max_position_embeddings: cfg.maxPositionEmbeddings }));
    const ids = [5, 77, 200, 13, 255, 1, 42];
    const want = await E.noGrad(() => model.forward({ inputIds: E.Tensor.from(ids, [1, ids.length], 'i32') })).logits.toArray();
    const got = await withLimitedDevice(KIB64, async () => {
      const loaded = await loadLlama(dir, { dtype: 'f32', maxTokens: 16, budgetBytes: 2 ** 30 });
      try {
        return await E.noGrad(() => loaded.forward({ inputIds: E.Tensor.from(ids, [1, ids.length], 'i32') })).logits.toArray();
      } finally { loaded.dispose(); }
    });
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5, message: 'logits under a 64 KiB binding limit' });
    await withLimitedDevice(KIB64 - 4096, async () => {
      await assertRejects(() => loadLlama(dir, { dtype: 'f32', maxTokens: 16, budgetBytes: 2 ** 30 }), /LLaMA needs a .* tensor but this device binds at most/);
    });
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
