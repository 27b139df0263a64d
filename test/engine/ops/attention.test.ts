// Flash attention (engine/ops/attention.ts) against the plain CPU reference (test/ref/attention.ts):
// forward and finite-difference backward through checkOp on small shapes, the analytic gradient of the
// unfused engine composition (nn/attention.ts) where finite differences would be too slow, and every
// kernel variant (rows for CPU drivers, staged for GPUs, split-KV for decode) on this device.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { attentionUnfused } from '../../../nn/attention.js';
import { attention as refAttention } from '../../ref/attention.js';
import { NDArray, permute as refPermute } from '../../ref/ndarray.js';

type Impl = E.AttentionImpl | undefined;
const IMPLS: Impl[] = [undefined, 'staged'];
const sdpa = E.scaledDotProductAttention;

for (const impl of IMPLS) {
  const tag = impl ?? 'auto';
  // The GPU variant is checked here too (it runs anywhere), in f32 only: each variant is a compile on llvmpipe.
  const only = (dts: E.DType[] | undefined): E.DType[] | undefined => (impl === 'staged' ? ['f32'] : dts);
  test(`attention (${tag}): non-causal and causal, Sq != Skv both ways`, async () => {
    for (const causal of [false, true]) {
      await checkOp({ name: `sdpa causal=${causal} ${tag}`, dtypes: only(undefined),
        shapes: [[[1, 2, 5, 8], [1, 2, 7, 8], [1, 2, 7, 8]], [[2, 1, 6, 4], [2, 1, 6, 4], [2, 1, 6, 4]], [[1, 1, 9, 6], [1, 1, 4, 6], [1, 1, 4, 6]]],
        gpu: (q, k, v) => sdpa(q, k, v, { causal, impl }), ref: (q, k, v) => refAttention(q, k, v, { causal }) });
    }
  });

  test(`attention (${tag}): key padding mask (u8, i32, f32), fully masked rows give 0`, async () => {
    for (const mdt of ['u8', 'i32', 'f32'] as const) {
      // Batch 1's mask is all zero: its rows output 0 and get zero gradients.
      const mask = [1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0];
      await checkOp({ name: `sdpa mask ${mdt} ${tag}`, dtypes: only(mdt === 'u8' ? ['f32', 'f16', 'bf16'] : ['f32']),
        shapes: [[[2, 2, 4, 8], [2, 2, 6, 8], [2, 2, 6, 8], [2, 6]]],
        inputs: [{}, {}, {}, { values: mask, dtype: mdt, grad: false }],
        gpu: (q, k, v, m) => sdpa(q, k, v, { keyPaddingMask: m, impl }),
        ref: (q, k, v, m) => refAttention(q, k, v, { mask: m }) });
    }
    // Causal with more queries than keys: the first queries see no key at all.
    await checkOp({ name: `sdpa causal Sq > Skv ${tag}`, dtypes: ['f32'], shapes: [[[1, 1, 6, 4], [1, 1, 3, 4], [1, 1, 3, 4]]],
      gpu: (q, k, v) => sdpa(q, k, v, { causal: true, impl }), ref: (q, k, v) => refAttention(q, k, v, { causal: true }) });
  });

  test(`attention (${tag}): additive bias with gradient, broadcast and full`, async () => {
    for (const bshape of [[1, 2, 5, 7], [5, 7], [2, 1, 5, 7]]) {
      await checkOp({ name: `sdpa bias [${bshape}] ${tag}`, dtypes: only(['f32', 'bf16']),
        shapes: [[[2, 2, 5, 4], [2, 2, 7, 4], [2, 2, 7, 4], bshape]],
        gpu: (q, k, v, b) => sdpa(q, k, v, { bias: b, causal: bshape.length === 2, impl }),
        ref: (q, k, v, b) => refAttention(q, k, v, { bias: b, causal: bshape.length === 2 }) });
    }
  });

  test(`attention (${tag}): grouped-query heads and a custom scale`, () => checkOp({ name: `sdpa gqa ${tag}`, dtypes: only(undefined),
    shapes: [[[1, 4, 5, 6], [1, 2, 6, 6], [1, 2, 6, 6]], [[1, 3, 3, 4], [1, 1, 5, 4], [1, 1, 5, 4]]],
    gpu: (q, k, v) => sdpa(q, k, v, { causal: true, scale: 0.7, impl }),
    ref: (q, k, v) => refAttention(q, k, v, { causal: true, scale: 0.7 }) }));

  test(`attention (${tag}): head dims 64 and 80, odd head dim in 16-bit`, async () => {
    await checkOp({ name: `sdpa D64 ${tag}`, dtypes: ['f32'], shapes: [[[1, 1, 4, 64], [1, 1, 3, 64], [1, 1, 3, 64]]],
      gpu: (q, k, v) => sdpa(q, k, v, { causal: true, impl }), ref: (q, k, v) => refAttention(q, k, v, { causal: true }) });
    await checkOp({ name: `sdpa D80 ${tag}`, dtypes: only(['f32', 'f16']), shapes: [[[1, 1, 3, 80], [1, 1, 3, 80], [1, 1, 3, 80]]],
      gpu: (q, k, v) => sdpa(q, k, v, { impl }), ref: (q, k, v) => refAttention(q, k, v) });
    await checkOp({ name: `sdpa D5 ${tag}`, dtypes: only(undefined), shapes: [[[1, 2, 3, 5], [1, 2, 4, 5], [1, 2, 4, 5]]],
      gpu: (q, k, v) => sdpa(q, k, v, { impl }), ref: (q, k, v) => refAttention(q, k, v) });
  });

  test(`attention (${tag}): strided q (permuted [B,S,H,D]) and k/v sliced from a packed qkv`, async () => {
    await checkOp({ name: `sdpa permuted q ${tag}`, dtypes: only(undefined), shapes: [[[1, 5, 2, 4], [1, 2, 6, 4], [1, 2, 6, 4]]],
      gpu: (q, k, v) => sdpa(E.permute(q, [0, 2, 1, 3]), k, v, { impl }),
      ref: (q, k, v) => refAttention(refPermute(q, [0, 2, 1, 3]), k, v) });
    // qkv [B, S, 3, H, D] as a linear layer's packed output; q, k, v are views into it.
    const split = (x: NDArray, w: number) => refPermute(NDArray.fill([x.shape[0], x.shape[1], x.shape[3], x.shape[4]],
      (i) => x.at([i[0], i[1], w, i[2], i[3]])), [0, 2, 1, 3]);
    const view = (x: E.Tensor, w: number) => E.permute(E.squeeze(E.slice(x, 2, w, w + 1), 2), [0, 2, 1, 3]);
    await checkOp({ name: `sdpa packed qkv ${tag}`, dtypes: only(undefined), shapes: [[[2, 5, 3, 2, 4]]],
      gpu: (x) => sdpa(view(x, 0), view(x, 1), view(x, 2), { causal: true, impl }),
      ref: (x) => refAttention(split(x, 0), split(x, 1), split(x, 2), { causal: true }) });
  });
}

