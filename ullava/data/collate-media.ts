// The host-side media work of the collator, as plain jobs a worker thread can run (collate-pool.ts) or the
// loader can run inline: decode an image and preprocess it for CLIP (white pad to square, 224) and, when
// the sample has masks, for SAM (longest side 1024, pad); decode a video's frames for CLIP; decode masks.
// Jobs and results are structured-cloneable; every error names the sample's line and the field and path.
import { loadImage, loadVideoFrames, sampleFrameIndices, type FrameSampling, type RgbImage } from '../media/index.js';
import { preprocessClip } from '../models/clip/preprocess.js';
import { preprocessImage } from '../models/sam/preprocess.js';
import { splitmix32 } from './rng.js';
import { decodeMaskSource, type DecodedMask } from './mask-decode.js';
import { ManifestError, type MaskSource, type VideoSource } from './manifest-types.js';

export type MediaJob =
  | { kind: 'image'; where: string; path: string; clipSize: number; samSize: number | null }
  | { kind: 'video'; where: string; video: VideoSource; frames: number; mode: FrameSampling; seed: number; clipSize: number }
  | { kind: 'masks'; where: string; masks: { field: string; source: MaskSource }[] };

export interface ImageResult {
  kind: 'image';
  height: number; width: number;
  /** CLIP input [3, S, S]. */
  clip: Float32Array;
  /** SAM input [3, L, L] with where the resized image sits; null when not asked for. */
  sam: { pixels: Float32Array; inputSize: [number, number]; originalSize: [number, number] } | null;
}
export interface VideoResult { kind: 'video'; frames: number; clip: Float32Array }
export interface MasksResult { kind: 'masks'; masks: DecodedMask[] }
export type MediaResult = ImageResult | VideoResult | MasksResult;

const wrap = (where: string, field: string) => (e: unknown): never => {
  if (e instanceof ManifestError) throw e;
  throw new ManifestError(`${where}: "${field}": ${(e as Error)?.message ?? e}`);
};

async function runImage(j: Extract<MediaJob, { kind: 'image' }>): Promise<ImageResult> {
  const img = await loadImage(j.path).catch(wrap(j.where, 'image'));
  const clip = Float32Array.from(preprocessClip(img, { size: j.clipSize }));
  const sam = j.samSize === null ? null : preprocessImage(img.data, img.height, img.width, { imageSize: j.samSize });
  return { kind: 'image', height: img.height, width: img.width, clip, sam: sam && { pixels: sam.pixels, inputSize: sam.inputSize, originalSize: sam.originalSize } };
}

async function runVideo(j: Extract<MediaJob, { kind: 'video' }>): Promise<VideoResult> {
  const random = splitmix32(j.seed);
  let frames: RgbImage[];
  if ('path' in j.video) {
    frames = (await loadVideoFrames(j.video.path, { frames: j.frames, mode: j.mode, random }).catch(wrap(j.where, 'video'))).frames;
  } else {
    const paths = j.video.frames;
    const idx = sampleFrameIndices(paths.length, j.frames, j.mode, { random });
    const loaded = new Map<number, RgbImage>();
    for (const i of idx) if (!loaded.has(i)) loaded.set(i, await loadImage(paths[i]).catch(wrap(j.where, `video.frames[${i}]`)));
    frames = idx.map((i) => loaded.get(i)!);
  }
  const per = 3 * j.clipSize * j.clipSize;
  const clip = new Float32Array(frames.length * per);
  frames.forEach((f, t) => clip.set(preprocessClip(f, { size: j.clipSize }), t * per));
  return { kind: 'video', frames: frames.length, clip };
}

/** Runs one job on this thread. */
export async function runMediaJob(j: MediaJob): Promise<MediaResult> {
  if (j.kind === 'image') return runImage(j);
  if (j.kind === 'video') return runVideo(j);
  const masks: DecodedMask[] = [];
  for (const m of j.masks) masks.push(await decodeMaskSource(m.source, `${j.where}: "${m.field}"`));
  return { kind: 'masks', masks };
}

/** The buffers a result can hand over to another thread without copying. */
export function transferables(r: MediaResult): ArrayBuffer[] {
  const out: ArrayBufferLike[] = [];
  if (r.kind === 'image') { out.push(r.clip.buffer); if (r.sam) out.push(r.sam.pixels.buffer); }
  else if (r.kind === 'video') out.push(r.clip.buffer);
  else for (const m of r.masks) out.push(m.data.buffer);
  return [...new Set(out)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

/** What runs jobs: inline (this thread) or a worker pool; the loader uses either the same way. */
export interface MediaRunner {
  run(job: MediaJob): Promise<MediaResult>;
  close(): Promise<void>;
}

export const inlineMediaRunner: MediaRunner = { run: runMediaJob, close: async () => undefined };
