// SAM's configuration as JSON, in Hugging Face's terms (transformers' SamConfig: vision_config,
// prompt_encoder_config, mask_decoder_config, snake_case fields), which is what a checkpoint's config.json
// carries under `sam_config`. Every field is validated with an error naming the field, the value and what
// is expected. A missing field takes HF's default, except that the prompt encoder's and the mask
// decoder's widths and sizes default to the vision encoder's (HF's own defaults would contradict a
// non-256 output_channels). Fields HF keeps for training only (dropout, initializer_range) are ignored.
import { SAM_PIXEL_MEAN, SAM_PIXEL_STD, samMlpDim, type SamConfig, type SamDecoderConfig, type SamEncoderConfig } from './config.js';

type Json = Record<string, unknown>;

/** Reads and checks the fields of one JSON object; `where` is its path in the file (e.g. "sam_config.vision_config"). */
class FieldReader {
  constructor(readonly j: Json, readonly where: string) {}

  private fail(k: string, v: unknown, expected: string): never {
    const given = this.has(k) ? '' : " (HF's default: the field is not given)";
    throw new RangeError(`${this.where}.${k} = ${JSON.stringify(v)}${given}: expected ${expected}`);
  }
  private has(k: string): boolean { return this.j[k] !== undefined && this.j[k] !== null; }

