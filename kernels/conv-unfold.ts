// im2col (unfold) and col2im (fold) as map kernels: the reference convolution path (engine/ops/conv.ts
// 'unfold') and the ops torch.nn.functional.unfold / fold. fold gathers (each output pixel sums the
// column entries that land on it), so it is deterministic and needs no atomics.
import type { MapBody } from './map.js';

// Scalars 0..7: kh, kw, sh, sw, ph, pw, dh, dw (shared by both bodies).

/** x [N, C, H, W] (input `x`) -> [N, C·kh·kw, L]. Scalars 8..13: Wo, H, W, x's strides along C, H, W. */
export const UNFOLD_BODY: MapBody = { label: 'unfold2d', body: `
  let kh = sc_u(0); let kw = sc_u(1);
  let kk = kh * kw;
  let c = idx[1] / kk; let r = idx[1] % kk;
  let ki = r / kw; let kj = r % kw;
  let Wo = sc_u(8);
  let oh = idx[2] / Wo; let ow = idx[2] % Wo;
  let ih = i32(oh * sc_u(2) + ki * sc_u(6)) - sc_i(4);
  let iw = i32(ow * sc_u(3) + kj * sc_u(7)) - sc_i(5);
  if (ih < 0 || iw < 0 || ih >= sc_i(9) || iw >= sc_i(10)) { return 0.0; }
  return at_x(off_x(idx) + c * sc_u(11) + u32(ih) * sc_u(12) + u32(iw) * sc_u(13));` };

/** cols [N, C·kh·kw, L] (input `c`) -> [N, C, H, W]. Scalars 8..11: Ho, Wo, cols' strides along axes 1, 2. */
export const FOLD_BODY: MapBody = { label: 'fold2d', body: `
  let kh = sc_u(0); let kw = sc_u(1);
  let Ho = sc_u(8); let Wo = sc_u(9);
  let base = off_c(idx) + idx[1] * kh * kw * sc_u(10);
  var s = 0.0;
  for (var ki = 0u; ki < kh; ki++) {
    let th = i32(idx[2]) + sc_i(4) - i32(ki * sc_u(6));
    if (th < 0 || th % sc_i(2) != 0) { continue; }
    let oh = u32(th) / sc_u(2);
    if (oh >= Ho) { continue; }
    for (var kj = 0u; kj < kw; kj++) {
      let tw = i32(idx[3]) + sc_i(5) - i32(kj * sc_u(7));
      if (tw < 0 || tw % sc_i(3) != 0) { continue; }
      let ow = u32(tw) / sc_u(3);
      if (ow >= Wo) { continue; }
      s += at_c(base + (ki * kw + kj) * sc_u(10) + (oh * Wo + ow) * sc_u(11));
    }
  }
  return s;` };
