// How much device memory a LLaMA needs, so the CLI can refuse early with the sizes instead of failing
// halfway through loading 13 GB. WebGPU does not report a device's total memory: checkFits compares with
// a budget (given, or ULLAVA_MEMORY_GB, or the host's RAM for software adapters, whose buffers live
// there) and always with the largest buffer the device can bind.
import { totalmem } from 'node:os';
import type { Device, DType } from '../../../engine/index.js';
import { headDim, type LlamaConfig } from './config.js';

export interface LlamaMemoryOptions {
  /** Parameter dtype. */
  dtype: DType;
  batch: number;
  /** Tokens per sequence the KV cache holds (prompt + generated). */
  maxTokens: number;
  /** KV cache dtype (default: dtype). */
  kvDtype?: DType;
  /** Tokens in one forward (the prefill; default maxTokens). */
  chunkTokens?: number;
  /** Whether attention materialises the [B, H, S, S] scores (the unfused path; default true, the conservative figure). */
  attentionScores?: boolean;
}

export interface LlamaMemory {
  parameters: number;
  weights: number;
  /** K and V of one token of one sequence, all layers. */
  kvCachePerToken: number;
  kvCache: number;
  /** Peak temporaries of one forward over chunkTokens (f32 worst case). */
  activations: number;
  total: number;
  /** The largest single tensor (it must fit one storage binding). */
  largestTensor: number;
}

const bytesOf = (d: DType) => (d === 'f32' || d === 'i32' || d === 'u32' ? 4 : d === 'u8' ? 1 : 2);

export function llamaParameterCount(c: LlamaConfig): number {
  const H = c.hiddenSize, I = c.intermediateSize, kv = c.numKeyValueHeads * headDim(c);
  const layer = 2 * H * H + 2 * H * kv + 3 * H * I + 2 * H;
  return c.vocabSize * H * (c.tieWordEmbeddings ? 1 : 2) + c.numHiddenLayers * layer + H;
}

export function llamaMemoryBytes(c: LlamaConfig, o: LlamaMemoryOptions): LlamaMemory {
  const parameters = llamaParameterCount(c);
  const item = bytesOf(o.dtype);
  const weights = parameters * item;
  const kvCachePerToken = 2 * c.numHiddenLayers * c.numKeyValueHeads * headDim(c) * bytesOf(o.kvDtype ?? o.dtype);
  const kvCache = kvCachePerToken * o.batch * o.maxTokens;
  const S = o.chunkTokens ?? o.maxTokens, B = o.batch, H = c.hiddenSize, I = c.intermediateSize;
  // Live at the peak of a layer: residual, normed input, q, k, v (+ rotated copies), attention output,
  // gate, up and their product, in f32 (worst case), plus the scores and the logits of the last position.
  const perToken = (8 * H + 3 * I) * 4;
  const scores = (o.attentionScores ?? true) ? B * c.numAttentionHeads * S * S * 4 * 2 : 0;
  const activations = B * S * perToken + scores + B * c.vocabSize * 4 * 2;
  const largestTensor = Math.max(c.vocabSize * H * item, H * I * item, kvCache / Math.max(1, 2 * c.numHiddenLayers),
    scores / 2, B * S * I * 4);
  return { parameters, weights, kvCachePerToken, kvCache, activations, total: weights + kvCache + activations, largestTensor };
}

export class InsufficientMemoryError extends Error {
  constructor(message: string) { super(message); this.name = 'InsufficientMemoryError'; }
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
/** Bytes in the unit that keeps them readable (a binding limit forced small in tests is KiB). */
const size = (b: number) => b >= 2 ** 30 ? gib(b) : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(2)} KiB`;

/** The memory budget of a device: explicit, ULLAVA_MEMORY_GB, or host RAM for a software adapter (else unknown). */
export function deviceMemoryBudget(device: Device): number | null {
  const env = Number(process.env.ULLAVA_MEMORY_GB);
  if (env > 0) return env * 2 ** 30;
  return device.isSoftwareAdapter ? totalmem() : null;
}

/**
 * Throws InsufficientMemoryError, with the breakdown, when `need` does not fit: its total over the
 * budget (o.budgetBytes, else deviceMemoryBudget; no budget known = not checked), or its largest tensor
 * over the device's largest bindable buffer.
 */
export function checkFits(device: Device, need: LlamaMemory | number, o: { budgetBytes?: number; what?: string } = {}): void {
  const total = typeof need === 'number' ? need : need.total;
  const what = o.what ?? 'the model';
  const breakdown = typeof need === 'number' ? gib(total)
    : `${gib(need.weights)} weights + ${gib(need.kvCache)} KV cache + ${gib(need.activations)} activations = ${gib(total)}`;
  const budget = o.budgetBytes ?? deviceMemoryBudget(device);
  if (budget !== null && total > budget) {
    throw new InsufficientMemoryError(`${what} needs ${breakdown}, more than the ${gib(budget)} available on this device ` +
      `(set ULLAVA_MEMORY_GB to override; use bf16 weights, a shorter context or a smaller batch)`);
  }
  const maxBinding = device.maxBindingBytes;
  if (typeof need !== 'number' && need.largestTensor > maxBinding) {
    throw new InsufficientMemoryError(`${what} needs a ${size(need.largestTensor)} tensor but this device binds at most ${size(maxBinding)} ` +
      `per buffer (maxStorageBufferBindingSize, or WEBGPU_ENGINE_MAX_BINDING): use a 16-bit dtype, fewer tokens, or a GPU with larger limits`);
  }
}
