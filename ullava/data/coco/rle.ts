// COCO run-length encoding, as pycocotools (common/maskApi.c) defines it: a mask of h x w pixels is read
// in COLUMN-major order (x outer, y inner) and stored as alternating run lengths of 0s and 1s, starting
// with 0s (so a mask whose first pixel is set starts with a 0-length run). The counts come either as
// numbers ("uncompressed RLE", e.g. iscrowd annotations in instances.json) or as pycocotools' compressed
// string: each count, from the fourth on, is replaced by its difference to the count two before it, then
// written in 5-bit groups, least significant first, one character (48 + group) per group with 0x20
// marking "more follows", sign taken from bit 0x10 of the last group (LEB128-like, 6 bits a character).
// Area, bounding box and merge follow maskApi.c's rleArea / rleToBbox / rleMerge.

/** COCO RLE: size is [height, width]; counts alternate 0-runs and 1-runs, column-major, 0-run first. */
export interface CocoRle { size: [number, number]; counts: number[] | string }
export interface NumericRle { size: [number, number]; counts: number[] }

export class RleError extends Error {
  constructor(message: string) { super(message); this.name = 'RleError'; }
}

/** Decodes pycocotools' compressed counts string (rleFrString). `where` prefixes the error messages. */
export function rleCountsFromString(s: string, where = 'RLE'): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new RleError(`${where}: RLE string ends inside a number: ${JSON.stringify(s.slice(0, 40))}`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new RleError(`${where}: RLE string has a character ${JSON.stringify(s[p])} outside "0".."o" at index ${p}`);
      // Arithmetic instead of bit shifts: the C code uses a 64-bit long, JS bit operators only 32 bits.
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++; k++;
      if (!more && (c & 0x10)) x -= 2 ** (5 * k); // sign-extend from the last group
      if (k > 7) throw new RleError(`${where}: RLE string has a number longer than 7 characters at index ${p}`);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0) throw new RleError(`${where}: RLE string decodes to a negative run (${x}) at count ${counts.length}: ${JSON.stringify(s.slice(0, 40))}`);
    counts.push(x);
  }
  return counts;
}

/** Encodes counts as pycocotools' compressed string (rleToString). */
export function rleCountsToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    let more = true;
    while (more) {
      let c = ((x % 32) + 32) % 32;        // x & 0x1f for negative x too
      x = Math.floor(x / 32);              // arithmetic shift right by 5
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

function checkSize(size: unknown, where: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new RleError(`${where}: RLE "size" must be [height, width] (two non-negative integers), got ${JSON.stringify(size)}`);
  }
  return size as [number, number];
}

/** The numeric counts of an RLE, checked: non-negative integers covering exactly h * w pixels. */
export function rleCounts(rle: CocoRle, where = 'RLE'): number[] {
  const [h, w] = checkSize(rle?.size, where);
  let counts: number[];
  if (typeof rle.counts === 'string') counts = rleCountsFromString(rle.counts, where);
  else if (Array.isArray(rle.counts)) {
    const bad = rle.counts.findIndex((c) => !Number.isInteger(c) || c < 0);
    if (bad >= 0) throw new RleError(`${where}: RLE counts[${bad}] = ${JSON.stringify(rle.counts[bad])} is not a non-negative integer`);
    counts = rle.counts;
  } else throw new RleError(`${where}: RLE "counts" must be a list of run lengths or a compressed string, got ${JSON.stringify(rle?.counts)?.slice(0, 60)}`);
  let total = 0;
  for (const c of counts) {
    total += c;
    if (total > h * w) throw new RleError(`${where}: RLE counts cover more than ${h} x ${w} pixels`);
  }
  if (total !== h * w) throw new RleError(`${where}: RLE counts cover ${total} pixels, the size says ${h} x ${w} = ${h * w}`);
  return counts;
}

