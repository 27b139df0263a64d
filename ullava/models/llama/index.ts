export {
  headDim, validateConfig, llamaConfigFromHF, readLlamaConfig, tinyLlamaConfig, type LlamaConfig, LLAMA_7B,
  ULLAVA_7B_LLM,
} from './config.js';
export { ropeInvFreq, rotateHalf, applyRotary, RotaryEmbedding } from './rope.js';
export { type Projection, type AttentionContext, LlamaAttention } from './attention.js';
export { LlamaMLP } from './mlp.js';
export { LlamaDecoderLayer } from './decoder-layer.js';
export { type KVCacheOptions, KVCache } from './kv-cache.js';
export { PAD_BIAS, type LlamaForwardInput, type LlamaForwardOutput, LlamaModel, LlamaForCausalLM } from './model.js';
export {
  llamaParameterCount, llamaMemoryBytes, deviceMemoryBudget, checkFits, type LlamaMemoryOptions, type LlamaMemory,
  InsufficientMemoryError,
} from './memory.js';
export {
  isIgnorableLlamaKey, loadLlamaWeights, loadLlama, type LoadLlamaOptions, type LoadLlamaModelOptions,
} from './load.js';
