// torch.nn.utils.clip_grad_norm_: scales every gradient by min(maxNorm / (norm + 1e-6), 1), where norm
// is the L2 norm of all gradients together, and returns that norm. On the GPU, without readback: the
// norm comes back as a 0-d f32 tensor. (optimizer.step({ maxGradNorm }) does the same inside the step
// without rewriting the gradients.)
import { Tensor, noGrad, contiguous, mul, zeros, castAndDispose } from '../../engine/index.js';
import { untrack } from '../../engine/scope.js';
import { STEP_STATE } from '../../kernels/optim.js';
import { GradNormWorkspace } from './grad-norm.js';

/** Returns the total norm (0-d f32 tensor; NaN if some gradient is inf/NaN). Parameters without .grad are ignored. */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const withGrad = [...params].filter((p) => p.grad);
  if (withGrad.length === 0) throw new Error('clipGradNorm: no parameter has a gradient (call backward first)');
  const device = withGrad[0].device;
  return noGrad(() => {
    const grads = withGrad.map((p) => {
      const g = p.grad!;
      return g.isContiguous() && (g.dtype === 'f32' || g.offset % 2 === 0) ? g.retain() : contiguous(g);
    });
    const state = zeros([STEP_STATE.steps], 'u32', device);
    const ws = new GradNormWorkspace(device);
    try {
      ws.encode(grads, state, { maxGradNorm: maxNorm });
      const coef = new Tensor(state.storage.retain(), [1], 'f32', [1], STEP_STATE.clipCoef);
      withGrad.forEach((p, i) => {
        const scaled = castAndDispose(mul(grads[i], coef), p.grad!.dtype);
        untrack(scaled);
        p.grad!.dispose();
        p.grad = scaled;
      });
      coef.dispose();
      return new Tensor(state.storage.retain(), [], 'f32', [], STEP_STATE.norm);
    } finally {
      grads.forEach((g) => g.dispose());
      state.dispose();
      ws.dispose();
    }
  });
}
