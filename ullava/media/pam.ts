// Reading the frames ffmpeg writes to its stdout. Decoders ask ffmpeg for PAM images (`-f image2pipe
// -c:v pam -pix_fmt rgb24`) rather than headerless rawvideo because every PAM frame carries its own
// width and height: the probe's size is then only used to refuse huge inputs early, and nothing breaks
// when the decoded size differs from the probed one (rotation, odd-sized chroma, a mid-stream size change).
import type { RgbImage } from './image.js';

export class PamFormatError extends Error {
  constructor(message: string) { super(message); this.name = 'PamFormatError'; }
}

/**
 * Splits a concatenation of PAM images (P7, DEPTH 3, MAXVAL 255, i.e. TUPLTYPE RGB) into RGB images.
 * The pixel data are views into `bytes` (no copy). A frame over `maxPixels` throws before it is sliced.
 */
export function parsePamFrames(bytes: Uint8Array, maxPixels = Infinity): RgbImage[] {
  const frames: RgbImage[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const { width, height, depth, maxval, dataStart } = parseHeader(bytes, pos);
    if (depth !== 3 || maxval !== 255) throw new PamFormatError(`PAM frame ${frames.length}: DEPTH ${depth} MAXVAL ${maxval}, expected 3 and 255 (rgb24)`);
    if (width * height > maxPixels) throw new PamFormatError(`PAM frame ${frames.length}: ${width} x ${height} is over ${maxPixels} pixels`);
    const end = dataStart + width * height * 3;
    if (end > bytes.length) throw new PamFormatError(`PAM frame ${frames.length}: truncated (${bytes.length - dataStart} of ${end - dataStart} bytes)`);
    frames.push({ width, height, data: new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart, end - dataStart) });
    pos = end;
  }
  return frames;
}

function parseHeader(bytes: Uint8Array, start: number) {
  const limit = Math.min(bytes.length, start + 512);
  let end = -1;
  // The header is ASCII lines ending with "ENDHDR\n".
  for (let i = start; i + 7 <= limit; i++) {
    if (bytes[i] === 0x45 /* E */ && String.fromCharCode(...bytes.subarray(i, i + 7)) === 'ENDHDR\n') { end = i + 7; break; }
  }
  const text = String.fromCharCode(...bytes.subarray(start, end < 0 ? limit : end));
  if (!text.startsWith('P7\n') || end < 0) throw new PamFormatError(`not a PAM header at byte ${start}: ${JSON.stringify(text.slice(0, 40))}`);
  const field = (name: string): number => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!m) throw new PamFormatError(`PAM header without ${name}: ${JSON.stringify(text)}`);
    return Number(m[1]);
  };
  return { width: field('WIDTH'), height: field('HEIGHT'), depth: field('DEPTH'), maxval: field('MAXVAL'), dataStart: end };
}
