// Each shape kind as an inside test around its centre (cx, cy) with circumradius r, in pixel coordinates.
// Pixels are sampled at their centres (x + 0.5, y + 0.5) with no anti-aliasing, so the painted pixels and
// the mask are the same set: the masks are exact.
import type { ShapeKind } from './vocabulary.js';

export type Point = [number, number];

function regularPolygon(n: number, r: number, startDeg: number): Point[] {
  return Array.from({ length: n }, (_, i) => {
    const a = ((startDeg + (360 * i) / n) * Math.PI) / 180;
    return [r * Math.cos(a), r * Math.sin(a)] as Point;
  });
}

function star(r: number): Point[] {
  // Five points up, the inner radius 0.45 r (a clearly star-shaped outline even at 10 px).
  return Array.from({ length: 10 }, (_, i) => {
    const a = ((-90 + 36 * i) * Math.PI) / 180, rr = i % 2 === 0 ? r : 0.45 * r;
    return [rr * Math.cos(a), rr * Math.sin(a)] as Point;
  });
}

/** Even-odd point-in-polygon (the star is not convex). */
function inPolygon(px: number, py: number, poly: Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The outline of a polygonal kind relative to its centre (null for the circle). */
export function outline(kind: ShapeKind, r: number): Point[] | null {
  switch (kind) {
    case 'square': { const s = 0.78 * r; return [[-s, -s], [s, -s], [s, s], [-s, s]]; }
    case 'diamond': return [[0, -r], [0.75 * r, 0], [0, r], [-0.75 * r, 0]];
    case 'triangle': return regularPolygon(3, r, -90).map(([x, y]) => [x, y + 0.12 * r] as Point);
    case 'hexagon': return regularPolygon(6, 0.95 * r, 0);
    case 'star': return star(r);
    case 'circle': return null;
  }
}

/** An inside test for one shape: (x, y) are pixel-centre coordinates in the image. */
export function insideTest(kind: ShapeKind, cx: number, cy: number, r: number): (x: number, y: number) => boolean {
  if (kind === 'circle') {
    const rr = (0.88 * r) ** 2;
    return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= rr;
  }
  const poly = outline(kind, r)!;
  return (x, y) => inPolygon(x - cx, y - cy, poly);
}
