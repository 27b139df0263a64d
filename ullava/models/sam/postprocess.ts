// From the decoder's low-resolution logits to masks on the original image (Sam.postprocess_masks):
// bilinear up to the padded input square, crop the padding, bilinear to the original size. Logits are
// returned; the caller thresholds at 0.
import { Tensor, interpolateBilinear, slice, scope } from '../../../engine/index.js';

/**
 * masks [B, C, h, w] -> [B, C, originalH, originalW]. inputSize is the resized image's (H, W) before
 * padding; imageSize the encoder's square input (1024).
 */
export function postprocessMasks(masks: Tensor, inputSize: [number, number], originalSize: [number, number], imageSize: number): Tensor {
  if (masks.rank !== 4) throw new RangeError(`postprocessMasks: masks must be [B, C, h, w], got [${masks.shape}]`);
  if (inputSize[0] > imageSize || inputSize[1] > imageSize) throw new RangeError(`postprocessMasks: input size [${inputSize}] exceeds ${imageSize}`);
  return scope(() => {
    const full = interpolateBilinear(masks, [imageSize, imageSize], { alignCorners: false });
    const crop = slice(slice(full, 2, 0, inputSize[0]), 3, 0, inputSize[1]);
    return interpolateBilinear(crop, originalSize, { alignCorners: false });
  });
}
