// softmax and log_softmax along one axis: a dedicated row kernel (kernels/softmax.ts) forward and
// backward, computing in f32 whatever the storage dtype. Backward: softmax dx = y * (g - sum(g * y)),
// log_softmax dx = g - exp(y) * sum(g), both from the saved output.
import { Tensor, numel } from '../tensor.js';
import { record, noGrad } from '../autograd.js';
import { isFloat } from '../dtype.js';
import { softmaxKernel, type SoftmaxMode } from '../../kernels/softmax.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { normAxis, contiguous, castAndDispose } from './views.js';

/** [nRows, C, inner] of a contiguous tensor seen along `axis`. */
function rowParams(shape: readonly number[], axis: number): Uint32Array {
  const C = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  return Uint32Array.from([numel(shape) / Math.max(1, C), C, inner]);
}

/** Runs a row kernel on contiguous inputs and returns the result in `dtype` (computed in f32). */
function runRows(mode: SoftmaxMode, inputs: Tensor[], axis: number, dtype: Tensor['dtype']): Tensor {
  const shape = inputs[0].shape;
  const out32 = Tensor.empty(shape, 'f32', inputs[0].device);
  const params = rowParams(shape, axis);
  if (params[0] === 0 || params[1] === 0) return castAndDispose(out32, dtype);
  const k = kernelFor(softmaxKernel, mode, inputs[0].dtype, inputs[1]?.dtype ?? inputs[0].dtype);
  inputs[0].device.dispatch(k, params, [...inputs.map((t) => ({ buffer: t.storage.buffer })), { buffer: out32.storage.buffer }],
    grid(params[0]));
  return castAndDispose(out32, dtype);
}

function rowOp(mode: 'softmax' | 'log_softmax', x: Tensor, axis: number): Tensor {
  x.assertAlive(mode);
  if (!isFloat(x.dtype)) throw new TypeError(`${mode}: needs a floating tensor, got ${x.dtype}`);
  if (x.rank === 0) throw new TypeError(`${mode}: needs at least one axis, got a scalar`);
  const a = normAxis(axis, x.rank, mode);
  // The kernels index contiguous storage from offset 0.
  const xc = noGrad(() => contiguous(x));
  const out = runRows(mode, [xc], a, x.dtype);
  xc.dispose();
  return record(mode, out, [x], (g, [y]) => {
    const gc = contiguous(g);
    const dx = runRows(`${mode}_backward`, [y, gc], a, x.dtype);
    gc.dispose();
    return [dx];
  }, [out]);
}

/** exp(x - max) / sum(exp(x - max)) along `axis` (default: the last). */
export function softmax(x: Tensor, axis = -1): Tensor { return rowOp('softmax', x, axis); }

/** x - logsumexp(x) along `axis` (default: the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor { return rowOp('log_softmax', x, axis); }
