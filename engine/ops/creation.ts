// Tensors made on the device: filled, ranges, and seeded random numbers (kernels/random.ts: a
// counter-based hash of (seed, element index), reproducible and independent of how the work is split).
import { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { runMap, f32Bits } from './launch.js';
import { computeType } from '../../kernels/wgsl.js';
import { fillBody, arangeBody } from '../../kernels/elementwise.js';
import { uniformBody, normalBody } from '../../kernels/random.js';
import { currentDevice, type Device } from '../device.js';

export function full(shape: readonly number[], value: number, dtype: DType = 'f32', device: Device = currentDevice()): Tensor {
  const ct = computeType(dtype);
  return runMap({ kernel: fillBody(dtype), inputs: [], outShape: shape, outDtype: dtype, device,
    scalars: [ct === 'f32' ? f32Bits(value) : value >>> 0] });
}

export const zeros = (shape: readonly number[], dtype: DType = 'f32', device?: Device) => full(shape, 0, dtype, device);
export const ones = (shape: readonly number[], dtype: DType = 'f32', device?: Device) => full(shape, 1, dtype, device);

/** start, start + step, ... below end (1-D). */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'f32', device: Device = currentDevice()): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ct = computeType(dtype);
  return runMap({ kernel: arangeBody(dtype), inputs: [], outShape: [n], outDtype: dtype, device,
    scalars: [ct === 'f32' ? f32Bits(start) : start | 0, f32Bits(step)] });
}

let globalSeed = 0x2545f491;
let counter = 0;

/** Sets the seed of the default random stream (each draw advances it). */
export function manualSeed(seed: number): void { globalSeed = seed >>> 0; counter = 0; }

/** The default stream's position (seed and draws so far): what a training checkpoint saves to resume exactly. */
export interface RandomState { seed: number; counter: number }

export function getRandomState(): RandomState { return { seed: globalSeed, counter }; }

export function setRandomState(s: RandomState): void {
  if (!Number.isInteger(s?.seed) || !Number.isInteger(s?.counter) || s.counter < 0) {
    throw new RangeError(`setRandomState: expected { seed, counter } integers, got ${JSON.stringify(s)}`);
  }
  globalSeed = s.seed >>> 0; counter = s.counter;
}

/** The next seed of the default stream (for ops that draw random numbers, e.g. dropout). */
export function nextRandomSeed(): number { return nextSeed(); }

function nextSeed(seed?: number): number {
  if (seed !== undefined) return seed >>> 0;
  counter++;
  return (globalSeed ^ Math.imul(counter, 0x9e3779b9)) >>> 0;
}

export interface RandomOptions { dtype?: DType; seed?: number; device?: Device }

/** Uniform in [low, high). */
export function rand(shape: readonly number[], low = 0, high = 1, o: RandomOptions = {}): Tensor {
  return runMap({ kernel: uniformBody(shape.length), inputs: [], outShape: shape, outDtype: o.dtype ?? 'f32',
    device: o.device ?? currentDevice(), scalars: [nextSeed(o.seed), f32Bits(low), f32Bits(high)] });
}

/** Normal with the given mean and standard deviation. */
export function randn(shape: readonly number[], mean = 0, std = 1, o: RandomOptions = {}): Tensor {
  return runMap({ kernel: normalBody(shape.length), inputs: [], outShape: shape, outDtype: o.dtype ?? 'f32',
    device: o.device ?? currentDevice(), scalars: [nextSeed(o.seed), f32Bits(mean), f32Bits(std)] });
}
