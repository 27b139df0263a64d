// A chat session with u-LLaVA about one image or one video: multi-turn history, streamed answers,
// and the masks / boxes of every [SEG] / [LOC] in an answer. The image's CLIP features are computed once
// per image; SAM's (expensive) image embedding only when an answer first asks for a mask.
import { Tensor, stack, noGrad, scope, untrack, cast, reshape, type Device } from '../engine/index.js';
import type { LoadedUllava } from './models/ullava/load.js';
import { preprocessClip, preprocessClipBatch } from './models/clip/preprocess.js';
import { preprocessImage } from './models/sam/preprocess.js';
import { Conversation, segmentationPrompt } from './chat/conversation.js';
import { generate, type GenerateOptions, type FinishReason } from './chat/generate.js';
import { masksToBoxes, denormalizeFromPaddedSquare, type Box } from './media/boxes.js';
import type { RgbImage } from './media/image.js';

export interface Answer {
  text: string;
  finishReason: FinishReason;
  /** One per [SEG], in order: mask logits at the image's original size (row-major, > 0 = inside). */
  masks: Float32Array[];
  /** One per mask (or per [LOC] when the model has a box decoder): pixel x0, y0, x1, y1, or null (empty mask). */
  boxes: (Box | null)[];
  boxSource: 'loc-decoder' | 'mask' | null;
  /** The [tag]...[/tag] texts of the answer. */
  tags: string[];
  /** Generated tokens and timings. */
  tokens: number;
  timeToFirstTokenMs: number;
  totalMs: number;
}

type Media =
  | { kind: 'image'; image: RgbImage; features: Tensor; sam: { embedding: Tensor; inputSize: [number, number] } | null }
  | { kind: 'video'; features: Tensor };

/**
 * The decoder's box as a valid pixel box: corners ordered and clamped to the image (the head has no
 * sigmoid, so an untrained or uncertain one can point outside the image or give x1 < x0).
 */
export function clampBox(b: Box, width: number, height: number): Box {
  const cx = (v: number) => Math.min(Math.max(v, 0), width - 1), cy = (v: number) => Math.min(Math.max(v, 0), height - 1);
  return [cx(Math.min(b[0], b[2])), cy(Math.min(b[1], b[3])), cx(Math.max(b[0], b[2])), cy(Math.max(b[1], b[3]))];
}

function parseTags(text: string): string[] {
  return [...text.matchAll(/\[tag\]([\s\S]*?)\[\/tag\]/g)].map((m) => m[1].trim());
}

export class UllavaSession {
  private media: Media | null = null;
  readonly conversation = new Conversation();

  constructor(readonly loaded: LoadedUllava) {}

  private get device(): Device { return this.loaded.model.lm.model.embed_tokens.weight.device; }

  /** Starts a new conversation about an image. */
  setImage(image: RgbImage): void {
    this.disposeMedia();
    const cfg = this.loaded.config.vision;
    const pixels = Float32Array.from(preprocessClip(image, { size: cfg.imageSize }));
    const features = noGrad(() => scope(() => {
      const t = Tensor.fromHost(pixels, [1, 3, cfg.imageSize, cfg.imageSize], 'f32', this.device);
      const f = this.loaded.model.encodeImages(this.loaded.model.dtype === 'f32' ? t : cast(t, this.loaded.model.dtype));
      return reshape(f, [f.shape[1], f.shape[2]]);
    }));
    untrack(features);
    this.media = { kind: 'image', image, features, sam: null };
    this.conversation.reset({ kind: 'image', patches: features.shape[0] });
  }

  /** Starts a new conversation about a video (its sampled frames, e.g. 8). */
  setVideo(frames: RgbImage[]): void {
    if (frames.length === 0) throw new RangeError('setVideo: no frames');
    this.disposeMedia();
    const cfg = this.loaded.config.vision;
    const features = noGrad(() => scope(() => {
      const px = preprocessClipBatch(frames, { size: cfg.imageSize }, this.device);
      return this.loaded.model.encodeVideo(this.loaded.model.dtype === 'f32' ? px : cast(px, this.loaded.model.dtype));
    }));
    untrack(features);
    this.media = { kind: 'video', features };
    this.conversation.reset({ kind: 'video', tokens: features.shape[0] });
  }

  /** Starts a new conversation about nothing (text only): drops the image or video and the history. */
  clearMedia(): void {
    this.disposeMedia();
    this.conversation.reset(null);
  }

  /** Forgets the history (keeps the image or video). */
  reset(): void { this.conversation.reset(); }

