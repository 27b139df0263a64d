// The raw samples of a single-channel PNG: the class ids of a label map (ADE20K, COCO-Stuff, VOC style).
// A label map must not go through an RGB decoder: a palette PNG (VOC) would come back as the palette's
// colours instead of the indices. Gray (any bit depth; 16-bit kept whole), gray+alpha (alpha dropped) and
// palette (the index) are read; RGB colour-coded label maps are refused (convert them to ids first).
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';

export interface LabelMap { width: number; height: number; labels: Uint16Array }

export class LabelPngError extends Error {
  constructor(message: string) { super(message); this.name = 'LabelPngError'; }
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes the label map held in `bytes` (`name` is what errors call it). */
export function decodeLabelPng(bytes: Uint8Array, name: string): LabelMap {
  if (bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) throw new LabelPngError(`${name}: not a PNG file (a label map must be a PNG)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8, width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
  const idat: Uint8Array[] = [];
  while (pos + 12 <= bytes.length) {
    const len = view.getUint32(pos), type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) throw new LabelPngError(`${name}: damaged PNG (the ${type} chunk runs past the end of the file)`);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = d.getUint32(0); height = d.getUint32(4); depth = data[8]; colorType = data[9]; interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (colorType < 0 || width === 0 || height === 0) throw new LabelPngError(`${name}: damaged PNG (no valid IHDR)`);
  const channels = colorType === 0 || colorType === 3 ? 1 : colorType === 4 ? 2 : 0;
  if (!channels) throw new LabelPngError(`${name}: a label map must be a single-channel PNG (gray or palette of class ids); this one is ${colorType === 2 ? 'RGB' : 'RGBA'} (convert colour-coded labels to ids first)`);
  if (interlace) throw new LabelPngError(`${name}: interlaced (Adam7) label PNGs are not read; re-save it without interlacing`);
  let raw: Uint8Array;
  try { raw = inflateSync(Buffer.concat(idat)); } catch (e) { throw new LabelPngError(`${name}: damaged PNG (${(e as Error).message})`); }
  const bitsPerPixel = depth * channels, bpp = Math.max(1, bitsPerPixel >> 3), stride = Math.ceil((width * bitsPerPixel) / 8);
  if (raw.length < height * (stride + 1)) throw new LabelPngError(`${name}: damaged PNG (${raw.length} bytes of pixel data for ${width} x ${height})`);
  const labels = new Uint16Array(width * height);
  let prev = new Uint8Array(stride), cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const x = line[i];
      cur[i] = (filter === 0 ? x : filter === 1 ? x + a : filter === 2 ? x + b : filter === 3 ? x + ((a + b) >> 1) : filter === 4 ? x + paeth(a, b, c) : NaN) & 0xff;
      if (filter > 4) throw new LabelPngError(`${name}: damaged PNG (unknown row filter ${filter} in row ${y})`);
    }
    for (let x = 0; x < width; x++) {
      let v: number;
      if (depth === 16) v = (cur[x * 2 * channels] << 8) | cur[x * 2 * channels + 1];
      else if (depth === 8) v = cur[x * channels];
      else { const bit = x * depth; v = (cur[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1); }
      labels[y * width + x] = v;
    }
    [prev, cur] = [cur, prev];
  }
  return { width, height, labels };
}

export async function readLabelPng(path: string): Promise<LabelMap> {
  let bytes: Uint8Array;
  try { bytes = await readFile(path); } catch (e) { throw new LabelPngError(`${path}: cannot read the label map (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  return decodeLabelPng(bytes, path);
}
