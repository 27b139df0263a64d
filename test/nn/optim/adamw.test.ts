import { test, assert, assertClose, assertEqual } from '../../framework.js';
import * as E from '../../../engine/index.js';
import { AdamW, SGD, clipGradNorm } from '../../../nn/optim/index.js';
import { newRefParam, adamwStepRef, sgdStepRef, clipRef } from '../../ref/optim.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296 * 2 - 1; };
}
const vec = (r: () => number, n: number, scale = 1) => Float32Array.from({ length: n }, () => r() * scale);

test('AdamW: 3 steps, two groups (lr, weight decay), clipping, a parameter without grad, vs float64', async () => {
  await E.getDevice();
  const r = rng(1);
  const shapes = [[5, 7], [2100], [1]]; // 2100: three update workgroups, the last partial
  const init = shapes.map((s) => vec(r, s.reduce((a, b) => a * b, 1)));
  const params = init.map((v, i) => E.Tensor.from(v, shapes[i]).requireGrad());
  const opt = new AdamW([{ params: [params[0], params[1]] }, { params: [params[2]], lr: 0.05, weightDecay: 0 }],
    { lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.95], eps: 1e-8 });
  const refs = init.map((v) => newRefParam(v));
  const hyper = [{ lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.95] as [number, number], eps: 1e-8 },
    { lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.95] as [number, number], eps: 1e-8 },
    { lr: 0.05, weightDecay: 0, betas: [0.9, 0.95] as [number, number], eps: 1e-8 }];
  for (let step = 0; step < 3; step++) {
    const grads = init.map((v) => vec(r, v.length, 3));
    // Parameter 1 gets no gradient at step 1: it keeps its values and its step count.
    const has = params.map((_, i) => !(i === 1 && step === 1));
    params.forEach((p, i) => { if (has[i]) p.grad = E.Tensor.from(grads[i], p.shape); });
    const { coef, norm } = clipRef(grads.filter((_, i) => has[i]), 1.0);
    opt.step({ maxGradNorm: 1.0 });
    refs.forEach((ref, i) => { if (has[i]) adamwStepRef(ref, Array.from(grads[i], (g) => Math.fround(g) * coef), hyper[i]); });
    const last = await opt.lastStep();
    assertClose([last.gradNorm], [norm], { rtol: 1e-5, message: `norm at step ${step}` });
    assertEqual(last.skipped, false);
    for (let i = 0; i < params.length; i++) {
      assertClose(await params[i].toArray(), refs[i].p, { atol: 1e-6, rtol: 1e-5, message: `param ${i} step ${step}` });
    }
    opt.zeroGrad();
  }
  assertEqual(await opt.stepCounts(), [3, 2, 3]);
  const sd = await opt.stateDict();
  assertClose(await sd.tensors.get('state.0.exp_avg_sq')!.toArray(), refs[0].v, { rtol: 1e-4, atol: 1e-9 });
  for (const t of sd.tensors.values()) t.dispose();
  opt.dispose();
  params.forEach((p) => p.dispose());
});

test('SGD: momentum with dampening, Nesterov, weight decay (first step initialises the buffer), vs float64', async () => {
  await E.getDevice();
  for (const h of [{ lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false },
    { lr: 0.05, momentum: 0.8, dampening: 0, weightDecay: 0, nesterov: true },
    { lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0.5, nesterov: false }]) {
    const r = rng(7);
    const init = vec(r, 257);
    const p = E.Tensor.from(init, [257]).requireGrad();
    const ref = newRefParam(init);
    const opt = new SGD([p], h);
    for (let step = 0; step < 3; step++) {
      const g = vec(r, 257);
      p.grad = E.Tensor.from(g, [257]);
      opt.step();
      sgdStepRef(ref, g, h);
      assertClose(await p.toArray(), ref.p, { atol: 1e-6, rtol: 1e-5, message: `${JSON.stringify(h)} step ${step}` });
    }
    opt.dispose(); p.dispose();
  }
});

test('AdamW: bf16 and f16 parameters keep f32 master weights; the parameter is the rounded master', async () => {
  await E.getDevice();
  for (const dtype of ['bf16', 'f16'] as const) {
    const r = rng(3);
    const n = 2301; // odd (the last 32-bit word holds one element and a pad half), > one workgroup tile
    const init = Array.from(vec(r, n), (x) => E.roundTo(dtype, x));
    const p = E.Tensor.from(init, [n], dtype).requireGrad();
    const ref = newRefParam(init);
    const h = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.01 };
    const opt = new AdamW([p], h);
    for (let step = 0; step < 3; step++) {
      const g = Array.from(vec(r, n), (x) => E.roundTo(dtype, x));
      p.grad = E.Tensor.from(g, [n], dtype);
      opt.step();
      adamwStepRef(ref, g, h);
    }
    const sd = await opt.stateDict();
    const master = await sd.tensors.get('state.0.master')!.toArray();
    // The updates (~1e-3) are below bf16's resolution: only the master weights can follow them.
    assertClose(master, ref.p, { atol: 1e-6, rtol: 1e-5, message: `${dtype} master` });
    assertEqual(Array.from(await p.toArray()), Array.from(master, (x) => E.roundTo(dtype, x)), `${dtype} param = round(master)`);
    for (const t of sd.tensors.values()) t.dispose();
    opt.dispose(); p.dispose();
  }
});

