// Every GEMM variant forced through planMatmul's `force` over odd shapes, transposed views, batches
// and f32/f16/bf16 storage; the fused epilogue against the CPU reference; the subgroup-matrix
// generator's text (it cannot run on this adapter).
import * as assert from 'uvu/assert';
import { test, SkipTest } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { matmul as refMatmul, permute, zip, map, NDArray } from '../../ref/ndarray.js';
import { sgmatKernel } from '../../../kernels/gemm-sgmat.js';
import { NO_EPILOGUE } from '../../../kernels/gemm-epilogue.js';

const T = (a: NDArray) => permute(a, [...Array(a.rank - 2).keys(), a.rank - 1, a.rank - 2]);

async function canRun(variant: E.MatmulVariant, M: number, N: number, K: number): Promise<void> {
  const d = await E.getDevice();
  try { E.planMatmul(d, M, N, K, 1, variant); } catch (e) { throw new SkipTest(`${variant}: ${(e as Error).message}`); }
}

for (const variant of ['tiled', 'packed'] as const) {
  test(`matmul variant ${variant}: odd sizes, batches, broadcast`, async () => {
    await canRun(variant, 9, 9, 9);
    await checkOp({ name: `gemm:${variant}`, gpu: (a, b) => E.gemm(a, b, {}, variant), ref: refMatmul, grad: false,
      shapes: [[[1, 1], [1, 1]], [[7, 13], [13, 5]], [[37, 29], [29, 41]], [[2, 3, 17, 9], [9, 33]], [[3, 1, 5], [2, 1, 5, 70]], [[70, 3], [3, 66]]] });
  });
  test(`matmul variant ${variant}: transposed views (NT, TN, TT)`, async () => {
    await canRun(variant, 9, 9, 9);
    await checkOp({ name: `gemm:${variant}:T`, grad: false, gpu: (a, b) => E.gemm(E.transpose(a), E.transpose(b), {}, variant),
      ref: (a, b) => refMatmul(T(a), T(b)), shapes: [[[13, 19], [21, 13]], [[2, 35, 9], [2, 17, 35]]] });
    await checkOp({ name: `gemm:${variant}:NT`, grad: false, gpu: (a, b) => E.gemm(a, E.transpose(b), {}, variant),
      ref: (a, b) => refMatmul(a, T(b)), shapes: [[[33, 20], [18, 20]]] });
  });
}

test('matmul variant gemv_k (B contiguous along K, as linear): M = 1..16, odd K and N', async () => {
  await canRun('gemv_k', 1, 8, 8);
  await checkOp({ name: 'gemm:gemv_k', grad: false, gpu: (a, w) => E.gemm(a, E.transpose(w), {}, 'gemv_k'),
    ref: (a, w) => refMatmul(a, T(w)), shapes: [[[1, 64], [40, 64]], [[1, 7], [5, 7]], [[3, 37], [19, 37]], [[16, 130], [9, 130]], [[2, 4, 66], [11, 66]]] });
});

test('matmul variant gemv_k with 16-bit rows that start on odd elements (no pair loads)', async () => {
  await canRun('gemv_k', 1, 8, 8);
  await checkOp({ name: 'gemm:gemv_k:odd', grad: false, dtypes: ['bf16', 'f16'],
    gpu: (a, w) => E.gemm(E.slice(a, 1, 1), E.transpose(E.slice(w, 1, 1)), {}, 'gemv_k'),
    ref: (a, w) => refMatmul(NDArray.fill([a.shape[0], a.shape[1] - 1], ([i, k]) => a.at([i, k + 1])),
      T(NDArray.fill([w.shape[0], w.shape[1] - 1], ([i, k]) => w.at([i, k + 1])))),
    shapes: [[[2, 34], [7, 34]]] });
});

test('matmul variant gemv_n (B contiguous along N): M = 1..16, odd sizes, batches', async () => {
  await canRun('gemv_n', 1, 8, 8);
  await checkOp({ name: 'gemm:gemv_n', grad: false, gpu: (a, b) => E.gemm(a, b, {}, 'gemv_n'), ref: refMatmul,
    shapes: [[[1, 64], [64, 40]], [[1, 7], [7, 5]], [[5, 37], [37, 19]], [[16, 13], [13, 9]], [[2, 1, 30], [30, 7]]] });
});

