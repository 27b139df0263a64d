// The CLIP vision tower (HF CLIPVisionModel): keys `vision_model.{embeddings, pre_layrnorm, encoder,
// post_layernorm}.*`. u-LLaVA and LLaVA take hidden_states[-2] without the class token as the image's
// features, so the tower can stop before the layers those features do not need.
import { Tensor, slice, contiguous, scope, squeeze } from '../../../engine/index.js';
import { Module, LayerNorm, withSeed, type LayerOptions } from '../../../nn/index.js';
import { type ClipVisionConfig, validateClipVisionConfig } from './config.js';
import { ClipVisionEmbeddings } from './embeddings.js';
import { ClipEncoder } from './encoder.js';

export interface ClipVisionOutput {
  /**
   * As HF's output_hidden_states: [0] the embeddings after pre_layrnorm, [i] layer i-1's output, each
   * [B, 1 + patches, D]. When the forward stopped early, only the states it computed are here.
   */
  hiddenStates: Tensor[];
  /** numHiddenLayers + 1: the length hiddenStates has when the whole tower runs (negative indices count from it). */
  totalHiddenStates: number;
  /** The last layer's output (null when the forward stopped early). */
  lastHiddenState: Tensor | null;
  /** post_layernorm of the class token, [B, D] (null when the forward stopped early). */
  pooled: Tensor | null;
}

export interface ClipForwardOptions {
  /** Stop once this hidden state (index into hiddenStates; negative counts from the end, as Python) is computed. */
  stopAt?: number;
}

/** Resolves a hidden-state index (negative from the end) against numLayers + 1 states. */
export function hiddenStateIndex(layer: number, total: number): number {
  const i = layer < 0 ? total + layer : layer;
  if (!Number.isInteger(i) || i < 0 || i >= total) throw new RangeError(`CLIP: hidden state ${layer} is out of range for ${total} hidden states`);
  return i;
}

/** HF CLIPVisionTransformer: the module under `vision_model.`. */
export class ClipVisionTransformer extends Module {
  readonly embeddings: ClipVisionEmbeddings;
  readonly preLayrnorm: LayerNorm;
  readonly encoder: ClipEncoder;
  readonly postLayernorm: LayerNorm;
  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    validateClipVisionConfig(config);
    const D = config.hiddenSize, eps = config.layerNormEps;
    this.embeddings = this.module('embeddings', new ClipVisionEmbeddings(config, withSeed(o, 0)));
    this.preLayrnorm = this.module('pre_layrnorm', new LayerNorm(D, eps, o)); // sic, HF's name
    this.encoder = this.module('encoder', new ClipEncoder(config, withSeed(o, 1000)));
    this.postLayernorm = this.module('post_layernorm', new LayerNorm(D, eps, o));
  }

  forward(pixels: Tensor, o: ClipForwardOptions = {}): ClipVisionOutput {
    const L = this.config.numHiddenLayers, total = L + 1;
    const stop = o.stopAt === undefined ? L : hiddenStateIndex(o.stopAt, total);
    const h0 = scope(() => this.preLayrnorm.forward(this.embeddings.forward(pixels)));
    const hiddenStates = [h0, ...this.encoder.forward(h0, stop)];
    if (stop < L) return { hiddenStates, totalHiddenStates: total, lastHiddenState: null, pooled: null };
    const last = hiddenStates[L];
    const pooled = scope(() => this.postLayernorm.forward(squeeze(slice(last, 1, 0, 1), 1)));
    return { hiddenStates, totalHiddenStates: total, lastHiddenState: last, pooled };
  }

  /**
   * The image features as u-LLaVA / LLaVA take them: hidden state `layer` (default -2), without the
   * class token unless dropCls is false: [B, patches, D]. Runs only the layers it needs and keeps no
   * other hidden state.
   */
  features(pixels: Tensor, layer = -2, dropCls = true): Tensor {
    const total = this.config.numHiddenLayers + 1;
    const idx = hiddenStateIndex(layer, total);
    return scope(() => {
      const h0 = this.preLayrnorm.forward(this.embeddings.forward(pixels));
      const h = idx === 0 ? h0 : this.encoder.forward(h0, idx, false)[0];
      return dropCls ? contiguous(slice(h, 1, 1)) : h;
    });
  }
}

/** HF CLIPVisionModel: the transformer under the key prefix `vision_model.`. */
export class ClipVisionModel extends Module {
  readonly visionModel: ClipVisionTransformer;
  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    this.visionModel = this.module('vision_model', new ClipVisionTransformer(config, o));
  }
  forward(pixels: Tensor, o: ClipForwardOptions = {}): ClipVisionOutput { return this.visionModel.forward(pixels, o); }
  features(pixels: Tensor, layer = -2, dropCls = true): Tensor { return this.visionModel.features(pixels, layer, dropCls); }
}

/**
 * hidden_states[layer] of a forward's output, without the class token by default: [B, patches, D]
 * (u-LLaVA: layer -2, CLS dropped). A view of the hidden state (it shares its storage); dispose it apart.
 */
export function selectFeatures(out: ClipVisionOutput, layer = -2, dropCls = true): Tensor {
  const i = hiddenStateIndex(layer, out.totalHiddenStates);
  const h = out.hiddenStates[i];
  if (!h) throw new RangeError(`CLIP: hidden state ${layer} (index ${i}) was not computed (the forward stopped at ${out.hiddenStates.length - 1})`);
  return slice(h, 1, dropCls ? 1 : 0);
}

/** Frees every tensor of a forward's output. */
export function disposeClipOutput(out: ClipVisionOutput): void {
  for (const t of out.hiddenStates) t.dispose();
  out.pooled?.dispose();
}
