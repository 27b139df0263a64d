// SAM checkpoints under their three namings, mapped to ours (segment_anything's, as sam_vit_h_4b8939.pth):
//   'sam'    image_encoder.*, prompt_encoder.*, mask_decoder.*
//   'ullava' the same under visual_model. (u-LLaVA / LISA checkpoints, beside llm.* and text_hidden_fcs.*)
//   'hf'     transformers' SamModel: vision_encoder.*, prompt_encoder.*, mask_decoder.*, shared_image_embedding.*
//            with HF's inner names (layers / layer_norm1 / proj_in / upscale_conv1 / mask_embed / point_embed ...)
import type { StateDict } from '../../../nn/index.js';
import type { DType } from '../../../engine/index.js';
import { loadModuleWeights, loadNewModule, readTensorInfos } from '../../../nn/io/load-module.js';
import { inferSamConfig } from './infer-config.js';
import { Sam } from './model.js';
import type { SamConfig } from './config.js';

export type SamNaming = 'sam' | 'ullava' | 'hf';

/** Which naming a checkpoint's keys use (undefined: no SAM keys). */
export function detectSamNaming(keys: Iterable<string>): SamNaming | undefined {
  let sam = false;
  for (const k of keys) {
    if (k.startsWith('visual_model.')) return 'ullava';
    if (k.startsWith('vision_encoder.') || k.startsWith('shared_image_embedding.') || k.includes('.shared_embedding.')) return 'hf';
    if (k.startsWith('image_encoder.') || k.startsWith('prompt_encoder.') || k.startsWith('mask_decoder.')) sam = true;
  }
  return sam ? 'sam' : undefined;
}

