import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';
import { AdamW, SGD, GradScaler, OptimizerStateError, accumulateGradients } from '../../../nn/optim/index.js';
import { newRefParam, adamwStepRef } from '../../ref/optim.js';

test('GradScaler: scaled f16 gradients are unscaled; inf skips the step and halves the scale; growth after the interval', async () => {
  await E.getDevice();
  const init = [0.5, -0.25, 1, 2, -1];
  const p = E.Tensor.from(init, [5], 'f16').requireGrad();
  const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
  const opt = new SGD([p], { lr: 0.5 });
  const x = E.Tensor.from([1, 2, 3, 4, 5], [5], 'f16');
  const lossOf = () => E.sum(E.mul(p, x));
  // Step 1: clean. grad = x * 1024 in f16, unscaled to x.
  E.backward(scaler.scale(lossOf()));
  assertClose(await p.grad!.toArray(), [1024, 2048, 3072, 4096, 5120]);
  opt.step({ scaler });
  assertClose(await p.toArray(), init.map((v, i) => E.roundTo('f16', v - 0.5 * (i + 1))), { atol: 1e-3 });
  assert.equal(await scaler.stateDict(), { scale: 1024, growthTracker: 1 });
  opt.zeroGrad();
  // Step 2: an inf gradient: nothing moves, the step count stays, the scale backs off.
  const before = await p.toArray();
  p.grad = E.Tensor.from([1, Infinity, 0, 0, 0], [5], 'f16');
  opt.step({ scaler });
  const last = await opt.lastStep();
  assert.ok(last.skipped, 'the step is skipped');
  assert.equal(Array.from(await p.toArray()), Array.from(before));
  assert.equal(await opt.stepCounts(), [1]);
  assert.equal(await scaler.stateDict(), { scale: 512, growthTracker: 0 });
  opt.zeroGrad();
  // Steps 3, 4: clean; after growthInterval = 2 clean steps the scale doubles.
  for (let i = 0; i < 2; i++) { p.grad = E.Tensor.from([512, 0, 0, 0, 0], [5], 'f16'); opt.step({ scaler }); opt.zeroGrad(); }
  assert.equal(await scaler.stateDict(), { scale: 1024, growthTracker: 0 });
  assert.equal(await opt.stepCounts(), [3]);
  assertClose([(await p.toArray())[0]], [E.roundTo('f16', E.roundTo('f16', init[0] - 0.5) - 1)], { atol: 1e-3 });
  // NaN is caught too.
  p.grad = E.Tensor.from([NaN, 0, 0, 0, 0], [5], 'f16');
  opt.step({ scaler });
  assert.ok((await opt.lastStep()).skipped, 'NaN skips');
  scaler.loadStateDict({ scale: 8, growthTracker: 1 });
  assert.equal(await scaler.getScale(), 8);
  [p, x].forEach((t) => t.dispose()); opt.dispose(); scaler.dispose();
});

