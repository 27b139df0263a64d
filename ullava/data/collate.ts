// The collator: one manifest record to a PreparedExample (token ids and labels, media inputs, the
// positions of [SEG] / [LOC] with their masks and boxes), the work the trainer's loader does ahead of the
// GPU. Records with targets become conversations here (prompts.ts, drawn with the sample's seeded stream);
// the text goes through the Vicuna v1 template with LLaVA's label mask (collate-tokens.ts); whole rounds
// are dropped to fit max_length; images go through CLIP's and (when masks are kept) SAM's preprocessing
// once per image (collate-cache.ts), on worker threads when the runner is a pool (collate-pool.ts).
// Masks stay at the image's size (the model's mask logits are upsampled to it, as the official code);
// boxes are normalised to the padded square, as the official det head's targets.
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import type { UllavaConfig } from '../models/ullava/config.js';
import type { FrameSampling } from '../media/index.js';
import { masksToBoxes, normalizeToPaddedSquare, type Box } from '../media/boxes.js';
import { materialize } from './prompts.js';
import { splitmix32 } from './rng.js';
import { IGNORE_INDEX, tokenizeRounds, truncateRounds, type MediaBlock } from './collate-tokens.js';
import { inlineMediaRunner, type ImageResult, type MasksResult, type MediaRunner, type VideoResult } from './collate-media.js';
import { ImageCache } from './collate-cache.js';
import { ManifestError, type ManifestRecord } from './manifest-types.js';
import { BACKGROUND_WORD, patchWordTargets } from './patch-words.js';

export { IGNORE_INDEX };

export interface PreparedExample {
  where: string;
  ids: number[];
  /** Same length as ids: the token to predict at that position, or -100 (not supervised). */
  labels: number[];
  media: 'image' | 'video' | null;
  /** Index of <img_beg> / <vid_beg> in ids, or -1. */
  mediaStart: number;
  /** CLIP input: [3, S, S] for an image, [T, 3, S, S] for a video's T frames; null without media. */
  clipPixels: Float32Array | null;
  /** Frames of a video (0 for an image or nothing). */
  frames: number;
  sam: { pixels: Float32Array; inputSize: [number, number]; originalSize: [number, number] } | null;
  /** Positions of the supervised [SEG] tokens kept, each with its mask (h * w: 0, 1, or 255 = ignore). */
  segPositions: number[];
  masks: Uint8Array[];
  locPositions: number[];
  /** Targets of the [LOC] tokens, xyxy normalised in the padded square (as the official det head). */
  boxes: [number, number, number, number][];
  /** Later rounds dropped to fit max_length. */
  droppedRounds: number;
  /** With PrepareOptions.patchWords and "objects" on an image line: per CLIP patch, the token ids it names (patch-words.ts); else null. */
  patchWords: number[][] | null;
}

export interface PrepareOptions {
  tokenizer: LlamaTokenizer;
  config: UllavaConfig;
  /** Longest sequence in tokens (official: 1024 stage I, 512 stage II); later rounds are dropped to fit. */
  maxLength: number;
  /** The sample's seed (rng.ts sampleSeed(run seed, epoch, index)): draws of prompts, expressions, frames. Default: the line number. */
  seed?: number;
  /** Where media jobs run (default: this thread). */
  runner?: MediaRunner;
  /** Shared per-image cache (default: none). */
  cache?: ImageCache;
  /** Frames per video (official T = 8) and how they are chosen (training: 'headtail'). */
  videoFrames?: number;
  frameMode?: FrameSampling;
  /** Also give each CLIP patch the words of the object on it (the "vision" stage): needs "objects" on image lines. */
  patchWords?: boolean;
}

