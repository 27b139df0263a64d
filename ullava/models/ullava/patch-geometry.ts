// Where each image token of the CLIP-style tower lies in the original image. u-LLaVA's CLIP preprocessing
// pads the image to a centred square (expand2square), then resizes it to the tower's input size; the tower
// cuts that into a G x G grid of patches, one image token each (row-major). The patch-word targets of the
// vision stage (data/patch-words.ts) and the pointer prompt (pointer-prompt.ts) both read the grid this way.

export interface PatchGrid {
  /** Patches per side. */
  G: number;
  /** The patch (row-major index) that pixel (x, y) of the original image falls in. */
  patchOf(x: number, y: number): number;
  /** The centre of patch p in the original image's pixel-edge coordinates (pixel i spans [i, i + 1)). */
  centre(p: number): [number, number];
  /** Original pixels per patch (a patch's area in the original image). */
  patchArea: number;
}

export function clipPatchGrid(width: number, height: number, clipSize: number, patchSize: number): PatchGrid {
  if (clipSize % patchSize !== 0) throw new RangeError(`clipPatchGrid: the CLIP size ${clipSize} is not a multiple of the patch size ${patchSize}`);
  const G = clipSize / patchSize, P = Math.max(width, height);
  const ox = Math.floor((P - width) / 2), oy = Math.floor((P - height) / 2);
  const scale = clipSize / P, side = patchSize / scale;
  return {
    G,
    patchArea: side * side,
    patchOf: (x, y) => {
      const px = Math.min(G - 1, Math.floor(((x + ox + 0.5) * scale) / patchSize));
      const py = Math.min(G - 1, Math.floor(((y + oy + 0.5) * scale) / patchSize));
      return py * G + px;
    },
    centre: (p) => [((p % G) + 0.5) * side - ox, (Math.floor(p / G) + 0.5) * side - oy],
  };
}

/** Pixels of a mask (value 1 = inside; 0 and 255 are not) in each patch of the grid. */
export function patchCover(mask: Uint8Array, width: number, grid: PatchGrid): Float64Array {
  const c = new Float64Array(grid.G * grid.G);
  for (let i = 0; i < mask.length; i++) if (mask[i] === 1) c[grid.patchOf(i % width, Math.floor(i / width))]++;
  return c;
}
