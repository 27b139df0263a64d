// Draws whole scenes: the general one (1-6 random shapes), the odd-one-out one for salient segmentation,
// and the moving-shape clip for video. Each retries until its shapes fit and stay visible.
import type { Rng } from './random.js';
import { allVisible, render, type Rendered } from './render.js';
import { MIN_VISIBLE, placeShapes, randomSpec, sampleBackground, type Scene, type Shape, type ShapeSpec } from './scene.js';
import { COLOUR_NAMES, SHAPE_KINDS, SIZES } from './vocabulary.js';

export interface RenderedScene { scene: Scene; rendered: Rendered }

function placeAndRender(specs: () => ShapeSpec[], width: number, height: number, rng: Rng, overlap: number): RenderedScene {
  for (let attempt = 0; attempt < 200; attempt++) {
    const background = sampleBackground(rng);
    const shapes = placeShapes(specs(), width, height, rng, overlap);
    if (!shapes) continue;
    const scene: Scene = { width, height, background, shapes };
    const rendered = render(scene);
    if (allVisible(rendered, MIN_VISIBLE)) return { scene, rendered };
  }
  throw new Error(`shapes: no scene found in 200 tries at ${width}x${height} (the image is too small for its shapes)`);
}

/** 1-6 shapes of random kind, colour and size; about a third may overlap the ones before them. */
export function sampleScene(rng: Rng, width: number, height: number, counts: [number, number] = [1, 6]): RenderedScene {
  const n = rng.int(counts[0], counts[1]);
  return placeAndRender(() => Array.from({ length: n }, () => randomSpec(rng)), width, height, rng, 0.3);
}

export interface OddOneOut extends RenderedScene { odd: number; explanation: string }

/**
 * 3-6 shapes, all of one kind and colour but one, which differs in colour (same kind) or in kind (same
 * colour): the salient object. No overlaps, so the odd one is in plain view.
 */
export function sampleOddOneOut(rng: Rng, width: number, height: number): OddOneOut {
  const n = rng.int(3, 6), kind = rng.pick(SHAPE_KINDS), colour = rng.pick(COLOUR_NAMES);
  const byColour = rng.chance(0.5);
  const oddKind = byColour ? kind : rng.pick(SHAPE_KINDS.filter((k) => k !== kind));
  const oddColour = byColour ? rng.pick(COLOUR_NAMES.filter((c) => c !== colour)) : colour;
  const size = rng.pick(SIZES.slice(0, 2));
  const odd = rng.int(0, n - 1);
  const specs = () => Array.from({ length: n }, (_, i): ShapeSpec => (i === odd ? { kind: oddKind, colour: oddColour, size } : { kind, colour, size }));
  const rs = placeAndRender(specs, width, height, rng, 0);
  return { ...rs, odd, explanation: byColour ? `it is the only ${oddColour} shape.` : `it is the only ${oddKind}.` };
}

export const DIRECTIONS = ['left', 'right', 'up', 'down'] as const;
export type Direction = typeof DIRECTIONS[number];

export interface Clip { frames: RenderedScene[]; mover: number; direction: Direction }

/**
 * `frames` frames of 1-3 shapes that do not overlap; one of them (named uniquely by colour and kind) moves
 * in a straight line by ~40% of the image, the others stay still.
 */
export function sampleClip(rng: Rng, width: number, height: number, frames = 8): Clip {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { scene } = sampleScene(rng, width, height, [1, 3]);
    const shapes = scene.shapes;
    if (shapes.some((s, i) => shapes.some((o, j) => j !== i && o.kind === s.kind && o.colour === s.colour))) continue;
    const mover = rng.int(0, shapes.length - 1), direction = rng.pick(DIRECTIONS);
    const m = shapes[mover], dist = 0.4 * (direction === 'left' || direction === 'right' ? width : height);
    const [ux, uy] = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] }[direction];
    // Start so that the whole path stays inside the image, and keep clear of the other shapes all along.
    const range = (size: number) => [m.r + 1, size - m.r - 1 - dist] as const;
    const [xl, xh] = ux ? range(width) : [m.cx, m.cx];
    const [yl, yh] = uy ? range(height) : [m.cy, m.cy];
    if (xh < xl || yh < yl) continue;
    let sx = rng.uniform(xl, xh), sy = rng.uniform(yl, yh);
    if (ux < 0) sx += dist; if (uy < 0) sy += dist;
    const path = Array.from({ length: frames }, (_, f) => [sx + (ux * dist * f) / (frames - 1), sy + (uy * dist * f) / (frames - 1)]);
    const others = shapes.filter((_, i) => i !== mover);
    if (path.some(([x, y]) => others.some((o) => Math.hypot(o.cx - x, o.cy - y) < o.r + m.r + 2))) continue;
    const out = path.map(([cx, cy]): RenderedScene => {
      const sc: Scene = { ...scene, shapes: shapes.map((s, i): Shape => (i === mover ? { ...s, cx, cy } : s)) };
      return { scene: sc, rendered: render(sc) };
    });
    return { frames: out, mover, direction };
  }
  throw new Error(`shapes: no video clip found in 200 tries at ${width}x${height}`);
}
