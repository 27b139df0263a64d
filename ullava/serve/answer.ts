// A finished request's u-LLaVA extras in the response: masks (PNG base64 or COCO uncompressed RLE, at the
// image's size, each with its area and box) and boxes in pixels. Present only when the answer produced any.
import { encodeGrayPng, type Box } from '../media/index.js';
import { encodeMask, type NumericRle as CocoRle } from '../data/coco/rle.js';
import type { JobResult } from './job.js';
import type { FinishReason } from '../chat/generate.js';

export interface MaskOut {
  index: number;
  width: number;
  height: number;
  /** Pixels inside (logit > 0). */
  area: number;
  /** The mask's own box, pixel x0, y0, x1, y1 inclusive; null when empty. */
  box: Box | null;
  /** 8-bit grayscale PNG, 255 inside, base64 (mask_format "png", the default). */
  png?: string;
  /** COCO uncompressed RLE (mask_format "rle"). */
  rle?: CocoRle;
}

export interface BoxOut { index: number; box: Box | null; source: 'loc-decoder' | 'mask' }

export interface Extras { masks?: MaskOut[]; boxes?: BoxOut[] }

export function extrasOf(r: JobResult, format: 'png' | 'rle' = 'png'): Extras {
  if (!r.masks.length && !r.boxes.length) return {};
  const masks = r.masks.map((logits, index): MaskOut => {
    const bin = new Uint8Array(logits.length);
    let area = 0, x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let p = 0; p < logits.length; p++) {
      if (logits[p] > 0) {
        bin[p] = 255; area++;
        const x = p % r.width, y = (p - x) / r.width;
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    }
    const m: MaskOut = { index, width: r.width, height: r.height, area, box: area ? [x0, y0, x1, y1] : null };
    if (format === 'rle') m.rle = encodeMask(bin, r.height, r.width);
    else m.png = Buffer.from(encodeGrayPng(bin, r.width, r.height)).toString('base64');
    return m;
  });
  const boxes = r.boxes.map((box, index): BoxOut => ({ index, box, source: r.boxSource ?? 'mask' }));
  return { ...(masks.length ? { masks } : {}), ...(boxes.length ? { boxes } : {}) };
}

/** u-LLaVA's finish reasons in OpenAI's words. */
export function openAiFinish(f: FinishReason): 'stop' | 'length' {
  return f === 'length' ? 'length' : 'stop';
}
