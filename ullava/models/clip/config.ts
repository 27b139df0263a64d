// The CLIP vision tower's hyperparameters, as HF's CLIPVisionConfig (with its defaults, because the
// published config.json files only list what differs from them).

export type ClipActivation = 'quick_gelu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

export interface ClipVisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numChannels: number;
  imageSize: number;
  patchSize: number;
  hiddenAct: ClipActivation;
  layerNormEps: number;
}

/** HF CLIPVisionConfig's defaults (ViT-B/32 at 224). */
export const CLIP_VISION_DEFAULTS: ClipVisionConfig = {
  hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12, numAttentionHeads: 12, numChannels: 3,
  imageSize: 224, patchSize: 32, hiddenAct: 'quick_gelu', layerNormEps: 1e-5,
};

/** openai/clip-vit-large-patch14: u-LLaVA's and LLaVA-v1's vision tower (256 patches + CLS). */
export const CLIP_VIT_L14_224: ClipVisionConfig = {
  ...CLIP_VISION_DEFAULTS, hiddenSize: 1024, intermediateSize: 4096, numHiddenLayers: 24, numAttentionHeads: 16, patchSize: 14,
};

/** openai/clip-vit-large-patch14-336 (576 patches + CLS; LLaVA-1.5's tower). */
export const CLIP_VIT_L14_336: ClipVisionConfig = { ...CLIP_VIT_L14_224, imageSize: 336 };

/** A tiny configuration for tests: 28px images, 14px patches (4 patches + CLS), width 32, 2 heads, 2 layers. */
export const CLIP_TINY: ClipVisionConfig = {
  ...CLIP_VISION_DEFAULTS, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 2, imageSize: 28, patchSize: 14,
};

export function numPatches(c: ClipVisionConfig): number { return (c.imageSize / c.patchSize) ** 2; }
/** Tokens per image: the patches and the class token. */
export function numPositions(c: ClipVisionConfig): number { return numPatches(c) + 1; }

const ACTS: readonly ClipActivation[] = ['quick_gelu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

/** Checks the numbers agree with each other (throws a RangeError naming the problem). */
export function validateClipVisionConfig(c: ClipVisionConfig): ClipVisionConfig {
  const ints: (keyof ClipVisionConfig)[] = ['hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numChannels', 'imageSize', 'patchSize'];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new RangeError(`CLIP config: ${k} must be a positive integer, got ${v}`);
  }
  if (c.hiddenSize % c.numAttentionHeads) throw new RangeError(`CLIP config: hidden size ${c.hiddenSize} is not a multiple of ${c.numAttentionHeads} heads`);
  if (c.imageSize % c.patchSize) throw new RangeError(`CLIP config: image size ${c.imageSize} is not a multiple of patch size ${c.patchSize}`);
  if (!ACTS.includes(c.hiddenAct)) throw new RangeError(`CLIP config: unsupported hidden_act "${c.hiddenAct}" (known: ${ACTS.join(', ')})`);
  if (!(c.layerNormEps > 0)) throw new RangeError(`CLIP config: layer_norm_eps must be positive, got ${c.layerNormEps}`);
  return c;
}

/**
 * From an HF config.json object: a CLIPVisionConfig, or a CLIPConfig whose `vision_config` is used
 * (openai/clip-vit-large-patch14's config.json is the latter). Missing fields take HF's defaults.
 */
export function clipVisionConfigFromHF(json: unknown): ClipVisionConfig {
  if (typeof json !== 'object' || json === null) throw new TypeError('CLIP config: expected a JSON object');
  let j = json as Record<string, unknown>;
  if (typeof j.vision_config === 'object' && j.vision_config !== null) j = j.vision_config as Record<string, unknown>;
  const num = (k: string, d: number): number => {
    const v = j[k];
    if (v === undefined || v === null) return d;
    if (typeof v !== 'number') throw new TypeError(`CLIP config: ${k} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const D = CLIP_VISION_DEFAULTS;
  const act = j.hidden_act ?? D.hiddenAct;
  return validateClipVisionConfig({
    hiddenSize: num('hidden_size', D.hiddenSize),
    intermediateSize: num('intermediate_size', D.intermediateSize),
    numHiddenLayers: num('num_hidden_layers', D.numHiddenLayers),
    numAttentionHeads: num('num_attention_heads', D.numAttentionHeads),
    numChannels: num('num_channels', D.numChannels),
    imageSize: num('image_size', D.imageSize),
    patchSize: num('patch_size', D.patchSize),
    hiddenAct: act as ClipActivation,
    layerNormEps: num('layer_norm_eps', D.layerNormEps),
  });
}

/** The HF CLIPVisionConfig json of a config (model_type clip_vision_model), e.g. to write beside a checkpoint. */
export function clipVisionConfigToHF(c: ClipVisionConfig): Record<string, unknown> {
  return {
    model_type: 'clip_vision_model', hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads, num_channels: c.numChannels,
    image_size: c.imageSize, patch_size: c.patchSize, hidden_act: c.hiddenAct, layer_norm_eps: c.layerNormEps,
  };
}