/** Decodes to a 0/1 mask in COCO's own column-major order ([w][h]). */
export function decodeRleColumnMajor(rle: CocoRle, where = 'RLE'): Uint8Array {
  const [h, w] = rle.size;
  const counts = rleCounts(rle, where);
  const out = new Uint8Array(h * w);
  let pos = 0, v = 0;
  for (const c of counts) { if (v) out.fill(1, pos, pos + c); pos += c; v ^= 1; }
  return out;
}

/** Decodes COCO RLE to a row-major 0/1 mask [h * w] (y outer, x inner: the layout of an image). */
export function decodeRle(rle: CocoRle, where = 'RLE'): Uint8Array {
  const [h, w] = rle.size;
  const col = decodeRleColumnMajor(rle, where);
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = col[x * h + y];
  return out;
}

/** Encodes a row-major mask (non-zero = inside) of h x w pixels as numeric COCO RLE (rleEncode). */
export function encodeMask(mask: ArrayLike<number>, h: number, w: number): NumericRle {
  if (mask.length !== h * w) throw new RleError(`encodeMask: ${mask.length} pixels for a ${h} x ${w} mask`);
  const counts: number[] = [];
  let prev = 0, run = 0;
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) {
    const v = mask[y * w + x] ? 1 : 0;
    if (v !== prev) { counts.push(run); run = 0; prev = v; }
    run++;
  }
  counts.push(run);
  return { size: [h, w], counts };
}

/** The same RLE with the compressed counts string, as pycocotools' encode() and frPyObjects() return it. */
export function compressRle(rle: CocoRle, where = 'RLE'): { size: [number, number]; counts: string } {
  return { size: [rle.size[0], rle.size[1]], counts: rleCountsToString(rleCounts(rle, where)) };
}

/** Number of pixels inside (rleArea). */
export function rleArea(rle: CocoRle, where = 'RLE'): number {
  const counts = rleCounts(rle, where);
  let a = 0;
  for (let j = 1; j < counts.length; j += 2) a += counts[j];
  return a;
}

/** The mask's bounding box [x, y, width, height] in pixels, as pycocotools' toBbox (rleToBbox); [0,0,0,0] when empty. */
export function rleToBbox(rle: CocoRle, where = 'RLE'): [number, number, number, number] {
  const [h, w] = rle.size;
  const counts = rleCounts(rle, where);
  const m = Math.floor(counts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j];
    const t = cc - (j % 2);
    const y = t % h, x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) { ys = 0; ye = h - 1; } // the run wraps a column: every row is touched
    xs = Math.min(xs, x); xe = Math.max(xe, x); ys = Math.min(ys, y); ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** Union (or intersection) of RLEs of one size, walking the runs as rleMerge does; numeric counts. */
export function mergeRles(rles: readonly CocoRle[], intersect = false, where = 'RLE'): NumericRle {
  if (rles.length === 0) throw new RleError(`${where}: nothing to merge`);
  const [h, w] = rles[0].size;
  let acc = rleCounts(rles[0], `${where}[0]`);
  for (let i = 1; i < rles.length; i++) {
    if (rles[i].size[0] !== h || rles[i].size[1] !== w) {
      throw new RleError(`${where}[${i}]: size ${JSON.stringify(rles[i].size)} differs from ${JSON.stringify([h, w])}; masks of one object must share the image size`);
    }
    const A = acc, B = rleCounts(rles[i], `${where}[${i}]`);
    const out: number[] = [];
    let ca = A[0], cb = B[0], a = 1, b = 1, va = false, vb = false, v = false, cc = 0, ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c; ct = 0;
      ca -= c; if (!ca && a < A.length) { ca = A[a++]; va = !va; } ct += ca;
      cb -= c; if (!cb && b < B.length) { cb = B[b++]; vb = !vb; } ct += cb;
      const vp: boolean = v;
      v = intersect ? va && vb : va || vb;
      if (v !== vp || ct === 0) { out.push(cc); cc = 0; }
    }
    acc = out;
  }
  return { size: [h, w], counts: acc };
}
