// Reductions over axes (sum, mean, max, min, argmax, argmin, logsumexp, var) and their backward rules.
import { Tensor, numel } from '../tensor.js';
import { record, noGrad } from '../autograd.js';
import { reduceKernel, reduceThinKernel, THIN_WORKGROUP, type ReduceOp } from '../../kernels/reduce.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { f32Bits } from './launch.js';
import { normAxis, reshape, expand, cast, castAndDispose } from './views.js';
import { ShapeError } from '../errors.js';

export interface ReduceOptions { keepDims?: boolean }

function axesOf(t: Tensor, axes: number | readonly number[] | undefined, op: string): number[] {
  if (axes === undefined) return [...Array(t.rank).keys()];
  const list = (typeof axes === 'number' ? [axes] : [...axes]).map((a) => normAxis(a, t.rank, op));
  if (new Set(list).size !== list.length) throw new ShapeError(`${op}: repeated axis in [${list}]`);
  return list.sort((a, b) => a - b);
}

function keptShape(t: Tensor, axes: number[], keepDims: boolean): number[] {
  return keepDims ? t.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !axes.includes(i));
}

/** Runs the raw reduction: f32 values (i32 for arg ops) of shape keptShape(keepDims). */
function rawReduce(t: Tensor, axes: number[], op: ReduceOp, keepDims: boolean, correction = 0): Tensor {
  t.assertAlive(op);
  const kept = [...Array(t.rank).keys()].filter((i) => !axes.includes(i));
  const red = axes.length ? axes : [];
  const rk = kept.length, rr = Math.max(1, red.length);
  const nRedElems = numel(red.map((i) => t.shape[i]));
  const nOutElems = numel(kept.map((i) => t.shape[i]));
  // Few reduced elements per output (or very many outputs): one invocation per output beats a
  // workgroup per output that would mostly idle.
  const thin = nRedElems <= 32 || nOutElems >= 8192;
  const k = kernelFor(thin ? reduceThinKernel : reduceKernel, op, t.dtype, rk, rr);
  const isArg = op === 'argmax' || op === 'argmin';
  const outShape = keptShape(t, axes, keepDims);
  const out = Tensor.empty(outShape, isArg ? 'i32' : 'f32', t.device);
  const nOut = numel(kept.map((i) => t.shape[i]));
  if (nOut === 0) return out;
  const redShape = red.length ? red.map((i) => t.shape[i]) : [1];
  const redStrides = red.length ? red.map((i) => t.strides[i]) : [0];
  const params = [nOut, numel(redShape), ...kept.map((i) => t.shape[i]), ...kept.map((i) => t.strides[i]),
    ...redShape, ...redStrides, t.offset, f32Bits(correction)];
  t.device.dispatch(k, Uint32Array.from(params), [{ buffer: t.storage.buffer }, { buffer: out.storage.buffer }],
    grid(thin ? Math.ceil(nOut / THIN_WORKGROUP) : nOut));
  return out;
}

/** Floats come back in the input's dtype (reductions accumulate in f32). */
function asInputDtype(t: Tensor, r: Tensor): Tensor {
  return r.dtype === 'i32' ? r : castAndDispose(r, t.dtype);
}

/** g (shape of the reduced output) broadcast back over the input's shape. */
function expandBack(g: Tensor, inShape: readonly number[], axes: number[], keepDims: boolean): Tensor {
  const keptDimsShape = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
  const r = keepDims ? g : reshape(g, keptDimsShape);
  const e = expand(r, inShape);
  if (r !== g) r.dispose();
  return e;
}

export function sum(t: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = axesOf(t, axes, 'sum');
  const keep = opts.keepDims ?? false;
  const out = noGrad(() => asInputDtype(t, rawReduce(t, ax, 'sum', keep)));
  const inShape = t.shape;
  return record('sum', out, [t], (g) => [expandBack(g, inShape, ax, keep)]);
}

