// The picture a person looks at after "segment the dog": the image with each predicted mask tinted in its
// own colour and each box outlined in the same colour (mask i and box i belong to the same object, as a
// [SEG] and its [LOC] do). Pure pixel work on the host; the masks arrive as logits at the image's size.
import { writeFileAtomic } from './atomic-write.js';
import type { Box } from './boxes.js';
import { checkMaskSize, checkRgbImage, type RgbImage } from './image.js';
import { encodeRgbPng } from './png.js';

export type Rgb = readonly [number, number, number];

/** Distinct, saturated colours (Trubetskoy's list of 20 simple distinct colours, its first eight). */
export const OVERLAY_COLORS: readonly Rgb[] = [
  [230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25],
  [145, 30, 180], [70, 240, 240], [245, 130, 48], [240, 50, 230],
];

export interface OverlayOptions {
  /** Colour of mask/box i is colors[i % colors.length] (default OVERLAY_COLORS). */
  colors?: readonly Rgb[];
  /** Tint strength: pixel = round((1 - alpha) * pixel + alpha * colour) inside a mask (default 0.5). */
  alpha?: number;
  /** A mask pixel is set when its value is > threshold (default 0: logits). */
  threshold?: number;
  /** Box outline thickness in pixels, drawn inward from the box's edges (default 2). */
  lineWidth?: number;
}

/**
 * A new image: `image` with masks tinted (later masks over earlier ones) and box outlines drawn on top.
 * A box's edges are the pixel rows/columns round(x1)..round(x2), round(y1)..round(y2) inclusive, so the
 * outline covers the outermost pixels of an inclusive masksToBoxes box; parts outside the image are
 * clipped, and boxes with a non-finite coordinate or x2 < x1 / y2 < y1 are skipped.
 */
export function drawOverlay(image: RgbImage, masks: readonly ArrayLike<number>[], boxes: readonly Box[] = [],
  opts: OverlayOptions = {}): RgbImage {
  checkRgbImage(image, 'drawOverlay');
  const { width: w, height: h } = image;
  const { colors = OVERLAY_COLORS, alpha = 0.5, threshold = 0, lineWidth = 2 } = opts;
  if (colors.length === 0) throw new RangeError('drawOverlay: colors is empty');
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`drawOverlay: alpha ${alpha} is not in [0, 1]`);
  masks.forEach((m, i) => checkMaskSize(m.length, w, h, `drawOverlay: mask ${i}`));
  const out = new Uint8Array(image.data);

  masks.forEach((mask, i) => {
    const c = colors[i % colors.length];
    const tint = [alpha * c[0], alpha * c[1], alpha * c[2]];
    for (let p = 0; p < w * h; p++) {
      if (!(mask[p] > threshold)) continue;
      for (let k = 0; k < 3; k++) out[p * 3 + k] = Math.round((1 - alpha) * out[p * 3 + k] + tint[k]);
    }
  });

  boxes.forEach((box, i) => {
    if (!box.every(Number.isFinite)) return;
    const [x1, y1, x2, y2] = box.map(Math.round);
    if (x2 < x1 || y2 < y1) return;
    const c = colors[i % colors.length];
    const lw = Math.max(1, Math.floor(lineWidth));
    const set = (x: number, y: number) => {
      if (x < 0 || y < 0 || x >= w || y >= h) return;
      const p = (y * w + x) * 3;
      out[p] = c[0]; out[p + 1] = c[1]; out[p + 2] = c[2];
    };
    for (let t = 0; t < lw; t++) {
      for (let x = Math.max(x1, 0); x <= Math.min(x2, w - 1); x++) { set(x, y1 + t); set(x, y2 - t); }
      for (let y = Math.max(y1, 0); y <= Math.min(y2, h - 1); y++) { set(x1 + t, y); set(x2 - t, y); }
    }
  });
  return { width: w, height: h, data: out };
}

/** drawOverlay, written as an RGB PNG atomically. */
export async function writeOverlayPng(path: string, image: RgbImage, masks: readonly ArrayLike<number>[],
  boxes: readonly Box[] = [], opts: OverlayOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeRgbPng(drawOverlay(image, masks, boxes, opts)));
}
