// CLIP's image preprocessing as u-LLaVA runs it (host side, no GPU): the RGB image is padded to a square
// with white, centred (LLaVA's expand2square with u-LLaVA's white background), then HF CLIPImageProcessor:
// resize the shortest edge to 224 with PIL's bicubic filter, centre crop 224 x 224, rescale by 1/255,
// normalise with CLIP's mean and std, channels first. Every step follows the reference's arithmetic
// (Pillow's fixed-point resampling, numpy's float64 rescale then float32 normalise), so the pixels
// match the Python pipeline's.
import { Tensor, type Device } from '../../../engine/index.js';
import { pillowResize, checkImage8, type Image8, type PillowFilter } from '../../media/pillow.js';
import type { RgbImage } from '../../media/image.js';

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/**
 * PIL's convert('RGB'): RGB stays, RGBA loses its alpha (no compositing), L is repeated. Without a
 * channel count (an RgbImage) it follows from the data's length.
 */
export function toRgb(img: RgbImage | Image8): Image8 {
  const { width, height, data } = img;
  const n = width * height;
  const channels = 'channels' in img ? img.channels : n > 0 ? data.length / n : 3;
  checkImage8({ width, height, channels, data }, 'toRgb');
  if (channels === 3) return { width, height, channels, data };
  if (channels !== 4 && channels !== 1) throw new RangeError(`toRgb: ${channels} channels (expected 1, 3 or 4)`);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = channels === 4 ? data[i * 4 + c] : data[i];
  }
  return { width, height, channels: 3, data: out };
}

/**
 * LLaVA's expand2square: the image pasted at ((S - w) // 2, (S - h) // 2) on an S x S canvas of `fill`,
 * S = max(w, h). A square image is returned as is.
 */
export function expandToSquare(img: Image8, fill: readonly number[] = [255, 255, 255]): Image8 {
  checkImage8(img, 'expandToSquare');
  const { width: w, height: h, channels: C } = img;
  if (w === h) return img;
  if (fill.length !== C) throw new RangeError(`expandToSquare: fill [${fill}] has ${fill.length} values for ${C} channels`);
  const S = Math.max(w, h);
  const ox = Math.floor((S - w) / 2), oy = Math.floor((S - h) / 2);
  const out = new Uint8Array(S * S * C);
  for (let i = 0; i < S * S; i++) for (let c = 0; c < C; c++) out[i * C + c] = fill[c];
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * w * C, (y + 1) * w * C), ((y + oy) * S + ox) * C);
  return { width: S, height: S, channels: C, data: out };
}

/**
 * HF's get_resize_output_image_size(default_to_square=False): the shortest edge becomes `size`, the
 * other int(size * long / short) (truncated). Returns [width, height].
 */
export function shortestEdgeSize(width: number, height: number, size: number): [number, number] {
  const short = Math.min(width, height), long = Math.max(width, height);
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [size, newLong] : [newLong, size];
}

/**
 * HF's center_crop: top = (h - ch) // 2, left = (w - cw) // 2; an image smaller than the crop is first
 * padded with zeros, ceil((new - old) / 2) before.
 */
export function centerCrop(img: Image8, cropH: number, cropW: number): Image8 {
  checkImage8(img, 'centerCrop');
  const { width: W, height: H, channels: C } = img;
  let src = img;
  let top = Math.floor((H - cropH) / 2), left = Math.floor((W - cropW) / 2);
  if (top < 0 || left < 0 || top + cropH > H || left + cropW > W) {
    const nh = Math.max(cropH, H), nw = Math.max(cropW, W);
    const tp = Math.ceil((nh - H) / 2), lp = Math.ceil((nw - W) / 2);
    const data = new Uint8Array(nh * nw * C);
    for (let y = 0; y < H; y++) data.set(img.data.subarray(y * W * C, (y + 1) * W * C), ((y + tp) * nw + lp) * C);
    src = { width: nw, height: nh, channels: C, data };
    top = Math.max(0, top + tp); left = Math.max(0, left + lp);
  }
  if (top === 0 && left === 0 && cropW === src.width && cropH === src.height) return src;
  const out = new Uint8Array(cropH * cropW * C);
  for (let y = 0; y < cropH; y++) {
    const s = ((y + top) * src.width + left) * C;
    out.set(src.data.subarray(s, s + cropW * C), y * cropW * C);
  }
  return { width: cropW, height: cropH, channels: C, data: out };
}

