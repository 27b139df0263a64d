// 2-D convolution and transposed convolution. Two implementations, chosen by planConv:
//  - implicit GEMM ('packed' on CPU-like adapters, 'tiled' on GPUs; engine/ops/conv-igemm.ts): the
//    im2col matrix is never materialised. conv2d's forward and weight gradient are implicit GEMMs;
//    its input gradient is conv_transpose2d's forward, (wᵀ · dY) folded (col2im) onto the input grid.
//    conv_transpose2d reuses the same three pieces: forward = conv2d's input gradient, input gradient =
//    conv2d's forward, weight gradient = conv2d's weight gradient with the roles of x and dY swapped.
//  - 'unfold': unfold (im2col) / fold (col2im) map kernels plus matmul, with autograd through those
//    ops: the reference implementation (and the benchmarks' naive peer), used where the GEMM planner
//    picks neither packed nor tiled (decode-sized gemv, subgroup matrices).
// unfold and fold are each other's backward; fold gathers (each output pixel sums the column entries
// that land on it), so it is deterministic and needs no atomics. Groups become a batch axis of the GEMM.
import { Tensor } from '../tensor.js';
import { record, noGrad } from '../autograd.js';
import type { Device } from '../device.js';
import { runMap } from './launch.js';
import { reshape, castAndDispose, transpose } from './views.js';
import { add } from './elementwise.js';
import { sum } from './reduce.js';
import { matmul } from './matmul.js';
import { gemm } from './gemm.js';
import { planMatmul } from './matmul-plan.js';
import { convForwardIgemm, convWeightGradIgemm } from './conv-igemm.js';
import { UNFOLD_BODY, FOLD_BODY } from '../../kernels/conv-unfold.js';
import { ShapeError } from '../errors.js';
import { isFloat, type DType } from '../dtype.js';
import { promote } from './elementwise.js';

