// Optimizers, schedules, clipping, loss scaling and gradient accumulation.
export { Optimizer, OptimizerStateError, type BaseHyper, type ParamGroup, type ParamGroupSpec, type StepOptions, type OptimizerStateDict } from './optimizer.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWHyper, type AdamWOptions } from './adamw.js';
export { SGD, SGD_DEFAULTS, type SGDHyper, type SGDOptions } from './sgd.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
export { clipGradNorm } from './clip.js';
export { accumulateGradients } from './accumulate.js';
export { LambdaLR, cosineWithWarmup, linearWithWarmup, constantWithWarmup, warmupStepsFromRatio, type LrLambda, type LambdaLRState } from './schedule.js';