/** Host values for a random tensor. */
function randomValues(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out.push((s / 2 ** 32) * 2 - 1); }
  return out;
}

/** Forward and every gradient of the flash op against the unfused engine composition (same inputs, f32). */
async function compareWithUnfused(shapes: { q: number[]; k: number[]; bias?: number[] }, o: { causal?: boolean; impl?: Impl },
  tol = { atol: 2e-5, rtol: 2e-3 }): Promise<void> {
  await E.getDevice();
  const mk = (shape: number[], seed: number) => E.Tensor.from(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape).requireGrad();
  const inputs = [mk(shapes.q, 1), mk(shapes.k, 2), mk(shapes.k, 3), ...(shapes.bias ? [mk(shapes.bias, 4)] : [])];
  const g = E.Tensor.from(randomValues(shapes.q.reduce((a, b) => a * b, 1), 5), shapes.q);
  const run = async (fused: boolean) => {
    const [q, k, v, bias] = inputs;
    const out = fused ? sdpa(q, k, v, { causal: o.causal, bias, impl: o.impl }) : attentionUnfused(q, k, v, { causal: o.causal, bias });
    E.backward(out, { grad: g });
    const res = [await out.toArray(), ...(await Promise.all(inputs.map((t) => t.grad!.toArray())))];
    out.dispose();
    for (const t of inputs) { t.grad!.dispose(); t.grad = null; }
    return res;
  };
  const want = await run(false), got = await run(true);
  const names = ['output', 'dq', 'dk', 'dv', 'dbias'];
  got.forEach((a, i) => assertClose(a, want[i], { ...tol, message: `${names[i]} (${JSON.stringify(shapes)}, ${JSON.stringify(o)})` }));
  for (const t of [...inputs, g]) t.dispose();
}

