// The GPU side of one request, run by the scheduler's loop only (the engine's scopes and default device
// are process-wide, so nothing else touches the GPU): encode its image or video, start its generation
// sequence, and once the answer is complete, draw the masks of its [SEG] tokens and the boxes of its [LOC]
// tokens at the image's size (as UllavaSession.ask does for the CLI).
import { Tensor, stack, noGrad, scope, untrack, cast, reshape } from '../../engine/index.js';
import type { LoadedUllava } from '../models/ullava/load.js';
import { preprocessClip, preprocessClipBatch } from '../models/clip/preprocess.js';
import { preprocessImage } from '../models/sam/preprocess.js';
import { GenerationSequence, type SequenceOptions } from '../chat/sequence.js';
import type { FinishReason } from '../chat/generate.js';
import { masksToBoxes, denormalizeFromPaddedSquare, type Box } from '../media/boxes.js';
import { clampBox } from '../session.js';
import type { RequestMedia } from './media.js';

export interface JobSpec {
  ids: number[];
  /** Index of the media span's start token (-1 without media). */
  spanStart: number;
  media: RequestMedia | null;
  /** The answer's forced beginning, as token ids (e.g. "Sure. Info: [SEG]"). */
  forced?: number[];
  options: SequenceOptions;
}

export interface JobResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Mask logits at the image's size, one per [SEG]. */
  masks: Float32Array[];
  boxes: (Box | null)[];
  boxSource: 'loc-decoder' | 'mask' | null;
  width: number;
  height: number;
}

const device = (l: LoadedUllava) => l.model.lm.model.embed_tokens.weight.device;

/** CLIP features of the request's image or video, [tokens, hidden] (the caller disposes them). */
function encodeMedia(l: LoadedUllava, media: RequestMedia): Tensor {
  const cfg = l.config.vision;
  const dt = l.model.dtype;
  const f = noGrad(() => scope(() => {
    if (media.kind === 'image') {
      const px = Tensor.fromHost(Float32Array.from(preprocessClip(media.image, { size: cfg.imageSize })), [1, 3, cfg.imageSize, cfg.imageSize], 'f32', device(l));
      const out = l.model.encodeImages(dt === 'f32' ? px : cast(px, dt));
      return reshape(out, [out.shape[1], out.shape[2]]);
    }
    const px = preprocessClipBatch(media.frames, { size: cfg.imageSize }, device(l));
    return l.model.encodeVideo(dt === 'f32' ? px : cast(px, dt));
  }));
  untrack(f);
  return f;
}

/** A started request: its sequence (prefill encoded, not yet read back) and the features it holds. */
export class RunningJob {
  readonly seq: GenerationSequence;
  private features: Tensor | null = null;

  constructor(readonly loaded: LoadedUllava, readonly spec: JobSpec) {
    let span = null;
    if (spec.media) {
      this.features = encodeMedia(loaded, spec.media);
      span = { start: spec.spanStart, features: this.features };
    }
    try {
      this.seq = new GenerationSequence(loaded.model, loaded.tokenizer, { ids: spec.ids, span, forced: spec.forced }, spec.options);
    } catch (e) { this.dispose(); throw e; }
  }

  /**
   * After the prefill the KV cache holds what the features gave; they are no longer needed, unless the
   * model's [SEG] points at them (seg_prompt "pointer"): then they stay until the masks are decoded.
   */
  releaseFeatures(): void {
    if (this.loaded.model.config.segPrompt === 'pointer') return;
    this.features?.dispose(); this.features = null;
  }

  /** The answer with its masks and boxes (reads them back); frees the sequence. */
  async finish(): Promise<JobResult> {
    const { model } = this.loaded;
    const gen = this.seq.result();
    this.seq.dispose();
    const features = this.features;
    this.features = null;
    const media = this.spec.media;
    const image = media?.kind === 'image' ? media.image : null;
    const out: JobResult = { text: gen.text, finishReason: gen.finishReason, promptTokens: this.spec.ids.length, completionTokens: gen.ids.length,
      masks: [], boxes: [], boxSource: null, width: image?.width ?? 0, height: image?.height ?? 0 };
    try {
      if (gen.segHidden.length && image) {
        const sam = model.visualModel;
        const S = sam.config.encoder.imageSize;
        const input = preprocessImage(image.data, image.height, image.width, { imageSize: S });
        const logits = noGrad(() => scope(() => {
          const px = Tensor.fromHost(input.pixels, [1, 3, S, S], 'f32', device(this.loaded));
          const dt = sam.promptEncoder.noMaskEmbed.weight.dtype;
          const embedding = sam.encodeImage(dt === 'f32' ? px : cast(px, dt));
          return model.decodeMasks(stack(gen.segHidden, 0), embedding, input.inputSize, [image.height, image.width],
            features ? { features, prompts: gen.segHidden.map(() => this.spec.ids) } : null);
        }));
        const all = (await logits.toArray()) as Float32Array;
        logits.dispose();
        const n = image.width * image.height;
        for (let i = 0; i < gen.segHidden.length; i++) out.masks.push(all.slice(i * n, (i + 1) * n));
      }
      if (gen.locHidden.length && model.detDecoder && image) {
        const b = noGrad(() => scope(() => model.decodeBoxes(stack(gen.locHidden, 0))));
        const v = await b.toArray();
        b.dispose();
        for (let i = 0; i < gen.locHidden.length; i++) {
          out.boxes.push(clampBox(denormalizeFromPaddedSquare([v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]], image.width, image.height), image.width, image.height));
        }
        out.boxSource = 'loc-decoder';
      } else if (out.masks.length && image) {
        out.boxes = out.masks.map((m) => masksToBoxes(m, image.width, image.height));
        out.boxSource = 'mask';
      }
    } finally {
      for (const t of [...gen.segHidden, ...gen.locHidden]) t.dispose();
      features?.dispose();
    }
    return out;
  }

  dispose(): void {
    this.seq?.dispose();
    this.features?.dispose(); this.features = null;
  }
}
