// u-LLaVA: CLIP features, projected into the LLM's embedding space, overwrite the placeholder tokens
// between <img_beg> and </img_end> (or <vid_beg> / </vid_end>); Vicuna generates; the final-norm hidden
// state that emitted each [SEG] goes through the seg projector to SAM's prompt encoder as a sparse token,
// and SAM's mask decoder draws the mask. Key names follow the published checkpoint: llm.model.*,
// llm.lm_head.*, llm.vision_encoder.*, llm.vision_projector.*, visual_model.*, text_hidden_fcs.*
// (the newer code: seg_projector.*, det_projector.*, det_decoder.*).
import {
  Tensor, concat, slice, stack, reshape, mean, scope, noGrad, cast, type DType,
} from '../../../engine/index.js';
import { Module, Linear, MLP, withSeed, seedPlus, type LayerOptions } from '../../../nn/index.js';
import { LlamaForCausalLM } from '../llama/model.js';
import { ClipVisionModel } from '../clip/model.js';
import { Sam } from '../sam/model.js';
import type { UllavaConfig } from './config.js';
import { ShapeError } from '../../../engine/errors.js';
import { pointerLogits, pointerPrompts, type PointerInputs } from './pointer-prompt.js';

/** The language model with its vision tower and projector, keys under `llm.`. */
export class UllavaCore extends Module {
  readonly projector: Linear | MLP;
  constructor(readonly lm: LlamaForCausalLM, readonly vision: ClipVisionModel, config: UllavaConfig, o: LayerOptions) {
    super();
    // The LLaMA modules are registered here directly so the keys are llm.model.* and llm.lm_head.*.
    this.module('model', lm.model);
    if (lm.lm_head) this.module('lm_head', lm.lm_head);
    this.module('vision_encoder', vision);
    const [v, h] = [config.vision.hiddenSize, config.llm.hiddenSize];
    this.projector = this.module('vision_projector', config.projector === 'linear'
      ? new Linear(v, h, o) : new MLP([v, h, h], 'gelu', { ...o, keys: 'sequential' }));
  }
}

export interface SpliceSpan {
  /** Index of <img_beg> / <vid_beg> in the token ids. */
  start: number;
  /** Projected features [n, hidden] that replace positions start+1 .. start+n. */
  features: Tensor;
}

export class UllavaForCausalLM extends Module {
  readonly llm: UllavaCore;
  readonly visualModel: Sam;
  /** text_hidden_fcs (published) or seg_projector (newer): hidden -> 256, the [SEG] prompt for SAM. */
  readonly segHead: MLP;
  readonly detProjector: MLP | null;
  readonly detDecoder: MLP | null;

  constructor(readonly config: UllavaConfig, o: LayerOptions = {}) {
    super();
    const lm = new LlamaForCausalLM(config.llm, withSeed(o, 0));
    const vision = new ClipVisionModel(config.vision, withSeed(o, 10_000));
    this.llm = this.module('llm', new UllavaCore(lm, vision, config, withSeed(o, 20_000)));
    this.visualModel = this.module('visual_model', new Sam(config.sam, seedPlus(o.seed, 30_000)));
    if (o.dtype && o.dtype !== 'f32') this.visualModel.to(o.dtype);
    const H = config.llm.hiddenSize, D = config.outDim;
    this.segHead = this.module(config.layout === 'head' ? 'seg_projector' : 'text_hidden_fcs',
      new MLP([H, H, D], 'relu', { ...withSeed(o, 40_000), keys: 'sequential' }));
    if (config.layout === 'head') {
      this.detProjector = this.module('det_projector', new MLP([H, H, D], 'relu', { ...withSeed(o, 50_000), keys: 'sequential' }));
      this.detDecoder = this.module('det_decoder', new MLP([D, D, D / 2, 4], 'relu', { ...withSeed(o, 60_000), keys: 'sequential' }));
    } else {
      this.detProjector = null;
      this.detDecoder = null;
    }
  }

  get lm(): LlamaForCausalLM { return this.llm.lm; }
  get dtype(): DType { return this.lm.dtype; }

  /** CLIP features of images [B, 3, S, S] projected into the LLM's space: [B, patches, hidden]. */
  encodeImages(pixels: Tensor): Tensor {
    return scope(() => {
      const feats = this.runVision(() => this.llm.vision.features(pixels, this.config.visionHiddenLayer, true));
      const f = feats.dtype === this.projectorDtype ? feats : cast(feats, this.projectorDtype);
      return this.project(f);
    });
  }

  /**
   * A video's frames [T, 3, S, S] -> [T + patches, hidden]: CLIP features per frame, the mean over
   * patches per frame (T temporal tokens) then the mean over frames per patch (spatial tokens), projected.
   */
  encodeVideo(frames: Tensor): Tensor {
    return scope(() => {
      const feats = this.runVision(() => this.llm.vision.features(frames, this.config.visionHiddenLayer, true)); // [T, N, D]
      const temporal = mean(feats, 1);   // [T, D]
      const spatial = mean(feats, 0);    // [N, D]
      const st = concat([temporal, spatial], 0);
      return this.project(st.dtype === this.projectorDtype ? st : cast(st, this.projectorDtype));
    });
  }

  /** The vision tower without a graph, unless it trains (a model trained from scratch, train/stages.ts "from_scratch"). */
  private runVision(f: () => Tensor): Tensor {
    return this.llm.vision.parameters().some((p) => p.requiresGrad) ? f() : noGrad(f);
  }

