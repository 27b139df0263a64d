// Bodies of the map kernels that move elements without arithmetic: copies of strided views, dtype
// casts, the gradient of a slice, concatenation, constant padding and gathers along an axis.
import type { DType } from './dtype.js';
import { computeType, convertExpr } from './wgsl.js';
import type { MapBody } from './map.js';

/** Input `x` read through its strides, converted to `to` (f32 -> 16-bit rounds on store; float -> int truncates). */
export function castBody(from: DType, to: DType): MapBody {
  return { label: from === to ? 'copy' : 'cast', body: `return ${convertExpr('ld_x(idx)', computeType(from), computeType(to))};` };
}

/** The gradient of a slice: input `g` placed at [scalar 0, scalar 0 + scalar 1) along `axis`, zeros elsewhere. */
export function sliceBackwardBody(axis: number, rank: number, dtype: DType): MapBody {
  const zero = computeType(dtype) === 'f32' ? '0.0' : '0';
  return { label: `slice_backward_axis${axis}_r${rank}`, body: `var j = idx; let i = idx[${axis}];
  if (i < sc_u(0) || i >= sc_u(0) + sc_u(1)) { return ${zero}; }
  j[${axis}] = i - sc_u(0);
  return at_g(off_g(j));` };
}

/**
 * Concatenation of inputs x0..x(K-1) along the axis in scalar 0; scalars 1..K+1 are the start of each
 * input along it (start_0 = 0): element i of the axis is in input k when i < start_(k+1).
 */
export function concatBody(K: number): MapBody {
  const branches = Array.from({ length: K }, (_, k) => k === K - 1
    ? `j[ax] = i - sc_u(${k + 1}u); return at_x${k}(off_x${k}(j));`
    : `if (i < sc_u(${k + 2}u)) { j[ax] = i - sc_u(${k + 1}u); return at_x${k}(off_x${k}(j)); }`).join('\n  ');
  return { label: `concat${K}`, body: `let ax = sc_u(0u); let i = idx[ax]; var j = idx;\n  ${branches}` };
}

/**
 * Constant padding of input `x` on the given axes: scalars (before (i32), source size) per axis, then
 * the fill value (f32).
 */
export function padBody(axes: readonly number[], dtype: DType): MapBody {
  const ct = computeType(dtype);
  const vIdx = 2 * axes.length;
  const fill = ct === 'f32' ? `sc_f(${vIdx}u)` : `${ct}(sc_f(${vIdx}u))`;
  const body = 'var j = idx;\n  ' + axes.map((d, k) =>
    `let s${k} = i32(idx[${d}]) - sc_i(${2 * k}u); if (s${k} < 0 || s${k} >= sc_i(${2 * k + 1}u)) { return ${fill}; } j[${d}] = u32(s${k});`)
    .join('\n  ') + '\n  return at_x(off_x(j));';
  return { label: `pad_${ct}_${axes.join('_')}`, body };
}

/** out[i] = src[i with axis (scalar 1) replaced by index(i)], 0 where the index is outside [0, scalar 0). */
export function gatherBody(dtype: DType): MapBody {
  const ct = computeType(dtype);
  const zero = ct === 'f32' ? '0.0' : ct === 'i32' ? '0' : '0u';
  return { label: 'gather', body: `let t = ld_index(idx); var j = idx;
  if (t < 0 || u32(t) >= sc_u(0u)) { return ${zero}; }
  j[sc_u(1u)] = u32(t);
  return at_src(off_src(j));` };
}
