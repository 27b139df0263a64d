// The one table of pointwise math in WGSL: each function's forward expression in `x` and its local
// derivative in `x` (input) and `y` (output), over f32. The elementwise ops (kernels/elementwise.ts)
// and the GEMM epilogue (kernels/gemm-epilogue.ts) both read their activations from here.

/** Helper functions the expressions call (unused ones are dropped by the compiler). */
export const MATH_WGSL = /* wgsl */ `
// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit, accurate over the whole real line).
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}
// tanh saturates long before |x| = 15; the clamp keeps drivers that compute it from exp() off inf / inf.
// NaN is passed through (a clamp would turn it into -1).
fn tanh_(x: f32) -> f32 { return select(tanh(clamp(x, -15.0, 15.0)), x, isnan_(x)); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn log1p_(x: f32) -> f32 { let u = 1.0 + x; return select(log(u) * x / (u - 1.0), x, u == 1.0); }
`;

export interface PointwiseDef {
  /** Forward, in `x`. */
  fwd: string;
  /** Local derivative dy/dx, in `x` and `y`; absent: not differentiable. */
  dydx?: string;
  /** Only defined for floating inputs. */
  floatOnly?: boolean;
}

const SQRT_2_PI = 0.7978845608028654;
const tanhArg = `${SQRT_2_PI} * (x + 0.044715 * x * x * x)`;

/** The activations a GEMM epilogue can fuse (a subset of the pointwise functions below). */
export type Activation = 'none' | 'relu' | 'gelu' | 'gelu_tanh' | 'silu';

const ACTIVATIONS: Record<Exclude<Activation, 'none'>, PointwiseDef> = {
  relu: { fwd: 'max(x, 0.0)', dydx: 'select(0.0, 1.0, x > 0.0)', floatOnly: true },
  silu: { fwd: 'x * sigmoid_(x)', dydx: 'sigmoid_(x) * (1.0 + x * (1.0 - sigmoid_(x)))', floatOnly: true },
  gelu: { fwd: '0.5 * x * (1.0 + erf_(x * 0.7071067811865476))',
    dydx: '0.5 * (1.0 + erf_(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x)', floatOnly: true },
  gelu_tanh: { fwd: `0.5 * x * (1.0 + tanh_(${tanhArg}))`,
    dydx: `0.5 * (1.0 + tanh_(${tanhArg})) + 0.5 * x * (1.0 - tanh_(${tanhArg}) * tanh_(${tanhArg})) * ${SQRT_2_PI} * (1.0 + 0.134145 * x * x)`,
    floatOnly: true },
};

/** Every pointwise function of one tensor. */
export const UNARY: Record<string, PointwiseDef> = {
  neg: { fwd: '-x', dydx: '-1.0' },
  abs: { fwd: 'abs(x)', dydx: 'sign(x)' },
  exp: { fwd: 'exp(x)', dydx: 'y', floatOnly: true },
  log: { fwd: 'log(x)', dydx: '1.0 / x', floatOnly: true },
  log1p: { fwd: 'log1p_(x)', dydx: '1.0 / (1.0 + x)', floatOnly: true },
  sqrt: { fwd: 'sqrt(x)', dydx: '0.5 / y', floatOnly: true },
  rsqrt: { fwd: 'inverseSqrt(x)', dydx: '-0.5 * y / x', floatOnly: true },
  sin: { fwd: 'sin(x)', dydx: 'cos(x)', floatOnly: true },
  cos: { fwd: 'cos(x)', dydx: '-sin(x)', floatOnly: true },
  sigmoid: { fwd: 'sigmoid_(x)', dydx: 'y * (1.0 - y)', floatOnly: true },
  tanh: { fwd: 'tanh_(x)', dydx: '1.0 - y * y', floatOnly: true },
  quick_gelu: { fwd: 'x * sigmoid_(1.702 * x)', dydx: 'sigmoid_(1.702 * x) * (1.0 + 1.702 * x * (1.0 - sigmoid_(1.702 * x)))', floatOnly: true },
  ...ACTIVATIONS,
};

/** `fn NAME(x: f32) -> f32` applying an activation (identity for 'none'). */
export function activationFn(name: string, act: Activation): string {
  return `fn ${name}(x: f32) -> f32 { return ${act === 'none' ? 'x' : ACTIVATIONS[act].fwd}; }`;
}
