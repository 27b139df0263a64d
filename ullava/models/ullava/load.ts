// Loading u-LLaVA the way users download it: a directory with config.json, the weights (PyTorch .bin
// shards + pytorch_model.bin.index.json as published, or safetensors), tokenizer.model and
// added_tokens.json. The memory need is checked before anything is allocated; the weights stream
// tensor by tensor into the model's parameters (strict: every key must match).
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { getDevice, type DType } from '../../../engine/index.js';
import { loadModuleWeights, loadNewModule, readTensorInfos } from '../../../nn/io/load-module.js';
import { loadTokenizer } from '../../tokenizer/load.js';
import { LlamaTokenizer } from '../../tokenizer/llama.js';
import { isIgnorableLlamaKey } from '../llama/load.js';
import { llamaMemoryBytes, checkFits } from '../llama/memory.js';
import { readUllavaConfig, type UllavaConfig } from './config.js';
import { UllavaForCausalLM } from './model.js';
import { inferSamConfig } from '../sam/infer-config.js';
import { samShapes } from '../sam/load.js';

export interface LoadUllavaOptions {
  /** Parameter dtype (default bf16, as published; f32 doubles the memory). */
  dtype?: DType;
  /** Tokens one conversation may reach (prompt + answer), for the memory check (default 2048). */
  maxTokens?: number;
  /** Memory budget in bytes (default: what the device says, or ULLAVA_MEMORY_GB). */
  budgetBytes?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface LoadedUllava { model: UllavaForCausalLM; tokenizer: LlamaTokenizer; config: UllavaConfig; dir: string }

async function isFile(p: string): Promise<boolean> { return stat(p).then((s) => s.isFile(), () => false); }

/** The weights of a model directory: a shard index, else a single file (safetensors first). */
export async function findWeights(dir: string): Promise<string> {
  for (const f of ['model.safetensors.index.json', 'pytorch_model.bin.index.json', 'model.safetensors', 'pytorch_model.bin']) {
    if (await isFile(join(dir, f))) return join(dir, f);
  }
  throw new Error(`${dir}: no weights found (expected pytorch_model.bin.index.json with its shards, model.safetensors(.index.json) or pytorch_model.bin)`);
}

export async function loadUllava(dir: string, o: LoadUllavaOptions = {}): Promise<LoadedUllava> {
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new Error(`${dir}: not a model directory (it should hold config.json, the weights, tokenizer.model and added_tokens.json)`);
  }
  const weights = await findWeights(dir);
  const tensors = await readTensorInfos(weights);
  const layout = tensors.some((t) => t.name.startsWith('seg_projector.')) ? 'head' : 'published';
  // The published config.json says nothing about SAM: its configuration is read off the shapes.
  const config = await readUllavaConfig(join(dir, 'config.json'), layout, () => inferSamConfig(samShapes(tensors, 'ullava'), weights));
  const tok = await loadTokenizer(dir);
  if (!(tok instanceof LlamaTokenizer)) throw new Error(`${dir}: u-LLaVA needs LLaMA's SentencePiece tokenizer.model`);
  for (const [name, id] of [['[SEG]', config.segTokenId], ['<img_beg>', config.tokens.imageStart], ['</img_end>', config.tokens.imageEnd]] as const) {
    if (tok.tokenId(name) !== id) throw new Error(`${dir}: the tokenizer maps ${name} to ${tok.tokenId(name)}, the config says ${id} (added_tokens.json and config.json disagree)`);
  }
  const dtype = o.dtype ?? 'bf16';
  const device = await getDevice();
  // The language model dominates; CLIP ViT-L (0.3 B) and SAM ViT-H (0.64 B) parameters are added.
  const lm = llamaMemoryBytes(config.llm, { dtype, batch: 1, maxTokens: o.maxTokens ?? 2048 });
  const extraParams = 0.31e9 * (config.vision.hiddenSize / 1024) ** 2 * (config.vision.numHiddenLayers / 24)
    + 0.64e9 * (config.sam.encoder.embedDim / 1280) ** 2 * (config.sam.encoder.depth / 32);
  const bytes = dtype === 'f32' ? 4 : 2;
  checkFits(device, { ...lm, weights: lm.weights + extraParams * bytes, total: lm.total + extraParams * bytes },
    { budgetBytes: o.budgetBytes, what: 'u-LLaVA' });
  const model = await loadNewModule(new UllavaForCausalLM(config, { dtype, seed: 0 }), (m) => loadModuleWeights(m, weights, {
      // Old transformers saved rotary inv_freq and CLIP's position_ids buffers; they carry no weights.
      ignore: (k) => isIgnorableLlamaKey(k) || k.endsWith('embeddings.position_ids'),
      optional: (k) => config.llm.tieWordEmbeddings && k === 'llm.lm_head.weight',
      onProgress: o.onProgress, where: `u-LLaVA weights in ${dir}`,
    }));
  return { model: model.eval(), tokenizer: tok, config, dir };
}