test('optimizer state: a run saved after 2 steps and restored into a new optimizer continues bit-identically', async () => {
  await E.getDevice();
  const mk = () => [E.Tensor.from([0.1, 0.2, 0.3, 0.4], [2, 2], 'bf16').requireGrad(), E.Tensor.from([1, -1, 0.5], [3]).requireGrad()];
  const grads = (k: number) => [E.Tensor.from([k, -k, 0.5 * k, 1], [2, 2], 'bf16'), E.Tensor.from([0.1 * k, 0.2, -0.3], [3])];
  const a = mk();
  const optA = new AdamW([{ params: [a[0]] }, { params: [a[1]], lr: 0.02 }], { lr: 0.01, weightDecay: 0.1 });
  const run = (opt: AdamW, ps: E.Tensor[], k: number) => { grads(k).forEach((g, i) => { ps[i].grad = g; }); opt.step({ maxGradNorm: 1 }); opt.zeroGrad(); };
  run(optA, a, 1); run(optA, a, 2);
  const sd = await optA.stateDict();
  assert.equal([...sd.tensors.keys()].sort(), ['state.0.exp_avg', 'state.0.exp_avg_sq', 'state.0.master', 'state.1.exp_avg', 'state.1.exp_avg_sq']);
  const json = JSON.parse(JSON.stringify(sd.meta));
  // A fresh model holding the same weights, a fresh optimizer with other hyperparameters: the state restores them.
  const b = mk();
  b.forEach((t, i) => { const v = E.noGrad(() => E.add(a[i], 0)); t.assign(v); v.dispose(); });
  const optB = new AdamW([{ params: [b[0]] }, { params: [b[1]] }], { lr: 0.5 });
  optB.loadStateDict({ meta: json, tensors: sd.tensors });
  for (const t of sd.tensors.values()) t.dispose();
  assert.equal(optB.paramGroups.map((g) => g.lr), [0.01, 0.02]);
  run(optA, a, 3); run(optB, b, 3);
  for (let i = 0; i < 2; i++) assert.equal(Array.from(await b[i].toArray()), Array.from(await a[i].toArray()), `param ${i}`);
  assert.equal(await optB.stepCounts(), [3, 3]);
  // Mismatches are refused with the reason, changing nothing.
  const sgd = new SGD([b[0], b[1]]);
  let err: unknown;
  try { sgd.loadStateDict({ meta: json, tensors: new Map() }); } catch (e) { err = e; }
  assert.ok(err instanceof OptimizerStateError && /'adamw' optimizer/.test(err.message), String(err));
  const other = new AdamW([{ params: [b[1]] }, { params: [b[0]] }]);
  err = undefined;
  try { other.loadStateDict({ meta: json, tensors: new Map() }); } catch (e) { err = e; }
  assert.ok(err instanceof OptimizerStateError && /does not match/.test(err.message), String(err));
  [...a, ...b].forEach((t) => t.dispose()); [optA, optB, sgd, other].forEach((o) => o.dispose());
});

test('gradient accumulation: 3 micro-batches give the gradient of the whole batch (mean loss)', async () => {
  await E.getDevice();
  const w = E.Tensor.from([0.5, -1, 2], [3, 1]).requireGrad();
  const x = E.Tensor.from([1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, 0.5, 0.25, 0.125, 9, 8, 7], [6, 3]);
  const lossOf = (rows: E.Tensor) => E.mean(E.mul(E.matmul(rows, w), E.matmul(rows, w)));
  const full = lossOf(x);
  E.backward(full);
  const gFull = await w.grad!.toArray();
  w.grad!.dispose(); w.grad = null;
  const parts = [0, 2, 4].map((s) => E.slice(x, 0, s, s + 2));
  const mean = accumulateGradients(parts, lossOf);
  assertClose(await mean.toArray(), await full.toArray(), { rtol: 1e-6 });
  assertClose(await w.grad!.toArray(), gFull, { rtol: 1e-5 });
  [w, x, full, mean, ...parts].forEach((t) => t.dispose());
});

test('AdamW bias corrections stay accurate at large step counts (resumed at steps 10, 999 and 99999)', async () => {
  await E.getDevice();
  for (const step0 of [10, 999, 99999]) {
    const n = 64;
    const init = Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i + 1)));
    const m0 = init.map((x) => Math.fround(0.01 * x)), v0 = init.map((x) => Math.fround(1e-4 * x * x + 1e-6));
    const g = init.map((x) => Math.fround(Math.cos(3 * x)));
    const p = E.Tensor.from(init, [n]).requireGrad();
    const h = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.1 };
    const opt = new AdamW([p], h);
    const tensors = new Map([['state.0.exp_avg', E.Tensor.from(m0, [n])], ['state.0.exp_avg_sq', E.Tensor.from(v0, [n])]]);
    opt.loadStateDict({ meta: { kind: 'adamw', groups: [{ ...h, params: [0] }], params: [{ name: null, shape: [n], dtype: 'f32', step: step0 }] }, tensors });
    for (const t of tensors.values()) t.dispose();
    p.grad = E.Tensor.from(g, [n]);
    opt.step();
    const ref = newRefParam(init);
    ref.m.set(m0); ref.v.set(v0); ref.step = step0;
    adamwStepRef(ref, g, h);
    // The update is ~lr = 1e-3 on parameters up to 1: the f32 parameters resolve it to ~6e-8 (1 ulp);
    // a wrong bias correction (or step count) changes it by > 1e-5.
    const delta = Array.from(await p.toArray(), (x, i) => x - init[i]);
    const want = Array.from(ref.p, (x, i) => x - init[i]);
    assertClose(delta, want, { rtol: 1e-4, atol: 1.5e-7, message: `update at step ${step0 + 1}` });
    assert.equal(await opt.stepCounts(), [step0 + 1]);
    opt.dispose(); p.dispose();
  }
});
