// The media a user hands the API, turned into what a session takes: an image as a file path, encoded bytes
// (PNG, JPEG, WebP, ... in a Buffer / Uint8Array / ArrayBuffer) or raw RGB; a video as a file path or
// its frames. Each input also gets a key that changes when its content does, so that asking about the
// same image again reuses its encoded features (CLIP's and SAM's) instead of computing them anew.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkRgbImage, loadImage, loadImageBytes, loadVideoFrames, type RgbImage } from '../media/index.js';

/** A file path, an encoded image in memory, or raw 8-bit RGB (width * height * 3 bytes, rows top to bottom). */
export type ImageInput = string | Uint8Array | ArrayBuffer | RgbImage;
/** A video file path, or its frames as raw RGB. */
export type VideoInput = string | readonly RgbImage[];

export interface ReadMedia<T> { value: T; key: string }

const IMAGE_KINDS = 'a file path, encoded image bytes (a Buffer, Uint8Array or ArrayBuffer holding PNG, JPEG, WebP, ...) ' +
  'or raw RGB { data: Uint8Array of width * height * 3 bytes, width, height }';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object with keys ${Object.keys(v as object).slice(0, 5).join(', ') || '(none)'}`;
  return typeof v;
}

function isRgbImage(v: unknown): v is RgbImage {
  return typeof v === 'object' && v !== null && 'data' in v && 'width' in v && 'height' in v;
}

/** A key of a file that changes when it is rewritten (path, size, modification time). */
async function fileKey(path: string, where: string): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs).catch(() => null);
  // A missing file is reported by the decoder with its usual message; the key then never matches.
  return st ? `${abs}|${st.size}|${st.mtimeMs}` : `${where}|missing|${Math.random()}`;
}

function contentKey(images: readonly RgbImage[]): string {
  const h = createHash('sha1');
  for (const im of images) h.update(`${im.width}x${im.height};`).update(im.data);
  return h.digest('hex');
}

export async function readImage(input: ImageInput, where: string): Promise<ReadMedia<RgbImage>> {
  if (typeof input === 'string') {
    if (input === '') throw new TypeError(`${where}: the image path is empty`);
    const key = `file:${await fileKey(input, where)}`;
    return { value: await loadImage(input), key };
  }
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
    const value = await loadImageBytes(bytes, { name: `${where}: the image bytes` });
    return { value, key: `rgb:${contentKey([value])}` };
  }
  if (isRgbImage(input)) {
    checkRgbImage(input, where);
    return { value: input, key: `rgb:${contentKey([input])}` };
  }
  throw new TypeError(`${where}: an image is ${IMAGE_KINDS}; got ${describe(input)}`);
}

export async function readVideo(input: VideoInput, frames: number, where: string): Promise<ReadMedia<RgbImage[]>> {
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`${where}: frames must be a positive integer, got ${frames}`);
  if (typeof input === 'string') {
    if (input === '') throw new TypeError(`${where}: the video path is empty`);
    const key = `file:${await fileKey(input, where)}|${frames}`;
    return { value: (await loadVideoFrames(input, { frames, mode: 'uniform' })).frames, key };
  }
  if (Array.isArray(input)) {
    if (input.length === 0) throw new RangeError(`${where}: the video has no frames`);
    input.forEach((f, i) => {
      if (!isRgbImage(f)) throw new TypeError(`${where}: frame ${i} is not raw RGB { data, width, height }; got ${describe(f)}`);
      checkRgbImage(f, `${where}: frame ${i}`);
    });
    return { value: [...input], key: `frames:${contentKey(input)}` };
  }
  throw new TypeError(`${where}: a video is a file path or an array of raw RGB frames { data, width, height }; got ${describe(input)}`);
}
