// The shapes preset: a u-LLaVA small enough to train from scratch on 2 CPU cores (software Vulkan) in
// about an hour and a half, in the published layout (config.json with llm_config, LLaMA's tokenizer.model
// and u-LLaVA's added tokens, [SEG] through text_hidden_fcs into a SAM-style prompt encoder and mask
// decoder). Every part of the published architecture is there at a small size:
//   CLIP-style ViT      64 px, patch 8 (64 image tokens), width 96, 3 layers (features of the 2nd, as -2)
//   projector           Linear 96 -> 160
//   LLaMA               width 160, 4 layers, 4 heads, MLP 432, the full 32k LLaMA vocabulary + u-LLaVA's tokens,
//                       input and output embeddings tied
//   seg head            160 -> 160 -> 64 (in the layout; unused: the preset's [SEG] is a pointer, "seg_prompt": "pointer")
//   SAM-style encoder   64 px, patch 8 (an 8x8 embedding grid), width 64, 2 blocks (window 4, block 1 global)
//   SAM mask decoder    width 64, 2 two-way blocks, 2 heads, MLP 128 (masks at 32x32 before upsampling)
// No pretrained towers exist at this size, so its recipe (configs/shapes*.json) trains them too
// ("from_scratch": true), unlike the paper's frozen CLIP ViT-L and SAM ViT-H.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getDevice } from '../../../engine/index.js';
import { writeShardedSafetensors } from '../../../nn/io/convert.js';
import { tensorToWrite } from '../../train/checkpoint.js';
import { samTiny, type SamConfig } from '../sam/config.js';
import { clipVisionConfigToHF } from '../clip/config.js';
import { tinyUllavaConfigJSON, writeUllavaTokenizer } from './tiny.js';
import { ullavaConfigFromJSON } from './config.js';
import { UllavaForCausalLM } from './model.js';

export interface ShapesPresetSize {
  imageSize: number; clipPatch: number; clipWidth: number; clipLayers: number;
  llmWidth: number; llmLayers: number; llmHeads: number; llmMlp: number;
  samImageSize: number; samPatch: number; samWidth: number; samDepth: number; samOut: number;
}

export const SHAPES_PRESET: ShapesPresetSize = {
  imageSize: 64, clipPatch: 8, clipWidth: 96, clipLayers: 3,
  llmWidth: 160, llmLayers: 4, llmHeads: 4, llmMlp: 432,
  samImageSize: 64, samPatch: 8, samWidth: 64, samDepth: 2, samOut: 64,
};

/** A smaller variant for the test in npm test (a few steps must take seconds): 32 px images, 16 image tokens. */
export const SHAPES_TEST_PRESET: ShapesPresetSize = {
  imageSize: 32, clipPatch: 8, clipWidth: 32, clipLayers: 2,
  llmWidth: 64, llmLayers: 2, llmHeads: 4, llmMlp: 128,
  samImageSize: 32, samPatch: 8, samWidth: 32, samDepth: 2, samOut: 32,
};

export function shapesSamConfig(s: ShapesPresetSize = SHAPES_PRESET): SamConfig {
  const base = samTiny({ imageSize: s.samImageSize, patchSize: s.samPatch, embedDim: s.samWidth, depth: s.samDepth, numHeads: 2,
    mlpRatio: 2, outChans: s.samOut, windowSize: 4, globalAttnIndexes: [s.samDepth - 1] });
  return { ...base, decoder: { ...base.decoder, transformerHeads: 2, transformerMlpDim: 2 * s.samOut, iouHeadHiddenDim: s.samOut }, maskInChans: 8 };
}

/** config.json of the shapes preset. */
export function shapesUllavaConfigJSON(s: ShapesPresetSize = SHAPES_PRESET): Record<string, unknown> {
  const j = tinyUllavaConfigJSON('published', shapesSamConfig(s)) as { llm_config: Record<string, unknown> };
  j.llm_config = {
    ...j.llm_config,
    // Tied input and output embeddings (as llama2.c's small models): the 32k vocabulary is most of the weights.
    tie_word_embeddings: true,
    hidden_size: s.llmWidth, intermediate_size: s.llmMlp, num_hidden_layers: s.llmLayers, num_attention_heads: s.llmHeads,
    vision_config: clipVisionConfigToHF({ hiddenSize: s.clipWidth, intermediateSize: 4 * s.clipWidth, numHiddenLayers: s.clipLayers,
      numAttentionHeads: 4, numChannels: 3, imageSize: s.imageSize, patchSize: s.clipPatch, hiddenAct: 'quick_gelu', layerNormEps: 1e-5 }),
  };
  // [SEG] points where its question's words match the image tokens and SAM gets a point prompt there
  // (pointer-prompt.ts): a SAM trained from scratch on point prompts reads nothing else well.
  (j as Record<string, unknown>).seg_prompt = 'pointer';
  return j;
}