test('attention: head dim 128 forward against the reference, backward against the unfused composition', async () => {
  await E.getDevice();
  const [B, H, Sq, Skv, D] = [1, 2, 9, 13, 128];
  const qv = randomValues(B * H * Sq * D, 11), kv = randomValues(B * H * Skv * D, 12), vv = randomValues(B * H * Skv * D, 13);
  for (const impl of IMPLS) {
    const q = E.Tensor.from(qv, [B, H, Sq, D]), k = E.Tensor.from(kv, [B, H, Skv, D]), v = E.Tensor.from(vv, [B, H, Skv, D]);
    const out = sdpa(q, k, v, { causal: true, impl });
    const ref = refAttention(NDArray.from([B, H, Sq, D], qv), NDArray.from([B, H, Skv, D], kv), NDArray.from([B, H, Skv, D], vv), { causal: true });
    assertClose(await out.toArray(), ref.data, { atol: 1e-5, rtol: 1e-4, message: `D=128 forward ${impl ?? 'auto'}` });
    for (const t of [q, k, v, out]) t.dispose();
    await compareWithUnfused({ q: [B, H, Sq, D], k: [B, H, Skv, D] }, { causal: true, impl });
  }
});

test('attention: medium case with bias against the unfused composition (forward and all gradients)', async () => {
  for (const impl of IMPLS) {
    await compareWithUnfused({ q: [2, 4, 70, 32], k: [2, 4, 70, 32], bias: [1, 4, 70, 70] }, { impl });
    if (!impl) await compareWithUnfused({ q: [1, 3, 33, 16], k: [1, 3, 50, 16] }, { causal: true, impl });
  }
});

test('attention: decode (Sq = 1, Skv = 1000) takes the split-KV path and matches the reference', async () => {
  await E.getDevice();
  const [B, H, Hkv, Skv, D] = [2, 4, 2, 1000, 64];
  const plan = E.planAttention(await E.getDevice(), 1, Skv, D);
  assert.ok(plan.impl === 'split', `expected the split-KV plan for decode, got ${plan.impl}`);
  const qv = randomValues(B * H * D, 21), kv = randomValues(B * Hkv * Skv * D, 22).map((x) => 3 * x), vv = randomValues(B * Hkv * Skv * D, 23);
  const maskv = Array.from({ length: B * Skv }, (_, i) => (i % 7 === 3 ? 0 : 1));
  for (const dtype of ['f32', 'bf16'] as const) {
    const round = (x: number[]) => Array.from(E.decodeHost(dtype, E.encodeHost(dtype, x)));
    const q = E.Tensor.from(qv, [B, H, 1, D], dtype), k = E.Tensor.from(kv, [B, Hkv, Skv, D], dtype), v = E.Tensor.from(vv, [B, Hkv, Skv, D], dtype);
    const m = E.Tensor.from(maskv, [B, Skv], 'u8');
    const ref = refAttention(NDArray.from([B, H, 1, D], round(qv)), NDArray.from([B, Hkv, Skv, D], round(kv)),
      NDArray.from([B, Hkv, Skv, D], round(vv)), { mask: NDArray.from([B, Skv], maskv), causal: true });
    const out = sdpa(q, k, v, { keyPaddingMask: m, causal: true });
    assertClose(await out.toArray(), ref.data, dtype === 'f32' ? { atol: 1e-5, rtol: 1e-4 } : { atol: 1e-2, rtol: 2e-2, message: 'bf16 decode' });
    for (const t of [q, k, v, m, out]) t.dispose();
  }
  // The split kernel also serves a few query rows (speculative decoding), causal aligned to the end.
  await checkOp({ name: 'sdpa split Sq=3', dtypes: ['f32'], grad: false, shapes: [[[1, 2, 3, 8], [1, 1, 200, 8], [1, 1, 200, 8]]],
    gpu: (q, k, v) => sdpa(q, k, v, { causal: true, impl: 'split' }), ref: (q, k, v) => refAttention(q, k, v, { causal: true }) });
});

