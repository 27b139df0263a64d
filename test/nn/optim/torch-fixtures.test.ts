// The optimizers against PyTorch 1.13 (test/fixtures/torch/optim.json; tolerances: README.md there).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';
import { AdamW, SGD, LambdaLR, cosineWithWarmup, clipGradNorm } from '../../../nn/optim/index.js';
import { loadTorchFixture } from '../../fixtures/torch/load.js';

interface AdamWFixture {
  shapes: number[][]; init: number[][]; groups: { lr: number; weight_decay: number }[]; betas: [number, number]; eps: number;
  warmup: number; total: number; max_norm: number;
  steps: { grads: number[][]; lrs: number[]; norm: number; params: number[][] }[];
  state: { exp_avg: number[]; exp_avg_sq: number[]; step: number }[];
}
interface SGDFixture {
  shapes: number[][]; init: number[][]; hyper: { lr: number; momentum: number; dampening: number; weight_decay: number; nesterov: boolean };
  steps: { grads: number[][]; params: number[][] }[]; momentum_buffer: number[][];
}
const fx = loadTorchFixture<{ torch: string; adamw: AdamWFixture; sgd: SGDFixture; sgd_nesterov: SGDFixture }>('optim.json');

// Parameters move by ~lr per step; f32 rounding differences (operation order, fused multiply-adds,
// f32 bias corrections) stay near 1e-7 relative. 2e-6 absolute + 1e-5 relative leaves a margin of ~10x
// while a wrong formula (e.g. weight decay inside the gradient, eps inside the sqrt) moves them by >1e-4.
const PARAM_TOL = { atol: 2e-6, rtol: 1e-5 };

for (const fused of [true, false]) {
  test(`AdamW vs torch.optim.AdamW: 4 steps, 2 groups, weight decay, HF warmup + cosine (LambdaLR), clip_grad_norm_ ${fused ? 'fused in step()' : 'as clipGradNorm() then step()'}`, async () => {
    await E.getDevice();
    const a = fx.adamw;
    const params = a.init.map((v, i) => E.Tensor.from(v, a.shapes[i]).requireGrad());
    const opt = new AdamW([{ params: params.slice(0, 2), lr: a.groups[0].lr, weightDecay: a.groups[0].weight_decay },
      { params: params.slice(2), lr: a.groups[1].lr, weightDecay: a.groups[1].weight_decay }], { betas: a.betas, eps: a.eps });
    const sched = new LambdaLR(opt, cosineWithWarmup(a.warmup, a.total));
    for (const [k, s] of a.steps.entries()) {
      assertClose(opt.paramGroups.map((g) => g.lr), s.lrs, { rtol: 1e-12, message: `lr at step ${k}` });
      params.forEach((p, i) => { p.grad = E.Tensor.from(s.grads[i], a.shapes[i]); });
      if (fused) {
        opt.step({ maxGradNorm: a.max_norm });
        assertClose([(await opt.lastStep()).gradNorm], [s.norm], { rtol: 1e-5, message: `norm at step ${k}` });
      } else {
        const norm = clipGradNorm(params, a.max_norm);
        assertClose([await norm.item()], [s.norm], { rtol: 1e-5, message: `norm at step ${k}` });
        norm.dispose();
        opt.step();
      }
      sched.step();
      opt.zeroGrad();
      for (let i = 0; i < params.length; i++) {
        assertClose(await params[i].toArray(), s.params[i], { ...PARAM_TOL, message: `param ${i} after step ${k}` });
      }
    }
    const sd = await opt.stateDict();
    assert.equal(sd.meta.params.map((p) => p.step), a.state.map((s) => s.step));
    for (let i = 0; i < params.length; i++) {
      assertClose(await sd.tensors.get(`state.${i}.exp_avg`)!.toArray(), a.state[i].exp_avg, { atol: 1e-7, rtol: 1e-5, message: `exp_avg ${i}` });
      assertClose(await sd.tensors.get(`state.${i}.exp_avg_sq`)!.toArray(), a.state[i].exp_avg_sq, { atol: 1e-9, rtol: 1e-5, message: `exp_avg_sq ${i}` });
    }
    for (const t of sd.tensors.values()) t.dispose();
    opt.dispose(); params.forEach((p) => p.dispose());
  });
}

for (const name of ['sgd', 'sgd_nesterov'] as const) {
  test(`SGD vs torch.optim.SGD (${name}): 3 steps with momentum, weight decay${name === 'sgd' ? ', dampening' : ', Nesterov'}`, async () => {
    await E.getDevice();
    const f = fx[name];
    const params = f.init.map((v, i) => E.Tensor.from(v, f.shapes[i]).requireGrad());
    const h = f.hyper;
    const opt = new SGD(params, { lr: h.lr, momentum: h.momentum, dampening: h.dampening, weightDecay: h.weight_decay, nesterov: h.nesterov });
    for (const [k, s] of f.steps.entries()) {
      params.forEach((p, i) => { p.grad = E.Tensor.from(s.grads[i], f.shapes[i]); });
      opt.step();
      opt.zeroGrad();
      for (let i = 0; i < params.length; i++) {
        assertClose(await params[i].toArray(), s.params[i], { ...PARAM_TOL, message: `param ${i} after step ${k}` });
      }
    }
    const sd = await opt.stateDict();
    for (let i = 0; i < params.length; i++) {
      assertClose(await sd.tensors.get(`state.${i}.momentum_buffer`)!.toArray(), f.momentum_buffer[i], { atol: 1e-6, rtol: 1e-5 });
    }
    for (const t of sd.tensors.values()) t.dispose();
    opt.dispose(); params.forEach((p) => p.dispose());
  });
}
