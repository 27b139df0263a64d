// Elementwise ops with broadcasting. Each op is one row of a table (kernels/activations.ts,
// kernels/elementwise.ts): its forward expression and its local derivative side by side (micrograd's
// lesson). Backward rules run as one fused kernel (g * dy/dx), then sum over broadcast axes.
import { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { record, noGrad } from '../autograd.js';
import { runMap, broadcastShapes, f32Bits } from './launch.js';
import { computeType } from '../../kernels/wgsl.js';
import {
  UNARY, BINARY, fusedBody, gradExpr, unaryBody, binaryBody, scalarBinaryBody, scalarBinaryDerivative,
  CLAMP_BODY, CLAMP_GRAD, whereBody, whereGrad,
} from '../../kernels/elementwise.js';
import { sumToShape } from './reduce.js';
import { full } from './creation.js';

/** Result dtype of an op on two dtypes (float beats int; mixed 16-bit floats widen to f32). */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (isFloat(a) && isFloat(b)) return 'f32';
  if (isFloat(a)) return a;
  if (isFloat(b)) return b;
  return 'i32';
}

type Operand = Tensor | number;

function scalarTensorLike(x: Operand): x is number { return typeof x === 'number'; }

/** A fused elementwise kernel over named tensors (broadcast to outShape): an f32 expression from kernels/. */
export function fusedMap(label: string, expr: string, inputs: Record<string, Tensor>, outShape: readonly number[], outDtype: DType,
  scalars: number[] = []): Tensor {
  const names = Object.keys(inputs);
  return runMap({ kernel: fusedBody(label, expr, names.map((name) => ({ name, dtype: inputs[name].dtype })), outDtype), outShape, outDtype,
    inputs: names.map((name) => ({ name, tensor: inputs[name] })), scalars: scalars.map(f32Bits) });
}

export function unary(op: keyof typeof UNARY, x: Tensor): Tensor {
  const def = UNARY[op];
  if (!def) throw new Error(`unknown unary op ${op}`);
  x.assertAlive(op);
  const out = runMap({ kernel: unaryBody(op, x.dtype), inputs: [{ name: 'x', tensor: x }], outShape: x.shape, outDtype: x.dtype });
  if (!def.dydx) return out;
  return record(op, out, [x], (g, [xs, ys]) =>
    [fusedMap(`d${op}`, gradExpr(def.dydx!), { g, x: xs, y: ys }, xs.shape, xs.dtype)], [x, out]);
}

