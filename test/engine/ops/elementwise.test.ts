import { test } from '../../harness/test.js';
import { checkOp, type InputSpec } from '../../harness/opcheck.js';
import * as E from '../../../engine/index.js';
import { zip, map, erf, type NDArray } from '../../ref/ndarray.js';
import { assertClose } from '../../harness/assert.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const unaryRefs: [string, (x: E.Tensor) => E.Tensor, (x: number) => number, InputSpec?][] = [
  ['neg', E.neg, (x) => -x], ['exp', E.exp, Math.exp], ['log', E.log, Math.log, { init: 'positive' }],
  ['log1p', E.log1p, Math.log1p, { init: 'positive' }],
  ['sqrt', E.sqrt, Math.sqrt, { init: 'positive' }], ['rsqrt', E.rsqrt, (x) => 1 / Math.sqrt(x), { init: 'positive' }],
  ['abs', E.abs, Math.abs], ['sin', E.sin, Math.sin], ['cos', E.cos, Math.cos], ['relu', E.relu, (x) => Math.max(x, 0)], ['sigmoid', E.sigmoid, sig],
  ['tanh', E.tanh, Math.tanh], ['silu', E.silu, (x) => x * sig(x)], ['quick_gelu', E.quickGelu, (x) => x * sig(1.702 * x)],
  ['gelu', (x) => E.gelu(x), (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
  ['gelu_tanh', (x) => E.gelu(x, 'tanh'), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))],
];
const unaryShapes = [[[7]], [[3, 5]], [[2, 3, 33]]];
for (const [name, gpu, f, spec] of unaryRefs) {
  test(`unary ${name}`, () => checkOp({ name, shapes: unaryShapes, inputs: spec ? [spec] : undefined, gpu, ref: (x: NDArray) => map(x, f) }));
}

const binaryShapes = [[[5], [5]], [[3, 4], [4]], [[2, 1, 5], [3, 1]], [[1], [2, 7]]];
const binaryRefs: [string, (a: E.Tensor, b: E.Tensor) => E.Tensor, (a: number, b: number) => number, InputSpec[]?][] = [
  ['add', E.add, (a, b) => a + b], ['sub', E.sub, (a, b) => a - b], ['mul', E.mul, (a, b) => a * b],
  ['div', E.div, (a, b) => a / b, [{}, { init: 'positive' }]],
  ['pow', E.pow, (a, b) => a ** b, [{ init: 'positive' }, { init: 'uniform', range: [-2, 2] }]],
  ['maximum', E.maximum, Math.max], ['minimum', E.minimum, Math.min],
];
for (const [name, gpu, f, specs] of binaryRefs) {
  test(`binary ${name} with broadcasting`, () => checkOp({ name, shapes: binaryShapes, inputs: specs, gpu, ref: (a: NDArray, b: NDArray) => zip(f, a, b) }));
}

const cmp: [string, (a: E.Tensor, b: E.Tensor) => E.Tensor, (a: number, b: number) => boolean][] = [
  ['eq', E.eq, (a, b) => a === b], ['ne', E.ne, (a, b) => a !== b], ['lt', E.lt, (a, b) => a < b],
  ['le', E.le, (a, b) => a <= b], ['gt', E.gt, (a, b) => a > b], ['ge', E.ge, (a, b) => a >= b],
];
for (const [name, gpu, f] of cmp) {
  test(`comparison ${name} gives u8`, () => checkOp({ name, shapes: [[[3, 4], [4]], [[6], [6]]], grad: false,
    inputs: [{ init: 'int', range: [0, 3], dtype: 'f32' }, { init: 'int', range: [0, 3], dtype: 'f32' }],
    gpu: (a, b) => E.cast(gpu(a, b), 'f32'), ref: (a: NDArray, b: NDArray) => zip((x, y) => (f(x, y) ? 1 : 0), a, b) }));
}

test('scalar operands', () => checkOp({ name: 'scalar', shapes: [[[4, 3]]],
  gpu: (x) => E.add(E.mul(x, 3), E.div(2, E.add(E.pow(x, 2), 1))),
  ref: (x: NDArray) => map(x, (v) => v * 3 + 2 / (v * v + 1)) }));

test('clamp', () => checkOp({ name: 'clamp', shapes: [[[17]]], gpu: (x) => E.clamp(x, -0.53, 0.71),
  ref: (x: NDArray) => map(x, (v) => Math.min(Math.max(v, -0.53), 0.71)) }));

test('where with broadcasting', () => checkOp({ name: 'where', shapes: [[[3, 4], [3, 4], [4]]],
  inputs: [{ init: 'int', range: [0, 2], dtype: 'u8' }, {}, {}],
  gpu: (c, a, b) => E.where(c, a, b), ref: (c: NDArray, a: NDArray, b: NDArray) => zip((x, y, z) => (x ? y : z), c, a, b) }));

// C99's pow (Annex F), which PyTorch follows, where JS's ** differs: 1^y = 1 and (-1)^±inf = 1.
const cPow = (a: number, b: number) => (a === 1 || (a === -1 && !Number.isFinite(b) && !Number.isNaN(b)) ? 1 : a ** b);

test('pow at zero, negative bases, infinities and NaN follows PyTorch', async () => {
  await E.getDevice();
  const A = [0, -0, 2, -2, 0.5, -0.5, -1, 1, -3, NaN, Infinity, -Infinity];
  const B = [0, 1, -1, 2, -2, 3, -3, 0.5, -0.5, 2.5, Infinity, -Infinity, NaN];
  const a = E.Tensor.from(A, [A.length, 1]), b = E.Tensor.from(B, [1, B.length]);
  const want = A.flatMap((x) => B.map((y) => Math.fround(cPow(x, y))));
  const got = await E.pow(a, b).toArray();
  assertClose(got, want, { rtol: 1e-6, message: 'pow(tensor, tensor)' });
  for (const y of B) {
    const s = await E.pow(E.reshape(a, [A.length]), y).toArray();
    assertClose(s, A.map((x) => Math.fround(cPow(x, y))), { rtol: 1e-6, message: `pow(tensor, ${y})` });
  }
});

test('tanh keeps NaN and saturates at the infinities', async () => {
  await E.getDevice();
  const xs = [NaN, Infinity, -Infinity, 0, -0, 20, -20, 0.5, 9];
  assertClose(await E.tanh(E.Tensor.from(xs, [xs.length])).toArray(), xs.map((x) => Math.fround(Math.tanh(x))), { rtol: 1e-6, atol: 1e-7 });
});
