// COCO polygons to RLE exactly as pycocotools rasterises them (maskApi.c rleFrPoly), so a mask decoded
// here equals pycocotools' annToMask bit for bit:
//  1. the vertices are scaled by 5 and rounded ((int)(5v + .5), C truncation toward zero);
//  2. every edge is walked densely on that 5x grid (one point per step along the longer axis);
//  3. wherever the walk crosses a column boundary, the crossing is mapped back to pixel units
//     (xd = (u + .5) / 5 - .5) and kept only when it lands on a pixel centre column (xd integral,
//     0 <= xd <= w - 1); its y is rounded UP to the next pixel row (ceil), clamped to [0, h];
//  4. those (x, y) boundary points, as column-major offsets x*h + y, sorted, are the RLE's run ends.
// The net effect is the pixel-centre rule: pixel (x, y) is inside when its centre (x, y) in COCO's
// coordinates (the pixel's top-left corner at x - 0.5) lies inside the polygon, up to the 1/5-pixel grid.
import { RleError, decodeRle, mergeRles, rleCounts, type CocoRle, type NumericRle } from './rle.js';

/** One polygon [x0, y0, x1, y1, ...] (pixels) to numeric RLE of an h x w image (rleFrPoly). */
export function polygonToRle(xy: readonly number[], h: number, w: number): NumericRle {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  const x = new Array<number>(k + 1), y = new Array<number>(k + 1);
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[2 * j] + 0.5);
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[2 * j + 1] + 0.5);
  x[k] = x[0]; y[k] = y[0];
  const u: number[] = [], v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const dx = Math.abs(xe - xs), dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) { let t = xs; xs = xe; xe = t; t = ys; ys = ye; ye = t; }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) { const t = flip ? dx - d : d; u.push(t + xs); v.push(Math.trunc(ys + s * t + 0.5)); }
    } else {
      for (let d = 0; d <= dy; d++) { const t = flip ? dy - d : d; v.push(t + ys); u.push(Math.trunc(xs + s * t + 0.5)); }
    }
  }
  const a: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0; else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    a.push(xd * h + yd);
  }
  a.push(h * w);
  a.sort((p, q) => p - q);
  let prev = 0;
  for (let j = 0; j < a.length; j++) { const t = a[j]; a[j] -= prev; prev = t; }
  // Zero-length differences (two boundary points on one pixel) cancel: merge the runs around them.
  const b: number[] = [a[0]];
  for (let j = 1; j < a.length;) {
    if (a[j] > 0) b.push(a[j++]);
    else { j++; if (j < a.length) b[b.length - 1] += a[j++]; }
  }
  return { size: [h, w], counts: b };
}

/** COCO "segmentation" of one annotation, in any of its published forms. */
export type CocoSegmentation = number[][] | CocoRle | CocoRle[];

function isPolygonList(seg: unknown): seg is number[][] {
  return Array.isArray(seg) && seg.length > 0 && seg.every((p) => Array.isArray(p));
}

/** Checks one polygon: an even number (>= 6, three points) of finite coordinates. */
export function checkPolygon(p: unknown, where: string): number[] {
  if (!Array.isArray(p) || p.length < 6 || p.length % 2 !== 0 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    const shown = JSON.stringify(p);
    throw new RleError(`${where}: a polygon must be [x0, y0, x1, y1, ...] with at least 3 points (an even count >= 6 of finite numbers), got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`);
  }
  return p as number[];
}

/**
 * A COCO annotation's segmentation as one numeric RLE of an h x w image, as pycocotools' annToRLE reads
 * it: a list of polygons (rasterised each, then their union), an RLE object (counts numeric or
 * compressed), or a list of RLE objects (RefCLEF writes those; their union).
 */
export function segmentationToRle(seg: unknown, h: number, w: number, where = 'segmentation'): NumericRle {
  if (isPolygonList(seg)) {
    const rles = seg.map((p, i) => polygonToRle(checkPolygon(p, `${where}[${i}]`), h, w));
    return rles.length === 1 ? rles[0] : mergeRles(rles, false, where);
  }
  const asRle = (r: unknown, at: string): NumericRle => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new RleError(`${at}: expected polygons [[x, y, ...], ...] or an RLE {"size": [h, w], "counts": ...}, got ${JSON.stringify(r)?.slice(0, 80)}`);
    const rle = r as CocoRle;
    const counts = rleCounts(rle, at);
    if (rle.size[0] !== h || rle.size[1] !== w) throw new RleError(`${at}: RLE size ${JSON.stringify(rle.size)} is not the image's [${h}, ${w}]`);
    return { size: [h, w], counts };
  };
  if (Array.isArray(seg)) {
    if (seg.length === 0) throw new RleError(`${where}: empty segmentation (no polygon, no RLE)`);
    const rles = seg.map((r, i) => asRle(r, `${where}[${i}]`));
    return rles.length === 1 ? rles[0] : mergeRles(rles, false, where);
  }
  return asRle(seg, where);
}

/** Manifest polygons {size, polygons} to a row-major 0/1 mask (what pycocotools' annToMask returns). */
export function polygonsToMask(p: { size: [number, number]; polygons: number[][] }, where = 'polygons'): Uint8Array {
  const [h, w] = p.size;
  return decodeRle(segmentationToRle(p.polygons, h, w, where));
}
