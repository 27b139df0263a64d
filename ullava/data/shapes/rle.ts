// COCO run-length encoding of a 0/1 mask (the format pycocotools writes with counts as numbers):
// column-major, alternating runs of 0 and 1, starting with a (possibly empty) run of 0.
export interface CocoRleCounts { size: [number, number]; counts: number[] }

export function encodeRle(mask: Uint8Array, width: number, height: number): CocoRleCounts {
  if (mask.length !== width * height) throw new RangeError(`encodeRle: a ${width}x${height} mask has ${width * height} pixels, got ${mask.length}`);
  const counts: number[] = [];
  let v = 0, run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const m = mask[y * width + x] ? 1 : 0;
      if (m !== v) { counts.push(run); run = 0; v = m; }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}
