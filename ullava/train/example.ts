// One training sample prepared on the host: token ids with their labels (the prompt masked with -100,
// the answers supervised, as LLaVA's preprocess_v1 does for conv_sep2), the image preprocessed for CLIP
// and, when the sample has masks or boxes, for SAM; the positions of its [SEG] / [LOC] tokens and their
// targets. Everything here is plain arrays: batches are built from these while the GPU runs a step.
import { Conversation } from '../chat/conversation.js';
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import type { UllavaConfig } from '../models/ullava/config.js';
import { preprocessClip } from '../models/clip/preprocess.js';
import { preprocessImage } from '../models/sam/preprocess.js';
import { loadImage, normalizeToPaddedSquare, type RgbImage } from '../media/index.js';
import { decodeRle, ManifestError, type MaskSource, type TrainingSample } from './sample.js';

export const IGNORE_INDEX = -100;

export interface PreparedExample {
  where: string;
  ids: number[];
  /** Same length as ids: the token to predict at that position, or -100 (not supervised). */
  labels: number[];
  /** Index of <img_beg> in ids, or -1. */
  imageStart: number;
  clipPixels: Float32Array | null;
  sam: { pixels: Float32Array; inputSize: [number, number]; originalSize: [number, number] } | null;
  /** Positions of the [SEG] tokens kept after truncation, each with its target mask (0/1, h * w). */
  segPositions: number[];
  masks: Uint8Array[];
  locPositions: number[];
  /** Targets of the [LOC] tokens, xyxy normalised in the padded square (as the official det head). */
  boxes: [number, number, number, number][];
}

export interface PrepareOptions {
  tokenizer: LlamaTokenizer;
  config: UllavaConfig;
  /** Longest sequence in tokens (official: 1024 stage I, 512 stage II); longer samples are truncated. */
  maxLength: number;
}

/** The ids and labels of a conversation in u-LLaVA's training template (Vicuna v1, conv_sep2). */
export function tokenizeConversation(tok: LlamaTokenizer, turns: { from: string; value: string }[], patches: number | null): { ids: number[]; labels: number[] } {
  const ids: number[] = [], labels: number[] = [];
  const push = (xs: number[], supervised: boolean) => { for (const x of xs) { ids.push(x); labels.push(supervised ? x : IGNORE_INDEX); } };
  for (let i = 0; i < turns.length; i += 2) {
    // The first round's prompt carries the system text and the image span; later rounds start at "USER:".
    const prompt = i === 0
      ? new Conversation(patches === null ? null : { kind: 'image', patches }).user(turns[0].value).prompt()
      : `USER: ${turns[i].value} ASSISTANT:`;
    push(tok.encode(prompt, { bos: i === 0 }), false);
    // The answer continues "ASSISTANT:" (SentencePiece's dummy prefix gives its leading space), then </s>.
    push([...tok.encode(turns[i + 1].value), tok.eosId], true);
  }
  return { ids, labels };
}

async function loadMask(m: MaskSource, where: string, i: number, h: number, w: number): Promise<Uint8Array> {
  let mask: Uint8Array, mh: number, mw: number;
  if ('png' in m) {
    const img: RgbImage = await loadImage(m.png).catch((e) => { throw new ManifestError(`${where}: masks[${i}]: ${(e as Error).message}`); });
    mask = new Uint8Array(img.width * img.height);
    for (let p = 0; p < mask.length; p++) mask[p] = img.data[3 * p] | img.data[3 * p + 1] | img.data[3 * p + 2] ? 1 : 0;
    [mh, mw] = [img.height, img.width];
  } else {
    mask = decodeRle(m.rle, `${where}: masks[${i}]`);
    [mh, mw] = m.rle.size;
  }
  if (mh !== h || mw !== w) throw new ManifestError(`${where}: masks[${i}] is ${mw}x${mh} but the image is ${w}x${h} (masks must be at the image's size)`);
  return mask;
}

export async function prepareExample(s: TrainingSample, o: PrepareOptions): Promise<PreparedExample> {
  const { tokenizer: tok, config } = o;
  const v = config.vision;
  const patches = s.image ? (v.imageSize / v.patchSize) ** 2 : null;
  let { ids, labels } = tokenizeConversation(tok, s.conversations, patches);
  const imageStart = s.image ? ids.indexOf(config.tokens.imageStart) : -1;
  if (s.image && (imageStart < 0 || imageStart + patches! + 1 >= o.maxLength)) {
    throw new ManifestError(`${s.where}: the image span does not fit in max_length ${o.maxLength} (raise training.max_length)`);
  }
  if (ids.length > o.maxLength) { ids = ids.slice(0, o.maxLength); labels = labels.slice(0, o.maxLength); }
  const positions = (id: number | null) => id === null ? [] : ids.flatMap((t, p) => (t === id && labels[p] !== IGNORE_INDEX ? [p] : []));
  const segAll = positions(config.segTokenId), locAll = positions(config.locTokenId);
  let image: RgbImage | null = null;
  if (s.image) image = await loadImage(s.image).catch((e) => { throw new ManifestError(`${s.where}: image: ${(e as Error).message}`); });
  const clipPixels = image ? Float32Array.from(preprocessClip(image, { size: v.imageSize })) : null;
  // Truncation keeps the first [SEG]s; their masks are the first ones.
  const masks: Uint8Array[] = [];
  for (let i = 0; i < Math.min(segAll.length, s.masks.length); i++) masks.push(await loadMask(s.masks[i], s.where, i, image!.height, image!.width));
  const segPositions = segAll.slice(0, masks.length);
  const boxes = s.boxes.slice(0, locAll.length).map((b) => normalizeToPaddedSquare(b, image!.width, image!.height) as [number, number, number, number]);
  const locPositions = locAll.slice(0, boxes.length);
  let sam: PreparedExample['sam'] = null;
  if (image && segPositions.length) {
    const input = preprocessImage(image.data, image.height, image.width, { imageSize: config.sam.encoder.imageSize });
    sam = { pixels: input.pixels, inputSize: input.inputSize, originalSize: input.originalSize };
  }
  return { where: s.where, ids, labels, imageStart, clipPixels, sam, segPositions, masks, locPositions, boxes };
}
