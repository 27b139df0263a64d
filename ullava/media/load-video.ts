// loadVideoFrames: `frames` RGB frames of a video (mp4, webm, avi, mkv, ... or an animated GIF, as TGIF)
// chosen as u-LLaVA chooses them (frame-sampling.ts: 'uniform' for evaluation and chat, 'headtail' for
// training). Two ffmpeg runs: the probe demuxes the stream to count its packets without decoding (the
// reference's len(VideoReader)); then one decode pass keeps only the wanted frames with the select filter
// (`select=eq(n,i)+...`, n = decoded frame number from 0) and stops after the last of them, so the file is
// read once and only the kept frames are converted to RGB and piped back. A still image is a one-frame
// video (so it comes back `frames` times with the default padding). Frames keep their stored size: the
// reference's eval loader instead has decord resize them to image_size x image_size (aspect ratio NOT
// kept) while reading, which a caller that wants those exact pixels must reproduce.
import { DEFAULT_MAX_PIXELS, MediaError, tooLarge } from './errors.js';
import { lastErrorLine, runFfmpeg } from './ffmpeg.js';
import type { RgbImage } from './image.js';
import { PamFormatError, parsePamFrames } from './pam.js';
import { ffmpegInputArgs, probeMedia } from './probe.js';
import { checkSourceFile } from './source-file.js';
import { sampleFrameIndices, type FrameSampling } from './frame-sampling.js';

export interface LoadVideoOptions {
  /** How many frames (default 8, u-LLaVA's T). */
  frames?: number;
  /** 'uniform' (default; evaluation and chat) or 'headtail' (training). */
  mode?: FrameSampling;
  /** Repeat frames of a video shorter than `frames` so that exactly `frames` come back (default true). */
  pad?: boolean;
  /** Random source for 'headtail' (default Math.random). */
  random?: () => number;
  /** Refuse frames with more pixels than this (default 64 Mi pixels). */
  maxPixels?: number;
  /** Let ffmpeg apply rotation metadata (default false: decord, the reference's reader, ignores it). */
  autorotate?: boolean;
  /** Per ffmpeg run (default 300 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface VideoFrames {
  /** One image per index; a repeated index repeats the same RgbImage object. */
  frames: RgbImage[];
  /** The frame numbers chosen, in order. */
  indices: number[];
  /** Frames in the video stream (packets, as decord counts them). */
  totalFrames: number;
  /** Average frame rate ffmpeg reports; null when unknown. */
  fps: number | null;
  durationSec: number | null;
  /** indices / fps, as the reference's "sampled at ... seconds" message; null without fps. */
  timestamps: number[] | null;
}

export async function loadVideoFrames(path: string, opts: LoadVideoOptions = {}): Promise<VideoFrames> {
  const { frames: count = 8, mode = 'uniform', maxPixels = DEFAULT_MAX_PIXELS, timeoutMs = 300_000, env } = opts;
  const { absPath } = await checkSourceFile(path);
  const probe = await probeMedia(absPath, path, { countFrames: true, timeoutMs, env });
  if (probe.width * probe.height > maxPixels) throw tooLarge(path, probe.width, probe.height, maxPixels);
  const total = probe.frameCount!;
  if (total === 0) throw new MediaError('no-frames', path, `${path}: the ${probe.codec} video stream has no frames; the file may be truncated`);

  const indices = sampleFrameIndices(total, count, mode, { pad: opts.pad, random: opts.random });
  const wanted = [...new Set(indices)].sort((a, b) => a - b);
  const select = `select=${wanted.map((i) => `eq(n\\,${i})`).join('+')}`;
  const run = await runFfmpeg([
    '-v', 'error', ...ffmpegInputArgs(absPath, opts.autorotate), '-map', '0:v:0',
    '-vf', select, '-vsync', '0', '-frames:v', String(wanted.length),
    '-f', 'image2pipe', '-c:v', 'pam', '-pix_fmt', 'rgb24', 'pipe:1',
  ], { path, timeoutMs, env, maxStdoutBytes: wanted.length * (maxPixels * 3 + 4096) });

  let decoded: RgbImage[] = [];
  try {
    decoded = parsePamFrames(run.stdout, maxPixels);
  } catch (e) {
    if (e instanceof PamFormatError) throw new MediaError('ffmpeg-failed', path, `${path}: unexpected output from ffmpeg (${e.message})`, { cause: e });
    throw e;
  }
  if (decoded.length === 0) {
    throw new MediaError(run.code === 0 ? 'no-frames' : 'corrupt', path,
      `${path}: ffmpeg decoded none of frames ${wanted.join(',')} of the ${total}-frame ${probe.codec} stream ` +
      `(${lastErrorLine(run.stderr, run.code)}); the file may be truncated or damaged`);
  }
  // The packet count can exceed what decodes (a damaged tail, packets an edit list drops): frames past the
  // last decodable one are taken from it rather than failing the whole video.
  const byIndex = new Map(wanted.map((idx, k) => [idx, decoded[Math.min(k, decoded.length - 1)]]));
  return {
    frames: indices.map((i) => byIndex.get(i)!),
    indices,
    totalFrames: total,
    fps: probe.fps,
    durationSec: probe.durationSec,
    timestamps: probe.fps ? indices.map((i) => i / probe.fps!) : null,
  };
}
