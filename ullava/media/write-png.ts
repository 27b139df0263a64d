// The PNG outputs: an RGB image, and a segmentation mask as the binary 0/255 grayscale PNG that mask
// datasets (RefCOCO evaluation, salient objects) and image viewers expect. Encoded first (a bad argument
// throws before anything touches the disk), then written atomically.
import { writeFileAtomic } from './atomic-write.js';
import { checkMaskSize, type RgbImage } from './image.js';
import { encodeGrayPng, encodeRgbPng } from './png.js';

/** Writes an 8-bit RGB PNG. */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  await writeFileAtomic(path, encodeRgbPng(image));
}

/** 255 where the mask logit is > threshold (default 0, the reference's `pred > 0`), else 0. */
export function binarizeMask(logits: ArrayLike<number>, width: number, height: number, threshold = 0): Uint8Array {
  checkMaskSize(logits.length, width, height, 'binarizeMask');
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = logits[i] > threshold ? 255 : 0;
  return out;
}

/** Writes mask logits [height, width] (row-major) as a single-channel 0/255 PNG. */
export async function writeMaskPng(path: string, logits: ArrayLike<number>, width: number, height: number,
  opts: { threshold?: number } = {}): Promise<void> {
  await writeFileAtomic(path, encodeGrayPng(binarizeMask(logits, width, height, opts.threshold ?? 0), width, height));
}
