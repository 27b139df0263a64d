// LLaMA / Vicuna configuration, read from HF config.json (LlamaConfig's field names and defaults).
import { readFile } from 'node:fs/promises';

export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Grouped-query attention: key/value heads (equal to numAttentionHeads for LLaMA-1/2-7B, i.e. MHA). */
  numKeyValueHeads: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Default id of the padding token (only used by callers building batches). */
  padTokenId?: number;
  bosTokenId?: number;
  eosTokenId?: number;
}

export function headDim(c: LlamaConfig): number { return c.hiddenSize / c.numAttentionHeads; }

/** Checks the invariants the model relies on; throws one error naming every problem. */
export function validateConfig(c: LlamaConfig, where = 'LlamaConfig'): LlamaConfig {
  const bad: string[] = [];
  const pos = (k: keyof LlamaConfig) => { const v = c[k]; if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) bad.push(`${k} must be a positive integer, got ${JSON.stringify(v)}`); };
  for (const k of ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'maxPositionEmbeddings'] as const) pos(k);
  if (!bad.length) {
    if (c.hiddenSize % c.numAttentionHeads) bad.push(`hidden_size ${c.hiddenSize} is not a multiple of num_attention_heads ${c.numAttentionHeads}`);
    else if (headDim(c) % 2) bad.push(`head dim ${headDim(c)} must be even for rotary embeddings`);
    if (c.numAttentionHeads % c.numKeyValueHeads) bad.push(`num_attention_heads ${c.numAttentionHeads} is not a multiple of num_key_value_heads ${c.numKeyValueHeads}`);
  }
  if (!(c.rmsNormEps > 0)) bad.push(`rms_norm_eps must be > 0, got ${c.rmsNormEps}`);
  if (!(c.ropeTheta > 0)) bad.push(`rope_theta must be > 0, got ${c.ropeTheta}`);
  if (bad.length) throw new RangeError(`${where}: ${bad.join('; ')}`);
  return c;
}

/**
 * From the fields of an HF config.json (LlamaConfig). A u-LLaVA config nests the language model's config
 * under `llm_config` (or `text_config`); those are looked into. Missing fields take HF's defaults;
 * rope_scaling is refused (not used by Vicuna / u-LLaVA) rather than silently ignored.
 */
export function llamaConfigFromHF(json: Record<string, unknown>, where = 'config.json'): LlamaConfig {
  const inner = (json.llm_config ?? json.text_config) as Record<string, unknown> | undefined;
  const j = inner && typeof inner === 'object' && inner.hidden_size !== undefined && json.hidden_size === undefined ? inner : json;
  const num = (k: string, d?: number): number => {
    const v = j[k];
    if (v === undefined || v === null) {
      if (d === undefined) throw new RangeError(`${where}: missing "${k}"`);
      return d;
    }
    if (typeof v !== 'number') throw new RangeError(`${where}: "${k}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (j.rope_scaling !== undefined && j.rope_scaling !== null) {
    throw new RangeError(`${where}: rope_scaling ${JSON.stringify(j.rope_scaling)} is not supported`);
  }
  const heads = num('num_attention_heads', 32);
  const optId = (k: string) => (typeof j[k] === 'number' ? j[k] as number : undefined);
  return validateConfig({
    vocabSize: num('vocab_size', 32000),
    hiddenSize: num('hidden_size', 4096),
    intermediateSize: num('intermediate_size', 11008),
    numHiddenLayers: num('num_hidden_layers', 32),
    numAttentionHeads: heads,
    numKeyValueHeads: num('num_key_value_heads', heads),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    maxPositionEmbeddings: num('max_position_embeddings', 2048),
    tieWordEmbeddings: j.tie_word_embeddings === true,
    padTokenId: optId('pad_token_id'), bosTokenId: optId('bos_token_id'), eosTokenId: optId('eos_token_id'),
  }, where);
}

export async function readLlamaConfig(path: string): Promise<LlamaConfig> {
  let json: unknown;
  try { json = JSON.parse(await readFile(path, 'utf8')); } catch (e) { throw new Error(`${path}: cannot read a JSON config (${(e as Error).message})`); }
  if (typeof json !== 'object' || json === null) throw new Error(`${path}: not a JSON object`);
  return llamaConfigFromHF(json as Record<string, unknown>, path);
}

/** LLaMA-7B / Vicuna-7B v1.1 (the language model of u-LLaVA), as its config.json; vocab 32000 before u-LLaVA's added tokens. */
export const LLAMA_7B: LlamaConfig = Object.freeze({
  vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32, numAttentionHeads: 32,
  numKeyValueHeads: 32, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 2048, tieWordEmbeddings: false,
  padTokenId: 0, bosTokenId: 1, eosTokenId: 2,
});

/** u-LLaVA-7B's language model: LLaMA-7B with 10 added tokens (vocab 32010). */
export const ULLAVA_7B_LLM: LlamaConfig = Object.freeze({ ...LLAMA_7B, vocabSize: 32010 });

/** A tiny config for tests: 2 layers, hidden 64, 4 heads over 2 key/value heads (GQA), vocab 128. */
export function tinyLlamaConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return validateConfig({
    vocabSize: 128, hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 2, numAttentionHeads: 4,
    numKeyValueHeads: 2, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 64, tieWordEmbeddings: false,
    ...over,
  }, 'tinyLlamaConfig');
}
