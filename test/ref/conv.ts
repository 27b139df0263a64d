// Direct CPU references for conv2d and conv_transpose2d, written from the definitions (float64).
import { NDArray } from './ndarray.js';

export interface RefConvOptions {
  stride?: [number, number]; padding?: [number, number]; dilation?: [number, number]; groups?: number;
  outputPadding?: [number, number];
}

/** y[n, o, i, j] = b[o] + sum_{c in group(o), ki, kj} x[n, c, i*s - p + ki*d, j*s - p + kj*d] * w[o, c - c0, ki, kj]. */
export function conv2d(x: NDArray, w: NDArray, bias: NDArray | null, o: RefConvOptions = {}): NDArray {
  const [N, C, H, W] = x.shape, [O, Cg, kh, kw] = w.shape;
  const [sh, sw] = o.stride ?? [1, 1], [ph, pw] = o.padding ?? [0, 0], [dh, dw] = o.dilation ?? [1, 1];
  const G = o.groups ?? 1, Og = O / G;
  const Ho = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (Cg * G !== C) throw new Error('ref conv2d: channels');
  return NDArray.fill([N, O, Ho, Wo], ([n, oc, i, j]) => {
    const grp = Math.floor(oc / Og);
    let s = bias ? bias.data[oc] : 0;
    for (let c = 0; c < Cg; c++) {
      for (let ki = 0; ki < kh; ki++) {
        const ih = i * sh - ph + ki * dh;
        if (ih < 0 || ih >= H) continue;
        for (let kj = 0; kj < kw; kj++) {
          const iw = j * sw - pw + kj * dw;
          if (iw < 0 || iw >= W) continue;
          s += x.at([n, grp * Cg + c, ih, iw]) * w.at([oc, c, ki, kj]);
        }
      }
    }
    return s;
  });
}

/** The adjoint scatter: every x[n, c, i, j] adds x * w[c, o - o0, ki, kj] to y[n, o, i*s - p + ki*d, j*s - p + kj*d]. */
export function convTranspose2d(x: NDArray, w: NDArray, bias: NDArray | null, o: RefConvOptions = {}): NDArray {
  const [N, C, H, W] = x.shape, [, Og, kh, kw] = w.shape;
  const [sh, sw] = o.stride ?? [1, 1], [ph, pw] = o.padding ?? [0, 0], [dh, dw] = o.dilation ?? [1, 1];
  const [oph, opw] = o.outputPadding ?? [0, 0];
  const G = o.groups ?? 1, Cg = C / G, O = Og * G;
  const Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  const y = NDArray.zeros([N, O, Ho, Wo]);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    const grp = Math.floor(c / Cg);
    const v = x.at([n, c, i, j]);
    for (let oc = 0; oc < Og; oc++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
      const oi = i * sh - ph + ki * dh, oj = j * sw - pw + kj * dw;
      if (oi < 0 || oi >= Ho || oj < 0 || oj >= Wo) continue;
      y.data[((n * O + grp * Og + oc) * Ho + oi) * Wo + oj] += v * w.at([c, oc, ki, kj]);
    }
  }
  if (bias) for (let k = 0; k < y.size; k++) y.data[k] += bias.data[Math.floor(k / (Ho * Wo)) % O];
  return y;
}
