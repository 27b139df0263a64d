// Implicit-GEMM convolution (engine/ops/conv-igemm.ts): both variants ('packed' for CPU-like adapters,
// 'tiled' for GPUs, forced here through the `impl` option since planConv picks 'packed' on lavapipe)
// against the CPU reference with finite-difference gradients on small shapes, and against the
// unfold + matmul path (forward and every gradient) on larger ones.
import * as assert from 'uvu/assert';
import { test, SkipTest } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { conv2d as refConv, convTranspose2d as refConvT, type RefConvOptions } from '../../ref/conv.js';
import type { NDArray } from '../../ref/ndarray.js';

type Impl = 'packed' | 'tiled';

async function canRun(impl: Impl): Promise<void> {
  const d = await E.getDevice();
  try { E.planConv(d, 64, 64, 64, 1, impl); } catch (e) { throw new SkipTest(`${impl}: ${(e as Error).message}`); }
}

interface Case { name: string; x: number[]; w: number[]; bias: boolean; o: RefConvOptions; dtypes?: E.DType[]; grad?: true | 'f32' }

const convCases: Case[] = [
  { name: 'odd sizes, stride 2, padding 1, batch 2', x: [2, 3, 7, 6], w: [5, 3, 3, 3], bias: true, o: { stride: [2, 2], padding: [1, 1] } },
  { name: 'dilation 2, rectangular kernel, asymmetric stride', x: [1, 2, 8, 7], w: [3, 2, 2, 3], bias: false,
    o: { stride: [1, 2], padding: [2, 1], dilation: [2, 2] } },
  { name: 'groups 2 with bias', x: [2, 4, 6, 5], w: [6, 2, 3, 3], bias: true, o: { groups: 2, padding: [1, 1] } },
  { name: 'SAM neck 3x3 padding 1', x: [1, 6, 5, 7], w: [5, 6, 3, 3], bias: false, o: { padding: [1, 1] } },
  { name: 'CLIP patch embed k14 s14', x: [1, 3, 28, 29], w: [4, 3, 14, 14], bias: false, o: { stride: [14, 14] }, grad: 'f32' },
  { name: 'SAM patch embed k16 s16 with bias', x: [1, 3, 32, 34], w: [3, 3, 16, 16], bias: true, o: { stride: [16, 16] }, grad: 'f32' },
];

const convTCases: Case[] = [
  { name: 'SAM upscaling 2x2 stride 2', x: [1, 4, 3, 5], w: [4, 3, 2, 2], bias: true, o: { stride: [2, 2] } },
  { name: 'stride 2, padding 1, output padding 1, batch 2', x: [2, 2, 3, 4], w: [2, 3, 3, 3], bias: true,
    o: { stride: [2, 2], padding: [1, 1], outputPadding: [1, 1] } },
  { name: 'dilation 2, groups 2', x: [1, 4, 3, 4], w: [4, 3, 2, 3], bias: false, o: { dilation: [2, 2], groups: 2, padding: [1, 0] } },
];

for (const impl of ['packed', 'tiled'] as const) {
  test(`conv2d implicit GEMM (${impl}): strides, padding, dilation, groups, bias, patch embeds; f32 and bf16`, async () => {
    await canRun(impl);
    for (const c of convCases) {
      await checkOp({
        name: `conv2d[${impl}] ${c.name}`, dtypes: c.dtypes ?? ['f32', 'bf16'], grad: c.grad ?? true,
        shapes: [c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w]],
        gpu: (x, w, b) => E.conv2d(x, w, b, { stride: c.o.stride, padding: c.o.padding, dilation: c.o.dilation, groups: c.o.groups, impl }),
        ref: (x: NDArray, w: NDArray, b?: NDArray) => refConv(x, w, b ?? null, c.o),
      });
    }
  });

  test(`conv_transpose2d implicit GEMM (${impl}): SAM upscaling, output padding, dilation, groups; f32 and bf16`, async () => {
    await canRun(impl);
    for (const c of convTCases) {
      await checkOp({
        name: `conv_transpose2d[${impl}] ${c.name}`, dtypes: c.dtypes ?? ['f32', 'bf16'],
        shapes: [c.bias ? [c.x, c.w, [c.w[1] * (c.o.groups ?? 1)]] : [c.x, c.w]],
        gpu: (x, w, b) => E.convTranspose2d(x, w, b, { stride: c.o.stride, padding: c.o.padding, dilation: c.o.dilation,
          groups: c.o.groups, outputPadding: c.o.outputPadding, impl }),
        ref: (x: NDArray, w: NDArray, b?: NDArray) => refConvT(x, w, b ?? null, c.o),
      });
    }
  });

  test(`conv2d implicit GEMM (${impl}) in f16 (odd output width: f32 GEMM output then cast)`, async () => {
    await canRun(impl);
    const dev = await E.getDevice();
    if (!dev.has('shader-f16')) throw new SkipTest('no shader-f16');
    await checkOp({ name: `conv2d[${impl}] f16`, dtypes: ['f16'], shapes: [[[1, 2, 5, 5], [3, 2, 3, 3], [3]], [[1, 2, 6, 6], [3, 2, 3, 3], [3]]],
      gpu: (x, w, b) => E.conv2d(x, w, b, { stride: 2, padding: 1, impl }),
      ref: (x: NDArray, w: NDArray, b: NDArray) => refConv(x, w, b, { stride: [2, 2], padding: [1, 1] }) });
  });
}

