import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { checkOp } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { conv2d as refConv, convTranspose2d as refConvT, type RefConvOptions } from '../../ref/conv.js';
import type { NDArray } from '../../ref/ndarray.js';

const P = (v: [number, number] | undefined) => v;

interface Case { name: string; x: number[]; w: number[]; bias: boolean; o: RefConvOptions; dtypes?: E.DType[] }

const convCases: Case[] = [
  { name: 'plain 3x3, odd sizes', x: [1, 3, 7, 6], w: [4, 3, 3, 3], bias: true, o: {} },
  { name: 'stride 2, padding 1', x: [2, 2, 7, 5], w: [3, 2, 3, 3], bias: true, o: { stride: [2, 2], padding: [1, 1] } },
  { name: 'dilation 2, rectangular kernel, asymmetric stride', x: [1, 2, 8, 7], w: [2, 2, 2, 3], bias: false,
    o: { stride: [1, 2], padding: [2, 1], dilation: [2, 2] } },
  { name: 'groups 2 with bias', x: [1, 4, 6, 5], w: [6, 2, 3, 3], bias: true, o: { groups: 2, padding: [1, 1] } },
  { name: '1x1 pointwise', x: [2, 4, 3, 5], w: [3, 4, 1, 1], bias: true, o: {} },
  { name: 'patch embed (kernel = stride)', x: [1, 3, 8, 8], w: [5, 3, 4, 4], bias: true, o: { stride: [4, 4] } },
];

for (const c of convCases) {
  test(`conv2d ${c.name}`, () => checkOp({
    name: `conv2d ${c.name}`, dtypes: c.dtypes ?? ['f32', 'bf16'],
    shapes: [c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w]],
    gpu: (x, w, b) => E.conv2d(x, w, b, { stride: P(c.o.stride), padding: P(c.o.padding), dilation: P(c.o.dilation), groups: c.o.groups }),
    ref: (x: NDArray, w: NDArray, b?: NDArray) => refConv(x, w, b ?? null, c.o),
  }));
}

const convTCases: Case[] = [
  { name: 'plain 3x3', x: [1, 3, 4, 5], w: [3, 2, 3, 3], bias: true, o: {} },
  { name: 'stride 2, padding 1, output padding 1', x: [2, 2, 3, 4], w: [2, 3, 3, 3], bias: true,
    o: { stride: [2, 2], padding: [1, 1], outputPadding: [1, 1] } },
  { name: 'SAM-style 2x2 stride 2 upscale', x: [1, 4, 3, 3], w: [4, 2, 2, 2], bias: true, o: { stride: [2, 2] } },
  { name: 'dilation 2, groups 2', x: [1, 4, 3, 4], w: [4, 3, 2, 3], bias: false, o: { dilation: [2, 2], groups: 2, padding: [1, 0] } },
];

for (const c of convTCases) {
  test(`conv_transpose2d ${c.name}`, () => checkOp({
    name: `conv_transpose2d ${c.name}`, dtypes: c.dtypes ?? ['f32', 'bf16'],
    shapes: [c.bias ? [c.x, c.w, [c.w[1] * (c.o.groups ?? 1)]] : [c.x, c.w]],
    gpu: (x, w, b) => E.convTranspose2d(x, w, b, { stride: P(c.o.stride), padding: P(c.o.padding), dilation: P(c.o.dilation),
      groups: c.o.groups, outputPadding: P(c.o.outputPadding) }),
    ref: (x: NDArray, w: NDArray, b?: NDArray) => refConvT(x, w, b ?? null, c.o),
  }));
}

test('conv2d in f16', () => checkOp({ name: 'conv2d f16', dtypes: ['f16'], shapes: [[[1, 2, 5, 5], [3, 2, 3, 3], [3]]],
  gpu: (x, w, b) => E.conv2d(x, w, b, { stride: 2, padding: 1 }),
  ref: (x: NDArray, w: NDArray, b: NDArray) => refConv(x, w, b, { stride: [2, 2], padding: [1, 1] }) }));

test('unfold / fold shapes (torch.nn.functional conventions)', async () => {
  await E.getDevice();
  const x = E.randn([2, 3, 5, 6]);
  const cols = E.unfold(x, { kernelSize: [2, 3], stride: 2, padding: 1 });
  assert.equal([...cols.shape], [2, 18, 3 * 3]);
  const back = E.fold(cols, [5, 6], { kernelSize: [2, 3], stride: 2, padding: 1 });
  assert.equal([...back.shape], [2, 3, 5, 6]);
});

test('conv2d shape errors', async () => {
  await E.getDevice();
  await assertRejects(() => E.conv2d(E.zeros([1, 3, 5, 5]), E.zeros([4, 2, 3, 3])), /conv2d: input \[1,3,5,5\] and weight \[4,2,3,3\]/);
  await assertRejects(() => E.conv2d(E.zeros([1, 3, 2, 2]), E.zeros([4, 3, 3, 3])), /smaller than/);
  await assertRejects(() => E.convTranspose2d(E.zeros([1, 3, 2, 2]), E.zeros([3, 1, 3, 3]), null, { outputPadding: 1 }), /output padding/);
});

test('conv2d + conv_transpose2d forward and backward leak nothing', async () => {
  const dev = await E.getDevice();
  const x = E.randn([1, 4, 6, 6]).requireGrad();
  const w = E.randn([4, 2, 3, 3]).requireGrad();
  const wt = E.randn([4, 2, 2, 2]).requireGrad();
  const b = E.randn([4]).requireGrad();
  const run = () => {
    E.scope(() => {
      const y = E.conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 });
      const z = E.convTranspose2d(y, wt, null, { stride: 2, groups: 2 });
      const r = E.interpolateBilinear(z, [5, 7]);
      E.backward(E.sum(E.linear(E.reshape(r, [4, 35]), E.randn([3, 35]))));
    });
    for (const t of [x, w, wt, b]) { t.grad?.dispose(); t.grad = null; }
  };
  run();
  await dev.sync();
  const before = dev.memory().liveBytes;
  run();
  await dev.sync();
  assert.equal(dev.memory().liveBytes, before, 'live bytes after a second forward/backward');
});
