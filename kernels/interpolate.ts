// Bilinear resize of [N, C, H, W] with PyTorch's F.interpolate(mode='bilinear') semantics (no antialias,
// also when downsampling), as map bodies. The backward is a gather: each input pixel sums the output
// gradients whose taps hit it, over a conservative range of output rows/columns recomputed exactly as
// the forward does, so it is deterministic and needs no atomics.
import type { MapBody } from './map.js';

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
export const BILINEAR_FORWARD: MapBody = { label: 'interp_bilinear', helpers: TAPS, body: `
  let align = sc_u(6) == 1u;
  let th = taps(idx[2], sc_u(0), sc_f(4), align);
  let tw = taps(idx[3], sc_u(1), sc_f(5), align);
  let b = off_x(idx);
  let sH = sc_u(2); let sW = sc_u(3);
  let top = (1.0 - tw.l1) * at_x(b + th.i0 * sH + tw.i0 * sW) + tw.l1 * at_x(b + th.i0 * sH + tw.i1 * sW);
  let bot = (1.0 - tw.l1) * at_x(b + th.i1 * sH + tw.i0 * sW) + tw.l1 * at_x(b + th.i1 * sH + tw.i1 * sW);
  return (1.0 - th.l1) * top + th.l1 * bot;` };

// Scalars: 0 H, 1 W (input), 2 gsH, 3 gsW (gradient strides), 4 scaleH, 5 scaleW, 6 align, 7 Ho, 8 Wo.
export const BILINEAR_BACKWARD: MapBody = { label: 'interp_bilinear_backward', helpers: TAPS, body: `
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
  return s;` };