/** Names the built-in presets a training config can start from ("model": {"preset": NAME}). */
export const MODEL_PRESETS = { shapes: shapesUllavaConfigJSON } as const;
export type ModelPresetName = keyof typeof MODEL_PRESETS;

/**
 * Writes a freshly initialised model of a preset (f32, seeded) to `dir` in the published layout; a complete
 * one already there (same preset and seed) is kept.
 */
export async function writePresetModel(dir: string, preset: ModelPresetName, seed: number): Promise<string> {
  return writeRandomUllava(dir, MODEL_PRESETS[preset](), seed,
    `u-LLaVA preset ${preset}, random initialisation (embeddings N(0, 0.02), CLIP position embeddings 2D sin-cos), seed ${seed}\n`);
}

const EMBED_KEY = 'llm.model.embed_tokens.weight', EMBED_STD = 0.02;
const CLIP_POSITION_KEY = 'llm.vision_encoder.vision_model.embeddings.position_embedding.weight';

/**
 * 2D sine-cosine position embeddings [1 + grid^2, D] for a ViT's class token (zeros) and grid x grid patches
 * (MAE's get_2d_sincos_pos_embed: half the channels code the row, half the column, each as sin and cos of
 * the position at D/4 frequencies 1/10000^(i/(D/4))). A CLIP tower trained from scratch starts from these:
 * HF's N(0, 0.02) init is ~50x weaker than the patch contents, so the tower starts blind to where a patch
 * is and, in the recipe's first runs, never learnt to tell a square from a circle (that needs a patch's
 * neighbours), while colours, which a patch shows by itself, were learnt at once.
 */
export function sinCosPositions2d(grid: number, D: number): Float32Array {
  if (D % 4 !== 0) throw new RangeError(`sinCosPositions2d: the width ${D} is not a multiple of 4`);
  const q = D / 4, out = new Float32Array((1 + grid * grid) * D);
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const row = out.subarray((1 + r * grid + c) * D, (2 + r * grid + c) * D);
      for (let i = 0; i < q; i++) {
        const w = 1 / 10000 ** (i / q);
        row[i] = Math.sin(r * w); row[q + i] = Math.cos(r * w);
        row[2 * q + i] = Math.sin(c * w); row[3 * q + i] = Math.cos(c * w);
      }
    }
  }
  return out;
}

/** Writes a randomly initialised u-LLaVA of config.json `json` to `dir` unless `marker` says it is there. */
export async function writeRandomUllava(dir: string, json: Record<string, unknown>, seed: number,
  marker = `random u-LLaVA (embeddings N(0, 0.02), CLIP position embeddings 2D sin-cos), seed ${seed}\n`): Promise<string> {
  if (await readFile(join(dir, '.complete'), 'utf8').then((s) => s === marker, () => false)) return dir;
  await mkdir(dir, { recursive: true });
  await getDevice();
  const model = new UllavaForCausalLM(ullavaConfigFromJSON(json, 'random u-LLaVA'), { seed });
  try {
    await writeShardedSafetensors(dir, 'model', [...model.stateDict()].map(([k, t]) => {
      const w = tensorToWrite(k, t);
      if (k === CLIP_POSITION_KEY) {
        const [n, D] = t.shape, grid = Math.round(Math.sqrt(n - 1));
        if (grid * grid + 1 === n) return { ...w, data: async () => new Uint8Array(sinCosPositions2d(grid, D).buffer) };
      }
      if (k !== EMBED_KEY) return w;
      // The embedding starts as N(0, 1) (PyTorch's nn.Embedding); tied to the LM head that makes the first
      // logits ~sqrt(width) apart and the loss ~150. HF's LLaMA initialises it N(0, initializer_range 0.02).
      return { ...w, data: async () => { const a = (await t.toArray()) as Float32Array; const b = a.map((v) => v * EMBED_STD); return new Uint8Array(b.buffer); } };
    }));
  } finally { model.dispose(); }
  await writeFile(join(dir, 'config.json'), JSON.stringify(json, null, 2) + '\n');
  await writeUllavaTokenizer(dir, false);
  await writeFile(join(dir, '.complete.tmp'), marker);
  await rename(join(dir, '.complete.tmp'), join(dir, '.complete'));
  return dir;
}
