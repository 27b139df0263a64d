// Image resampling that reproduces Pillow's Image.resize (libImaging/Resample.c) on 8-bit images, value
// for value, because the CLIP and SAM preprocessors of the reference code resize with PIL and the models
// were trained on exactly those pixels. What matters for exactness:
//  - separable: a horizontal pass, then a vertical pass, and the intermediate image is ROUNDED TO UINT8;
//  - the filter is stretched by the downscale factor (antialiasing when shrinking), its taps normalised
//    to sum 1 in double precision, then turned into 22-bit fixed point (round half away from zero);
//  - each output is (2^21 + sum(pixel * tap)) >> 22 in integers, clamped to [0, 255];
//  - the window of source pixels is [trunc(center - support + 0.5), trunc(center + support + 0.5)),
//    clipped to the image, with center = (x + 0.5) * scale in source coordinates.
// Only the 8-bit modes L (1 channel) and RGB (3 channels) are offered: Pillow premultiplies RGBA by alpha
// around the resize, which is not reproduced here.

export type PillowFilter = 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** An 8-bit image, channels interleaved, rows top to bottom. */
export interface Image8 { width: number; height: number; channels: number; data: Uint8Array }

interface Filter { fn: (x: number) => number; support: number }

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

// The kernels as Resample.c defines them (the constants 0.54f and 0.46f are single precision there).
const HAMMING_A = Math.fround(0.54), HAMMING_B = Math.fround(0.46);
export const PILLOW_FILTERS: Record<PillowFilter, Filter> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, fn: (x) => { const a = Math.abs(x); return a < 1 ? 1 - a : 0; } },
  hamming: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const t = a * Math.PI;
      return Math.sin(t) / t * (HAMMING_A + HAMMING_B * Math.cos(t));
    },
  },
  // Keys' cubic convolution with a = -0.5.
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

export const PRECISION_BITS = 22;

/** The taps of one axis: for output i, `count[i]` source pixels from `start[i]`, weights at kk[i * ksize ...]. */
export interface AxisCoeffs { ksize: number; start: Int32Array; count: Int32Array; weights: Float64Array }

/**
 * Resample.c's precompute_coeffs: the normalised double-precision taps for resampling [in0, in1) of an
 * axis of `inSize` pixels to `outSize` pixels. in0 and in1 are single precision there (the box is float[4]).
 */
export function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): AxisCoeffs {
  const f0 = Math.fround(in0), f1 = Math.fround(in1);
  const scale = Math.fround(f1 - f0) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = f0 + (xx + 0.5) * scale;
    // C's (int) truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) weights[base + x] /= ww;
    start[xx] = xmin;
    count[xx] = Math.max(0, xmax);
  }
  return { ksize, start, count, weights };
}

/** normalize_coeffs_8bpc: taps in fixed point with PRECISION_BITS fractional bits, rounded half away from zero. */
export function fixedPointCoeffs(weights: Float64Array): Int32Array {
  const one = 2 ** PRECISION_BITS;
  const out = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    out[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return out;
}

/** clip8: the integer sum (with its rounding half already added) back to a byte. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const HALF = 1 << (PRECISION_BITS - 1);

/** One pass along x over rows [y0, y0 + rows) of `src`. */
function horizontalPass(src: Image8, y0: number, rows: number, outW: number, c: AxisCoeffs): Image8 {
  const C = src.channels, W = src.width;
  const k = fixedPointCoeffs(c.weights);
  const out = new Uint8Array(outW * rows * C);
  for (let yy = 0; yy < rows; yy++) {
    const rowBase = (yy + y0) * W * C;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.start[xx], n = c.count[xx], kb = xx * c.ksize;
      for (let ch = 0; ch < C; ch++) {
        let ss = HALF;
        for (let x = 0; x < n; x++) ss += src.data[rowBase + (x + xmin) * C + ch] * k[kb + x];
        out[(yy * outW + xx) * C + ch] = clip8(ss);
      }
    }
  }
  return { width: outW, height: rows, channels: C, data: out };
}

/** One pass along y; `c.start` is relative to src's first row (shifted by `shift`). */
function verticalPass(src: Image8, outH: number, c: AxisCoeffs, shift: number): Image8 {
  const C = src.channels, W = src.width;
  const k = fixedPointCoeffs(c.weights);
  const out = new Uint8Array(W * outH * C);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.start[yy] - shift, n = c.count[yy], kb = yy * c.ksize;
    for (let xx = 0; xx < W; xx++) {
      for (let ch = 0; ch < C; ch++) {
        let ss = HALF;
        for (let y = 0; y < n; y++) ss += src.data[((y + ymin) * W + xx) * C + ch] * k[kb + y];
        out[(yy * W + xx) * C + ch] = clip8(ss);
      }
    }
  }
  return { width: W, height: outH, channels: C, data: out };
}

export function checkImage8(img: Image8, where: string): void {
  const { width, height, channels, data } = img;
  if (![width, height, channels].every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`${where}: image size ${width}x${height}x${channels} must be positive integers`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * channels) {
    throw new RangeError(`${where}: ${data?.length} bytes do not make a ${width}x${height} image of ${channels} channels`);
  }
}

/**
 * PIL's `image.resize((width, height), resample=filter, box=box)` for an 8-bit L or RGB image.
 * box = [x0, y0, x1, y1] in source pixels (default the whole image).
 */
export function pillowResize(img: Image8, width: number, height: number, filter: PillowFilter = 'bicubic',
  box: readonly [number, number, number, number] = [0, 0, img.width, img.height]): Image8 {
  checkImage8(img, 'pillowResize');
  if (img.channels !== 1 && img.channels !== 3) throw new RangeError(`pillowResize: only L (1 channel) and RGB (3 channels) images, got ${img.channels} channels`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`pillowResize: output size ${width}x${height} must be positive integers`);
  }
  const f = PILLOW_FILTERS[filter];
  if (!f) throw new RangeError(`pillowResize: unknown filter "${filter}"`);
  const [bx0, by0, bx1, by1] = box.map(Math.fround);
  if (bx0 < 0 || by0 < 0 || bx1 > img.width || by1 > img.height || bx1 - bx0 < 0 || by1 - by0 < 0) {
    throw new RangeError(`pillowResize: box [${box}] is not inside the ${img.width}x${img.height} image`);
  }
  // ImagingResampleInner's conditions, including its comparison of box[2] with the OUTPUT width.
  const needH = width !== img.width || bx0 !== 0 || bx1 !== width;
  const needV = height !== img.height || by0 !== 0 || by1 !== height;
  const vert = precomputeCoeffs(img.height, by0, by1, height, f);
  let cur = img;
  let shift = 0;
  if (needH) {
    // Only the rows the vertical pass will read are resampled horizontally.
    const first = vert.start[0];
    const last = vert.start[height - 1] + vert.count[height - 1];
    cur = horizontalPass(img, first, last - first, width, precomputeCoeffs(img.width, bx0, bx1, width, f));
    shift = first;
  }
  if (needV) cur = verticalPass(cur, height, vert, shift);
  return cur === img ? { ...img, data: img.data.slice() } : cur;
}
