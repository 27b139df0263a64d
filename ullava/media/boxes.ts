// Boxes on the host: from a mask, IoU between two, and u-LLaVA's normalised padded-square coordinates.
// A Box is [x1, y1, x2, y2] in pixels of the original image.
//  - masksToBoxes follows torchvision.ops.masks_to_boxes: x1/y1 = the smallest column/row holding a mask
//    pixel, x2/y2 = the LARGEST such column/row (inclusive: a one-pixel mask at (5, 7) gives [5, 7, 5, 7]).
//    u-LLaVA's DetToolBox.mask2bbox (pycocotools toBbox, then x + w - 1) gives the same numbers.
//  - boxIoU follows torchvision.ops.box_iou: areas (x2 - x1) * (y2 - y1), no +1, so an inclusive mask box
//    is treated as a continuous one (as the reference's Prec@0.5 does).
//  - the detection head and the training targets use xyxy normalised in the padded square (DetToolBox):
//    S = max(w, h), the short side padded by (S - short) / 2.0 on each side (a float, even when the image
//    itself was pasted at the integer offset (S - short) // 2), divided by S.
export type Box = [number, number, number, number];

export interface MaskBoxOptions {
  /** A pixel is in the mask when its value is > threshold (default 0: logits > 0, or binary 1/255 masks). */
  threshold?: number;
}

/** The inclusive bounding box of the mask's pixels, or null when the mask is empty. */
export function masksToBoxes(mask: ArrayLike<number>, width: number, height: number, opts: MaskBoxOptions = {}): Box | null {
  if (mask.length !== width * height) throw new RangeError(`masksToBoxes: mask has ${mask.length} values, expected ${width} x ${height} = ${width * height}`);
  const t = opts.threshold ?? 0;
  let x1 = width, y1 = height, x2 = -1, y2 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1, last = -1;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] > t) { if (first < 0) first = x; last = x; }
    }
    if (first < 0) continue;
    if (y < y1) y1 = y;
    y2 = y;
    if (first < x1) x1 = first;
    if (last > x2) x2 = last;
  }
  return x2 < 0 ? null : [x1, y1, x2, y2];
}

/** Intersection over union of two xyxy boxes as torchvision's box_iou; 0 when the union is empty (torch: NaN). */
export function boxIoU(a: Box, b: Box): number {
  const area = (r: Box) => (r[2] - r[0]) * (r[3] - r[1]);
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

function padding(width: number, height: number): { S: number; px: number; py: number } {
  const S = Math.max(width, height);
  return { S, px: width < S ? (S - width) / 2 : 0, py: height < S ? (S - height) / 2 : 0 };
}

/** Pixel xyxy in a width x height image -> normalised xyxy in its padded square (DetToolBox.pad_normalize_xyxy). */
export function normalizeToPaddedSquare(box: Box, width: number, height: number): Box {
  const { S, px, py } = padding(width, height);
  return [(box[0] + px) / S, (box[1] + py) / S, (box[2] + px) / S, (box[3] + py) / S];
}

/** Normalised padded-square xyxy (the detection head's output) -> pixel xyxy (DetToolBox.denormalize_padded_xyxy). */
export function denormalizeFromPaddedSquare(box: Box, width: number, height: number): Box {
  const { S, px, py } = padding(width, height);
  return [box[0] * S - px, box[1] * S - py, box[2] * S - px, box[3] * S - py];
}