/** Forward and all gradients of `f` under `impl` vs the unfold + matmul path, same inputs and upstream gradient. */
async function compareWithUnfold(impl: Impl, shapes: number[][], f: (impl: E.ConvImpl, x: E.Tensor, w: E.Tensor, b: E.Tensor) => E.Tensor): Promise<void> {
  const results: number[][][] = [];
  for (const which of [impl, 'unfold'] as const) {
    E.manualSeed(11);
    const [x, w, b] = shapes.map((s) => E.randn(s).requireGrad());
    const y = f(which, x, w, b);
    const g = E.randn([...y.shape]);
    E.backward(y, { grad: g });
    results.push([await y.toArray(), await x.grad!.toArray(), await w.grad!.toArray(), await b.grad!.toArray()].map((a) => Array.from(a)));
    for (const t of [x, w, b, y, g]) { t.grad?.dispose(); t.dispose(); }
  }
  const names = ['forward', 'dx', 'dw', 'dbias'];
  for (let i = 0; i < 4; i++) {
    const ref = results[1][i];
    const scale = Math.max(1, ...ref.map(Math.abs));
    assertClose(results[0][i], ref, { atol: 2e-5 * scale, rtol: 1e-4, message: `${impl} ${names[i]}` });
  }
}

for (const impl of ['packed', 'tiled'] as const) {
  test(`conv2d / conv_transpose2d implicit GEMM (${impl}) match unfold + matmul on larger shapes (forward, dx, dw, dbias)`, async () => {
    await canRun(impl);
    // 3x3 padding 1 with batch 2 and groups 2 (weight gradient summed over the batch), tiles not multiples.
    await compareWithUnfold(impl, [[2, 16, 21, 19], [34, 8, 3, 3], [34]],
      (m, x, w, b) => E.conv2d(x, w, b, { padding: 1, groups: 2, impl: m }));
    // Patch embed: k = stride = 16 on an input that is not a multiple of it.
    await compareWithUnfold(impl, [[1, 3, 70, 50], [40, 3, 16, 16], [40]],
      (m, x, w, b) => E.conv2d(x, w, b, { stride: 16, impl: m }));
    // SAM upscaling: conv_transpose2d 2x2 stride 2.
    await compareWithUnfold(impl, [[1, 24, 9, 11], [24, 12, 2, 2], [12]],
      (m, x, w, b) => E.convTranspose2d(x, w, b, { stride: 2, impl: m }));
  });
}

test('planConv: implicit GEMM on the GEMM planner\'s kernel family; forced and env choices', async () => {
  const d = await E.getDevice();
  const big = E.planMatmul(d, 1024, 256, 588, 1).variant;
  assert.equal(E.planConv(d, 1024, 256, 588, 1), big === 'packed' || big === 'tiled' ? big : 'unfold');
  assert.equal(E.planConv(d, 1024, 256, 588, 1, 'unfold'), 'unfold');
  const prev = process.env.WEBGPU_ENGINE_CONV;
  process.env.WEBGPU_ENGINE_CONV = 'unfold';
  try { assert.equal(E.planConv(d, 1024, 256, 588, 1), 'unfold'); } finally {
    if (prev === undefined) delete process.env.WEBGPU_ENGINE_CONV; else process.env.WEBGPU_ENGINE_CONV = prev;
  }
});
