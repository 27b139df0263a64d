// The nn layer's public API (the package's `ullava-ts/nn`): modules with named parameters and state
// dicts, the standard layers, LoRA and attention. Checkpoint formats are in `ullava-ts/nn/io`.
export { Module, ModuleList, StateDictError, type StateDict, type LoadResult } from './module.js';
export {
  Linear, Embedding, LayerNorm, RMSNorm, Conv2d, ConvTranspose2d, Dropout, MLP, activate, seedPlus, withSeed,
  type Activation, type LayerOptions, type ConvOptions,
} from './layers.js';
export { LoRALinear, type LoraOptions } from './lora.js';
export { attention } from './attention.js';
export type { AttentionOptions } from '../engine/index.js';
export {
  Optimizer, OptimizerStateError, AdamW, ADAMW_DEFAULTS, SGD, SGD_DEFAULTS, GradScaler, clipGradNorm,
  accumulateGradients, LambdaLR, cosineWithWarmup, linearWithWarmup, constantWithWarmup, warmupStepsFromRatio,
  type BaseHyper, type ParamGroup, type ParamGroupSpec, type StepOptions, type OptimizerStateDict, type AdamWHyper,
  type AdamWOptions, type SGDHyper, type SGDOptions, type GradScalerOptions, type GradScalerState, type LrLambda,
  type LambdaLRState,
} from './optim/index.js';
