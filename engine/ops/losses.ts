// Losses. Cross-entropy runs a fused row kernel (kernels/xent.ts) that never materialises the
// log-probabilities (a [tokens, vocab] tensor for an LLM); crossEntropyComposed is the same math from
// recorded ops, kept as the reference. BCE with logits is one fused elementwise kernel.
import { Tensor } from '../tensor.js';
import { withTemps } from '../scope.js';
import { record, noGrad } from '../autograd.js';
import { xentForwardKernel, xentBackwardKernel, XENT_BACKWARD_WORKGROUP } from '../../kernels/xent.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { i32Bits } from './launch.js';
import { isFloat } from '../dtype.js';
import { unsqueeze, squeeze, cast, castAndDispose, contiguous, reshape } from './views.js';
import { sum, mean, sumToShape } from './reduce.js';
import { ne, neg, div, where, fusedMap, promote } from './elementwise.js';
import { BCE_WITH_LOGITS } from '../../kernels/elementwise.js';
import { broadcastShapes } from './launch.js';
import { logSoftmax } from './softmax.js';
import { gather } from './indexing.js';
import { ShapeError } from '../errors.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (loss 0, no gradient, not counted by 'mean'). Default -100. */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** Validates crossEntropy's arguments before anything is encoded. */
function checkCrossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions): { ignore: number; reduction: Reduction } {
  logits.assertAlive('crossEntropy'); targets.assertAlive('crossEntropy');
  if (!isFloat(logits.dtype)) throw new TypeError(`crossEntropy: logits must be floating, got ${logits.dtype}`);
  if (targets.dtype !== 'i32') throw new TypeError(`crossEntropy: targets must be i32 class indices, got ${targets.dtype}`);
  if (logits.rank < 1 || targets.shape.join() !== logits.shape.slice(0, -1).join()) {
    throw new ShapeError(`crossEntropy: targets [${targets.shape}] must be logits [${logits.shape}] without the class axis`);
  }
  return { ignore: opts.ignoreIndex ?? -100, reduction: opts.reduction ?? 'mean' };
}

/**
 * torch.nn.functional.cross_entropy with class indices: logits [..., C] (classes on the last axis),
 * targets i32 [...]. 'mean' divides by the number of non-ignored targets (NaN when all are ignored, as
 * PyTorch). Targets outside [0, C) other than ignoreIndex cannot raise on the GPU: they contribute 0 (use
 * checkIndices to validate them on the host). The result has the logits' dtype; sums run in f32.
 */
export function crossEntropyComposed(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { ignore, reduction } = checkCrossEntropy(logits, targets, opts);
  return withTemps((tmp) => {
    const lsm = tmp(logSoftmax(logits, -1));
    const t = tmp(unsqueeze(targets, -1));
    const picked = tmp(squeeze(tmp(gather(lsm, -1, t)), -1));
    const p32 = picked.dtype === 'f32' ? picked : tmp(cast(picked, 'f32'));
    const valid = tmp(ne(targets, ignore));
    const nll = where(valid, tmp(neg(p32)), 0);
    if (reduction === 'none') return castAndDispose(nll, logits.dtype);
    tmp(nll);
    const total = sum(nll);
    if (reduction === 'sum') return castAndDispose(total, logits.dtype);
    tmp(total);
    const count = tmp(sum(tmp(cast(valid, 'f32'))));
    return castAndDispose(div(total, count), logits.dtype);
  });
}

