// The engine's public API.
export * from './dtype.js';
export * from './errors.js';
export { Device, openDevice, getDevice, currentDevice, closeDefaultDevice, setDefaultDevice, type DeviceOptions, type DeviceDescription } from './device.js';
export { Tensor, Storage, numel, contiguousStrides } from './tensor.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { backward, checkpoint } from './backward.js';
export { scope, scopeAsync, untrack } from './scope.js';
export * from './ops/views.js';
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/creation.js';
export * from './ops/softmax.js';
export * from './ops/shape.js';
export * from './ops/indexing.js';
export * from './ops/norm.js';
export * from './ops/matmul.js';
export * from './ops/conv.js';
export * from './ops/interpolate.js';
