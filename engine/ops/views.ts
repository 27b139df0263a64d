// Views share storage and change only shape/strides/offset: reshape (when the layout allows), permute,
// transpose, slice, expand, squeeze/unsqueeze. contiguous() copies when a kernel needs packed data.
import { Tensor, contiguousStrides, numel, checkShape } from '../tensor.js';
import { record, noGrad } from '../autograd.js';
import { runMap } from './launch.js';
import { ShapeError } from '../errors.js';
import { castBody, sliceBackwardBody } from '../../kernels/layout.js';
// reduce.ts imports views too; the cycle is safe because both only use each other inside functions.
import { sumToShape } from './reduce.js';

function view(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  t.assertAlive('view');
  return new Tensor(t.storage.retain(), [...shape], t.dtype, [...strides], offset);
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** A contiguous copy (or the tensor itself, retained, when already contiguous). */
export function contiguous(t: Tensor): Tensor {
  t.assertAlive('contiguous');
  if (t.isContiguous() && t.offset === 0) return recordIdentity(t, t.retain());
  const out = runMap({ kernel: castBody(t.dtype, t.dtype), inputs: [{ name: 'x', tensor: t, strides: padStrides(t) }],
    outShape: t.shape, outDtype: t.dtype });
  return recordIdentity(t, out);
}

function padStrides(t: Tensor): number[] { return t.rank ? [...t.strides] : [0]; }

function recordIdentity(src: Tensor, out: Tensor): Tensor {
  return record('contiguous', out, [src], (g) => [g.retain()]);
}

/** Converts to another dtype (f32 -> bf16/f16 rounds to nearest even; float -> int truncates). */
export function cast(t: Tensor, dtype: Tensor['dtype']): Tensor {
  t.assertAlive('cast');
  if (t.dtype === dtype) return contiguous(t);
  const out = runMap({ kernel: castBody(t.dtype, dtype), inputs: [{ name: 'x', tensor: t, strides: padStrides(t) }],
    outShape: t.shape, outDtype: dtype });
  return record('cast', out, [t], (g) => [noGrad(() => cast(g, t.dtype))]);
}

/**
 * t in `dtype`, for a result the caller owns: t itself when it has that dtype already, else a cast
 * (recorded like any cast) and t disposed.
 */
export function castAndDispose(t: Tensor, dtype: Tensor['dtype']): Tensor {
  if (t.dtype === dtype) return t;
  const c = cast(t, dtype);
  t.dispose();
  return c;
}

export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  t.assertAlive('reshape');
  const inferred = [...shape];
  const neg = inferred.indexOf(-1);
  if (neg >= 0) {
    const rest = numel(inferred.filter((_, i) => i !== neg));
    if (rest === 0 || t.size % rest !== 0) throw new ShapeError(`reshape: cannot infer -1 in [${shape}] for ${t.size} elements`);
    inferred[neg] = t.size / rest;
  }
  checkShape(inferred, 'reshape');
  if (numel(inferred) !== t.size) throw new ShapeError(`reshape: [${t.shape}] (${t.size} elements) cannot become [${shape}]`);
  let out: Tensor;
  if (t.isContiguous()) {
    out = view(t, inferred, contiguousStrides(inferred), t.offset);
  } else {
    const c = noGrad(() => contiguous(t));
    out = view(c, inferred, contiguousStrides(inferred), 0);
    c.dispose();
  }
  const inShape = t.shape;
  return record('reshape', out, [t], (g) => [reshape(g, inShape)]);
}

export function flatten(t: Tensor): Tensor { return reshape(t, [t.size]); }

export function permute(t: Tensor, axes: readonly number[]): Tensor {
  t.assertAlive('permute');
  const R = t.rank;
  const ax = axes.map((a) => normAxis(a, R, 'permute'));
  if (ax.length !== R || new Set(ax).size !== R) throw new ShapeError(`permute: [${axes}] is not a permutation of ${R} axes`);
  const out = view(t, ax.map((a) => t.shape[a]), ax.map((a) => t.strides[a]), t.offset);
  const inv = new Array<number>(R);
  ax.forEach((a, i) => { inv[a] = i; });
  return record('permute', out, [t], (g) => [permute(g, inv)]);
}

