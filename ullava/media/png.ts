// PNG in and out with pngjs (pure JavaScript, no ffmpeg needed for the most common lossless format and for
// every output we write). Decoding reproduces what the reference pipeline gets from
// PIL's Image.open(path).convert('RGB'):
//  - alpha is dropped, not composited (RGBA, gray+alpha, palette with tRNS): the stored colour is kept;
//  - a tRNS colour key on gray/RGB images is ignored (pngjs would zero those pixels' colour, so the chunk
//    is removed before pngjs sees it);
//  - 1/2/4-bit gray is scaled to 0..255 (x255, x85, x17), palettes are looked up;
//  - 16-bit samples keep their high byte, as PIL does for 16-bit RGB(A). (PIL turns 16-bit grayscale into
//    mode I and convert('RGB') then clips it to 255, which is a PIL quirk we deliberately do not copy.)
// The size in IHDR is checked against the pixel limit before anything is inflated.
import { PNG } from 'pngjs';
import { MediaError, tooLarge } from './errors.js';
import { checkMaskSize, checkRgbImage, type RgbImage } from './image.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

export interface PngHeader { width: number; height: number; bitDepth: number; colorType: number; interlaced: boolean }

/** The IHDR chunk, which the PNG spec requires to come first. Throws 'corrupt' when it is not there. */
function readPngHeader(bytes: Uint8Array, path: string): PngHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = bytes.length >= 16 ? String.fromCharCode(...bytes.subarray(12, 16)) : '';
  if (bytes.length < 33 || type !== 'IHDR' || view.getUint32(8) !== 13) {
    throw new MediaError('corrupt', path, `${path}: damaged PNG (no IHDR chunk after the signature; ${bytes.length} bytes); re-export or re-download the file`);
  }
  return {
    width: view.getUint32(16), height: view.getUint32(20),
    bitDepth: bytes[24], colorType: bytes[25], interlaced: bytes[28] === 1,
  };
}

/** The PNG without its tRNS chunks (only used for gray and RGB images, where tRNS is a colour key). */
function withoutTrns(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let pos = 8, dropped = false;
  while (pos + 12 <= bytes.length) {
    const len = view.getUint32(pos);
    const end = pos + 12 + len;
    if (end > bytes.length) break; // damaged: leave the rest for pngjs to report
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (type === 'tRNS') dropped = true; else keep.push(bytes.subarray(pos, end));
    pos = end;
  }
  if (!dropped) return bytes;
  keep.push(bytes.subarray(pos));
  return Buffer.concat(keep);
}

/** Decodes a PNG to RGB as PIL's convert('RGB') would (see the file comment). */
export function decodePng(bytes: Uint8Array, path: string, maxPixels: number): RgbImage {
  const h = readPngHeader(bytes, path);
  if (h.width === 0 || h.height === 0) throw new MediaError('corrupt', path, `${path}: damaged PNG (size ${h.width} x ${h.height})`);
  if (h.width * h.height > maxPixels) throw tooLarge(path, h.width, h.height, maxPixels);
  const input = h.colorType === 0 || h.colorType === 2 ? withoutTrns(bytes) : bytes;
  let png: { width: number; height: number; data: Uint8Array | Uint16Array };
  try {
    png = PNG.sync.read(Buffer.from(input.buffer, input.byteOffset, input.byteLength), { skipRescale: h.bitDepth === 16 }) as typeof png;
  } catch (e) {
    throw new MediaError('corrupt', path, `${path}: damaged PNG (${(e as Error)?.message ?? e}); re-export or re-download the file`, { cause: e });
  }
  const { width, height, data } = png;
  const n = width * height;
  if (data.length !== n * 4) throw new MediaError('corrupt', path, `${path}: damaged PNG (decoded ${data.length} samples for ${width} x ${height})`);
  const out = new Uint8Array(n * 3);
  const shift = h.bitDepth === 16 ? 8 : 0; // pngjs gives RGBA samples: 8-bit, or 16-bit when skipRescale
  for (let i = 0; i < n; i++) {
    out[i * 3] = data[i * 4] >> shift;
    out[i * 3 + 1] = data[i * 4 + 1] >> shift;
    out[i * 3 + 2] = data[i * 4 + 2] >> shift;
  }
  return { width, height, data: out };
}

/** An 8-bit RGB PNG (colour type 2). */
export function encodeRgbPng(img: RgbImage): Buffer {
  checkRgbImage(img, 'encodeRgbPng');
  return pack(img.width, img.height, img.data, 2);
}

/** An 8-bit grayscale PNG (colour type 0) from one byte per pixel. */
export function encodeGrayPng(gray: Uint8Array, width: number, height: number): Buffer {
  checkMaskSize(gray.length, width, height, 'encodeGrayPng');
  return pack(width, height, gray, 0);
}

function pack(width: number, height: number, data: Uint8Array, colorType: 0 | 2): Buffer {
  // The sync packer only reads width, height and data: a plain object avoids new PNG()'s w*h*4 zero fill.
  const png = { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) } as unknown as PNG;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8, deflateLevel: 6 });
}
