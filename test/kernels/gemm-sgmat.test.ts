// kernels/gemm-sgmat.ts: every generated subgroup-matrix GEMM variant compiled by Tint on Dawn's null
// backend (which validates WGSL and pipelines but runs nothing) for the configs NVIDIA (16x16x16, 16x8x16,
// 16x8x8), Intel (8x16x16) and Apple (8x8x8) report, so a WGSL error or a deprecated form is caught
// without a GPU. Running the kernel needs a GPU (test/engine/ops/matmul-variants.test.ts).
import * as assert from 'uvu/assert';
import { test, skip } from '../harness/test.js';
import { sgmatKernel, type SubgroupMatrixShape } from '../../kernels/gemm-sgmat.js';
import type { Epilogue } from '../../kernels/gemm-epilogue.js';
import { nullDevice, compileOnly } from './null-backend.js';

const CONFIGS: [string, SubgroupMatrixShape][] = [
  ['NVIDIA', { M: 16, N: 16, K: 16 }], ['NVIDIA', { M: 16, N: 8, K: 16 }], ['NVIDIA', { M: 16, N: 8, K: 8 }],
  ['Intel', { M: 8, N: 16, K: 16 }], ['Apple', { M: 8, N: 8, K: 8 }],
];

/** The epilogues the engine generates: plain f32, 16-bit outputs, bias + activation, residual. */
const EPILOGUES: Epilogue[] = [
  { activation: 'none', out: 'f32' },
  { activation: 'none', out: 'f16' },
  { bias: 'bf16', activation: 'gelu', out: 'bf16' },
  { bias: 'f32', activation: 'silu', residual: 'f32', out: 'f32' },
  { bias: 'f16', activation: 'gelu_tanh', residual: 'bf16', out: 'f16' },
];

test('null backend: what it offers for subgroup matrices', async () => {
  const dev = await nullDevice();
  if (dev instanceof Error) skip(`this Dawn build opens no null backend: ${dev.message}`);
  assert.ok(dev.has('chromium-experimental-subgroup-matrix'), 'null adapter offers chromium-experimental-subgroup-matrix');
  assert.ok(dev.has('shader-f16'), 'null adapter offers shader-f16');
});

test('null backend: a WGSL error and the deprecated subgroupMatrixLoad form are reported (the check can fail)', async () => {
  const dev = await nullDevice();
  if (dev instanceof Error) skip(`no null backend: ${dev.message}`);
  const bad = await compileOnly(dev, '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', 'bad');
  assert.ok(bad.error !== null && bad.messages.some((m) => m.startsWith('error')), 'type error caught');
  const old = await compileOnly(dev, `enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> A: array<f16>;
@compute @workgroup_size(128) fn main() {
  let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 8, 8>>(&A, 0u, false, 8u);
}`, 'deprecated');
  assert.ok(old.messages.some((m) => /deprecated/.test(m)), `deprecation reported: ${old.messages.join('; ')}`);
});

for (const [vendor, shape] of CONFIGS) {
  const name = `${shape.M}x${shape.N}x${shape.K}`;
  test(`sgmat GEMM ${name} (${vendor}): every variant compiles on the null backend without warnings`, async () => {
    const dev = await nullDevice();
    if (dev instanceof Error) skip(`no null backend: ${dev.message}`);
    // Dawn requires the workgroup x size to be a multiple of the adapter's maximum subgroup size.
    const subgroupSize = Number((dev.adapter.info as GPUAdapterInfo & { subgroupMaxSize?: number }).subgroupMaxSize ?? 32);
    let n = 0;
    for (const bKContig of [false, true]) {
      for (const batchRank of [0, 1, 2]) {
        for (const epi of EPILOGUES) {
          const k = sgmatKernel({ shape, SM: 2, SN: 2, subgroupSize, bKContig, batchRank, epi });
          const r = await compileOnly(dev, k.code, k.label);
          assert.is(r.error, null, `${k.label}: ${r.error}\n${r.messages.join('\n')}`);
          assert.equal(r.messages, [], `${k.label}: compiler messages`);
          n++;
        }
      }
    }
    assert.is(n, 2 * 3 * EPILOGUES.length);
  });
}