  int(k: string, d: number, min = 1): number {
    const v = this.has(k) ? this.j[k] : d;
    if (!Number.isInteger(v) || (v as number) < min) this.fail(k, v, min === 0 ? 'an integer >= 0' : `an integer >= ${min}`);
    return v as number;
  }
  positive(k: string, d: number): number {
    const v = this.has(k) ? this.j[k] : d;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(k, v, 'a positive number');
    return v;
  }
  bool(k: string, d: boolean): boolean {
    const v = this.has(k) ? this.j[k] : d;
    if (typeof v !== 'boolean') this.fail(k, v, 'true or false');
    return v;
  }
  /** A field whose only supported value is `only` (what segment_anything's architecture fixes). */
  fixed<T>(k: string, only: T, why: string): void {
    if (!this.has(k)) return;
    const v = this.j[k];
    const same = typeof only === 'number' ? typeof v === 'number' && Math.abs(v - only) <= 1e-12 : v === only;
    if (!same) this.fail(k, v, `${JSON.stringify(only)} (${why})`);
  }
  /** The field must equal a value given elsewhere (`other` names it). */
  same(k: string, want: number, other: string): number {
    const v = this.int(k, want);
    if (v !== want) this.fail(k, v, `${want}, the same as ${other}`);
    return v;
  }
  intList(k: string, d: number[], below: number, what: string): number[] {
    const v = this.has(k) ? this.j[k] : d;
    if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 0 || x >= below) || new Set(v).size !== v.length) {
      this.fail(k, v, `a list of distinct integers in [0, ${below}) (${what})`);
    }
    return [...v] as number[];
  }
  /** camelCase keys are this project's old dump of the TypeScript object, or a typo: refuse them. */
  noCamelCase(): void {
    for (const k of Object.keys(this.j)) {
      if (/[a-z][A-Z]/.test(k)) throw new RangeError(`${this.where}.${k}: unknown field (fields are Hugging Face's snake_case names, e.g. ${snake(k)})`);
    }
  }
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function object(v: unknown, where: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${where} = ${JSON.stringify(v)}: expected a JSON object`);
  return v as Json;
}

/** How to write the old form ({encoder, decoder, maskInChans, ...}) in the new one. */
const CONVERSION = [
  'vision_config: { hidden_size: encoder.embedDim, num_hidden_layers: encoder.depth, num_attention_heads: encoder.numHeads,',
  'image_size: encoder.imageSize, patch_size: encoder.patchSize, num_channels: encoder.inChans, mlp_ratio: encoder.mlpRatio,',
  'output_channels: encoder.outChans, window_size: encoder.windowSize, global_attn_indexes: encoder.globalAttnIndexes,',
  'qkv_bias: encoder.qkvBias, use_abs_pos: encoder.useAbsPos, use_rel_pos: encoder.useRelPos, layer_norm_eps: encoder.layerNormEps },',
  'prompt_encoder_config: { mask_input_channels: maskInChans },',
  'mask_decoder_config: { num_hidden_layers: decoder.transformerDepth, num_attention_heads: decoder.transformerHeads,',
  'mlp_dim: decoder.transformerMlpDim, attention_downsample_rate: decoder.attentionDownsampleRate,',
  'num_multimask_outputs: decoder.numMultimaskOutputs, iou_head_depth: decoder.iouHeadDepth, iou_head_hidden_dim: decoder.iouHeadHiddenDim }',
].join(' ');

function visionFromHF(r: FieldReader): SamEncoderConfig {
  r.noCamelCase();
  const embedDim = r.int('hidden_size', 768);
  const depth = r.int('num_hidden_layers', 12);
  const numHeads = r.int('num_attention_heads', 12);
  if (embedDim % numHeads) throw new RangeError(`${r.where}.num_attention_heads = ${numHeads}: expected a divisor of hidden_size (${embedDim})`);
  const patchSize = r.int('patch_size', 16);
  const imageSize = r.int('image_size', 1024);
  if (imageSize % patchSize) throw new RangeError(`${r.where}.image_size = ${imageSize}: expected a multiple of patch_size (${patchSize})`);
  const outChans = r.int('output_channels', 256);
  if (outChans % 8) throw new RangeError(`${r.where}.output_channels = ${outChans}: expected a multiple of 8 (the mask decoder upscales to output_channels / 8 channels)`);
  r.fixed('hidden_act', 'gelu', "SAM's image encoder uses GELU");
  // HF derives mlp_dim from mlp_ratio unless given; both given must agree.
  let mlpRatio = r.positive('mlp_ratio', 4);
  if (r.j.mlp_dim !== undefined && r.j.mlp_dim !== null) {
    const mlpDim = r.int('mlp_dim', 0);
    if (r.j.mlp_ratio === undefined || r.j.mlp_ratio === null) mlpRatio = mlpDim / embedDim;
    else if (samMlpDim({ embedDim, mlpRatio }) !== mlpDim) {
      throw new RangeError(`${r.where}.mlp_dim = ${mlpDim}: expected ${samMlpDim({ embedDim, mlpRatio })} (hidden_size * mlp_ratio), or leave one of them out`);
    }
  }
  // HF's shared positional embedding has num_pos_feats = output_channels / 2 rows per coordinate.
  if (r.j.num_pos_feats !== undefined) r.same('num_pos_feats', outChans / 2, 'output_channels / 2');
  return {
    imageSize, patchSize, inChans: r.int('num_channels', 3), embedDim, depth, numHeads, mlpRatio, outChans,
    windowSize: r.int('window_size', 14, 0),
    globalAttnIndexes: r.intList('global_attn_indexes', [2, 5, 8, 11], depth, 'blocks below num_hidden_layers that attend globally'),
    qkvBias: r.bool('qkv_bias', true), useAbsPos: r.bool('use_abs_pos', true), useRelPos: r.bool('use_rel_pos', true),
    layerNormEps: r.positive('layer_norm_eps', 1e-6),
  };
}

function decoderFromHF(r: FieldReader, e: SamEncoderConfig, visionWhere: string): SamDecoderConfig {
  r.noCamelCase();
  const dim = r.same('hidden_size', e.outChans, `${visionWhere}.output_channels`);
  r.fixed('hidden_act', 'relu', "SAM's two-way transformer uses ReLU");
  r.fixed('layer_norm_eps', 1e-6, "segment_anything's LayerNorm2d");
  const rate = r.int('attention_downsample_rate', 2);
  const heads = r.int('num_attention_heads', 8);
  if (dim % rate || (dim / rate) % heads) {
    throw new RangeError(`${r.where}.num_attention_heads = ${heads}: expected a divisor of hidden_size / attention_downsample_rate (${dim} / ${rate})`);
  }
  return {
    numMultimaskOutputs: r.int('num_multimask_outputs', 3), transformerDepth: r.int('num_hidden_layers', 2),
    transformerHeads: heads, transformerMlpDim: r.int('mlp_dim', 2048), attentionDownsampleRate: rate,
    iouHeadDepth: r.int('iou_head_depth', 3), iouHeadHiddenDim: r.int('iou_head_hidden_dim', 256),
  };
}

function maskInChansFromHF(r: FieldReader, e: SamEncoderConfig, visionWhere: string): number {
  r.noCamelCase();
  r.same('hidden_size', e.outChans, `${visionWhere}.output_channels`);
  r.same('image_size', e.imageSize, `${visionWhere}.image_size`);
  r.same('patch_size', e.patchSize, `${visionWhere}.patch_size`);
  r.fixed('num_point_embeddings', 4, 'positive/negative point and the two box corners');
  r.fixed('hidden_act', 'gelu', "SAM's mask downscaling uses GELU");
  r.fixed('layer_norm_eps', 1e-6, "segment_anything's LayerNorm2d");
  const c = r.int('mask_input_channels', 16);
  if (c % 4) throw new RangeError(`${r.where}.mask_input_channels = ${c}: expected a multiple of 4 (the first downscaling conv has mask_input_channels / 4)`);
  return c;
}

/**
 * SAM's configuration from HF's SamConfig JSON (`where` names it in errors, e.g. "config.json: sam_config").
 * The old camelCase dump ({encoder, decoder, maskInChans}) is refused with how to convert it.
 */
export function samConfigFromHF(json: unknown, where = 'sam_config'): SamConfig {
  const top = object(json, where);
  if ('encoder' in top || 'decoder' in top || 'maskInChans' in top) {
    throw new RangeError(`${where}: this is the old camelCase form ({encoder, decoder, maskInChans, ...}), no longer read. `
      + `Write it in Hugging Face's SamConfig form: { ${CONVERSION} }, or delete sam_config to have SAM inferred from the weights' shapes.`);
  }
  new FieldReader(top, where).noCamelCase();
  const vw = `${where}.vision_config`;
  const encoder = visionFromHF(new FieldReader(object(top.vision_config, vw), vw));
  const pw = `${where}.prompt_encoder_config`, mw = `${where}.mask_decoder_config`;
  const maskInChans = maskInChansFromHF(new FieldReader(object(top.prompt_encoder_config, pw), pw), encoder, vw);
  const decoder = decoderFromHF(new FieldReader(object(top.mask_decoder_config, mw), mw), encoder, vw);
  return { encoder, decoder, maskInChans, pixelMean: [...SAM_PIXEL_MEAN], pixelStd: [...SAM_PIXEL_STD] };
}

/** HF's SamConfig JSON of a configuration (what config.json's sam_config holds). */
export function samConfigToHF(c: SamConfig): Json {
  const e = c.encoder, d = c.decoder;
  if (c.pixelMean.some((v, i) => v !== SAM_PIXEL_MEAN[i]) || c.pixelStd.some((v, i) => v !== SAM_PIXEL_STD[i])) {
    // HF keeps the normalisation in the image processor, not the model config.
    throw new RangeError('SAM config: pixelMean/pixelStd other than SAM\'s have no place in HF\'s SamConfig');
  }
  return {
    model_type: 'sam',
    vision_config: {
      hidden_size: e.embedDim, num_hidden_layers: e.depth, num_attention_heads: e.numHeads, num_channels: e.inChans,
      image_size: e.imageSize, patch_size: e.patchSize, hidden_act: 'gelu', layer_norm_eps: e.layerNormEps,
      qkv_bias: e.qkvBias, mlp_ratio: e.mlpRatio, mlp_dim: samMlpDim(e), use_abs_pos: e.useAbsPos,
      use_rel_pos: e.useRelPos, window_size: e.windowSize, global_attn_indexes: [...e.globalAttnIndexes],
      output_channels: e.outChans, num_pos_feats: e.outChans / 2,
    },
    prompt_encoder_config: {
      hidden_size: e.outChans, image_size: e.imageSize, patch_size: e.patchSize, mask_input_channels: c.maskInChans,
      num_point_embeddings: 4, hidden_act: 'gelu', layer_norm_eps: 1e-6,
    },
    mask_decoder_config: {
      hidden_size: e.outChans, hidden_act: 'relu', mlp_dim: d.transformerMlpDim, num_hidden_layers: d.transformerDepth,
      num_attention_heads: d.transformerHeads, attention_downsample_rate: d.attentionDownsampleRate,
      num_multimask_outputs: d.numMultimaskOutputs, iou_head_depth: d.iouHeadDepth, iou_head_hidden_dim: d.iouHeadHiddenDim,
      layer_norm_eps: 1e-6,
    },
  };
}