export function transpose(t: Tensor, a = -2, b = -1): Tensor {
  const R = t.rank;
  const axes = [...Array(R).keys()];
  const i = normAxis(a, R, 'transpose'), j = normAxis(b, R, 'transpose');
  [axes[i], axes[j]] = [axes[j], axes[i]];
  return permute(t, axes);
}

/** t[start:end] along one axis (end exclusive; negative values count from the end). */
export function slice(t: Tensor, axis: number, start: number, end?: number): Tensor {
  t.assertAlive('slice');
  const a = normAxis(axis, t.rank, 'slice');
  const n = t.shape[a];
  let s = start < 0 ? start + n : start;
  let e = end === undefined ? n : end < 0 ? end + n : end;
  s = Math.min(Math.max(s, 0), n); e = Math.min(Math.max(e, s), n);
  const shape = [...t.shape]; shape[a] = e - s;
  const out = view(t, shape, t.strides, t.offset + s * t.strides[a]);
  const inShape = t.shape;
  return record('slice', out, [t], (g) => [sliceBackward(g, inShape, a, s)]);
}

/** The gradient of a slice: g placed at [start, start + len) along `axis` of zeros of `shape`. */
function sliceBackward(g: Tensor, shape: readonly number[], axis: number, start: number): Tensor {
  const len = g.shape[axis];
  // off_g must use g's own strides over g's index space, which has the same rank.
  return runMap({ kernel: sliceBackwardBody(axis, shape.length, g.dtype), inputs: [{ name: 'g', tensor: g, strides: [...g.strides] }],
    outShape: shape, outDtype: g.dtype, scalars: [start, len] });
}

/** Broadcasts size-1 axes to `shape` without copying (stride 0). Leading axes may be added. */
export function expand(t: Tensor, shape: readonly number[]): Tensor {
  t.assertAlive('expand');
  const R = shape.length;
  if (R < t.rank) throw new ShapeError(`expand: cannot expand [${t.shape}] to fewer axes [${shape}]`);
  const strides = new Array<number>(R).fill(0);
  const target = [...shape];
  for (let i = 0; i < R; i++) {
    const j = i - (R - t.rank);
    if (target[i] === -1) { if (j < 0) throw new ShapeError(`expand: -1 not allowed for new axis ${i}`); target[i] = t.shape[j]; }
    if (j < 0) continue;
    if (t.shape[j] === target[i]) strides[i] = t.strides[j];
    else if (t.shape[j] !== 1) throw new ShapeError(`expand: axis ${j} of [${t.shape}] has size ${t.shape[j]}, cannot expand to ${target[i]}`);
  }
  const out = view(t, target, strides, t.offset);
  const inShape = t.shape;
  return record('expand', out, [t], (g) => [sumToShape(g, inShape)]);
}

export function unsqueeze(t: Tensor, axis: number): Tensor {
  const a = normAxis(axis, t.rank + 1, 'unsqueeze');
  const shape = [...t.shape]; shape.splice(a, 0, 1);
  return reshapeView(t, shape, 'unsqueeze');
}

export function squeeze(t: Tensor, axis?: number): Tensor {
  let shape: number[];
  if (axis === undefined) shape = t.shape.filter((d) => d !== 1);
  else {
    const a = normAxis(axis, t.rank, 'squeeze');
    if (t.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of [${t.shape}] has size ${t.shape[a]}, not 1`);
    shape = t.shape.filter((_, i) => i !== a);
  }
  return reshapeView(t, shape, 'squeeze');
}

/** Reshape that only adds/removes size-1 axes: always a view, even for non-contiguous tensors. */
function reshapeView(t: Tensor, shape: number[], name: string): Tensor {
  t.assertAlive(name);
  const strides: number[] = [];
  let j = 0;
  for (const d of shape) {
    while (j < t.rank && t.shape[j] === 1 && d !== 1) j++;
    if (j < t.rank && t.shape[j] === d) { strides.push(t.strides[j]); j++; } else strides.push(0);
  }
  const out = view(t, shape, strides, t.offset);
  const inShape = t.shape;
  return record(name, out, [t], (g) => [reshape(g, inShape)]);
}