test('planMatmul on this adapter: decode -> gemv, large -> packed (CPU) or tiled/sgmat (GPU)', async () => {
  const d = await E.getDevice();
  const ops = (sBk: number, sBn: number) => ({ aDtype: 'bf16' as const, bDtype: 'bf16' as const, sAm: 4096, sAk: 1, sBk, sBn, offA: 0, offB: 0 });
  if (d.has('subgroups')) {
    assert.equal(E.planMatmul(d, 1, 4096, 4096, 1, undefined, ops(1, 4096)).variant, 'gemv_k');
    assert.equal(E.planMatmul(d, 1, 4096, 4096, 1, undefined, ops(4096, 1)).variant, 'gemv_n');
  }
  const big = E.planMatmul(d, 1024, 1024, 1024, 1).variant;
  const cpu = /llvmpipe|swiftshader/i.test(d.describe().description + d.describe().device);
  assert.ok(cpu ? big === 'packed' : (big === 'tiled' || big === 'sgmat'), `large GEMM planned as ${big}`);
  let threw = false;
  try { E.planMatmul(d, 64, 64, 64, 1, 'gemv_k'); } catch { threw = true; }
  assert.ok(threw, 'forcing gemv on M = 64 must throw');
});

const ACT: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
};
function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-4; integrate the series instead.
  if (Math.abs(x) > 4) return Math.sign(x); // |erf(x) - sign(x)| < 2e-8 there; the series would cancel badly
  let sum = x, term = x;
  for (let n = 1; n < 60; n++) { term *= -x * x / n; sum += term / (2 * n + 1); }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

for (const variant of ['tiled', 'packed', 'gemv_k', 'naive'] as const) {
  test(`fused epilogue (${variant}): bias, activations, residual, odd sizes`, async () => {
    const M = variant === 'gemv_k' ? 3 : 19;
    await canRun(variant, M, 8, 8);
    for (const act of ['relu', 'silu', 'gelu'] as const) {
      await checkOp({ name: `fused:${variant}:${act}`, grad: false, dtypes: act === 'gelu' ? ['f32', 'bf16'] : ['f32'],
        gpu: (a, w, bias, r) => E.gemm(a, E.transpose(w), { bias, activation: act, residual: r }, variant),
        ref: (a, w, bias, r) => zip((y, res) => y + res, map(zip((u, v) => u + v, refMatmul(a, T(w)), bias), ACT[act]), r),
        shapes: act === 'gelu' ? [[[M, 21], [13, 21], [13], [M, 13]]] : [[[M, 8], [6, 8], [6], [M, 6]]] });
    }
  });
}

for (const variant of ['tiled', 'packed', 'gemv_k', 'gemv_n'] as const) {
  test(`fused epilogue (${variant}): 16-bit output written as packed words (even N) and cast (odd N)`, async () => {
    const M = variant.startsWith('gemv') ? 2 : 11;
    await canRun(variant, M, 8, 8);
    for (const out of ['bf16', 'f16'] as const) {
      await checkOp({ name: `fused:${variant}:${out}`, grad: false, dtypes: [out],
        gpu: (a, b, bias) => {
          const y = E.gemm(a, variant === 'gemv_k' ? E.transpose(b) : b, { bias, outDtype: out }, variant);
          assert.equal(y.dtype, out);
          return y;
        },
        ref: (a, b, bias) => zip((u, v) => u + v, refMatmul(a, variant === 'gemv_k' ? T(b) : b), bias),
        shapes: variant === 'gemv_k' ? [[[M, 20], [10, 20], [10]], [[M, 20], [9, 20], [9]]] : [[[M, 20], [20, 10], [10]], [[M, 20], [20, 9], [9]]] });
    }
  });
}

