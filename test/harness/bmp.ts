// An independent 24-bit BMP encoder: the simplest image format that is not PNG, so decoding it exercises
// the ffmpeg path (loadImage / loadImageBytes) with pixels known exactly (BMP is lossless).
import type { RgbImage } from '../../ullava/media/image.js';

export function encodeBmp(img: RgbImage): Buffer {
  const { width: w, height: h, data } = img;
  const row = Math.ceil((w * 3) / 4) * 4; // rows are padded to 4 bytes
  const size = 54 + row * h;
  const b = Buffer.alloc(size);
  b.write('BM', 0, 'latin1'); b.writeUInt32LE(size, 2); b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14); b.writeInt32LE(w, 18); b.writeInt32LE(h, 22); b.writeUInt16LE(1, 26); b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * h, 34);
  // Rows bottom-up, pixels as B, G, R.
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const src = (y * w + x) * 3, dst = 54 + (h - 1 - y) * row + x * 3;
    b[dst] = data[src + 2]; b[dst + 1] = data[src + 1]; b[dst + 2] = data[src];
  }
  return b;
}
