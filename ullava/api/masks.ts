// Masks as users want them: one byte per pixel at the image's size, with its area and box, from the mask
// logits a session's answer carries (> 0 = inside, as SAM thresholds them).
import { masksToBoxes, encodeGrayPng, type Box } from '../media/index.js';
import type { Answer } from '../session.js';

export interface Mask {
  /** width * height values, row-major: 1 inside the mask, 0 outside. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** Pixels inside. */
  area: number;
  /** The mask's own box, pixel x0, y0, x1, y1 (inclusive); null when the mask is empty. */
  box: Box | null;
}

export function maskArea(logits: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] > 0) n++;
  return n;
}

/** The box of mask i itself (answer.boxes are the [LOC] decoder's when the model has one). */
export function maskBox(answer: Answer, i: number, image: { width: number; height: number }): Box | null {
  return answer.boxSource === 'mask' ? answer.boxes[i] ?? null : masksToBoxes(answer.masks[i], image.width, image.height);
}

/** The answer's masks, binarised at logit 0, with their areas and boxes. */
export function answerMasks(answer: Answer, image: { width: number; height: number }): Mask[] {
  return answer.masks.map((logits, i) => {
    const mask = new Uint8Array(logits.length);
    let area = 0;
    for (let p = 0; p < logits.length; p++) if (logits[p] > 0) { mask[p] = 1; area++; }
    return { mask, width: image.width, height: image.height, area, box: maskBox(answer, i, image) };
  });
}

/** A mask as an 8-bit grayscale PNG (0 outside, 255 inside), the format of the CLI's mask files. */
export function encodeMaskPng(m: Mask): Buffer {
  if (!(m?.mask instanceof Uint8Array)) throw new TypeError('encodeMaskPng: expected a mask { mask: Uint8Array, width, height } from segment()');
  const gray = new Uint8Array(m.mask.length);
  for (let i = 0; i < gray.length; i++) gray[i] = m.mask[i] ? 255 : 0;
  return encodeGrayPng(gray, m.width, m.height);
}
