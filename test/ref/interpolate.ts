// CPU reference for bilinear resize with PyTorch's semantics (F.interpolate mode='bilinear', no antialias).
import { NDArray } from './ndarray.js';

function taps(o: number, inSize: number, outSize: number, align: boolean): [number, number, number] {
  let s: number;
  if (align) s = outSize > 1 ? ((inSize - 1) / (outSize - 1)) * o : 0;
  else s = Math.max((inSize / outSize) * (o + 0.5) - 0.5, 0);
  const i0 = Math.min(Math.floor(s), inSize - 1);
  const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
  return [i0, i1, s - i0];
}

export function interpolateBilinear(x: NDArray, [Ho, Wo]: [number, number], alignCorners = false): NDArray {
  const [N, C, H, W] = x.shape;
  return NDArray.fill([N, C, Ho, Wo], ([n, c, i, j]) => {
    const [h0, h1, lh] = taps(i, H, Ho, alignCorners);
    const [w0, w1, lw] = taps(j, W, Wo, alignCorners);
    const v = (h: number, w: number) => x.at([n, c, h, w]);
    return (1 - lh) * ((1 - lw) * v(h0, w0) + lw * v(h0, w1)) + lh * ((1 - lw) * v(h1, w0) + lw * v(h1, w1));
  });
}
