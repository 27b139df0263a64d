// Dense word targets for the vision tower's patches, from an image's annotated objects: each patch the
// CLIP-style tower sees is named by the words of the object that covers it (its category and attributes,
// "square", "red", "small") or by "background". The recipe's "vision" stage (train/patch-word-forward.ts)
// teaches the tower to put those words' embeddings into its projected patch features, as CLIP's
// pretraining put language into its features before LLaVA ever used them.
import { clipPatchGrid, patchCover } from '../models/ullava/patch-geometry.js';

/** The word a patch with no object on it is named by. */
export const BACKGROUND_WORD = 'background';

/** A patch counts as an object's when the object covers at least this fraction of it. */
export const OBJECT_COVER = 0.25;
/** A patch counts as background when objects cover at most this fraction of it (between the two: ignored). */
export const BACKGROUND_COVER = 0.05;

export interface PatchObject {
  /** The object's mask at the image's size (row-major, 1 = inside). */
  mask: Uint8Array;
  /** Token ids of its words. */
  words: number[];
}

/**
 * Per patch of the CLIP grid (row-major, (clipSize / patchSize)^2 patches), the token ids it is to name:
 * the words of the object covering most of it when that object covers OBJECT_COVER of it (or this is the
 * patch that object covers most, so that a small object is never left unnamed), `background` when objects
 * cover at most BACKGROUND_COVER of it, else none (ignored). The geometry is CLIP's preprocessing as
 * u-LLaVA runs it: the image padded to a centred square, then resized to clipSize.
 */
export function patchWordTargets(objects: readonly PatchObject[], width: number, height: number, clipSize: number, patchSize: number, background: number): number[][] {
  const grid = clipPatchGrid(width, height, clipSize, patchSize), { G, patchArea } = grid;
  // cover[k][p]: pixels of object k in patch p.
  const cover = objects.map((o) => {
    if (o.mask.length !== width * height) throw new RangeError(`patchWordTargets: a mask of ${o.mask.length} pixels for a ${width}x${height} image`);
    return patchCover(o.mask, width, grid);
  });
  const best = cover.map((c) => c.indexOf(Math.max(...c)));
  return Array.from({ length: G * G }, (_, p) => {
    let top = -1, sum = 0;
    cover.forEach((c, k) => { sum += c[p]; if (c[p] > 0 && (top < 0 || c[p] > cover[top][p])) top = k; });
    if (sum / patchArea <= BACKGROUND_COVER) return [background];
    if (top >= 0 && (cover[top][p] / patchArea >= OBJECT_COVER || best[top] === p)) return [...objects[top].words];
    return [];
  });
}
