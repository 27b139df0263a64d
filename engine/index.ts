// The engine's public API: devices, tensors, autograd and the ops. Internals (kernel launching, the
// packed-GEMM plumbing, the kernel cache, WGSL tables) are reachable only by path, for tests and benches.
export {
  type DType, DTYPES, itemSize, packFactor, storageBytes, isFloat, assertDType,
  f32ToBf16Bits, bf16BitsToF32, f32ToF16Bits, f16BitsToF32, roundTo, encodeHost, decodeHost,
} from './dtype.js';
export {
  NoAdapterError, DeviceLostError, DeviceValidationError, DeviceOutOfMemoryError, ShaderCompilationError, ShapeError,
} from './errors.js';
export {
  Device, openDevice, getDevice, parseBytes, bindableBytes, STAGING_CHUNK_BYTES, currentDevice, closeDefaultDevice, setDefaultDevice,
  type DeviceOptions, type DeviceDescription, type SubgroupMatrixConfig,
} from './device.js';
export { type MemoryStats } from './pool.js';
export { Tensor, Storage, numel, contiguousStrides, type HostData } from './tensor.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { backward, checkpoint, type BackwardOptions } from './backward.js';
export { scope, scopeAsync, untrack } from './scope.js';
export { contiguous, cast, reshape, flatten, permute, transpose, slice, expand, unsqueeze, squeeze, castAndDispose } from './ops/views.js';
export {
  promote, add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, mulScalar,
  neg, abs, exp, log, log1p, sqrt, rsqrt, sin, cos, relu, sigmoid, tanh, silu, quickGelu, gelu, clamp, where,
} from './ops/elementwise.js';
export { sum, mean, max, min, argmax, argmin, logsumexp, variance, sumToShape, type ReduceOptions } from './ops/reduce.js';
export {
  full, zeros, ones, arange, manualSeed, rand, randn, getRandomState, setRandomState, type RandomOptions, type RandomState,
} from './ops/creation.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { concat, stack, split, pad } from './ops/shape.js';
export { gather, indexSelect, embedding, scatterAdd, checkIndices } from './ops/indexing.js';
export { layerNorm, rmsNorm, layerNormComposed, rmsNormComposed } from './ops/norm.js';
export {
  crossEntropy, crossEntropyComposed, binaryCrossEntropyWithLogits, type Reduction, type CrossEntropyOptions, type BCEOptions,
} from './ops/losses.js';
export { matmul, matmulFused, linear, type MatmulOptions, type FusedOptions, type Activation } from './ops/matmul.js';
export { gemm, matmulF32, type GemmExtras } from './ops/gemm.js';
export { planMatmul, type MatmulVariant, type MatmulPlan, type PlanOperands } from './ops/matmul-plan.js';
export {
  conv2d, convTranspose2d, unfold, fold, planConv, type ConvImpl, type Conv2dOptions, type ConvTranspose2dOptions, type UnfoldOptions,
} from './ops/conv.js';
export { interpolateBilinear, type InterpolateOptions } from './ops/interpolate.js';
export { dropout } from './ops/dropout.js';
export {
  scaledDotProductAttention, planAttention, type AttentionOptions, type AttentionImpl, type AttentionPlan,
} from './ops/attention.js';
export { writeSlice } from './ops/inplace.js';