  private get projectorDtype(): DType {
    const p = this.llm.projector;
    return (p instanceof Linear ? p.weight : p.layers[0].weight).dtype;
  }

  private project(x: Tensor): Tensor {
    const p = this.llm.projector;
    return p instanceof Linear ? p.forward(x) : p.forward(x);
  }

  /**
   * Input embeddings for token ids [B, S] with each row's span overwritten by its features (rows without
   * media keep their token embeddings). Spans must lie inside the row, between the start and end tokens.
   */
  embedWithMedia(inputIds: Tensor, spans: (SpliceSpan | null)[]): Tensor {
    const [B, S] = inputIds.shape;
    if (spans.length !== B) throw new ShapeError(`embedWithMedia: ${spans.length} spans for a batch of ${B}`);
    return scope(() => {
      const emb = this.lm.embed(inputIds); // [B, S, H]
      if (spans.every((s) => s === null)) return emb;
      const rows = spans.map((span, b) => {
        const row = reshape(slice(emb, 0, b, b + 1), [S, emb.shape[2]]);
        if (!span) return row;
        const n = span.features.shape[0];
        if (span.start < 0 || span.start + n + 1 >= S) {
          throw new ShapeError(`embedWithMedia: a span of ${n} features at ${span.start} does not fit a row of ${S} tokens`);
        }
        const f = span.features.dtype === row.dtype ? span.features : cast(span.features, row.dtype);
        return concat([slice(row, 0, 0, span.start + 1), f, slice(row, 0, span.start + 1 + n)], 0);
      });
      return stack(rows, 0);
    });
  }

  /** The seg head on rows [N, hidden] of any dtype -> [N, outDim] in the head's dtype. */
  segHeadForward(hidden: Tensor): Tensor {
    return scope(() => {
      const dt = this.segHead.layers[0].weight.dtype;
      return this.segHead.forward(hidden.dtype === dt ? hidden : cast(hidden, dt));
    });
  }

  /** [SEG] hidden states [N, hidden] -> SAM prompt embeddings [N, 1, outDim]. */
  segPrompts(hidden: Tensor): Tensor {
    return scope(() => {
      const p = this.segHeadForward(hidden);
      return reshape(p, [p.shape[0], 1, p.shape[1]]);
    });
  }

  /**
   * SAM prompt tokens [N, 1, C] of N [SEG] states, and with a "pointer" seg prompt the pointer's scores [N, P]
   * over the image tokens (pointer-prompt.ts), which needs the image's projected features and each [SEG]'s prompt (its question).
   */
  segPromptTokens(segHidden: Tensor, image: { pointer: PointerInputs | null; inputSize: [number, number]; originalSize: [number, number] }): { prompts: Tensor; pointer: Tensor | null } {
    if (this.config.segPrompt === 'projected') return { prompts: this.segPrompts(segHidden), pointer: null };
    if (!image.pointer) throw new Error('this model points at image tokens for its masks (seg_prompt "pointer"): give the image\'s projected features and the [SEG]s\' prompts');
    if (image.pointer.prompts.length !== segHidden.shape[0]) throw new RangeError(`segPromptTokens: ${image.pointer.prompts.length} prompts for ${segHidden.shape[0]} [SEG] states`);
    const pointer = pointerLogits(this, image.pointer);
    return { prompts: pointerPrompts(this, pointer, image.originalSize, image.inputSize), pointer };
  }

  /**
   * Mask logits at the original image size [N, H0, W0] for N [SEG] states, from one SAM image embedding
   * [1, C, h, w] (each [SEG] is its own prompt, as the official code runs them). A "pointer" model also
   * needs the image's projected features and each [SEG]'s prompt (PointerInputs).
   */
  decodeMasks(segHidden: Tensor, imageEmbedding: Tensor, inputSize: [number, number], originalSize: [number, number], pointer: PointerInputs | null = null): Tensor {
    return scope(() => {
      const { prompts } = this.segPromptTokens(segHidden, { pointer, inputSize, originalSize });
      return this.decodeMaskPrompts(prompts, imageEmbedding, inputSize, originalSize);
    });
  }

  /** decodeMasks from N sparse prompt tokens [N, 1, C] (projected [SEG] states, or SAM's point tokens). */
  decodeMaskPrompts(prompts: Tensor, imageEmbedding: Tensor, inputSize: [number, number], originalSize: [number, number]): Tensor {
    return scope(() => {
      const samDtype = this.visualModel.promptEncoder.noMaskEmbed.weight.dtype;
      const textEmbeds = prompts.dtype === samDtype ? prompts : cast(prompts, samDtype);
      const { lowResMasks } = this.visualModel.predict(imageEmbedding, { textEmbeds }, false);
      const masks = this.visualModel.postprocess(lowResMasks, inputSize, originalSize); // [N, 1, H0, W0]
      return reshape(masks, [masks.shape[0], masks.shape[2], masks.shape[3]]);
    });
  }

  /** Boxes [N, 4] (x0, y0, x1, y1 normalised in the padded square) from [LOC] states (newer layout only). */
  decodeBoxes(locHidden: Tensor): Tensor {
    if (!this.detProjector || !this.detDecoder) throw new Error('this u-LLaVA checkpoint has no [LOC] box decoder (det_projector / det_decoder)');
    return scope(() => this.detDecoder!.forward(this.detProjector!.forward(locHidden)));
  }

  override dispose(): void {
    super.dispose();
    this.lm.rotary.dispose();
  }
}
