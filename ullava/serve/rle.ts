// COCO's uncompressed RLE of a binary mask: {"size": [h, w], "counts": [n0, n1, ...]}, runs over the
// pixels in column-major (Fortran) order, the first run counting zeros (0 when the first pixel is inside).
// pycocotools reads it with mask.frPyObjects; it is the published format, not a compressed string.

export interface CocoRle { size: [number, number]; counts: number[] }

/** mask: width * height values row-major, nonzero = inside. */
export function encodeUncompressedRle(mask: ArrayLike<number>, width: number, height: number): CocoRle {
  if (mask.length !== width * height) throw new RangeError(`encodeUncompressedRle: ${mask.length} values for ${width} x ${height}`);
  const counts: number[] = [];
  let current = 0, run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) { counts.push(run); run = 0; current = v; }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}