export async function prepareExample(r: ManifestRecord, o: PrepareOptions): Promise<PreparedExample> {
  const { tokenizer: tok, config } = o;
  const v = config.vision;
  const runner = o.runner ?? inlineMediaRunner;
  const seed = (o.seed ?? r.line) >>> 0;
  const sample = materialize(r, splitmix32(seed), config.locTokenId === null ? 'published' : 'loc');
  const patches = (v.imageSize / v.patchSize) ** 2;
  const T = o.videoFrames ?? 8;
  const media: MediaBlock = r.image ? { kind: 'image', patches } : r.video ? { kind: 'video', tokens: T + patches } : null;
  const { kept, dropped } = truncateRounds(tokenizeRounds(tok, sample.conversations, media), o.maxLength, r.where, media);
  const ids = kept.flatMap((x) => x.ids), labels = kept.flatMap((x) => x.labels);
  const mediaStart = media ? ids.indexOf(media.kind === 'image' ? config.tokens.imageStart : config.tokens.videoStart) : -1;
  if (media && mediaStart < 0) throw new ManifestError(`${r.where}: the ${media.kind} block is missing from the tokens (the tokenizer lacks u-LLaVA's added tokens?)`);

  const positions = (id: number | null) => id === null ? [] : ids.flatMap((t, p) => (t === id && labels[p] !== IGNORE_INDEX ? [p] : []));
  const nSeg = kept.reduce((a, x) => a + x.seg, 0), nLoc = kept.reduce((a, x) => a + x.loc, 0);
  // Masks and boxes are in answer order: the kept rounds' are the first ones.
  const maskSources = sample.masks.slice(0, nSeg);
  const boxSources = sample.boxes.slice(0, nLoc);
  const segPositions = positions(config.segTokenId).slice(0, maskSources.length);
  const locPositions = positions(config.locTokenId).slice(0, boxSources.length);
  const needSam = segPositions.length > 0;

  const samSize = config.sam.encoder.imageSize;
  const imageJob = r.image ? { kind: 'image' as const, where: r.where, path: r.image, clipSize: v.imageSize, samSize: needSam ? samSize : null } : null;
  const [img, vid, decoded, objectDecoded] = await Promise.all([
    imageJob ? (o.cache ? o.cache.get(runner, imageJob) : runner.run(imageJob) as Promise<ImageResult>) : null,
    r.video ? runner.run({ kind: 'video', where: r.where, video: r.video, frames: T, mode: o.frameMode ?? 'headtail', seed: (seed ^ 0x5bd1e995) >>> 0, clipSize: v.imageSize }) as Promise<VideoResult> : null,
    maskSources.length ? runner.run({ kind: 'masks', where: r.where, masks: maskSources.map((source, i) => ({ field: sample.maskFields[i], source })) }) as Promise<MasksResult> : null,
    // The objects' masks decode beside the image (the "vision" stage's patch words).
    o.patchWords && r.image && r.objects.length
      ? runner.run({ kind: 'masks', where: r.where, masks: r.objects.map((x, i) => ({ field: `objects[${i}].mask`, source: x.mask })) }) as Promise<MasksResult> : null,
  ]);
  const patchWords = objectDecoded && img ? objectPatchWords(r, img, objectDecoded, o) : null;
  const masks = (decoded?.masks ?? []).map((m, i) => {
    if (img && (m.height !== img.height || m.width !== img.width)) {
      throw new ManifestError(`${r.where}: "${sample.maskFields[i]}" is ${m.width}x${m.height} but the image is ${img.width}x${img.height} (masks must be at the image's size)`);
    }
    return m.data;
  });
  const boxes = boxSources.map((b, i): [number, number, number, number] => {
    if (!img) throw new ManifestError(`${r.where}: boxes need an image`);
    let px: Box | null = b;
    if (!px) {
      // The box of the round's mask (official semantic / salient: mask2bbox); 255 (ignore) is not inside.
      const m = masks[Math.min(i, masks.length - 1)];
      px = m ? masksToBoxes(m.map((x) => (x === 1 ? 1 : 0)), img.width, img.height) : null;
      if (!px) throw new ManifestError(`${r.where}: the [LOC] of round ${i + 1} has no box and its mask is empty; give the target a "box"`);
    }
    return normalizeToPaddedSquare(px, img.width, img.height) as [number, number, number, number];
  });
  return {
    where: r.where, ids, labels, media: media?.kind ?? null, mediaStart,
    clipPixels: img ? img.clip : vid ? vid.clip : null, frames: vid ? vid.frames : 0,
    sam: needSam && img ? img.sam : null,
    segPositions, masks, locPositions, boxes, droppedRounds: dropped, patchWords,
  };
}

/** The first token of each word (its SentencePiece with the word-start mark), cached per tokenizer. */
const wordTokens = new WeakMap<LlamaTokenizer, Map<string, number>>();
export function wordToken(tok: LlamaTokenizer, word: string): number {
  let m = wordTokens.get(tok);
  if (!m) wordTokens.set(tok, (m = new Map()));
  let id = m.get(word);
  if (id === undefined) {
    id = tok.encode(word, { bos: false })[0];
    if (id === undefined) throw new ManifestError(`the word "${word}" has no tokens`);
    m.set(word, id);
  }
  return id;
}

function objectPatchWords(r: ManifestRecord, img: ImageResult, decoded: MasksResult, o: PrepareOptions): number[][] {
  const objects = decoded.masks.map((m, i) => {
    if (m.height !== img.height || m.width !== img.width) {
      throw new ManifestError(`${r.where}: "objects[${i}].mask" is ${m.width}x${m.height} but the image is ${img.width}x${img.height}`);
    }
    const ob = r.objects[i];
    return { mask: m.data, words: [ob.category, ...ob.attributes].map((w) => wordToken(o.tokenizer, w)) };
  });
  const v = o.config.vision;
  return patchWordTargets(objects, img.width, img.height, v.imageSize, v.patchSize, wordToken(o.tokenizer, BACKGROUND_WORD));
}