/** Per-row negative log-likelihood (f32 [rows]) of logits [rows, C] (contiguous), with autograd. */
function rowNll(logits: Tensor, targets: Tensor, ignore: number): Tensor {
  const device = logits.device;
  const C = logits.shape[logits.rank - 1];
  const rows = C === 0 ? 0 : logits.size / C;
  const [x, t] = noGrad(() => [contiguous(logits), contiguous(targets)]);
  const nll = Tensor.empty([rows], 'f32', device);
  const lse = Tensor.empty([rows], 'f32', device);
  const params = Uint32Array.from([rows, C, i32Bits(ignore)]);
  if (rows > 0) {
    device.dispatch(kernelFor(xentForwardKernel, x.dtype), params, [{ buffer: x.storage.buffer }, { buffer: t.storage.buffer },
      { buffer: nll.storage.buffer }, { buffer: lse.storage.buffer }], grid(rows));
  }
  const out = record('crossEntropy', nll, [logits], (g, [xs, ts, ls]) => {
    const gc = cast(g, 'f32');
    const dx = Tensor.empty(xs.shape, 'f32', device);
    if (rows > 0) {
      device.dispatch(kernelFor(xentBackwardKernel, xs.dtype), params, [{ buffer: xs.storage.buffer }, { buffer: ts.storage.buffer },
        { buffer: ls.storage.buffer }, { buffer: gc.storage.buffer }, { buffer: dx.storage.buffer }], grid(Math.ceil((rows * C) / XENT_BACKWARD_WORKGROUP)));
    }
    gc.dispose();
    const shaped = reshape(dx, logits.shape);
    dx.dispose();
    return [castAndDispose(shaped, logits.dtype)];
  }, [x, t, lse]);
  noGrad(() => { x.dispose(); t.dispose(); lse.dispose(); });
  return out;
}

/**
 * torch.nn.functional.cross_entropy with class indices: logits [..., C] (classes on the last axis),
 * targets i32 [...]. 'mean' divides by the number of non-ignored targets (NaN when all are ignored, as
 * PyTorch). Targets outside [0, C) other than ignoreIndex cannot raise on the GPU: they contribute 0 (use
 * checkIndices to validate them on the host). The result has the logits' dtype; sums run in f32.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { ignore, reduction } = checkCrossEntropy(logits, targets, opts);
  return withTemps((tmp) => {
    const flat = tmp(rowNll(logits, targets, ignore));
    const nll = reshape(flat, targets.shape);
    if (reduction === 'none') return castAndDispose(nll, logits.dtype);
    const total = sum(tmp(nll));
    if (reduction === 'sum') return castAndDispose(total, logits.dtype);
    tmp(total);
    const count = tmp(sum(tmp(cast(tmp(ne(targets, ignore)), 'f32'))));
    return castAndDispose(div(total, count), logits.dtype);
  });
}

export interface BCEOptions { reduction?: Reduction }

/**
 * torch.nn.functional.binary_cross_entropy_with_logits, in the stable form
 * max(x, 0) - x * y + log1p(exp(-|x|)); targets y broadcast to x. Gradients: dx = sigmoid(x) - y, dy = -x.
 */
export function binaryCrossEntropyWithLogits(x: Tensor, y: Tensor, opts: BCEOptions = {}): Tensor {
  x.assertAlive('binaryCrossEntropyWithLogits'); y.assertAlive('binaryCrossEntropyWithLogits');
  if (!isFloat(x.dtype) || !isFloat(y.dtype)) throw new TypeError(`binaryCrossEntropyWithLogits: needs floating tensors, got ${x.dtype} and ${y.dtype}`);
  const shape = broadcastShapes('binaryCrossEntropyWithLogits', x.shape, y.shape);
  const dt = promote(x.dtype, y.dtype);
  const elem = fusedMap('bce_logits', BCE_WITH_LOGITS.loss, { x, y }, shape, dt);
  const loss = record('bce_with_logits', elem, [x, y], (g, [xs, ys]) => {
    const grads: (Tensor | null)[] = [null, null];
    if (x.requiresGrad) {
      const full = fusedMap('dbce_dx', BCE_WITH_LOGITS.dx, { g, x: xs, y: ys }, g.shape, xs.dtype);
      grads[0] = sumToShape(full, xs.shape); full.dispose();
    }
    if (y.requiresGrad) {
      const full = fusedMap('dbce_dy', BCE_WITH_LOGITS.dy, { g, x: xs }, g.shape, ys.dtype);
      grads[1] = sumToShape(full, ys.shape); full.dispose();
    }
    return grads;
  }, [x, y]);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return loss;
  try { return reduction === 'sum' ? sum(loss) : mean(loss); } finally { loss.dispose(); }
}
