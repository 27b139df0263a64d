// Implicit-GEMM convolution kernels (no autograd; engine/ops/conv.ts records them): the im2col matrix
// is never materialised, the GEMM reads it through kernels/conv-im2col.ts's address function.
//  - 'packed' (CPU-like adapters): A panels from the weight / output gradient by the ordinary pack
//    kernel, B panels straight from x by the im2col pack kernel, then the ordinary packed kernel.
//  - 'tiled' (GPUs): the tiled kernel with `bIm2col` loads B from x in its workgroup-memory staging.
// The batch of the GEMM is (n, g) (image, group); the output [N, G, M, cols] is the conv layout.
import { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { contiguous, castAndDispose, slice, reshape } from './views.js';
import { add } from './elementwise.js';
import { packOperand, packedGemm, packedTiles, panels } from './gemm-packed.js';
import { kernelFor } from '../kernel-cache.js';
import { PACKED_TILE } from '../../kernels/gemm-cpu.js';
import { matmulKernel, TILE, MATMUL_PARAMS_FIXED } from '../../kernels/matmul.js';
import { im2colPackKernel, im2colParams, IM2COL_PACK_FIXED, IM2COL_PARAMS, type Im2colGeometry } from '../../kernels/conv-im2col.js';
import { PACK_WORKGROUP } from '../../kernels/gemm-cpu.js';
import { NO_EPILOGUE, type Epilogue } from '../../kernels/gemm-epilogue.js';
import { grid } from '../../kernels/kernel.js';

export type IgemmVariant = 'packed' | 'tiled';

/** Convolution geometry (as engine/ops/conv.ts validates it). */
export interface ConvGeometry { kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number }

/** The GEMM's A operand: matrices [M, K] at offset + n·sN + g·sG + m·sAm + k (unit stride along K). */
interface AOperand { t: Tensor; sAm: number; sN: number; sG: number }

/**
 * out[n, g] = A[n, g] · B[n, g] with B = im2col(x[n, group g]) (transposed: its transpose), as a new
 * contiguous tensor `outShape` (numel N·G·M·cols) of dtype outDtype (16-bit written by the epilogue
 * when cols is even, else f32 then cast).
 */
function igemm(variant: IgemmVariant, a: AOperand, x: Tensor, G: number, geo: Im2colGeometry,
  M: number, cols: number, K: number, outShape: number[], outDtype: DType): Tensor {
  const device = x.device;
  const [N, C] = x.shape;
  const Cg = C / G, nBatch = N * G;
  const direct = outDtype === 'f32' || ((outDtype === 'f16' || outDtype === 'bf16') && cols % 2 === 0);
  const epi: Epilogue = { ...NO_EPILOGUE, out: direct ? outDtype as Epilogue['out'] : 'f32' };
  const out = Tensor.empty(outShape, epi.out, device);
  const xN = x.strides[0], xG = Cg * x.strides[1];
  if (variant === 'packed') {
    const { tilesM, tilesN } = packedTiles(M, cols);
    const ap = packOperand(a.t, M, K, tilesM * PACKED_TILE.TMR, a.sAm, 1, [N, G], [a.sN, a.sG], nBatch);
    const K4 = Math.ceil(K / 4), blocks = tilesN * PACKED_TILE.TN;
    const bp = panels(device, nBatch, blocks, K);
    const params = [cols, K, K4, blocks, nBatch, x.offset, G, xN, xG, 0, ...im2colParams(geo)];
    if (params.length !== IM2COL_PACK_FIXED + IM2COL_PARAMS) throw new Error('conv: im2col pack parameter layout mismatch');
    device.dispatch(kernelFor(im2colPackKernel, x.dtype), Uint32Array.from(params),
      [{ buffer: x.storage.buffer }, { buffer: bp.storage.buffer }], grid(Math.ceil((nBatch * blocks * K4 * 8) / PACK_WORKGROUP)));
    packedGemm(ap, bp, out, M, cols, K, nBatch, epi, [0, 0], []);
    ap.dispose(); bp.dispose();
  } else {
    const tilesM = Math.ceil(M / TILE.BM), tilesN = Math.ceil(cols / TILE.BN);
    const kernel = kernelFor(matmulKernel, { variant: 'tiled', batchRank: 2, aDtype: a.t.dtype, bDtype: x.dtype, epi, bIm2col: true });
    const params = [M, cols, K, tilesN, tilesM, nBatch, a.t.offset, x.offset, a.sAm, 1, 0, 0, 0, 0,
      N, G, a.sN, a.sG, xN, xG, ...im2colParams(geo)];
    if (params.length !== MATMUL_PARAMS_FIXED + 3 * 2 + IM2COL_PARAMS) throw new Error('conv: tiled im2col parameter layout mismatch');
    device.dispatch(kernel, Uint32Array.from(params), [{ buffer: a.t.storage.buffer }, { buffer: x.storage.buffer }, { buffer: out.storage.buffer }],
      grid(nBatch * tilesM * tilesN));
  }
  return castAndDispose(out, outDtype);
}

function geometryOf(x: Tensor, g: ConvGeometry, Wo: number, transposed: boolean): Im2colGeometry {
  return { transposed, ...g, H: x.shape[2], W: x.shape[3], Wo, sC: x.strides[1], sH: x.strides[2], sW: x.strides[3] };
}

/** conv2d's forward without bias: x [N, C, H, W], w [O, C/G, kh, kw] -> [N, O, Ho, Wo]. */
export function convForwardIgemm(variant: IgemmVariant, x: Tensor, w: Tensor, G: number, g: ConvGeometry,
  Ho: number, Wo: number, outDtype: DType): Tensor {
  const [N] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const Og = O / G, Kc = Cg * kh * kw;
  const wc = contiguous(w);
  try {
    return igemm(variant, { t: wc, sAm: Kc, sN: 0, sG: Og * Kc }, x, G, geometryOf(x, g, Wo, false),
      Og, Ho * Wo, Kc, [N, O, Ho, Wo], outDtype);
  } finally { wc.dispose(); }
}

/**
 * conv2d's weight gradient dW = Σ_n dY[n] · im2col(x[n])ᵀ per group: dy [N, O, Ho, Wo], x [N, C, H, W]
 * -> [O, C/G, kh, kw]. Accumulated in f32 (a batch > 1 is summed after, by adds: the reduce kernel
 * over a leading axis measured ~1 s for a 600K-element weight on lavapipe), then cast to outDtype.
 */
export function convWeightGradIgemm(variant: IgemmVariant, dy: Tensor, x: Tensor, G: number, g: ConvGeometry,
  outDtype: DType): Tensor {
  const [N, O, Ho, Wo] = dy.shape;
  const C = x.shape[1], Cg = C / G, Og = O / G, Pix = Ho * Wo, Kc = Cg * g.kh * g.kw;
  const dyc = contiguous(dy);
  let r: Tensor;
  try {
    r = igemm(variant, { t: dyc, sAm: Pix, sN: O * Pix, sG: Og * Pix }, x, G, geometryOf(x, g, Wo, true),
      Og, Kc, Pix, N === 1 ? [O, Cg, g.kh, g.kw] : [N, O, Cg, g.kh, g.kw], 'f32');
  } finally { dyc.dispose(); }
  if (N > 1) {
    const all = r;
    const part = (n: number) => { const v = slice(all, 0, n, n + 1); const q = reshape(v, [O, Cg, g.kh, g.kw]); v.dispose(); return q; };
    r = part(0);
    for (let n = 1; n < N; n++) { const p = part(n); const s = add(r, p); r.dispose(); p.dispose(); r = s; }
    all.dispose();
  }
  return castAndDispose(r, outDtype);
}
