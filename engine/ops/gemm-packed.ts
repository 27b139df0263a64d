// The packed GEMM of CPU-like adapters (kernels/gemm-cpu.ts) on tensors: operands packed into f32
// panels of 8 rows, then the register-tiled subgroup kernel. Shared by gemm() and implicit-GEMM
// convolution (whose B panels come straight from the image, kernels/conv-im2col.ts).
import { Tensor } from '../tensor.js';
import { packKernel, packedKernel, PACKED_TILE, PACK_WORKGROUP, PACK_PARAMS_FIXED } from '../../kernels/gemm-cpu.js';
import { NO_BIAS_OFFSET, type Epilogue } from '../../kernels/gemm-epilogue.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';

/** GEMMs pad their batch dims to this rank, so unbatched and batched calls share a kernel. */
export const MIN_BATCH_RANK = 2;

/** Output tiles of the packed kernel; A panels hold tilesM·TMR 8-row blocks per batch, B panels tilesN·TN. */
export function packedTiles(M: number, N: number): { tilesM: number; tilesN: number } {
  return { tilesM: Math.ceil(M / (8 * PACKED_TILE.TMR)), tilesN: Math.ceil(N / (8 * PACKED_TILE.TN)) };
}

/** A new f32 tensor sized for `blocks` 8-row panel blocks of K columns per batch. */
export function panels(device: Tensor['device'], nBatch: number, blocks: number, K: number): Tensor {
  return Tensor.empty([nBatch * blocks * Math.ceil(K / 4) * 8 * 4], 'f32', device);
}

/**
 * Packs `rows` x K matrices of `x` (element (r, k) at offset + r·sRow + k·sK, batch dims `bShape` with
 * strides `bstr`, 0 = broadcast) into f32 panels of 8 rows for the packed kernel.
 */
export function packOperand(x: Tensor, rows: number, K: number, blocks: number, sRow: number, sK: number,
  bShape: readonly number[], bstr: readonly number[], nBatch: number): Tensor {
  const device = x.device;
  if (bShape.length < MIN_BATCH_RANK) {
    const pad = MIN_BATCH_RANK - bShape.length;
    bShape = [...Array<number>(pad).fill(1), ...bShape];
    bstr = [...Array<number>(pad).fill(0), ...bstr];
  }
  const R = bShape.length, K4 = Math.ceil(K / 4);
  const p = panels(device, nBatch, blocks, K);
  const params = [rows, K, K4, blocks, nBatch, x.offset, sRow, sK, ...bShape, ...bstr];
  if (params.length !== PACK_PARAMS_FIXED + 2 * R) throw new Error('matmul: pack parameter layout mismatch');
  const vec4 = x.dtype === 'f32' && sK === 1 && K % 4 === 0 && [x.offset, sRow, ...bstr].every((v) => v % 4 === 0);
  device.dispatch(kernelFor(packKernel, x.dtype, R, vec4), Uint32Array.from(params), [{ buffer: x.storage.buffer }, { buffer: p.storage.buffer }],
    grid(Math.ceil((nBatch * blocks * K4 * 8) / PACK_WORKGROUP)));
  return p;
}

/** The packed kernel on panels made by packOperand (or an equivalent packer): out [nBatch, M, N] contiguous. */
export function packedGemm(ap: Tensor, bp: Tensor, out: Tensor, M: number, N: number, K: number, nBatch: number,
  epi: Epilogue, epiParams: number[], extra: { buffer: GPUBuffer }[]): void {
  const { tilesM, tilesN } = packedTiles(M, N);
  if (!epi.bias) {
    // The same pipeline as a GEMM with bias (see gemm()): the panel of A stands in for the unused bias.
    epi = { ...epi, bias: 'f32' };
    epiParams = [NO_BIAS_OFFSET, epiParams[1] ?? 0];
    extra = [{ buffer: ap.storage.buffer }, ...extra];
  }
  const params = [M, N, Math.ceil(K / 4), tilesN, tilesM, nBatch, 0, 0, 0, 0, 0, 0, ...epiParams];
  out.device.dispatch(kernelFor(packedKernel, epi), Uint32Array.from(params),
    [{ buffer: ap.storage.buffer }, { buffer: bp.storage.buffer }, { buffer: out.storage.buffer }, ...extra], grid(nBatch * tilesM * tilesN));
}
