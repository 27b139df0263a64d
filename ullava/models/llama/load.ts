// Loading LLaMA weights from a checkpoint (safetensors or PyTorch .bin, one file, a shard index or a
// directory): names and shapes are checked against the model from the headers alone, before any byte
// is read (strict: one error listing every missing, unexpected and mis-shaped key); then each tensor is
// read, converted on the host to its parameter's dtype and uploaded straight into the parameter's
// existing GPU buffer. Host memory stays near one tensor and GPU memory at the model's own size.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tensor, type DType } from '../../../engine/index.js';
import { StateDictError, type LoadResult } from '../../../nn/index.js';
import { openCheckpoint } from '../../../nn/io/checkpoint.js';
import { toHostArray } from '../../../nn/io/hostconv.js';
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
  const reader = await openCheckpoint(path);
  try {
    const own = model.stateDict();
    const prefix = o.prefix ?? '';
    const plan: { src: string; param: Tensor; info: (typeof reader.tensors)[number] }[] = [];
    const result: LoadResult = { missing: [], unexpected: [], mismatched: [] };
    const seen = new Set<string>();
    for (const info of reader.tensors) {
      if (!info.name.startsWith(prefix)) continue;
      const stripped = info.name.slice(prefix.length);
      const name = o.rename ? o.rename(stripped) : stripped;
      if (name === undefined || isIgnorableLlamaKey(name)) continue;
      if (name === 'lm_head.weight' && model.config.tieWordEmbeddings) continue; // tied: the embedding is the head
      const param = own.get(name);
      if (!param) { result.unexpected.push(info.name); continue; }
      seen.add(name);
      if (param.shape.join() !== info.shape.join()) { result.mismatched.push(`${info.name} [${info.shape}] vs model [${param.shape}]`); continue; }
      plan.push({ src: info.name, param, info });
    }
    for (const k of own.keys()) if (!seen.has(k)) result.missing.push(k);
    const bad = result.missing.length + result.unexpected.length + result.mismatched.length;
    if (bad && (o.strict ?? true)) throw new StateDictError(result, path);
    const total = plan.reduce((a, p) => a + p.info.byteLength, 0);
    let done = 0;
    for (const { src, param, info } of plan) {
      const host = toHostArray(info.dtype, await reader.read(src), param.dtype, src);
      writeInto(param, host);
      done += info.byteLength;
      o.onProgress?.(done, total);
    }
    model.model.embed_tokens.weight.device.flush();
    return result;
  } finally {
    await reader.close();
  }
}

/** Uploads host data into a parameter's own buffer (no second GPU copy); falls back to assign for views. */
function writeInto(param: Tensor, host: ReturnType<typeof toHostArray>): void {
  if (param.isContiguous() && param.offset === 0 && param.storage.refs === 1) {
    param.device.upload(host, param.storage.buffer);
    return;
  }
  const t = Tensor.fromHost(host, param.shape, param.dtype, param.device);
  param.assign(t);
  t.dispose();
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
  const model = new LlamaForCausalLM(config, { dtype, seed: 0 });
  try {
    await loadLlamaWeights(model, path, o);
  } catch (e) { model.dispose(); throw e; }
  return model.eval();
}