/**
 * rescale then normalize as HF does them: uint8 -> float64 * (1/255) -> float32, then
 * (x - mean) / std in float32 arithmetic; HWC bytes -> CHW floats.
 */
export function normalizeToChw(img: Image8, mean: readonly number[] = CLIP_MEAN, std: readonly number[] = CLIP_STD): Float32Array {
  checkImage8(img, 'normalizeToChw');
  const { width: W, height: H, channels: C } = img;
  if (mean.length !== C || std.length !== C) throw new RangeError(`normalizeToChw: mean/std need ${C} values`);
  const f = Math.fround;
  // Per byte value and channel, the result is a table lookup: 256 * C float32 values.
  const table = new Float32Array(256 * C);
  for (let c = 0; c < C; c++) {
    const m = f(mean[c]), s = f(std[c]);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = f(f(f(v * (1 / 255)) - m) / s);
  }
  const out = new Float32Array(C * H * W);
  const plane = H * W;
  for (let i = 0; i < plane; i++) for (let c = 0; c < C; c++) out[c * plane + i] = table[c * 256 + img.data[i * C + c]];
  return out;
}

export interface ClipPreprocessOptions {
  /** Shortest edge after resizing (CLIPImageProcessor size.shortest_edge); 224, or 336 for the 336px tower. */
  size?: number;
  /** Centre crop (default = size). */
  cropSize?: number;
  /** u-LLaVA's image_aspect_ratio 'pad' (default true): pad to a square before resizing. */
  pad?: boolean;
  /** The padding colour (default white, as u-LLaVA; LLaVA pads with int(mean * 255) = [122, 116, 104]). */
  fill?: readonly number[];
  resample?: PillowFilter;
  mean?: readonly number[];
  std?: readonly number[];
}

/** The resized and cropped 8-bit image (the stage golden fixtures of PIL compare best). */
export function clipResizeCrop(image: RgbImage | Image8, o: ClipPreprocessOptions = {}): Image8 {
  const size = o.size ?? 224, crop = o.cropSize ?? size;
  let img = toRgb(image);
  if (o.pad ?? true) img = expandToSquare(img, o.fill ?? [255, 255, 255]);
  const [w, h] = shortestEdgeSize(img.width, img.height, size);
  // PIL returns a copy when the size is unchanged, which the resampler does too.
  img = pillowResize(img, w, h, o.resample ?? 'bicubic');
  return centerCrop(img, crop, crop);
}

/** One image -> CLIP's pixel values, Float32Array [3, crop, crop] (channels first). */
export function preprocessClip(image: RgbImage | Image8, o: ClipPreprocessOptions = {}): Float32Array {
  return normalizeToChw(clipResizeCrop(image, o), o.mean ?? CLIP_MEAN, o.std ?? CLIP_STD);
}

/** Several images -> a Tensor [B, 3, crop, crop] (f32) on the device. */
export function preprocessClipBatch(images: readonly (RgbImage | Image8)[], o: ClipPreprocessOptions = {}, device?: Device): Tensor {
  const crop = o.cropSize ?? o.size ?? 224;
  const per = 3 * crop * crop;
  const all = new Float32Array(images.length * per);
  images.forEach((im, i) => all.set(preprocessClip(im, o), i * per));
  return Tensor.fromHost(all, [images.length, 3, crop, crop], 'f32', device);
}
