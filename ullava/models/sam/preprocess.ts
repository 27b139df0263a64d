// SAM's image preprocessing on the host (no GPU): ResizeLongestSide(1024) then normalise and zero-pad
// bottom/right to a square. segment_anything's apply_image resizes with torchvision's resize on a PIL
// image, i.e. Pillow's Image.resize with its default BILINEAR filter: a triangle filter whose support
// widens with the downscale factor (so downscaling is antialiased, unlike F.interpolate), separable, with
// fixed-point taps and a uint8 intermediate. ullava/media/pillow.ts reproduces that byte for byte.
import { SAM_PIXEL_MEAN, SAM_PIXEL_STD } from './config.js';
import { pillowResize } from '../../media/pillow.js';

/** ResizeLongestSide.get_preprocess_shape: scale = L / max(h, w), sizes int(x * scale + 0.5). */
export function preprocessShape(h: number, w: number, longSide: number): [number, number] {
  const scale = (longSide * 1.0) / Math.max(h, w);
  return [Math.trunc(h * scale + 0.5), Math.trunc(w * scale + 0.5)];
}

export interface SamInput {
  /** Normalised, zero-padded pixels [3, S, S] (channel-major), ready to upload as [1, 3, S, S]. */
  pixels: Float32Array;
  /** (H, W) of the image given. */
  originalSize: [number, number];
  /** (H, W) after ResizeLongestSide, before padding: where the image sits in the square. */
  inputSize: [number, number];
}

/**
 * An RGB image [h, w, 3] (uint8, row-major interleaved) -> SAM's input: resize the longest side to
 * `imageSize` (Pillow bilinear), (x - mean) / std per channel, zero-pad bottom/right.
 */
export function preprocessImage(rgb: Uint8Array, h: number, w: number,
  o: { imageSize?: number; mean?: readonly number[]; std?: readonly number[] } = {}): SamInput {
  const S = o.imageSize ?? 1024, mean = o.mean ?? SAM_PIXEL_MEAN, std = o.std ?? SAM_PIXEL_STD;
  const [nh, nw] = preprocessShape(h, w, S);
  if (rgb.length !== h * w * 3) throw new RangeError(`SAM preprocess: ${rgb.length} bytes for a ${h}x${w} RGB image`);
  const resized = nh === h && nw === w ? rgb : pillowResize({ width: w, height: h, channels: 3, data: rgb }, nw, nh, 'bilinear').data;
  const pixels = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]), s = Math.fround(std[c]);
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) pixels[(c * S + y) * S + x] = Math.fround(resized[(y * nw + x) * 3 + c] - m) / s; // f32 ops, as torch
    }
  }
  return { pixels, originalSize: [h, w], inputSize: [nh, nw] };
}

/** ResizeLongestSide.apply_coords: (x, y) pairs from the original image into the resized frame. */
export function applyCoords(coords: ArrayLike<number>, originalSize: [number, number], longSide: number): Float32Array {
  const [h, w] = originalSize;
  const [nh, nw] = preprocessShape(h, w, longSide);
  const out = new Float32Array(coords.length);
  for (let i = 0; i < coords.length; i += 2) {
    out[i] = coords[i] * (nw / w);
    out[i + 1] = coords[i + 1] * (nh / h);
  }
  return out;
}

/** ResizeLongestSide.apply_boxes: [N, 4] x0, y0, x1, y1 boxes into the resized frame. */
export const applyBoxes = applyCoords;
