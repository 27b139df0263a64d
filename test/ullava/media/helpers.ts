// Fixture makers for the media tests: temporary directories, an independent PNG encoder (so pngjs is not
// tested against itself), and encoding generated RGB frames with ffmpeg (images, GIFs, videos).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { skip, HANG_GUARD_MS } from '../../harness/test.js';
import { findFfmpeg } from '../../../ullava/media/ffmpeg.js';
import type { RgbImage } from '../../../ullava/media/image.js';

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ullava-media-'));
  try { return await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

let ffmpegState: { path: string; encoders: string } | string | undefined;

/** The ffmpeg binary and its encoder list; skips the test (with the reason) only if ffmpeg cannot run at all. */
export function requireFfmpeg(): { path: string; encoders: string } {
  if (ffmpegState === undefined) {
    try {
      const { path } = findFfmpeg();
      const r = spawnSync(path, ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
      ffmpegState = r.status === 0 ? { path, encoders: r.stdout } : `${path} -encoders failed: ${r.error?.message ?? r.stderr}`;
    } catch (e) {
      ffmpegState = `ffmpeg cannot run here: ${(e as Error).message}`;
    }
  }
  if (typeof ffmpegState === 'string') skip(ffmpegState);
  return ffmpegState;
}

export function hasEncoder(name: string): boolean {
  return new RegExp(`^ [A-Z.]{6} ${name} `, 'm').test(requireFfmpeg().encoders);
}

/** Encodes RGB frames (all the same size) with ffmpeg: `outArgs` go between the raw input and `out`. */
export function ffmpegEncode(frames: RgbImage[], out: string, outArgs: string[], fps = 10): void {
  const { path } = requireFfmpeg();
  const { width, height } = frames[0];
  const r = spawnSync(path, ['-hide_banner', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
    '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0', ...outArgs, out],
  { input: Buffer.concat(frames.map((f) => f.data)), encoding: 'utf8', timeout: HANG_GUARD_MS });
  if (r.status !== 0) throw new Error(`ffmpeg ${outArgs.join(' ')} ${out} failed: ${r.error?.message ?? r.stderr}`);
}

/** Output args for a small video that decodes to near-exact colours with this ffmpeg's best encoder. */
export function videoArgs(): { ext: string; args: string[] } {
  if (hasEncoder('libx264')) return { ext: 'mp4', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv444p', '-qp', '0'] };
  if (hasEncoder('mpeg4')) return { ext: 'avi', args: ['-c:v', 'mpeg4', '-q:v', '1'] };
  return { ext: 'avi', args: ['-c:v', 'mjpeg', '-q:v', '1'] };
}

export function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  return { width, height, data };
}

/** A flat frame whose colour encodes `i` (< 25) robustly, even through a GIF palette: R, G in steps of 60. */
export function indexFrame(i: number, width = 16, height = 12): RgbImage {
  return image(width, height, () => [(i % 5) * 60, Math.floor(i / 5) * 60, 0]);
}

/** Reads indexFrame's index back from the frame's mean colour. */
export function frameIndex(f: RgbImage): number {
  let r = 0, g = 0;
  for (let p = 0; p < f.width * f.height; p++) { r += f.data[p * 3]; g += f.data[p * 3 + 1]; }
  const n = f.width * f.height;
  return Math.round(r / n / 60) + 5 * Math.round(g / n / 60);
}

// ---- an independent PNG encoder: filter type 0 on every row, one IDAT ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export interface PngSpec {
  width: number; height: number; bitDepth: 1 | 2 | 4 | 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Samples in row-major order, channel-interleaved (palette indices for type 3), before bit packing. */
  samples: ArrayLike<number>;
  palette?: [number, number, number][];
  trns?: Uint8Array;
}

export function buildPng(s: PngSpec): Buffer {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[s.colorType];
  const rowBits = s.width * channels * s.bitDepth;
  const rowBytes = Math.ceil(rowBits / 8);
  const raw = Buffer.alloc((rowBytes + 1) * s.height);
  for (let y = 0; y < s.height; y++) {
    const row = y * (rowBytes + 1) + 1;
    for (let i = 0; i < s.width * channels; i++) {
      const v = s.samples[y * s.width * channels + i];
      if (s.bitDepth === 16) raw.writeUInt16BE(v, row + i * 2);
      else if (s.bitDepth === 8) raw[row + i] = v;
      else {
        const bit = i * s.bitDepth;
        raw[row + (bit >> 3)] |= v << (8 - s.bitDepth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(s.width, 0); ihdr.writeUInt32BE(s.height, 4);
  ihdr[8] = s.bitDepth; ihdr[9] = s.colorType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(s.palette ? [chunk('PLTE', Uint8Array.from(s.palette.flat()))] : []),
    ...(s.trns ? [chunk('tRNS', s.trns)] : []),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