export function binary(op: keyof typeof BINARY, a: Operand, b: Operand): Tensor {
  const def = BINARY[op];
  if (!def) throw new Error(`unknown binary op ${op}`);
  if (scalarTensorLike(a) && scalarTensorLike(b)) throw new TypeError(`${op}: at least one operand must be a tensor`);
  if (scalarTensorLike(b)) return binaryScalar(op, a as Tensor, b, false);
  if (scalarTensorLike(a)) return binaryScalar(op, b, a, true);
  a.assertAlive(op); b.assertAlive(op);
  if (a.device !== b.device) throw new Error(`${op}: tensors are on different devices`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const dt = promote(a.dtype, b.dtype);
  const out = runMap({ kernel: binaryBody(op, a.dtype, b.dtype, dt), outShape: shape, outDtype: def.compare ? 'u8' : dt,
    inputs: [{ name: 'a', tensor: a }, { name: 'b', tensor: b }] });
  if (def.compare || !def.da) return out;
  return record(op, out, [a, b], (g, [as, bs, ys]) => {
    const grads: (Tensor | null)[] = [null, null];
    const pair: [Tensor, string][] = [[as, def.da!], [bs, def.db!]];
    pair.forEach(([t, d], i) => {
      if (![a, b][i].requiresGrad) return;
      const full = d === '1.0' ? g.retain() : fusedMap(`d${op}${i}`, gradExpr(d), { g, a: as, b: bs, y: ys }, g.shape, t.dtype);
      grads[i] = sumToShape(full, t.shape);
      full.dispose();
    });
    return grads;
  }, [a, b, out]);
}

function binaryScalar(op: keyof typeof BINARY, t: Tensor, s: number, scalarFirst: boolean): Tensor {
  const def = BINARY[op];
  t.assertAlive(op);
  const ct = computeType(t.dtype);
  // A float scalar with an integer tensor gives a float result, as in PyTorch.
  const dt: DType = ct !== 'f32' && !Number.isInteger(s) ? 'f32' : t.dtype;
  const outCt = computeType(dt);
  const bits = outCt === 'f32' ? f32Bits(s) : outCt === 'i32' ? (s | 0) >>> 0 : s >>> 0;
  const out = runMap({ kernel: scalarBinaryBody(op, t.dtype, dt, scalarFirst), outShape: t.shape,
    outDtype: def.compare ? 'u8' : dt, inputs: [{ name: 'x', tensor: t }], scalars: [bits] });
  if (def.compare || !def.da) return out;
  return record(op, out, [t], (g, [xs, ys]) => [fusedMap(`d${op}s${scalarFirst ? 1 : 0}`,
    gradExpr(scalarBinaryDerivative(op, scalarFirst)), { g, x: xs, y: ys }, xs.shape, xs.dtype, [s])], [t, out]);
}

export const add = (a: Operand, b: Operand) => binary('add', a, b);
export const sub = (a: Operand, b: Operand) => binary('sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('mul', a, b);
export const div = (a: Operand, b: Operand) => binary('div', a, b);
export const pow = (a: Operand, b: Operand) => binary('pow', a, b);
export const maximum = (a: Operand, b: Operand) => binary('maximum', a, b);
export const minimum = (a: Operand, b: Operand) => binary('minimum', a, b);
export const eq = (a: Operand, b: Operand) => binary('eq', a, b);
export const ne = (a: Operand, b: Operand) => binary('ne', a, b);
export const lt = (a: Operand, b: Operand) => binary('lt', a, b);
export const le = (a: Operand, b: Operand) => binary('le', a, b);
export const gt = (a: Operand, b: Operand) => binary('gt', a, b);
export const ge = (a: Operand, b: Operand) => binary('ge', a, b);
export const mulScalar = (a: Tensor, s: number) => binary('mul', a, s);

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const log1p = (x: Tensor) => unary('log1p', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const relu = (x: Tensor) => unary('relu', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const silu = (x: Tensor) => unary('silu', x);
export const quickGelu = (x: Tensor) => unary('quick_gelu', x);
/** GELU, exact erf form (approximate: 'tanh' for the tanh form). */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none') => unary(approximate === 'tanh' ? 'gelu_tanh' : 'gelu', x);

/** Clamps to [lo, hi] (either bound may be omitted). The gradient passes where lo <= x <= hi. */
export function clamp(x: Tensor, lo?: number, hi?: number): Tensor {
  x.assertAlive('clamp');
  if (!isFloat(x.dtype)) throw new TypeError(`clamp: needs a floating tensor, got ${x.dtype}`);
  const l = lo ?? -Infinity, h = hi ?? Infinity;
  if (l > h) throw new RangeError(`clamp: lower bound ${l} is above upper bound ${h}`);
  const out = runMap({ kernel: CLAMP_BODY, inputs: [{ name: 'x', tensor: x }],
    outShape: x.shape, outDtype: x.dtype, scalars: [f32Bits(l), f32Bits(h)] });
  return record('clamp', out, [x], (g, [xs]) =>
    [fusedMap('dclamp', CLAMP_GRAD, { g, x: xs }, xs.shape, xs.dtype, [l, h])], [x]);
}

/** cond ? a : b elementwise with broadcasting (cond: any dtype, nonzero = true). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  cond.assertAlive('where');
  const ta = typeof a === 'number' ? null : a, tb = typeof b === 'number' ? null : b;
  const dt: DType = ta && tb ? promote(ta.dtype, tb.dtype) : (ta ?? tb)?.dtype ?? 'f32';
  const shape = broadcastShapes('where', cond.shape, ...(ta ? [ta.shape] : []), ...(tb ? [tb.shape] : []));
  const ct = computeType(dt);
  const inputs = [{ name: 'c', tensor: cond }, ...(ta ? [{ name: 'a', tensor: ta }] : []), ...(tb ? [{ name: 'b', tensor: tb }] : [])];
  const bits = (v: Operand) => (typeof v === 'number' ? (ct === 'f32' ? f32Bits(v) : v >>> 0) : 0);
  const out = runMap({ kernel: whereBody(cond.dtype, ta?.dtype ?? null, tb?.dtype ?? null, dt), inputs, outShape: shape, outDtype: dt,
    scalars: [bits(a), bits(b)] });
  const diff = [ta, tb].filter((t): t is Tensor => t !== null);
  return record('where', out, diff, (g, [c]) => {
    const grads: (Tensor | null)[] = [];
    for (const [t, keepWhenTrue] of [[ta, true], [tb, false]] as [Tensor | null, boolean][]) {
      if (!t) continue;
      if (!t.requiresGrad) { grads.push(null); continue; }
      const full = fusedMap(`dwhere${keepWhenTrue}`, whereGrad(keepWhenTrue), { g, c }, g.shape, t.dtype);
      grads.push(sumToShape(full, t.shape));
      full.dispose();
    }
    return grads;
  }, [cond]);
}

/** A float tensor of the same shape and dtype filled with `value` (for gradients and masks). */
export function fullLike(t: Tensor, value: number, dtype: DType = t.dtype): Tensor {
  return noGrad(() => full(t.shape, value, dtype, t.device));
}

