// Ops that assemble or cut tensors: concat, stack, split, pad (constant). concat and pad are map
// kernels that pick, for each output element, the source element (or the fill value); their backward
// rules are slices (concat) and the opposite pad (pad), so gradients never need a kernel of their own.
import { Tensor } from '../tensor.js';
import { record, noGrad } from '../autograd.js';
import { runMap, f32Bits, i32Bits } from './launch.js';
import { normAxis, slice, unsqueeze, contiguous, cast } from './views.js';
import { promote } from './elementwise.js';
import { concatBody, padBody } from '../../kernels/layout.js';
import { ShapeError } from '../errors.js';

/** Inputs bound by one concat dispatch; more are concatenated in groups, then the groups. */
const MAX_CONCAT_INPUTS = 6;

/** Joins tensors along an existing axis (shapes must agree elsewhere; dtypes are promoted). */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor');
  for (const t of tensors) t.assertAlive('concat');
  const R = tensors[0].rank;
  if (R === 0) throw new ShapeError('concat: cannot concatenate scalars (use stack)');
  const a = normAxis(axis, R, 'concat');
  for (const t of tensors) {
    if (t.rank !== R || t.shape.some((d, i) => i !== a && d !== tensors[0].shape[i])) {
      throw new ShapeError(`concat: shapes ${tensors.map((x) => `[${x.shape}]`).join(', ')} differ outside axis ${a}`);
    }
    if (t.device !== tensors[0].device) throw new Error('concat: tensors are on different devices');
  }
  const dt = tensors.map((t) => t.dtype).reduce(promote);
  if (tensors.some((t) => t.dtype !== dt)) {
    const casted = tensors.map((t) => (t.dtype === dt ? t : cast(t, dt)));
    try { return concat(casted, a); } finally { casted.forEach((c, i) => { if (c !== tensors[i]) c.dispose(); }); }
  }
  if (tensors.length === 1) return contiguous(tensors[0]);
  if (tensors.length > MAX_CONCAT_INPUTS) {
    const parts: Tensor[] = [];
    for (let i = 0; i < tensors.length; i += MAX_CONCAT_INPUTS) parts.push(concat(tensors.slice(i, i + MAX_CONCAT_INPUTS), a));
    try { return concat(parts, a); } finally { parts.forEach((p) => p.dispose()); }
  }
  const K = tensors.length;
  const starts = [0];
  for (const t of tensors) starts.push(starts[starts.length - 1] + t.shape[a]);
  const outShape = [...tensors[0].shape]; outShape[a] = starts[K];
  const out = runMap({ kernel: concatBody(K),
    inputs: tensors.map((t, k) => ({ name: `x${k}`, tensor: t, strides: [...t.strides] })), outShape, outDtype: dt,
    scalars: [a, ...starts] });
  const inputs = [...tensors];
  return record('concat', out, inputs, (g) =>
    inputs.map((t, k) => (t.requiresGrad ? slice(g, a, starts[k], starts[k + 1]) : null)));
}

/** Joins same-shaped tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: needs at least one tensor');
  const shape = tensors[0].shape;
  if (tensors.some((t) => t.shape.join() !== shape.join())) {
    throw new ShapeError(`stack: shapes differ: ${tensors.map((x) => `[${x.shape}]`).join(', ')}`);
  }
  const a = normAxis(axis, shape.length + 1, 'stack');
  const us = tensors.map((t) => unsqueeze(t, a));
  try { return concat(us, a); } finally { us.forEach((u) => u.dispose()); }
}

/**
 * Splits along `axis` into views: a number gives pieces of that size (the last may be smaller), as
 * torch.split; an array gives the size of each piece (they must add up to the axis).
 */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  x.assertAlive('split');
  const a = normAxis(axis, x.rank, 'split');
  const n = x.shape[a];
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new ShapeError(`split: chunk size must be a positive integer, got ${sizes}`);
    list = [];
    for (let s = 0; s < n; s += sizes) list.push(Math.min(sizes, n - s));
    if (n === 0) list.push(0);
  } else {
    list = [...sizes];
    if (list.some((s) => !Number.isInteger(s) || s < 0) || list.reduce((p, c) => p + c, 0) !== n) {
      throw new ShapeError(`split: sizes [${list}] do not add up to axis ${a} of [${x.shape}] (${n})`);
    }
  }
  const out: Tensor[] = [];
  let s = 0;
  for (const len of list) { out.push(slice(x, a, s, s + len)); s += len; }
  return out;
}

/**
 * Constant padding as torch.nn.functional.pad: `pads` = [before, after] for the last axis, then the
 * one before it, and so on. Negative values crop. The gradient is the opposite pad (a crop) of g.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  x.assertAlive('pad');
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank || pads.some((p) => !Number.isInteger(p))) {
    throw new ShapeError(`pad: pads [${pads}] must be integer pairs for at most ${x.rank} axes`);
  }
  const outShape = [...x.shape];
  const dims: { d: number; before: number }[] = [];
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.rank - 1 - k, before = pads[2 * k], after = pads[2 * k + 1];
    outShape[d] += before + after;
    if (outShape[d] < 0) throw new ShapeError(`pad: pads [${pads}] leave a negative size on axis ${d} of [${x.shape}]`);
    if (before !== 0 || after !== 0) dims.push({ d, before });
  }
  if (dims.length === 0) return contiguous(x);
  const scalars: number[] = [];
  for (const { d, before } of dims) scalars.push(i32Bits(before), x.shape[d]);
  scalars.push(f32Bits(value));
  const out = runMap({ kernel: padBody(dims.map((q) => q.d), x.dtype), inputs: [{ name: 'x', tensor: x, strides: [...x.strides] }],
    outShape, outDtype: x.dtype, scalars });
  return record('pad', out, [x], (g) => [noGrad(() => pad(g, pads.map((p) => -p), 0))]);
}
