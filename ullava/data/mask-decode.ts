// Every MASK form of the manifest to one 0/1 mask at the image's size, with 255 where the label map says
// "ignore" (so the loss and the metrics can leave those pixels out). COCO RLE is decoded here until the
// converters' ullava/data/coco is merged; polygons are rasterised by that module (decodePolygons).
import { loadImage } from '../media/index.js';
import { readLabelPng } from './label-png.js';
import { ManifestError, type CocoRle, type MaskSource } from './manifest-types.js';
import { parseMaskField } from './manifest-parse.js';

/** Row-major [height * width]: 0 outside, 1 inside, 255 ignore (label maps only). */
export interface DecodedMask { width: number; height: number; data: Uint8Array }

export const IGNORE_LABEL = 255;

/** pycocotools' compressed counts: 6-bit chunks with a continuation bit, deltas from two runs back. */
export function rleCountsFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new ManifestError(`RLE string ends inside a number: ${JSON.stringify(s.slice(0, 40))}`);
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++; k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0) throw new ManifestError(`RLE string decodes to a negative run: ${JSON.stringify(s.slice(0, 40))}`);
    counts.push(x);
  }
  return counts;
}

/** Decodes COCO RLE to a row-major 0/1 mask [h * w]. */
export function decodeRle(rle: CocoRle, where = 'RLE'): Uint8Array {
  const [h, w] = rle.size;
  const counts = typeof rle.counts === 'string' ? rleCountsFromString(rle.counts) : rle.counts;
  const colMajor = new Uint8Array(h * w);
  let pos = 0, v = 0;
  for (const c of counts) {
    if (pos + c > h * w) throw new ManifestError(`${where}: RLE counts cover more than ${h} x ${w} pixels`);
    if (v) colMajor.fill(1, pos, pos + c);
    pos += c; v ^= 1;
  }
  if (pos !== h * w) throw new ManifestError(`${where}: RLE counts cover ${pos} pixels, the size says ${h} x ${w} = ${h * w}`);
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = colMajor[x * h + y];
  return out;
}

/**
 * COCO polygons to a mask, with pycocotools' rasterisation (frPyObjects + merge + decode). That code is the
 * converters' (ullava/data/coco, another branch); until it is merged, polygon masks are refused here with
 * this message rather than rasterised by a second, subtly different implementation.
 */
export function decodePolygons(p: { size: [number, number]; polygons: number[][] }, where: string): Uint8Array {
  void p;
  throw new ManifestError(`${where}: polygon masks are rasterised by ullava/data/coco, which this build does not have yet; convert them to COCO RLE first`);
}

/** A parsed MASK (paths resolved) to its pixels; `where` names the line and field in errors. */
export async function decodeMaskSource(m: MaskSource, where: string): Promise<DecodedMask> {
  if ('png' in m) {
    const img = await loadImage(m.png).catch((e) => { throw new ManifestError(`${where}: ${(e as Error).message}`); });
    const data = new Uint8Array(img.width * img.height);
    for (let p = 0; p < data.length; p++) data[p] = img.data[3 * p] | img.data[3 * p + 1] | img.data[3 * p + 2] ? 1 : 0;
    return { width: img.width, height: img.height, data };
  }
  if ('rle' in m) return { height: m.rle.size[0], width: m.rle.size[1], data: decodeRle(m.rle, where) };
  if ('polygons' in m) return { height: m.polygons.size[0], width: m.polygons.size[1], data: decodePolygons(m.polygons, where) };
  const map = await readLabelPng(m.labelPng).catch((e) => { throw new ManifestError(`${where}: ${(e as Error).message}`); });
  const data = new Uint8Array(map.labels.length);
  for (let p = 0; p < data.length; p++) {
    const v = map.labels[p];
    data[p] = v === m.classId ? 1 : v === IGNORE_LABEL ? IGNORE_LABEL : 0;
  }
  return { width: map.width, height: map.height, data };
}

/** A mask as the manifest writes it (JSON), relative paths against `base` (the manifest's directory); `where`: e.g. "file:line". */
export async function decodeMask(mask: unknown, base: string, where = 'mask'): Promise<DecodedMask> {
  const parsed = parseMaskField(mask, base, where);
  return decodeMaskSource(parsed, `${where}: "mask"`);
}
