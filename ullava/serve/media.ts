// Media inside a request: only data: URLs (no remote fetch, no local paths), decoded here with the
// server's limits so that a bad file is a 400 naming the message part, never a crash. Images: any format
// ffmpeg reads (PNG without it), at most maxPixels. Videos (a `video_url` part, this server's extension):
// written to a private temp file for ffmpeg, probed for duration first, then sampled to `frames` frames.
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadImageBytes, loadVideoFrames, probeMedia, MediaError, type RgbImage } from '../media/index.js';
import { ApiError, badRequest } from './errors.js';

export interface MediaLimits {
  /** Width x height of an image or a video frame. */
  maxPixels: number;
  /** Longest video, seconds. */
  maxVideoSeconds: number;
  /** Frames sampled from a video. */
  videoFrames: number;
}

export type RequestMedia =
  | { kind: 'image'; image: RgbImage; key: string }
  | { kind: 'video'; frames: RgbImage[]; key: string };

/** data:[<mime>][;base64],<payload> -> bytes; anything else is refused with the reason. */
export function decodeDataUrl(url: string, param: string): { mime: string; bytes: Uint8Array } {
  if (typeof url !== 'string' || !url.startsWith('data:')) {
    const scheme = typeof url === 'string' ? url.slice(0, url.indexOf(':') + 1) || url.slice(0, 16) : typeof url;
    throw badRequest(`${param}: only data: URLs are accepted (this server never fetches remote URLs or reads local paths); got "${scheme}..."`, param, 'unsupported_url');
  }
  const comma = url.indexOf(',');
  if (comma < 0) throw badRequest(`${param}: a data: URL needs a comma before its payload`, param, 'invalid_data_url');
  const meta = url.slice(5, comma).split(';');
  const mime = meta[0] || 'application/octet-stream';
  if (!meta.includes('base64')) throw badRequest(`${param}: the data: URL must be base64 (data:<mime>;base64,...)`, param, 'invalid_data_url');
  const payload = url.slice(comma + 1).replace(/\s+/g, '');
  // Buffer.from(.., 'base64') skips bad characters silently; refuse them instead, as a client would want to know.
  if (payload.length === 0 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload) || payload.length % 4 === 1) {
    throw badRequest(`${param}: the base64 payload of the data: URL is not valid base64`, param, 'invalid_base64');
  }
  return { mime, bytes: new Uint8Array(Buffer.from(payload, 'base64')) };
}

const keyOf = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex');

/** A media error (not an image, too many pixels, corrupt, ...) as a 400 naming the request part. */
function asApiError(e: unknown, param: string): never {
  if (e instanceof MediaError) {
    const code = e.code === 'too-large' ? 'image_too_large' : e.code === 'ffmpeg-unavailable' || e.code === 'ffmpeg-failed' ? null : 'invalid_image';
    if (code === null) throw new ApiError(500, `${param}: ${e.message}`, 'server_error', 'media_decoder_failed', param);
    throw badRequest(e.message.replace(/^[^:]*: /, `${param}: `), param, code);
  }
  throw e;
}

export async function decodeImageUrl(url: string, param: string, limits: MediaLimits): Promise<RequestMedia> {
  const { bytes } = decodeDataUrl(url, param);
  try {
    const image = await loadImageBytes(bytes, { name: param, maxPixels: limits.maxPixels });
    return { kind: 'image', image, key: `image:${keyOf(bytes)}` };
  } catch (e) { asApiError(e, param); }
}

export async function decodeVideoUrl(url: string, param: string, limits: MediaLimits): Promise<RequestMedia> {
  const { bytes } = decodeDataUrl(url, param);
  const dir = await mkdtemp(join(tmpdir(), 'ullava-serve-video-'));
  try {
    const file = join(dir, 'video');
    await writeFile(file, bytes);
    let probe;
    try { probe = await probeMedia(file, param, { timeoutMs: 30_000 }); } catch (e) { asApiError(e, param); }
    if (probe.durationSec !== null && probe.durationSec > limits.maxVideoSeconds) {
      throw badRequest(`${param}: the video lasts ${probe.durationSec.toFixed(1)} s, over this server's limit of ${limits.maxVideoSeconds} s; send a shorter clip`, param, 'video_too_long');
    }
    try {
      const v = await loadVideoFrames(file, { frames: limits.videoFrames, mode: 'uniform', maxPixels: limits.maxPixels, timeoutMs: 60_000 });
      return { kind: 'video', frames: v.frames, key: `video:${keyOf(bytes)}` };
    } catch (e) { asApiError(e, param); }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