test('matmulFused with autograd (bias, residual) and linear through it', () => checkOp({ name: 'matmulFused',
  dtypes: ['f32'], gpu: (a, b, bias, r) => E.matmulFused(a, b, { bias, residual: r }),
  ref: (a, b, bias, r) => zip((y, res) => y + res, zip((u, v) => u + v, refMatmul(a, b), bias), r),
  shapes: [[[2, 3, 4], [4, 6], [6], [2, 3, 6]]] }));

test('matmulFused with an activation keeps gradients (unfused backward)', () => checkOp({ name: 'matmulFusedAct',
  dtypes: ['f32'], gpu: (a, b, bias) => E.matmulFused(a, b, { bias, activation: 'silu' }),
  ref: (a, b, bias) => map(zip((u, v) => u + v, refMatmul(a, b), bias), ACT.silu),
  shapes: [[[4, 5], [5, 3], [3]]] }));

test('linear on a decode shape (gemv) and a prefill shape (packed/tiled), bf16 weights', () => checkOp({ name: 'linearBig',
  dtypes: ['bf16', 'f32'], grad: false, gpu: (x, w, bias) => E.linear(x, w, bias),
  ref: (x, w, bias) => zip((u, v) => u + v, refMatmul(x, T(w)), bias),
  shapes: [[[1, 256], [96, 256], [96]], [[40, 72], [50, 72], [50]]] }));

test('subgroup-matrix kernel: generated WGSL is well-formed (not executable on this adapter)', () => {
  for (const bKContig of [false, true]) {
    for (const out of ['f32', 'bf16'] as const) {
      const k = sgmatKernel({ shape: { M: 8, N: 8, K: 8 }, SM: 2, SN: 2, subgroupSize: 32, bKContig, batchRank: 2,
        epi: { ...NO_EPILOGUE, bias: 'bf16', activation: 'gelu', out } });
      const c = k.code;
      assert.ok(c.includes('enable chromium_experimental_subgroup_matrix;') && c.includes('enable f16;'), 'enables');
      assert.ok(!c.includes('enable subgroups;'), 'no subgroup arithmetic next to cooperative matrices');
      assert.equal((c.match(/subgroupMatrixLoad<subgroup_matrix_left<f16, 8, 8>, row_major>\(&A, /g) ?? []).length, 2);
      const bOrder = bKContig ? 'col_major' : 'row_major';
      assert.equal((c.match(new RegExp(`subgroupMatrixLoad<subgroup_matrix_right<f16, 8, 8>, ${bOrder}>\\(&B, [^;]*, sB${bKContig ? 'n' : 'k'}\\)`, 'g')) ?? []).length, 2, 'B major order');
      assert.equal((c.match(/subgroupMatrixMultiplyAccumulate\(/g) ?? []).length, 4);
      assert.equal((c.match(/subgroupMatrixStore<row_major>\(&tileOut/g) ?? []).length, 4);
      assert.ok(c.includes('var<workgroup> tileOut: array<f32, 256>;'), 'tile 16 x 16');
      assert.ok(c.includes('@workgroup_size(32)'), 'one subgroup per workgroup');
      assert.ok(c.includes(out === 'f32' ? 'st1(' : 'st2('), 'epilogue store');
      let depth = 0;
      for (const ch of c) { if (ch === '{' || ch === '(') depth++; if (ch === '}' || ch === ')') depth--; assert.ok(depth >= 0, 'brackets'); }
      assert.equal(depth, 0);
    }
  }
});

test('subgroup-matrix kernel: compiles where the adapter has the feature', async () => {
  const d = await E.getDevice();
  const cfg = d.describe().subgroupMatrixConfigs.find((c) => /f16/i.test(c.componentType) && /f32/i.test(c.resultComponentType));
  if (!cfg || !d.has('chromium-experimental-subgroup-matrix')) throw new SkipTest('no f16 subgroup-matrix config on this adapter');
  const a = E.cast(E.randn([64, 64], 0, 1, { seed: 1 }), 'f16'), b = E.cast(E.randn([64, 64], 0, 1, { seed: 2 }), 'f16');
  const y = E.gemm(a, b, {}, 'sgmat');
  const r = E.gemm(a, b, {}, 'tiled');
  assertClose(await y.toArray(), await r.toArray(), { atol: 1e-2, rtol: 1e-2 });
});
