// Indexing ops: gather, indexSelect, embedding (map kernels reading the source at an index) and
// scatterAdd (a deterministic kernel, kernels/scatter.ts). The backward of every gather-like op is a
// scatter-add of the gradient, accumulated in f32 and cast to the source's dtype.
//
// Out-of-range indices: a GPU kernel cannot throw, so kernels are clamp-safe instead: they never read
// or write out of bounds; a gathered element whose index is out of range is 0, and a scattered one is
// dropped. `checkIndices` validates an index tensor on the host when the caller wants the error.
import { Tensor, numel, contiguousStrides } from '../tensor.js';
import { record } from '../autograd.js';
import { isFloat } from '../dtype.js';
import { runMap } from './launch.js';
import { normAxis, reshape, castAndDispose } from './views.js';
import { full } from './creation.js';
import { pad } from './shape.js';
import { castBody, gatherBody } from '../../kernels/layout.js';
import { scatterAddKernel, SCATTER_WORKGROUP } from '../../kernels/scatter.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import { ShapeError } from '../errors.js';

function assertIndex(index: Tensor, op: string): void {
  index.assertAlive(op);
  if (index.dtype !== 'i32') throw new TypeError(`${op}: index must be i32, got ${index.dtype}`);
}

/** out[i] = src[i with axis replaced by index(i)] (0 where the index is out of range). */
function gatherRaw(src: Tensor, axis: number, index: Tensor, idxStrides: number[], outShape: readonly number[]): Tensor {
  return runMap({ kernel: gatherBody(src.dtype), outShape, outDtype: src.dtype, scalars: [src.shape[axis], axis],
    inputs: [{ name: 'src', tensor: src, strides: [...src.strides] }, { name: 'index', tensor: index, strides: idxStrides }] });
}

/**
 * acc (a fresh contiguous f32 tensor) += src scattered along `axis`: for every multi-index i of `shape`,
 * acc[i with axis = index(i)] += src(i), index and src read with the given strides over `shape`.
 */
function scatterAddInto(acc: Tensor, axis: number, index: Tensor, idxStrides: number[], src: Tensor, srcStrides: number[],
  shape: readonly number[]): void {
  const n = numel(shape);
  if (n === 0) return;
  const R = shape.length;
  const k = kernelFor(scatterAddKernel, src.dtype, R);
  const params = [n, axis, acc.shape[axis], index.offset, src.offset, ...shape, ...idxStrides, ...srcStrides, ...contiguousStrides(acc.shape)];
  acc.device.dispatch(k, Uint32Array.from(params),
    [{ buffer: index.storage.buffer }, { buffer: src.storage.buffer }, { buffer: acc.storage.buffer }],
    grid(Math.ceil(n / SCATTER_WORKGROUP)));
}

/** An f32 accumulator as a fresh copy (never a view) of `t`. */
function f32Copy(t: Tensor): Tensor {
  return runMap({ kernel: castBody(t.dtype, 'f32'), inputs: [{ name: 'x', tensor: t }], outShape: t.shape, outDtype: 'f32' });
}

/** zeros(shape) with g scattered into it along `axis` (the backward of the gather-like ops). */
function scatterGrad(shape: readonly number[], dtype: Tensor['dtype'], axis: number, index: Tensor, idxStrides: number[], g: Tensor): Tensor {
  const acc = full(shape, 0, 'f32', g.device);
  scatterAddInto(acc, axis, index, idxStrides, g, [...g.strides], g.shape);
  return castAndDispose(acc, dtype);
}

/** torch.gather: out[i][j][k] = src[i][index[i][j][k]][k] for axis 1; out has the index's shape. */
export function gather(src: Tensor, axis: number, index: Tensor): Tensor {
  src.assertAlive('gather'); assertIndex(index, 'gather');
  if (src.rank === 0 || index.rank !== src.rank) throw new ShapeError(`gather: index [${index.shape}] must have the rank of src [${src.shape}] (>= 1)`);
  const a = normAxis(axis, src.rank, 'gather');
  if (index.shape.some((d, i) => i !== a && d > src.shape[i])) {
    throw new ShapeError(`gather: index [${index.shape}] is larger than src [${src.shape}] outside axis ${a}`);
  }
  const out = gatherRaw(src, a, index, [...index.strides], index.shape);
  const srcShape = src.shape, dtype = src.dtype;
  return record('gather', out, [src], (g, [idx]) => [scatterGrad(srcShape, dtype, a, idx, [...idx.strides], g)], [index]);
}