type Pair = number | [number, number];
const pair = (v: Pair | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface UnfoldOptions { kernelSize: Pair; stride?: Pair; padding?: Pair; dilation?: Pair }

interface Geometry { kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number }

function geometry(o: UnfoldOptions, op: string): Geometry {
  const [kh, kw] = pair(o.kernelSize, 1), [sh, sw] = pair(o.stride, 1), [ph, pw] = pair(o.padding, 0), [dh, dw] = pair(o.dilation, 1);
  const ok = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (![kh, kw, sh, sw, dh, dw].every((v) => ok(v, 1)) || !ok(ph, 0) || !ok(pw, 0)) {
    throw new ShapeError(`${op}: invalid kernel ${kh}x${kw}, stride ${sh},${sw}, padding ${ph},${pw}, dilation ${dh},${dw}`);
  }
  return { kh, kw, sh, sw, ph, pw, dh, dw };
}

/** Number of sliding positions along one axis. */
function blocks(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

function geoScalars(g: Geometry): number[] { return [g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw]; }

function unfoldRaw(x: Tensor, g: Geometry, Ho: number, Wo: number): Tensor {
  const [N, C, H, W] = x.shape;
  return runMap({ kernel: UNFOLD_BODY, outShape: [N, C * g.kh * g.kw, Ho * Wo], outDtype: x.dtype,
    inputs: [{ name: 'x', tensor: x, strides: [x.strides[0], 0, 0] }],
    scalars: [...geoScalars(g), Wo, H, W, x.strides[1], x.strides[2], x.strides[3]] });
}

function foldRaw(cols: Tensor, C: number, H: number, W: number, g: Geometry, Ho: number, Wo: number): Tensor {
  const N = cols.shape[0];
  return runMap({ kernel: FOLD_BODY, outShape: [N, C, H, W], outDtype: cols.dtype,
    inputs: [{ name: 'c', tensor: cols, strides: [cols.strides[0], 0, 0, 0] }],
    scalars: [...geoScalars(g), Ho, Wo, cols.strides[1], cols.strides[2]] });
}

/** torch.nn.functional.unfold: x [N, C, H, W] -> [N, C·kh·kw, L] (L sliding positions, row-major). */
export function unfold(x: Tensor, opts: UnfoldOptions): Tensor {
  x.assertAlive('unfold');
  if (x.rank !== 4) throw new ShapeError(`unfold: input must be [N, C, H, W], got [${x.shape}]`);
  const g = geometry(opts, 'unfold');
  const [, C, H, W] = x.shape;
  const Ho = blocks(H, g.kh, g.sh, g.ph, g.dh), Wo = blocks(W, g.kw, g.sw, g.pw, g.dw);
  if (Ho < 1 || Wo < 1) throw new ShapeError(`unfold: input [${x.shape}] is smaller than the (dilated) kernel ${g.kh}x${g.kw}`);
  const out = unfoldRaw(x, g, Ho, Wo);
  return record('unfold', out, [x], (gr) => [foldRaw(gr, C, H, W, g, Ho, Wo)]);
}

/** torch.nn.functional.fold: cols [N, C·kh·kw, L] -> [N, C, H, W], summing overlapping entries. */
export function fold(cols: Tensor, outputSize: [number, number], opts: UnfoldOptions): Tensor {
  cols.assertAlive('fold');
  const g = geometry(opts, 'fold');
  const [H, W] = outputSize;
  const kk = g.kh * g.kw;
  const Ho = blocks(H, g.kh, g.sh, g.ph, g.dh), Wo = blocks(W, g.kw, g.sw, g.pw, g.dw);
  if (cols.rank !== 3 || cols.shape[1] % kk !== 0 || cols.shape[2] !== Ho * Wo || Ho < 1 || Wo < 1) {
    throw new ShapeError(`fold: input [${cols.shape}] does not match output ${H}x${W} with kernel ${g.kh}x${g.kw} (${Ho}x${Wo} blocks)`);
  }
  const C = cols.shape[1] / kk;
  const out = foldRaw(cols, C, H, W, g, Ho, Wo);
  return record('fold', out, [cols], (gr) => [unfoldRaw(gr, g, Ho, Wo)]);
}

/** How a convolution runs: implicit GEMM ('packed' / 'tiled') or unfold + matmul ('unfold'). */
export type ConvImpl = 'packed' | 'tiled' | 'unfold';

export interface Conv2dOptions {
  stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number;
  /** Force an implementation (tests, benchmarks); default: planConv's choice. */
  impl?: ConvImpl;
}

/**
 * The one place choosing a convolution's implementation, for the GEMM y[n,g] = W[g] (M x K) · im2col
 * (K x cols) over `batch` = N·G: implicit GEMM on the kernel family planMatmul picks for that GEMM
 * ('packed' on CPU-like adapters, 'tiled' on GPUs), else unfold + matmul (gemv shapes, subgroup
 * matrices: those kernels read plain strided matrices). `force` or WEBGPU_ENGINE_CONV=<impl> override; a
 * forced implicit variant the adapter cannot run throws.
 */
export function planConv(device: Device, M: number, cols: number, K: number, batch: number, force?: ConvImpl): ConvImpl {
  const env = process.env.WEBGPU_ENGINE_CONV as ConvImpl | undefined;
  const chosen = force ?? (env && env.length ? env : undefined);
  if (chosen === 'unfold') return 'unfold';
  if (chosen === 'packed' || chosen === 'tiled') {
    planMatmul(device, M, cols, K, batch, chosen); // throws when the adapter cannot run it
    return chosen;
  }
  if (chosen) throw new Error(`conv: unknown implementation '${chosen}' (packed, tiled, unfold)`);
  const v = planMatmul(device, M, cols, K, batch).variant;
  return v === 'packed' || v === 'tiled' ? v : 'unfold';
}

/**
 * (wᵀ · x) folded onto an Hout x Wout grid, no bias, no autograd: conv_transpose2d's forward and
 * conv2d's input gradient. x [N, C, H, W], w [C, Og, kh, kw] -> [N, Og·G, Hout, Wout].
 */
function transposedConvRaw(x: Tensor, w: Tensor, G: number, g: Geometry, Hout: number, Wout: number, outDtype: DType): Tensor {
  const [N, C, H, W] = x.shape;
  const [, Og, kh, kw] = w.shape;
  const xG = reshape(x, [N, G, C / G, H * W]);
  const wG = reshape(w, [G, C / G, Og * kh * kw]);
  const wT = transpose(wG);
  const cols = gemm(wT, xG, { outDtype }); // [N, G, Og·kh·kw, H·W]
  const cols3 = reshape(cols, [N, G * Og * kh * kw, H * W]);
  const y = foldRaw(cols3, Og * G, Hout, Wout, g, H, W);
  for (const t of [xG, wG, wT, cols, cols3]) t.dispose();
  return y;
}

/** conv2d / conv_transpose2d by implicit GEMM, with the backward of both (the three pieces, swapped). */
function convImplicit(kind: 'conv2d' | 'conv_transpose2d', impl: 'packed' | 'tiled', x: Tensor, w: Tensor, bias: Tensor | null | undefined,
  G: number, g: Geometry, Hout: number, Wout: number): Tensor {
  const [, , H, W] = x.shape;
  const O = kind === 'conv2d' ? w.shape[0] : w.shape[1] * G;
  let dt = promote(x.dtype, w.dtype);
  if (bias) {
    if (bias.rank !== 1 || bias.shape[0] !== O) throw new ShapeError(`${kind}: bias must be [${O}], got [${bias.shape}]`);
    dt = promote(dt, bias.dtype);
  }
  const out = noGrad(() => {
    const y = kind === 'conv2d' ? convForwardIgemm(impl, x, w, G, g, Hout, Wout, dt) : transposedConvRaw(x, w, G, g, Hout, Wout, dt);
    return castAndDispose(addBias(y, bias, O, kind), dt);
  });
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(kind, out, inputs, (gr, [xs, ws]) => {
    const grads: (Tensor | null)[] = inputs.map(() => null);
    if (x.requiresGrad) {
      grads[0] = castAndDispose(kind === 'conv2d' ? transposedConvRaw(gr, ws, G, g, H, W, x.dtype) : convForwardIgemm(impl, gr, ws, G, g, H, W, x.dtype), x.dtype);
    }
    if (w.requiresGrad) {
      grads[1] = kind === 'conv2d' ? convWeightGradIgemm(impl, gr, xs, G, g, w.dtype) : convWeightGradIgemm(impl, xs, gr, G, g, w.dtype);
    }
    if (bias?.requiresGrad) grads[2] = castAndDispose(sum(gr, [0, 2, 3]), bias.dtype);
    return grads;
  }, [x, w]);
}

export interface ConvTranspose2dOptions extends Conv2dOptions { outputPadding?: Pair }

function checkConvInputs(op: string, x: Tensor, w: Tensor, bias: Tensor | null | undefined, groups: number): void {
  x.assertAlive(op); w.assertAlive(op); bias?.assertAlive(op);
  if (!isFloat(x.dtype) || !isFloat(w.dtype)) throw new TypeError(`${op}: needs floating tensors, got ${x.dtype} and ${w.dtype}`);
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be [N, C, H, W], got [${x.shape}]`);
  if (w.rank !== 4) throw new ShapeError(`${op}: weight must be 4-D, got [${w.shape}]`);
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: groups must be a positive integer, got ${groups}`);
}

/** y + bias over the channel axis of [N, O, H, W] (y is consumed). */
function addBias(y: Tensor, bias: Tensor | null | undefined, O: number, op: string): Tensor {
  if (!bias) return y;
  if (bias.rank !== 1 || bias.shape[0] !== O) throw new ShapeError(`${op}: bias must be [${O}], got [${bias.shape}]`);
  const b = reshape(bias, [O, 1, 1]);
  const r = add(y, b);
  b.dispose(); y.dispose();
  return r;
}

/** torch.nn.functional.conv2d: x [N, C, H, W], w [O, C/groups, kh, kw], bias [O]. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const G = opts.groups ?? 1;
  checkConvInputs('conv2d', x, w, bias, G);
  const [N, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  if (C !== Cg * G || O % G !== 0) {
    throw new ShapeError(`conv2d: input [${x.shape}] and weight [${w.shape}] do not agree with groups=${G}`);
  }
  const g = geometry({ kernelSize: [kh, kw], stride: opts.stride, padding: opts.padding, dilation: opts.dilation }, 'conv2d');
  const Ho = blocks(H, kh, g.sh, g.ph, g.dh), Wo = blocks(W, kw, g.sw, g.pw, g.dw);
  if (Ho < 1 || Wo < 1) throw new ShapeError(`conv2d: input [${x.shape}] is smaller than the (dilated) kernel ${kh}x${kw}`);
  const impl = planConv(x.device, O / G, Ho * Wo, Cg * kh * kw, N * G, opts.impl);
  if (impl !== 'unfold') return convImplicit('conv2d', impl, x, w, bias, G, g, Ho, Wo);
  const pointwise = kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
  // A 1x1 stride-1 convolution is a plain matmul over the pixels: no unfold needed.
  const cols = pointwise ? reshape(x, [N, C, H * W]) : unfold(x, { kernelSize: [kh, kw], stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw] });
  const colsG = reshape(cols, [N, G, Cg * kh * kw, Ho * Wo]);
  const wG = reshape(w, [G, O / G, Cg * kh * kw]);
  const y = matmul(wG, colsG);
  const y4 = reshape(y, [N, O, Ho, Wo]);
  for (const t of [cols, colsG, wG, y]) t.dispose();
  return addBias(y4, bias, O, 'conv2d');
}

/** torch.nn.functional.conv_transpose2d: x [N, C, H, W], w [C, O/groups, kh, kw], bias [O]. */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const G = opts.groups ?? 1;
  checkConvInputs('conv_transpose2d', x, w, bias, G);
  const [N, C, H, W] = x.shape;
  const [Cw, Og, kh, kw] = w.shape;
  if (C !== Cw || C % G !== 0) {
    throw new ShapeError(`conv_transpose2d: input [${x.shape}] and weight [${w.shape}] do not agree with groups=${G}`);
  }
  const O = Og * G;
  const g = geometry({ kernelSize: [kh, kw], stride: opts.stride, padding: opts.padding, dilation: opts.dilation }, 'conv_transpose2d');
  const [oph, opw] = pair(opts.outputPadding, 0);
  // (PyTorch also accepts outputPadding < dilation when >= stride; the fold formulation does not.)
  if (!(oph >= 0 && oph < g.sh) || !(opw >= 0 && opw < g.sw)) {
    throw new ShapeError(`conv_transpose2d: output padding ${oph},${opw} must be smaller than the stride ${g.sh},${g.sw}`);
  }
  const Hout = (H - 1) * g.sh - 2 * g.ph + g.dh * (kh - 1) + oph + 1;
  const Wout = (W - 1) * g.sw - 2 * g.pw + g.dw * (kw - 1) + opw + 1;
  if (Hout < 1 || Wout < 1) throw new ShapeError(`conv_transpose2d: output size ${Hout}x${Wout} is empty for input [${x.shape}]`);
  // Planned on the backward's implicit GEMM (the input gradient is a conv2d: M = C/G, cols = H·W).
  const impl = planConv(x.device, C / G, H * W, Og * kh * kw, N * G, opts.impl);
  if (impl !== 'unfold') return convImplicit('conv_transpose2d', impl, x, w, bias, G, g, Hout, Wout);
  const xG = reshape(x, [N, G, C / G, H * W]);
  const wG = reshape(w, [G, C / G, Og * kh * kw]);
  const cols = matmul(wG, xG, { transA: true }); // [N, G, Og·kh·kw, H·W]
  const cols3 = reshape(cols, [N, O * kh * kw, H * W]);
  const y = fold(cols3, [Hout, Wout], { kernelSize: [kh, kw], stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw] });
  for (const t of [xG, wG, cols, cols3]) t.dispose();
  return addBias(y, bias, O, 'conv_transpose2d');
}