export function mean(t: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = axesOf(t, axes, 'mean');
  const n = numel(ax.map((i) => t.shape[i]));
  const s = sum(t, ax, opts);
  const out = mulScalar(s, 1 / n);
  s.dispose();
  return out;
}

function extremum(op: 'max' | 'min', t: Tensor, axes: number | readonly number[] | undefined, opts: ReduceOptions): Tensor {
  const ax = axesOf(t, axes, op);
  const keep = opts.keepDims ?? false;
  const out = noGrad(() => asInputDtype(t, rawReduce(t, ax, op, keep)));
  const inShape = t.shape;
  // The gradient is shared evenly among the elements equal to the extremum (as torch.amax).
  return record(op, out, [t], (g, [x, y]) => {
    const yb = expandBack(y, inShape, ax, keep);
    const mask = cast(eq(x, yb), x.dtype);
    const cnt = sum(mask, ax, { keepDims: true });
    const gb = expandBack(g, inShape, ax, keep);
    const share = div(mask, cnt);
    const r = mul(gb, share);
    for (const z of [yb, mask, cnt, gb, share]) z.dispose();
    return [r];
  }, [t, out]);
}

export function max(t: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor { return extremum('max', t, axes, opts); }
export function min(t: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor { return extremum('min', t, axes, opts); }

/** Index (i32) of the largest element along one axis; ties give the first. */
export function argmax(t: Tensor, axis: number, opts: ReduceOptions = {}): Tensor {
  return rawReduce(t, [normAxis(axis, t.rank, 'argmax')], 'argmax', opts.keepDims ?? false);
}
export function argmin(t: Tensor, axis: number, opts: ReduceOptions = {}): Tensor {
  return rawReduce(t, [normAxis(axis, t.rank, 'argmin')], 'argmin', opts.keepDims ?? false);
}

export function logsumexp(t: Tensor, axes: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = axesOf(t, axes, 'logsumexp');
  const keep = opts.keepDims ?? false;
  const out = noGrad(() => asInputDtype(t, rawReduce(t, ax, 'logsumexp', keep)));
  const inShape = t.shape;
  return record('logsumexp', out, [t], (g, [x, y]) => {
    const yb = expandBack(y, inShape, ax, keep);
    const d = sub(x, yb);
    const p = exp(d);
    const gb = expandBack(g, inShape, ax, keep);
    const r = mul(gb, p);
    for (const z of [yb, d, p, gb]) z.dispose();
    return [r];
  }, [t, out]);
}

/** Variance with Bessel's correction by default (correction = 1, as torch.var). */
export function variance(t: Tensor, axes?: number | readonly number[], opts: ReduceOptions & { correction?: number } = {}): Tensor {
  const ax = axesOf(t, axes, 'var');
  const keep = opts.keepDims ?? false;
  const correction = opts.correction ?? 1;
  const n = numel(ax.map((i) => t.shape[i]));
  const out = noGrad(() => asInputDtype(t, rawReduce(t, ax, 'var', keep, correction)));
  const inShape = t.shape;
  return record('var', out, [t], (g, [x]) => {
    const m = mean(x, ax, { keepDims: true });
    const d = sub(x, m);
    const gb = expandBack(g, inShape, ax, keep);
    const s = mulScalar(d, 2 / (n - correction));
    const r = mul(gb, s);
    for (const z of [m, d, gb, s]) z.dispose();
    return [r];
  }, [t]);
}

/** Sums g over the axes that broadcasting added or stretched, so it matches `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g.retain();
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError(`sumToShape: [${g.shape}] has fewer axes than [${shape}]`);
  const axes: number[] = [];
  // Axes of size 1 in g need no summing: dropping them is a reshape.
  for (let i = 0; i < g.rank; i++) if (g.shape[i] !== 1 && (i < lead || shape[i - lead] === 1)) axes.push(i);
  if (axes.length === 0) return reshape(g, shape);
  const s = sum(g, axes, { keepDims: true });
  const r = reshape(s, shape);
  s.dispose();
  return r;
}

import { mul, div, sub, exp, eq, mulScalar } from './elementwise.js';