// HF -> segment_anything, applied in order to the part after the top-level prefix.
const HF_RULES: [RegExp, string][] = [
  [/^vision_encoder\.layers\.(\d+)\.layer_norm(\d)\./, 'image_encoder.blocks.$1.norm$2.'],
  [/^vision_encoder\.layers\./, 'image_encoder.blocks.'],
  [/^vision_encoder\.patch_embed\.projection\./, 'image_encoder.patch_embed.proj.'],
  [/^vision_encoder\.neck\.conv1\./, 'image_encoder.neck.0.'],
  [/^vision_encoder\.neck\.layer_norm1\./, 'image_encoder.neck.1.'],
  [/^vision_encoder\.neck\.conv2\./, 'image_encoder.neck.2.'],
  [/^vision_encoder\.neck\.layer_norm2\./, 'image_encoder.neck.3.'],
  [/^vision_encoder\./, 'image_encoder.'],
  [/^(prompt_encoder\.shared_embedding|shared_image_embedding)\.positional_embedding$/, 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'],
  [/^prompt_encoder\.point_embed\./, 'prompt_encoder.point_embeddings.'],
  [/^prompt_encoder\.mask_embed\.conv1\./, 'prompt_encoder.mask_downscaling.0.'],
  [/^prompt_encoder\.mask_embed\.layer_norm1\./, 'prompt_encoder.mask_downscaling.1.'],
  [/^prompt_encoder\.mask_embed\.conv2\./, 'prompt_encoder.mask_downscaling.3.'],
  [/^prompt_encoder\.mask_embed\.layer_norm2\./, 'prompt_encoder.mask_downscaling.4.'],
  [/^prompt_encoder\.mask_embed\.conv3\./, 'prompt_encoder.mask_downscaling.6.'],
  [/^mask_decoder\.upscale_conv1\./, 'mask_decoder.output_upscaling.0.'],
  [/^mask_decoder\.upscale_layer_norm\./, 'mask_decoder.output_upscaling.1.'],
  [/^mask_decoder\.upscale_conv2\./, 'mask_decoder.output_upscaling.3.'],
  [/^mask_decoder\.transformer\.layers\.(\d+)\.layer_norm(\d)\./, 'mask_decoder.transformer.layers.$1.norm$2.'],
  [/^mask_decoder\.transformer\.layer_norm_final_attn\./, 'mask_decoder.transformer.norm_final_attn.'],
  // HF's 3-layer MLPs are proj_in, layers.0, proj_out; ours (and SAM's) layers.0, layers.1, layers.2.
  [/^mask_decoder\.(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.layers\.(\d+)\./, 'mask_decoder.$1.hidden.$2.'],
  [/^mask_decoder\.(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.proj_in\./, 'mask_decoder.$1.layers.0.'],
];

function hfKey(k: string): string {
  for (const [re, to] of HF_RULES) k = k.replace(re, to);
  // Hidden layers shift by one; proj_out is the last layer (its index depends on the depth, so it is
  // resolved against the model's keys in samStateDict).
  return k.replace(/\.hidden\.(\d+)\./, (_, i: string) => `.layers.${Number(i) + 1}.`);
}

/**
 * Our key for a checkpoint key (undefined: not part of SAM, e.g. u-LLaVA's llm.* or SAM's non-persistent
 * pixel_mean). `proj_out` of HF MLPs is returned as `<mlp>.proj_out.*` and resolved by samStateDict.
 */
export function samKey(name: string, naming: SamNaming): string | undefined {
  if (naming === 'ullava') {
    if (!name.startsWith('visual_model.')) return undefined;
    name = name.slice('visual_model.'.length);
  }
  if (name === 'pixel_mean' || name === 'pixel_std') return undefined;
  if (naming === 'hf') {
    if (!/^(vision_encoder|prompt_encoder|mask_decoder|shared_image_embedding)\./.test(name)) return undefined;
    return hfKey(name);
  }
  return /^(image_encoder|prompt_encoder|mask_decoder)\./.test(name) ? name : undefined;
}

/**
 * A checkpoint's tensors renamed to the model's keys (tensors are moved, not copied: the caller's map
 * no longer owns those it returns). HF's duplicated positional matrix (prompt_encoder.shared_embedding
 * and shared_image_embedding) is kept once.
 */
export function samStateDict(model: Sam, sd: StateDict, naming: SamNaming = detectSamNaming(sd.keys()) ?? 'sam'): StateDict {
  const key = samKeyFor(model, naming);
  const out: StateDict = new Map();
  for (const [name, t] of sd) {
    const k = key(name);
    if (k === undefined) continue;
    if (out.has(k)) {
      if (k.endsWith('positional_encoding_gaussian_matrix')) continue; // HF's tied copy
      throw new Error(`SAM checkpoint: two tensors map to "${k}" (the second is "${name}")`);
    }
    out.set(k, t);
  }
  return out;
}

/** Strictly loads a state dict in any of the three namings into the model; returns the naming used. */
export function loadSamStateDict(model: Sam, sd: StateDict, naming?: SamNaming): SamNaming {
  const n = naming ?? detectSamNaming(sd.keys());
  if (!n) throw new Error('SAM checkpoint: no image_encoder.*, visual_model.* or vision_encoder.* keys');
  model.loadStateDict(samStateDict(model, sd, n), { where: `SAM (${n} naming)` });
  return n;
}

/** For each MLP of the model whose last layer HF names `proj_out`: that layer's index in our keys. */
function mlpLastLayers(model: Sam): Map<string, number> {
  const last = new Map<string, number>();
  for (const k of model.stateDict().keys()) {
    const m = /^(.*)\.layers\.(\d+)\.weight$/.exec(k);
    if (m && /(output_hypernetworks_mlps\.\d+|iou_prediction_head)$/.test(m[1])) last.set(m[1], Math.max(last.get(m[1]) ?? 0, Number(m[2])));
  }
  return last;
}

/** Checkpoint key -> the model's key (undefined: not SAM's), HF's proj_out resolved against the model. */
function samKeyFor(model: Sam, naming: SamNaming): (name: string) => string | undefined {
  const last = mlpLastLayers(model);
  return (name) => {
    const k = samKey(name, naming);
    const po = k === undefined ? null : /^(.*)\.proj_out\.(weight|bias)$/.exec(k);
    return po && last.has(po[1]) ? `${po[1]}.layers.${last.get(po[1])}.${po[2]}` : k;
  };
}

/** SAM's tensor shapes under segment_anything's keys (HF's proj_out left as it is), for inferSamConfig. */
export function samShapes(tensors: Iterable<{ name: string; shape: readonly number[] }>, naming: SamNaming): Map<string, readonly number[]> {
  const out = new Map<string, readonly number[]>();
  for (const t of tensors) {
    const k = samKey(t.name, naming);
    if (k !== undefined) out.set(k, t.shape);
  }
  return out;
}

export interface LoadSamOptions {
  /** Default: inferred from the checkpoint's tensor shapes (inferSamConfig). */
  config?: SamConfig;
  /** Default: detected from the keys. */
  naming?: SamNaming;
  /** The parameters' dtype (default f32); the checkpoint's tensors are converted to it. */
  dtype?: DType;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/**
 * Builds SAM from a checkpoint (sam_vit_h_4b8939.pth, a u-LLaVA shard set, an HF model directory) and
 * streams SAM's tensors straight into its parameters (strict; the rest of the checkpoint is skipped).
 */
export async function loadSam(path: string, o: LoadSamOptions = {}): Promise<{ model: Sam; config: SamConfig; naming: SamNaming }> {
  const tensors = await readTensorInfos(path);
  const naming = o.naming ?? detectSamNaming(tensors.map((t) => t.name));
  if (!naming) throw new Error(`${path}: no SAM tensors (image_encoder.*, visual_model.* or vision_encoder.*)`);
  const config = o.config ?? inferSamConfig(samShapes(tensors, naming), path);
  const model = await loadNewModule(new Sam(config), async (m) => {
    if (o.dtype && o.dtype !== 'f32') m.to(o.dtype);
    // HF keeps its positional matrix twice (tied); both copies load into the one parameter.
    await loadModuleWeights(m, path, { rename: samKeyFor(m, naming), onProgress: o.onProgress, where: `SAM (${naming} naming) from ${path}` });
  });
  return { model: model.eval(), config, naming };
}