/** Rows (slices along `axis`) of src picked by a 1-D i32 index: torch.index_select. */
export function indexSelect(src: Tensor, axis: number, index: Tensor): Tensor {
  src.assertAlive('indexSelect'); assertIndex(index, 'indexSelect');
  if (index.rank !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got [${index.shape}]`);
  if (src.rank === 0) throw new ShapeError('indexSelect: src must have at least one axis');
  const a = normAxis(axis, src.rank, 'indexSelect');
  const outShape = [...src.shape]; outShape[a] = index.shape[0];
  // The 1-D index is read over the output's index space: stride 0 everywhere but along `axis`.
  const idxStrides = src.shape.map((_, d) => (d === a ? index.strides[0] : 0));
  const out = gatherRaw(src, a, index, idxStrides, outShape);
  const srcShape = src.shape, dtype = src.dtype;
  return record('index_select', out, [src], (g, [idx]) =>
    [scatterGrad(srcShape, dtype, a, idx, srcShape.map((_, d) => (d === a ? idx.strides[0] : 0)), g)], [index]);
}

/** Rows of weight [V, D] for ids (i32, any shape): [...ids.shape, D]. Out-of-range ids give zero rows. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  weight.assertAlive('embedding'); assertIndex(ids, 'embedding');
  if (weight.rank !== 2) throw new ShapeError(`embedding: weight must be [V, D], got [${weight.shape}]`);
  const flat = reshape(ids, [ids.size]);
  const rows = indexSelect(weight, 0, flat);
  const out = reshape(rows, [...ids.shape, weight.shape[1]]);
  flat.dispose(); rows.dispose();
  return out;
}

/**
 * torch.scatter_add: a copy of base with src[i] added at base[i with axis = index[i]], for every i of the
 * index's shape (index.shape <= src.shape, and <= base.shape outside `axis`). Accumulates in f32 with
 * a deterministic kernel: colliding adds are summed in axis order, so results repeat to the bit.
 * Gradients: base gets g, src gets gather(g, axis, index) (zero where src is not read).
 */
export function scatterAdd(base: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  base.assertAlive('scatterAdd'); src.assertAlive('scatterAdd'); assertIndex(index, 'scatterAdd');
  if (!isFloat(base.dtype) || !isFloat(src.dtype)) throw new TypeError(`scatterAdd: needs floating base and src, got ${base.dtype} and ${src.dtype}`);
  const R = base.rank;
  if (R === 0 || index.rank !== R || src.rank !== R) {
    throw new ShapeError(`scatterAdd: base [${base.shape}], index [${index.shape}] and src [${src.shape}] must have the same rank (>= 1)`);
  }
  const a = normAxis(axis, R, 'scatterAdd');
  if (index.shape.some((d, i) => d > src.shape[i] || (i !== a && d > base.shape[i]))) {
    throw new ShapeError(`scatterAdd: index [${index.shape}] must fit src [${src.shape}] and base [${base.shape}] (outside axis ${a})`);
  }
  const acc = f32Copy(base);
  scatterAddInto(acc, a, index, [...index.strides], src, [...src.strides], index.shape);
  const out = castAndDispose(acc, base.dtype);
  const srcShape = src.shape, srcDtype = src.dtype;
  return record('scatter_add', out, [base, src], (g, [idx]) => {
    const gb = base.requiresGrad ? g.retain() : null;
    let gs: Tensor | null = null;
    if (src.requiresGrad) {
      gs = gatherRaw(g, a, idx, [...idx.strides], idx.shape);
      const pads: number[] = [];
      for (let d = R - 1; d >= 0; d--) pads.push(0, srcShape[d] - idx.shape[d]);
      if (pads.some((p) => p !== 0)) { const p = pad(gs, pads); gs.dispose(); gs = p; }
      gs = castAndDispose(gs, srcDtype);
    }
    return [gb, gs];
  }, [index]);
}

/** Throws a RangeError if some index is outside [0, n) (reads the index back: a sync point). */
export async function checkIndices(index: Tensor, n: number, op = 'index'): Promise<void> {
  assertIndex(index, op);
  const v = await index.toArray();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= n) throw new RangeError(`${op}: index ${v[i]} at position ${i} is out of range [0, ${n})`);
  }
}