  private samEmbedding(): { embedding: Tensor; inputSize: [number, number] } {
    if (!this.media || this.media.kind !== 'image') throw new Error('masks need an image');
    if (!this.media.sam) {
      const { image } = this.media;
      const sam = this.loaded.model.visualModel;
      const input = preprocessImage(image.data, image.height, image.width, { imageSize: sam.config.encoder.imageSize });
      const S = sam.config.encoder.imageSize;
      const embedding = noGrad(() => scope(() => {
        const px = Tensor.fromHost(input.pixels, [1, 3, S, S], 'f32', this.device);
        const dt = sam.promptEncoder.noMaskEmbed.weight.dtype;
        return sam.encodeImage(dt === 'f32' ? px : cast(px, dt));
      }));
      untrack(embedding);
      this.media.sam = { embedding, inputSize: input.inputSize };
    }
    return this.media.sam;
  }

  /**
   * Asks a question (the next user turn) and returns the answer with its masks and boxes.
   * `answerPrefix` makes the answer start with that text (e.g. "Sure. Info: [SEG]") and continue from it.
   */
  async ask(text: string, o: GenerateOptions & { answerPrefix?: string } = {}): Promise<Answer> {
    const t0 = performance.now();
    const { model, tokenizer, config } = this.loaded;
    this.conversation.user(text);
    let firstAt = 0;
    const onText = (s: string, b: number) => { if (!firstAt) firstAt = performance.now(); o.onText?.(s, b); };
    let gen, ids: number[];
    try {
      ids = tokenizer.encode(this.conversation.prompt(), { bos: true });
      const startId = this.media?.kind === 'video' ? config.tokens.videoStart : config.tokens.imageStart;
      const start = this.media ? ids.indexOf(startId) : -1;
      if (this.media && start < 0) throw new Error('the prompt lost its media span (was it truncated?)');
      // The prefix is encoded as the continuation of "ASSISTANT:" (SentencePiece's dummy prefix gives its leading space).
      const forced = o.answerPrefix ? tokenizer.encode(o.answerPrefix) : undefined;
      [gen] = await generate(model, tokenizer, [{ ids, span: this.media ? { start, features: this.media.features } : null, forced }], { ...o, onText });
    } catch (e) {
      this.conversation.popUser();
      throw e;
    }
    this.conversation.assistant(gen.text);
    const answer: Answer = { text: gen.text, finishReason: gen.finishReason, masks: [], boxes: [], boxSource: null,
      tags: parseTags(gen.text), tokens: gen.ids.length, timeToFirstTokenMs: (firstAt || performance.now()) - t0, totalMs: 0 };
    try {
      if (gen.segHidden.length && this.media?.kind === 'image') {
        const { image, features } = this.media;
        const sam = this.samEmbedding();
        const pointer = { features, prompts: gen.segHidden.map(() => ids) };
        const logits = noGrad(() => scope(() => model.decodeMasks(stack(gen.segHidden, 0), sam.embedding, sam.inputSize, [image.height, image.width], pointer)));
        const all = (await logits.toArray()) as Float32Array;
        logits.dispose();
        const n = image.width * image.height;
        for (let i = 0; i < gen.segHidden.length; i++) answer.masks.push(all.slice(i * n, (i + 1) * n));
      }
      if (gen.locHidden.length && model.detDecoder && this.media?.kind === 'image') {
        const { image } = this.media;
        const b = noGrad(() => scope(() => model.decodeBoxes(stack(gen.locHidden, 0))));
        const v = await b.toArray();
        b.dispose();
        for (let i = 0; i < gen.locHidden.length; i++) {
          const raw = denormalizeFromPaddedSquare([v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]], image.width, image.height);
          answer.boxes.push(clampBox(raw, image.width, image.height));
        }
        answer.boxSource = 'loc-decoder';
      } else if (answer.masks.length && this.media?.kind === 'image') {
        const { image } = this.media;
        answer.boxes = answer.masks.map((m) => masksToBoxes(m, image.width, image.height));
        answer.boxSource = 'mask';
      }
    } finally {
      for (const t of [...gen.segHidden, ...gen.locHidden]) t.dispose();
    }
    answer.totalMs = performance.now() - t0;
    return answer;
  }

  /** The RES evaluation prompt for a referring expression. */
  static segmentationPrompt(sentence: string): string { return segmentationPrompt(sentence); }

  private disposeMedia(): void {
    if (!this.media) return;
    this.media.features.dispose();
    if (this.media.kind === 'image') this.media.sam?.embedding.dispose();
    this.media = null;
  }

  dispose(): void { this.disposeMedia(); }
}
