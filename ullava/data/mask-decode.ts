// Every MASK form of the manifest to one 0/1 mask at the image's size, with 255 where the label map says
// "ignore" (so the loss and the metrics can leave those pixels out). COCO RLE and polygons are decoded by
// ullava/data/coco (pycocotools' conventions); their errors become manifest errors naming the line.
import { loadImage } from '../media/index.js';
import { readLabelPng } from './label-png.js';
import { ManifestError, type CocoRle, type MaskSource } from './manifest-types.js';
import { parseMaskField } from './manifest-parse.js';
import { decodeRle as decodeCocoRle, rleCountsFromString as cocoCountsFromString, RleError } from './coco/rle.js';
import { polygonsToMask } from './coco/polygon.js';

/** Row-major [height * width]: 0 outside, 1 inside, 255 ignore (label maps only). */
export interface DecodedMask { width: number; height: number; data: Uint8Array }

export const IGNORE_LABEL = 255;

/** COCO RLE to a row-major 0/1 mask [h * w] (ullava/data/coco), its errors as manifest errors. */
export function decodeRle(rle: CocoRle, where = 'RLE'): Uint8Array {
  return asManifestError(() => decodeCocoRle(rle, where));
}

/** pycocotools' compressed counts string to run lengths. */
export function rleCountsFromString(s: string, where = 'RLE'): number[] {
  return asManifestError(() => cocoCountsFromString(s, where));
}

/** COCO polygons to a 0/1 mask with pycocotools' rasterisation (frPyObjects + merge + decode). */
export function decodePolygons(p: { size: [number, number]; polygons: number[][] }, where: string): Uint8Array {
  return asManifestError(() => polygonsToMask(p, where));
}

function asManifestError<T>(f: () => T): T {
  try { return f(); } catch (e) {
    if (e instanceof RleError) throw new ManifestError(e.message);
    throw e;
  }
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
