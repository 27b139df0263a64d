// loadImage: any image file to 8-bit RGB. PNG is decoded in-process by pngjs (png.ts); everything else
// (JPEG, WebP, BMP, TIFF, the first frame of a GIF, ...) by ffmpeg, which is first asked for the size so
// that nothing over the pixel limit is ever decoded, then asked for one rgb24 frame as PAM over a pipe.
// Orientation metadata (JPEG EXIF, video rotation) is NOT applied by default, as the reference pipeline
// (PIL's Image.open without exif_transpose; decord) does not apply it: masks and boxes are then in the
// same pixel grid the model saw. `autorotate: true` lets ffmpeg apply it where it supports that.
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_PIXELS, MediaError, tooLarge } from './errors.js';
import { lastErrorLine, runFfmpeg } from './ffmpeg.js';
import type { RgbImage } from './image.js';
import { PamFormatError, parsePamFrames } from './pam.js';
import { decodePng, isPng } from './png.js';
import { ffmpegInputArgs, probeMedia } from './probe.js';
import { checkSourceFile } from './source-file.js';

export interface LoadImageOptions {
  /** Refuse images with more pixels than this (default 64 Mi pixels). */
  maxPixels?: number;
  /** Let ffmpeg apply rotation metadata (default false, like the reference pipeline). */
  autorotate?: boolean;
  /** Refuse an image that ffmpeg decoded with errors, e.g. a truncated JPEG (default true). */
  strict?: boolean;
  /** Per ffmpeg run (default 60 s). */
  timeoutMs?: number;
  /** Environment for finding ffmpeg (FFMPEG_PATH); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export async function loadImage(path: string, opts: LoadImageOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { absPath } = await checkSourceFile(path);
  if (isPng(await readMagic(absPath))) return decodePng(await readFile(absPath), path, maxPixels);
  return decodeWithFfmpeg(absPath, path, maxPixels, opts);
}

/**
 * An encoded image held in memory (PNG, JPEG, WebP, ... bytes, e.g. a Buffer read from a socket) to RGB, as
 * loadImage would decode the same bytes from a file. `name` is what error messages call it. PNG is decoded in
 * process; other formats go through a private temporary file, because ffmpeg probes its input (size, codec)
 * before decoding it, and a pipe cannot be read twice.
 */
export async function loadImageBytes(bytes: Uint8Array, opts: LoadImageOptions & { name?: string } = {}): Promise<RgbImage> {
  const name = opts.name ?? 'image bytes';
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array or Buffer of encoded image bytes, got ${typeof bytes}`);
  if (bytes.length === 0) throw new MediaError('empty', name, `${name}: no bytes (an empty buffer is not an image)`);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isPng(bytes)) return decodePng(bytes, name, maxPixels);
  const dir = await mkdtemp(join(tmpdir(), 'ullava-image-'));
  try {
    const file = join(dir, 'image');
    await writeFile(file, bytes);
    return await decodeWithFfmpeg(file, name, maxPixels, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readMagic(absPath: string): Promise<Uint8Array> {
  const fh = await open(absPath, 'r');
  try {
    const buf = new Uint8Array(8);
    const { bytesRead } = await fh.read(buf, 0, 8, 0);
    return buf.subarray(0, bytesRead);
  } finally { await fh.close(); }
}

async function decodeWithFfmpeg(absPath: string, path: string, maxPixels: number, opts: LoadImageOptions): Promise<RgbImage> {
  const { timeoutMs = 60_000, env } = opts;
  const probe = await probeMedia(absPath, path, { timeoutMs, env });
  if (probe.width * probe.height > maxPixels) throw tooLarge(path, probe.width, probe.height, maxPixels);
  const run = await runFfmpeg([
    '-v', 'error', ...ffmpegInputArgs(absPath, opts.autorotate),
    '-map', '0:v:0', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'pam', '-pix_fmt', 'rgb24', 'pipe:1',
  ], { path, timeoutMs, env, maxStdoutBytes: maxPixels * 3 + 4096 });
  // At -v error, ffmpeg prints only real decode errors ("overread 8" is a truncated JPEG, which ffmpeg
  // fills with grey and PIL refuses): strict mode (default) refuses them too.
  const damaged = run.code !== 0 || run.stdout.length === 0 || ((opts.strict ?? true) && run.stderr.trim() !== '');
  if (damaged) {
    throw new MediaError('corrupt', path, `${path}: ffmpeg found a ${probe.codec} image of ${probe.width} x ${probe.height} ` +
      `but could not decode it cleanly (${lastErrorLine(run.stderr, run.code)}); the file may be truncated or damaged` +
      (run.code === 0 && run.stdout.length > 0 ? ' (strict: false accepts what ffmpeg recovered)' : ''));
  }
  let frames: RgbImage[];
  try {
    frames = parsePamFrames(run.stdout, maxPixels);
  } catch (e) {
    if (e instanceof PamFormatError) throw new MediaError('ffmpeg-failed', path, `${path}: unexpected output from ffmpeg (${e.message})`, { cause: e });
    throw e;
  }
  return frames[0];
}
