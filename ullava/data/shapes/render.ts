// Rasterises a scene: the RGB image, and a label map holding, per pixel, the index of the topmost shape
// there (-1: background). A shape's mask is where the label map names it (what is visible of it, as a
// segmentation dataset annotates an occluded object); its box is that mask's extent.
import type { RgbImage } from '../../media/image.js';
import { insideTest } from './geometry.js';
import type { Background, Scene } from './scene.js';
import { COLOURS } from './vocabulary.js';

export interface Rendered {
  image: RgbImage;
  /** Per pixel (row-major), the topmost shape's index, or -1. */
  labels: Int16Array;
  /** Per shape: its full area in pixels (as if nothing covered it) and its visible area. */
  fullArea: number[];
  visibleArea: number[];
}

/** A cheap hash of (x, y, seed) to [0, 1), for the noise texture (deterministic, no state). */
function hash01(x: number, y: number, seed: number): number {
  let h = Math.imul(x + 0x27d4eb2d, 0x85ebca6b) ^ Math.imul(y + 0x165667b1, 0xc2b2ae35) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

/** The background's colour at a pixel: the tone, or the tone shifted by +-contrast in a pattern. */
function backgroundAt(b: Background, x: number, y: number): number {
  const p = b.period;
  switch (b.pattern) {
    case 'plain': return 0;
    case 'hstripes': return Math.floor(y / p) % 2 ? 1 : -1;
    case 'vstripes': return Math.floor(x / p) % 2 ? 1 : -1;
    case 'dstripes': return Math.floor((x + y) / p) % 2 ? 1 : -1;
    case 'checker': return (Math.floor(x / p) + Math.floor(y / p)) % 2 ? 1 : -1;
    case 'noise': return 2 * hash01(x, y, p * 7919 + b.contrast) - 1;
  }
}

export function render(scene: Scene): Rendered {
  const { width: W, height: H, background: bg, shapes } = scene;
  const data = new Uint8Array(W * H * 3);
  const labels = new Int16Array(W * H).fill(-1);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = bg.contrast * backgroundAt(bg, x, y), o = 3 * (y * W + x);
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, Math.round(bg.tone[c] + d)));
    }
  }
  const fullArea = shapes.map(() => 0);
  shapes.forEach((s, i) => {
    const inside = insideTest(s.kind, s.cx, s.cy, s.r);
    const rgb = COLOURS[s.colour];
    const x0 = Math.max(0, Math.floor(s.cx - s.r - 1)), x1 = Math.min(W - 1, Math.ceil(s.cx + s.r + 1));
    const y0 = Math.max(0, Math.floor(s.cy - s.r - 1)), y1 = Math.min(H - 1, Math.ceil(s.cy + s.r + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (!inside(x + 0.5, y + 0.5)) continue;
        fullArea[i]++;
        labels[y * W + x] = i;
        data.set(rgb, 3 * (y * W + x));
      }
    }
  });
  const visibleArea = shapes.map(() => 0);
  for (const l of labels) if (l >= 0) visibleArea[l]++;
  return { image: { width: W, height: H, data }, labels, fullArea, visibleArea };
}

/** True when every shape shows at least `min` of its own area (and at least 6 pixels). */
export function allVisible(r: Rendered, min: number): boolean {
  return r.fullArea.every((a, i) => a >= 6 && r.visibleArea[i] >= min * a);
}

/** A shape's visible mask as 0/1 bytes (row-major). */
export function maskOf(r: Rendered, index: number): Uint8Array {
  const m = new Uint8Array(r.labels.length);
  for (let p = 0; p < m.length; p++) m[p] = r.labels[p] === index ? 1 : 0;
  return m;
}

/** The box of a 0/1 mask in pixel-edge coordinates [x0, y0, x1, y1] (x1 = last column + 1), or null if empty. */
export function boxOf(mask: Uint8Array, width: number): [number, number, number, number] | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const x = p % width, y = (p - x) / width;
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}
