// kernels/matmul.ts, gemm-gemv.ts, gemm-cpu.ts: every generated GEMM variant (tiled, naive, gemv_k, gemv_n,
// packed) over operand dtypes, batch ranks and fused epilogues compiled by Tint on Dawn's null backend,
// which validates WGSL and pipelines without running anything: a generator bug in a combination no
// numeric test reaches still fails here. The subgroup-matrix GEMM has its own file (gemm-sgmat.test.ts).
import * as assert from 'uvu/assert';
import { test, skip } from '../harness/test.js';
import type { DType } from '../../kernels/dtype.js';
import type { Epilogue } from '../../kernels/gemm-epilogue.js';
import type { KernelSource } from '../../kernels/kernel.js';
import { matmulKernel } from '../../kernels/matmul.js';
import { gemvKernel } from '../../kernels/gemm-gemv.js';
import { packKernel, packedKernel } from '../../kernels/gemm-cpu.js';
import { nullDevice, compileOnly } from './null-backend.js';

const DTYPES: DType[] = ['f32', 'f16', 'bf16'];
const EPILOGUES: Epilogue[] = [
  { activation: 'none', out: 'f32' },
  { activation: 'none', out: 'bf16' },
  { bias: 'bf16', activation: 'gelu', out: 'f16' },
  { bias: 'f32', activation: 'silu', residual: 'f16', out: 'f32' },
  { bias: 'f16', activation: 'relu', residual: 'bf16', out: 'bf16' },
];

async function compileAll(kernels: KernelSource[]): Promise<void> {
  const dev = await nullDevice();
  if (dev instanceof Error) skip(`no null backend: ${dev.message}`);
  for (const k of kernels) {
    const r = await compileOnly(dev, k.code, k.label);
    assert.is(r.error, null, `${k.label}: ${r.error}\n${r.messages.join('\n')}`);
    assert.equal(r.messages.filter((m) => !m.startsWith('info')), [], `${k.label}: compiler messages`);
  }
}

test('tiled and naive GEMM: dtypes x batch ranks x epilogues compile on the null backend', async () => {
  const ks: KernelSource[] = [];
  for (const aDtype of DTYPES) for (const bDtype of DTYPES) for (const batchRank of [1, 2]) {
    for (const epi of EPILOGUES) ks.push(matmulKernel({ variant: 'tiled', batchRank, aDtype, bDtype, epi }));
    ks.push(matmulKernel({ variant: 'naive', batchRank, aDtype, bDtype }));
  }
  await compileAll(ks);
});

test('GEMV (gemv_k, gemv_n): rows, dtypes, pair loads and epilogues compile on the null backend', async () => {
  const ks: KernelSource[] = [];
  for (const variant of ['gemv_k', 'gemv_n'] as const) for (const M of [1, 3, 16]) for (const aDtype of DTYPES) {
    for (const bDtype of DTYPES) {
      const pairs = bDtype !== 'f32';
      for (const epi of EPILOGUES) {
        ks.push(gemvKernel({ variant, M, batchRank: 1, aDtype, bDtype, aPairs: aDtype !== 'f32' && variant === 'gemv_k', bPairs: pairs, epi }));
      }
    }
  }
  await compileAll(ks);
});

test('packed GEMM (CPU-like adapters): pack kernels and epilogues compile on the null backend', async () => {
  const ks: KernelSource[] = [];
  for (const d of DTYPES) for (const batchRank of [1, 2]) ks.push(packKernel(d, batchRank));
  for (const batchRank of [1, 2]) ks.push(packKernel('f32', batchRank, true));
  for (const epi of EPILOGUES) ks.push(packedKernel(epi));
  await compileAll(ks);
});
