// Implicit-GEMM convolution: the im2col matrix B[kc, pix] of an input x [N, C, H, W] is never written to
// memory; the GEMM kernels read it through this address function instead (kc = (c, ki, kj) row-major,
// pix = (oh, ow) row-major, zero padding handled in the address math). Two uses, chosen per dispatch
// by a parameter (so one compiled kernel serves both):
//  - forward (transposed = 0): B[k, n] = im2col[kc = k, pix = n]   (y = w · im2col(x))
//  - weight gradient (transposed = 1): B[k, n] = im2col[kc = n, pix = k]   (dW = dY · im2col(x)ᵀ)
// Users: the pack kernel below (CPU-like adapters: it writes the packed B panels of gemm-cpu.ts
// straight from x) and the tiled GPU kernel's B loads (kernels/matmul.ts, `bIm2col`).
import type { DType } from './dtype.js';
import type { KernelSource } from './kernel.js';
import { panelPackCode } from './gemm-cpu.js';

/** Number of geometry parameters IM2COL_WGSL reads from P[g0 ..]. */
export const IM2COL_PARAMS = 15;

/** The geometry block, in parameter order. */
export interface Im2colGeometry {
  transposed: boolean; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  H: number; W: number; Wo: number;
  /** Element strides of x along C, H, W. */
  sC: number; sH: number; sW: number;
}

export function im2colParams(g: Im2colGeometry): number[] {
  return [g.transposed ? 1 : 0, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.H, g.W, g.Wo, g.sC, g.sH, g.sW];
}

/**
 * WGSL: `fn im2col(base: u32, k: u32, n: u32) -> f32`, element (k, n) of the GEMM's B operand for a
 * batch whose input image starts at element `base`; `load` is a function name reading one element.
 */
export function im2colWgsl(g0: number, load: string): string {
  const p = (i: number) => `P[${g0 + i}u]`;
  return `
fn im2col(base: u32, k: u32, n: u32) -> f32 {
  let tr = ${p(0)} != 0u;
  let kc = select(k, n, tr); let pix = select(n, k, tr);
  let kh = ${p(1)}; let kw = ${p(2)};
  let c = kc / (kh * kw); let r = kc % (kh * kw);
  let ki = r / kw; let kj = r % kw;
  let Wo = ${p(11)};
  let oh = pix / Wo; let ow = pix % Wo;
  let ih = i32(oh * ${p(3)} + ki * ${p(7)}) - i32(${p(5)});
  let iw = i32(ow * ${p(4)} + kj * ${p(8)}) - i32(${p(6)});
  if (ih < 0 || iw < 0 || ih >= i32(${p(9)}) || iw >= i32(${p(10)})) { return 0.0; }
  return ${load}(base + c * ${p(12)} + u32(ih) * ${p(13)} + u32(iw) * ${p(14)});
}`;
}

/** Fixed part of the im2col pack parameters; then the IM2COL_PARAMS geometry. */
export const IM2COL_PACK_FIXED = 10;

/**
 * Packs B = im2col(x) (or its transpose) into the f32 panels of gemm-cpu.ts's packed kernel: panel row
 * = GEMM column n, panel k = GEMM k. Params: [rows (= GEMM N), K, K4, blocks, nBatch, offset, G,
 * batchStrideN, batchStrideG, -, geometry(15)]; batch b = (n, g) = (b / G, b % G).
 */
export function im2colPackKernel(dtype: DType): KernelSource {
  const code = panelPackCode(dtype, im2colWgsl(IM2COL_PACK_FIXED, 'ld'),
    'let base = P[5] + (b / P[6]) * P[7] + (b % P[6]) * P[8];', (row, k) => `im2col(base, ${k}, ${row})`);
  return { label: `conv_im2col_pack_${dtype}`, code };
}
