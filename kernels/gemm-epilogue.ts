// The fused epilogue shared by every GEMM kernel: out = act(acc + bias[col]) + residual[e], written as f32
// or, when a kernel owns pairs of adjacent columns, directly as packed 16-bit words. Bindings after
// P, A, B, C: bias (if any), then residual (if any). Their element offsets are parameters EPI_BIAS_OFF
// and EPI_RES_OFF of the kernel's parameter block; the residual is contiguous like the output.
import type { DType } from './dtype.js';
import { bufferDecl, loadExpr } from './wgsl.js';
import { MATH_WGSL, activationFn, type Activation } from './activations.js';

export type { Activation };

export interface Epilogue {
  /** dtype of the bias [N], if any. */
  bias?: DType;
  activation: Activation;
  /** dtype of the residual [..., M, N] (contiguous), if any. */
  residual?: DType;
  /** Output dtype; 16-bit outputs need kernels that own column pairs (and N even). */
  out: 'f32' | 'f16' | 'bf16';
}

export const NO_EPILOGUE: Epilogue = { activation: 'none', out: 'f32' };

/** Indices of the epilogue's parameters in every GEMM parameter block. */
const EPI_BIAS_OFF = 12;
const EPI_RES_OFF = 13;
/**
 * Bias offset meaning "no bias in this call": a kernel with a bias binding then adds nothing. Callers
 * without a bias use the bias kernel with this offset (and any read-only buffer bound as the bias), so
 * GEMMs with and without bias share one pipeline: one compile fewer, which on a software driver is seconds.
 */
export const NO_BIAS_OFFSET = 0xffffffff;

export function epilogueKey(e: Epilogue): string {
  return `${e.bias ?? '-'}|${e.activation}|${e.residual ?? '-'}|${e.out}`;
}

/** Declarations of C (binding 3), bias and residual, and the functions epi(e, col, v), st1, st2. */
export function epilogueWgsl(e: Epilogue): string {
  const out = e.out === 'f32'
    ? '@group(0) @binding(3) var<storage, read_write> C: array<f32>;'
    : '@group(0) @binding(3) var<storage, read_write> C: array<u32>;';
  let binding = 4;
  const decls: string[] = [out];
  const lines: string[] = ['var v = acc;'];
  if (e.bias) {
    decls.push(bufferDecl(binding++, 'BIAS', e.bias, 'read'));
    lines.push(`if (P[${EPI_BIAS_OFF}] != ${NO_BIAS_OFFSET}u) { v += ${loadExpr('BIAS', e.bias, `P[${EPI_BIAS_OFF}] + col`)}; }`);
  }
  if (e.activation !== 'none') lines.push('v = act_(v);');
  if (e.residual) {
    decls.push(bufferDecl(binding++, 'RES', e.residual, 'read'));
    lines.push(`v += ${loadExpr('RES', e.residual, `P[${EPI_RES_OFF}] + idx`)};`);
  }
  const pack = e.out === 'bf16' ? 'f32_to_bf16' : 'f32_to_f16';
  const stores = e.out === 'f32'
    ? `fn st1(idx: u32, col: u32, acc: f32) { C[idx] = epi(idx, col, acc); }`
    : `// idx even, col even, N even: the word holds columns col and col + 1 of one row.
fn st2(idx: u32, col: u32, a0: f32, a1: f32) { C[idx >> 1u] = ${pack}(epi(idx, col, a0)) | (${pack}(epi(idx + 1u, col + 1u, a1)) << 16u); }`;
  return `${decls.join('\n')}
${MATH_WGSL}
${activationFn('act_', e.activation)}
// Output element idx (flat in [batch, M, N]) of column col, from the accumulator.
fn epi(idx: u32, col: u32, acc: f32) -> f32 {
  ${lines.join('\n  ')}
  return v;
}
${stores}`;
}