test('clipGradNorm: returns the total norm and rescales the gradients as torch.nn.utils.clip_grad_norm_', async () => {
  await E.getDevice();
  const r = rng(11);
  const a = E.zeros([3, 4]).requireGrad(), b = E.zeros([2000]).requireGrad(), c = E.zeros([2]).requireGrad();
  const ga = vec(r, 12, 2), gb = vec(r, 2000, 0.5);
  a.grad = E.Tensor.from(ga, [3, 4]); b.grad = E.Tensor.from(gb, [2000]);
  const { norm, coef } = clipRef([ga, gb], 2.0);
  assert(coef < 1, 'the test clips');
  const total = clipGradNorm([a, b, c], 2.0);
  assertEqual(total.shape.length, 0);
  assertClose([await total.item()], [norm], { rtol: 1e-5 });
  assertClose(await a.grad!.toArray(), Array.from(ga, (g) => g * coef), { rtol: 1e-5, atol: 1e-8 });
  assertClose(await b.grad!.toArray(), Array.from(gb, (g) => g * coef), { rtol: 1e-5, atol: 1e-8 });
  assert(c.grad === null, 'a parameter without grad is left alone');
  const big = clipGradNorm([a, b], 1e9);
  assertClose([await big.item()], [2.0], { rtol: 1e-5 });
  assertClose(await a.grad!.toArray(), Array.from(ga, (g) => g * coef), { rtol: 1e-5, atol: 1e-8, message: 'coef 1 leaves grads' });
  [total, big, a, b, c].forEach((t) => t.dispose());
});

test('multi-tensor update: 24 parameters of three dtypes in small state buckets, few dispatches, vs float64', async () => {
  const dev = await E.getDevice();
  const r = rng(21);
  const dtypes = ['f32', 'bf16', 'f16'] as const;
  const specs = Array.from({ length: 24 }, (_, i) => ({ n: 1 + ((i * 37) % 300), dtype: dtypes[i % 3] }));
  const init = specs.map((s) => Array.from(vec(r, s.n), (x) => E.roundTo(s.dtype, x)));
  const params = specs.map((s, i) => E.Tensor.from(init[i], [s.n], s.dtype).requireGrad());
  const h = { lr: 1e-2, betas: [0.9, 0.99] as [number, number], eps: 1e-8, weightDecay: 0.05 };
  const opt = new AdamW(params, h);
  opt.bucketElements = 700; // several buckets per dtype
  const refs = init.map((v) => newRefParam(v));
  for (let step = 0; step < 2; step++) {
    const grads = specs.map((s) => Array.from(vec(r, s.n), (x) => E.roundTo(s.dtype, x)));
    params.forEach((p, i) => { p.grad = E.Tensor.from(grads[i], [specs[i].n], specs[i].dtype); });
    await dev.sync();
    const before = dev.dispatchCount;
    opt.step({ maxGradNorm: 5 });
    const used = dev.dispatchCount - before;
    const { coef } = clipRef(grads, 5);
    refs.forEach((ref, i) => adamwStepRef(ref, grads[i].map((g) => g * coef), h));
    // Stats: 3 dtypes x ceil(8 / 8) = 3; finalize 1; updates: up to 6 per dispatch (16 bindings) per bucket.
    if (step === 1) assert(used <= 3 + 1 + 12, `${used} dispatches for 24 parameters`);
    opt.zeroGrad();
  }
  const sd = await opt.stateDict();
  for (let i = 0; i < params.length; i++) {
    const got = specs[i].dtype === 'f32' ? await params[i].toArray() : await sd.tensors.get(`state.${i}.master`)!.toArray();
    assertClose(got, refs[i].p, { atol: 2e-6, rtol: 1e-5, message: `param ${i} (${specs[i].dtype})` });
  }
  for (const t of sd.tensors.values()) t.dispose();
  opt.dispose(); params.forEach((p) => p.dispose());
});

test('multi-tensor update: parameters that are views of one buffer go to separate dispatches', async () => {
  await E.getDevice();
  const whole = E.Tensor.from([1, 2, 3, 4, 5, 6, 7, 8], [8]);
  const a = E.slice(whole, 0, 0, 4).requireGrad(), b = E.slice(whole, 0, 4, 8).requireGrad();
  const opt = new SGD([a, b], { lr: 0.5 });
  a.grad = E.Tensor.from([1, 1, 1, 1], [4]); b.grad = E.Tensor.from([2, 2, 2, 2], [4]);
  opt.step();
  assertEqual(Array.from(await whole.toArray()), [0.5, 1.5, 2.5, 3.5, 4, 5, 6, 7]);
  opt.dispose(); [a, b, whole].forEach((t) => t.dispose());
});
