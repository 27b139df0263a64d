// u-LLaVA's config.json: the published layout (jinxu95/ullava) nests the language model's config under
// `llm_config` (model_type ullava_core), with the CLIP config under `llm_config.vision_config`, the hidden
// layer CLIP features come from, and the ids of the multimodal tokens (`mm_token_ids`). The segmentation
// head's width (`out_dim`) and the [SEG]/[LOC] ids sit at the top level.
import { readFile } from 'node:fs/promises';
import { llamaConfigFromHF, type LlamaConfig } from '../llama/config.js';
import { clipVisionConfigFromHF, CLIP_VIT_L14_224, type ClipVisionConfig } from '../clip/config.js';
import { samVitH, type SamConfig } from '../sam/config.js';
import { samConfigFromHF } from '../sam/hf-config.js';

export interface MultimodalTokenIds {
  imageStart: number; imageEnd: number; imagePatch: number;
  videoStart: number; videoEnd: number; videoPatch: number;
}

export interface UllavaConfig {
  llm: LlamaConfig;
  vision: ClipVisionConfig;
  /** Which CLIP hidden state feeds the projector (published: -2). */
  visionHiddenLayer: number;
  /** 'linear' (published: one Linear 1024 -> 4096) or 'mlp2x' (Linear-GELU-Linear, LLaVA 1.5 style). */
  projector: 'linear' | 'mlp2x';
  tokens: MultimodalTokenIds;
  segTokenId: number;
  /** Present in the newer layout (HEAD code) only; no published weights use it. */
  locTokenId: number | null;
  /** Width of the [SEG] embedding given to SAM (256). */
  outDim: number;
  /**
   * Key layout of the heads: 'published' (text_hidden_fcs.*) or 'head' (seg_projector.*, det_projector.*,
   * det_decoder.*: the newer code, with boxes from [LOC]).
   */
  layout: 'published' | 'head';
  /**
   * How a [SEG] state becomes SAM's prompt: 'projected' (the paper: the seg head's output is the sparse
   * token) or 'pointer' (this project's extension, config.json "seg_prompt": the question's words score the image
   * tokens and SAM gets a point prompt where they point; pointer-prompt.ts).
   */
  segPrompt: 'projected' | 'pointer';
  sam: SamConfig;
}

/** The published defaults (token ids of added_tokens.json). */
export const ULLAVA_TOKEN_IDS: MultimodalTokenIds = {
  imagePatch: 32001, videoPatch: 32002, imageStart: 32003, imageEnd: 32004, videoStart: 32005, videoEnd: 32006,
};

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${where}: expected a JSON object`);
  return v as Record<string, unknown>;
}

function int(j: Record<string, unknown>, k: string, d: number | null, where: string): number {
  const v = j[k];
  if (v === undefined || v === null) {
    if (d === null) throw new RangeError(`${where}: missing "${k}"`);
    return d;
  }
  if (!Number.isInteger(v)) throw new TypeError(`${where}: "${k}" must be an integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/**
 * Parses the published config.json. `layout` is given by the caller when the checkpoint's keys tell it
 * (seg_projector.* present => 'head'). `sam_config` (HF's SamConfig form) is this project's extension; the
 * published config has none, and then SAM's configuration comes from `samFromWeights` (inferSamConfig
 * over the checkpoint's shapes: ViT-B/L/H or any other size), or is the published model's ViT-H when
 * there are no weights (a model built to be trained from scratch).
 */
export function ullavaConfigFromJSON(json: unknown, where = 'config.json', layout: UllavaConfig['layout'] = 'published',
  samFromWeights?: () => SamConfig): UllavaConfig {
  const top = obj(json, where);
  const llmJson = top.llm_config === undefined ? top : obj(top.llm_config, `${where}: llm_config`);
  const llm = llamaConfigFromHF(llmJson, `${where} (llm_config)`);
  const vision = llmJson.vision_config ? clipVisionConfigFromHF(llmJson.vision_config) : { ...CLIP_VIT_L14_224 };
  const mm = llmJson.mm_token_ids === undefined || llmJson.mm_token_ids === null ? {} : obj(llmJson.mm_token_ids, `${where}: mm_token_ids`);
  const w = `${where}: mm_token_ids`;
  const tokens: MultimodalTokenIds = {
    imageStart: int(mm, 'IMG_START', ULLAVA_TOKEN_IDS.imageStart, w),
    imageEnd: int(mm, 'IMG_END', ULLAVA_TOKEN_IDS.imageEnd, w),
    imagePatch: int(mm, 'IMG_PATCH', ULLAVA_TOKEN_IDS.imagePatch, w),
    videoStart: int(mm, 'VID_START', ULLAVA_TOKEN_IDS.videoStart, w),
    videoEnd: int(mm, 'VID_END', ULLAVA_TOKEN_IDS.videoEnd, w),
    videoPatch: int(mm, 'VID_PATCH', ULLAVA_TOKEN_IDS.videoPatch, w),
  };
  for (const [k, id] of Object.entries(tokens)) {
    if (id < 0 || id >= llm.vocabSize) throw new RangeError(`${w}: ${k} = ${id} is outside the vocabulary (${llm.vocabSize})`);
  }
  const proj = top.projector_type ?? llmJson.projector_type ?? 'linear';
  if (proj !== 'linear' && proj !== 'mlp2x' && proj !== 'mlp2x_gelu') {
    throw new RangeError(`${where}: projector_type ${JSON.stringify(proj)} is not supported (linear, mlp2x_gelu)`);
  }
  let sam: SamConfig;
  if (top.sam_config !== undefined && top.sam_config !== null) sam = samConfigFromHF(top.sam_config, `${where}: sam_config`);
  else if (samFromWeights) sam = samFromWeights();
  else sam = samVitH(); // no weights to read it from (a model built from scratch): the published model's SAM
  const loc = top.loc_token_idx ?? null;
  const segPrompt = top.seg_prompt ?? 'projected';
  if (segPrompt !== 'projected' && segPrompt !== 'pointer') {
    throw new RangeError(`${where}: seg_prompt ${JSON.stringify(segPrompt)} is not supported ("projected", the published models, or "pointer")`);
  }
  return {
    llm, vision,
    visionHiddenLayer: int(llmJson, 'vision_hidden_layer', -2, where),
    projector: proj === 'linear' ? 'linear' : 'mlp2x',
    tokens,
    segTokenId: int(top, 'seg_token_idx', 32007, where),
    locTokenId: loc === null ? null : int(top, 'loc_token_idx', null, where),
    outDim: int(top, 'out_dim', 256, where),
    layout,
    segPrompt,
    sam,
  };
}

export async function readUllavaConfig(path: string, layout?: UllavaConfig['layout'], samFromWeights?: () => SamConfig): Promise<UllavaConfig> {
  let json: unknown;
  try { json = JSON.parse(await readFile(path, 'utf8')); } catch (e) {
    throw new Error(`${path}: cannot read the model's config.json (${(e as Error).message})`);
  }
  return ullavaConfigFromJSON(json, path, layout, samFromWeights);
}
