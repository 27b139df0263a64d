// A scene of the shapes world: a background and 1-6 shapes in paint order (later ones on top), sampled
// from a seed. Shapes may overlap, but every shape keeps at least MIN_VISIBLE of its area in view, so
// each one can still be seen and named.
import type { Rng } from './random.js';
import { BACKGROUND_TONES, COLOUR_NAMES, SHAPE_KINDS, SIZES, SIZE_RADIUS, type ColourName, type ShapeKind, type SizeName } from './vocabulary.js';

export interface Shape { kind: ShapeKind; colour: ColourName; size: SizeName; cx: number; cy: number; r: number }

export type BackgroundPattern = 'plain' | 'hstripes' | 'vstripes' | 'dstripes' | 'checker' | 'noise';
export interface Background { pattern: BackgroundPattern; tone: readonly [number, number, number]; contrast: number; period: number }

export interface Scene { width: number; height: number; background: Background; shapes: Shape[] }

/** The least fraction of a shape's own area that must stay visible under the shapes painted after it. */
export const MIN_VISIBLE = 0.6;

export function sampleBackground(rng: Rng): Background {
  const patterns: BackgroundPattern[] = ['plain', 'hstripes', 'vstripes', 'dstripes', 'checker', 'noise'];
  // Half the backgrounds are plain.
  const pattern = rng.chance(0.5) ? 'plain' : rng.pick(patterns.slice(1));
  return { pattern, tone: rng.pick(BACKGROUND_TONES), contrast: rng.int(10, 22), period: rng.int(3, 7) };
}

export function radiusOf(size: SizeName, width: number, height: number, rng: Rng): number {
  const [lo, hi] = SIZE_RADIUS[size];
  return rng.uniform(lo, hi) * Math.min(width, height);
}

export interface ShapeSpec { kind: ShapeKind; colour: ColourName; size: SizeName }

export function randomSpec(rng: Rng): ShapeSpec {
  return { kind: rng.pick(SHAPE_KINDS), colour: rng.pick(COLOUR_NAMES), size: rng.pick(SIZES) };
}

/**
 * Places the given shapes at random: fully inside the image; with probability `overlap` a shape may overlap
 * the ones before it, else it keeps clear of them. Returns null when no placement was found in the tries
 * given (the caller samples again). `visibleFraction` (render.ts) checks occlusion afterwards.
 */
export function placeShapes(specs: ShapeSpec[], width: number, height: number, rng: Rng, overlap = 0.3): Shape[] | null {
  const placed: Shape[] = [];
  for (const s of specs) {
    const r = radiusOf(s.size, width, height, rng);
    const mayOverlap = rng.chance(overlap);
    let ok = false;
    for (let attempt = 0; attempt < 40 && !ok; attempt++) {
      const cx = rng.uniform(r + 1, width - r - 1), cy = rng.uniform(r + 1, height - r - 1);
      const clear = placed.every((p) => Math.hypot(p.cx - cx, p.cy - cy) > (mayOverlap ? 0.5 : 1.05) * (p.r + r) + 1);
      if (clear) { placed.push({ ...s, cx, cy, r }); ok = true; }
    }
    if (!ok) return null;
  }
  return placed;
}
