// Loading LLaMA weights from a checkpoint through nn/io's strict, tensor-by-tensor module loader.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DType } from '../../../engine/index.js';
import { type LoadResult } from '../../../nn/index.js';
import { loadModuleWeights, loadNewModule } from '../../../nn/io/load-module.js';
import { llamaConfigFromHF } from './config.js';
import { LlamaForCausalLM } from './model.js';
import { checkFits, llamaMemoryBytes } from './memory.js';

export interface LoadLlamaOptions {
  /** Only keys starting with this prefix are the language model's (it is stripped), e.g. "llm." for u-LLaVA. */
  prefix?: string;
  /** Maps a checkpoint key to the model's key (after the prefix is stripped); undefined skips it. */
  rename?: (name: string) => string | undefined;
  /** Default true: any missing, unexpected or mis-shaped key fails the load before anything is read. */
  strict?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Keys HF LLaMA checkpoints may hold that carry no weights (rotary inv_freq buffers of transformers < 4.31). */
export function isIgnorableLlamaKey(name: string): boolean { return /(^|\.)rotary_emb\.inv_freq$/.test(name); }

/** Loads a checkpoint into an existing model's parameters (in their dtypes). */
export async function loadLlamaWeights(model: LlamaForCausalLM, path: string, o: LoadLlamaOptions = {}): Promise<LoadResult> {
  const tied = model.config.tieWordEmbeddings;
  return loadModuleWeights(model, path, { ...o,
    // A tied head is the embedding: a checkpoint's lm_head.weight copy is skipped.
    ignore: (name) => isIgnorableLlamaKey(name) || (tied && name === 'lm_head.weight') });
}

export interface LoadLlamaModelOptions extends LoadLlamaOptions {
  /** Parameter dtype (default bf16: the published weights are 16-bit). */
  dtype?: DType;
  /** config.json path (default: `<dir>/config.json`). */
  configPath?: string;
  /** Tokens the caller will run (batch x prompt + new tokens), for the early memory check (default 2048). */
  maxTokens?: number;
  batch?: number;
  /** Memory budget in bytes for the check (default: what checkFits finds out about the device). */
  budgetBytes?: number;
}

/**
 * A model from a directory (config.json + weights) or a checkpoint path with options.configPath:
 * refuses early, with the sizes, when it will not fit the device; then builds the model in the target
 * dtype and loads the weights shard by shard, tensor by tensor.
 */
export async function loadLlama(path: string, o: LoadLlamaModelOptions = {}): Promise<LlamaForCausalLM> {
  const isDir = (await stat(path)).isDirectory();
  const configPath = o.configPath ?? (isDir ? join(path, 'config.json') : undefined);
  if (!configPath) throw new Error(`loadLlama: ${path} is a file; pass options.configPath (the model's config.json)`);
  const config = llamaConfigFromHF(JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>, configPath);
  const dtype = o.dtype ?? 'bf16';
  const { getDevice } = await import('../../../engine/index.js');
  const device = await getDevice();
  checkFits(device, llamaMemoryBytes(config, { dtype, batch: o.batch ?? 1, maxTokens: o.maxTokens ?? 2048 }), { budgetBytes: o.budgetBytes, what: 'LLaMA' });
  const model = await loadNewModule(new LlamaForCausalLM(config, { dtype, seed: 0 }), (m) => loadLlamaWeights(m, path, o));
  return model.eval();
}