test('attention: shape and dtype errors are thrown before encoding', async () => {
  await E.getDevice();
  const q = E.zeros([1, 3, 4, 8]), k = E.zeros([1, 2, 4, 8]), k1 = E.zeros([1, 1, 4, 8]);
  const before = (await E.getDevice()).dispatchCount;
  const throws = (f: () => unknown, re: RegExp) => { try { f(); } catch (e) { assert.ok(re.test(String(e)), String(e)); return; } throw new Error(`expected ${re}`); };
  throws(() => sdpa(q, k, k), /multiple of key\/value heads/);
  throws(() => sdpa(q, k1, k1, { keyPaddingMask: E.zeros([1, 5], 'u8') }), /keyPaddingMask must be \[1, 4\]/);
  throws(() => sdpa(q, k1, k1, { bias: E.zeros([2, 4]) }), /cannot broadcast/);
  throws(() => sdpa(E.zeros([3, 4, 8]), k1, k1), /must be \[B, H, S, D\]/);
  assert.ok((await E.getDevice()).dispatchCount - before === 3, 'only the zeros() fills were encoded');
});

test('attention (tiled): forward on shapes that do not fill the row and key tiles, D = 64, 80, 5, vec4 and scalar loads', async () => {
  const fwd = { grad: false as const };
  for (const D of [64, 80, 5]) {
    await checkOp({ name: `sdpa tiled D${D}`, dtypes: D === 64 ? ['f32', 'f16'] : ['f32'], ...fwd,
      shapes: [[[1, 2, 37, D], [1, 2, 23, D], [1, 2, 23, D]], [[2, 1, 19, D], [2, 1, 41, D], [2, 1, 41, D]]],
      gpu: (q, k, v) => sdpa(q, k, v, { impl: 'tiled' }), ref: (q, k, v) => refAttention(q, k, v) });
  }
  await checkOp({ name: 'sdpa tiled causal gqa', dtypes: ['f32'], ...fwd, shapes: [[[1, 4, 45, 64], [1, 2, 30, 64], [1, 2, 30, 64]]],
    gpu: (q, k, v) => sdpa(q, k, v, { causal: true, scale: 0.7, impl: 'tiled' }), ref: (q, k, v) => refAttention(q, k, v, { causal: true, scale: 0.7 }) });
  const mask = Array.from({ length: 2 * 21 }, (_, i) => (i < 21 ? i % 3 !== 1 : 0));
  await checkOp({ name: 'sdpa tiled mask bias', dtypes: ['f32'], ...fwd, shapes: [[[2, 2, 17, 80], [2, 2, 21, 80], [2, 2, 21, 80], [2, 21], [1, 2, 17, 21]]],
    inputs: [{}, {}, {}, { values: mask.map(Number), dtype: 'u8', grad: false }, {}],
    gpu: (q, k, v, m, b) => sdpa(q, k, v, { keyPaddingMask: m, bias: b, impl: 'tiled' }),
    ref: (q, k, v, m, b) => refAttention(q, k, v, { mask: m, bias: b }) });
  // k and v read through an offset of 1 (scalar loads at D = 64).
  const cut = (x: NDArray) => NDArray.fill([1, 2, 29, 64], (i) => x.at([i[0], i[1], i[2], i[3] + 1]));
  await checkOp({ name: 'sdpa tiled unaligned k/v', dtypes: ['f32'], ...fwd, shapes: [[[1, 2, 33, 64], [1, 2, 29, 65], [1, 2, 29, 65]]],
    gpu: (q, k, v) => sdpa(q, E.slice(k, 3, 1, 65), E.slice(v, 3, 1, 65), { impl: 'tiled' }),
    ref: (q, k, v) => refAttention(q, cut(k), cut(v)) });
});
