// Bilinear resize of [N, C, H, W] with PyTorch's F.interpolate(mode='bilinear') semantics (no antialias,
// also when downsampling). Backward is a gather: each input pixel sums the output gradients whose taps
// hit it, over a conservative range of output rows/columns recomputed exactly as the forward does, so
// it is deterministic and needs no atomics.
import { Tensor } from '../tensor.js';
import { record } from '../autograd.js';
import { runMap, f32Bits } from './launch.js';
import { ShapeError } from '../errors.js';
import { isFloat } from '../dtype.js';

export interface InterpolateOptions { alignCorners?: boolean }

// Source taps along one axis for output index o: PyTorch's area_pixel_compute_source_index (linear):
// align_corners: s = scale * o; otherwise s = max(scale * (o + 0.5) - 0.5, 0). i1 stays inside the input.
const TAPS = /* wgsl */ `
struct Taps { i0: u32, i1: u32, l1: f32 }
fn taps(o: u32, n: u32, scale: f32, align: bool) -> Taps {
  var s = scale * f32(o);
  if (!align) { s = max(scale * (f32(o) + 0.5) - 0.5, 0.0); }
  let i0 = min(u32(s), n - 1u);
  let i1 = select(i0, i0 + 1u, i0 < n - 1u);
  return Taps(i0, i1, s - f32(i0));
}
// Weight of input index i in output o's interpolation (0 if o does not touch i).
fn tapWeight(t: Taps, i: u32) -> f32 {
  return select(0.0, 1.0 - t.l1, t.i0 == i) + select(0.0, t.l1, t.i1 == i);
}
// Output indices that can touch input index i: s in [i - 1, i + 1], with a margin for rounding.
fn outRange(i: u32, nOut: u32, scale: f32, align: bool) -> vec2<u32> {
  if (scale <= 0.0) { return vec2<u32>(0u, nOut - 1u); }
  let shift = select(0.5 * scale - 0.5, 0.0, align);
  let lo = floor((f32(i) - 1.0 - shift) / scale) - 1.0;
  let hi = ceil((f32(i) + 1.0 - shift) / scale) + 1.0;
  let top = f32(nOut - 1u);
  return vec2<u32>(u32(clamp(lo, 0.0, top)), u32(clamp(hi, 0.0, top)));
}`;

// Scalars: 0 H, 1 W (input), 2 sH, 3 sW (input strides), 4 scaleH, 5 scaleW (f32), 6 align.
const FORWARD = `
  let align = sc_u(6) == 1u;
  let th = taps(idx[2], sc_u(0), sc_f(4), align);
  let tw = taps(idx[3], sc_u(1), sc_f(5), align);
  let b = off_x(idx);
  let sH = sc_u(2); let sW = sc_u(3);
  let top = (1.0 - tw.l1) * at_x(b + th.i0 * sH + tw.i0 * sW) + tw.l1 * at_x(b + th.i0 * sH + tw.i1 * sW);
  let bot = (1.0 - tw.l1) * at_x(b + th.i1 * sH + tw.i0 * sW) + tw.l1 * at_x(b + th.i1 * sH + tw.i1 * sW);
  return (1.0 - th.l1) * top + th.l1 * bot;`;

// Scalars: 0 H, 1 W (input), 2 gsH, 3 gsW (gradient strides), 4 scaleH, 5 scaleW, 6 align, 7 Ho, 8 Wo.
const BACKWARD = `
  let align = sc_u(6) == 1u;
  let H = sc_u(0); let W = sc_u(1); let Ho = sc_u(7); let Wo = sc_u(8);
  let rh = outRange(idx[2], Ho, sc_f(4), align);
  let rw = outRange(idx[3], Wo, sc_f(5), align);
  let b = off_g(idx);
  var s = 0.0;
  for (var oh = rh.x; oh <= rh.y; oh++) {
    let wh = tapWeight(taps(oh, H, sc_f(4), align), idx[2]);
    if (wh == 0.0) { continue; }
    var row = 0.0;
    for (var ow = rw.x; ow <= rw.y; ow++) {
      let ww = tapWeight(taps(ow, W, sc_f(5), align), idx[3]);
      if (ww != 0.0) { row += ww * at_g(b + oh * sc_u(2) + ow * sc_u(3)); }
    }
    s += wh * row;
  }
  return s;`;

/** PyTorch's scale for a given input and output size (align_corners or not), in f32. */
function axisScale(inSize: number, outSize: number, align: boolean): number {
  if (align) return outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return Math.fround(inSize / outSize);
}

/** F.interpolate(x, size=[Ho, Wo], mode='bilinear', align_corners) for x [N, C, H, W]. */
export function interpolateBilinear(x: Tensor, size: readonly [number, number] | readonly number[], opts: InterpolateOptions = {}): Tensor {
  x.assertAlive('interpolate_bilinear');
  if (x.rank !== 4) throw new ShapeError(`interpolate_bilinear: input must be [N, C, H, W], got [${x.shape}]`);
  if (!isFloat(x.dtype)) throw new TypeError(`interpolate_bilinear: needs a floating tensor, got ${x.dtype}`);
  const [Ho, Wo] = size;
  if (size.length !== 2 || ![Ho, Wo].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ShapeError(`interpolate_bilinear: output size must be two positive integers, got [${size}]`);
  }
  const [N, C, H, W] = x.shape;
  if (H < 1 || W < 1) throw new ShapeError(`interpolate_bilinear: input [${x.shape}] is empty`);
  const align = opts.alignCorners ?? false;
  const scH = axisScale(H, Ho, align), scW = axisScale(W, Wo, align);
  const out = runMap({ label: 'interp_bilinear', body: FORWARD, helpers: TAPS, outShape: [N, C, Ho, Wo], outDtype: x.dtype,
    inputs: [{ name: 'x', tensor: x, strides: [x.strides[0], x.strides[1], 0, 0] }],
    scalars: [H, W, x.strides[2], x.strides[3], f32Bits(scH), f32Bits(scW), align ? 1 : 0] });
  return record('interpolate_bilinear', out, [x], (g) => [runMap({ label: 'interp_bilinear_backward', body: BACKWARD,
    helpers: TAPS, outShape: [N, C, H, W], outDtype: x.dtype,
    inputs: [{ name: 'g', tensor: g, strides: [g.strides[0], g.strides[1], 0, 0] }],
    scalars: [H, W, g.strides[2], g.strides[3], f32Bits(scH), f32Bits(scW), align ? 1 : 0, Ho, Wo] })]);
}
