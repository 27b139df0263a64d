// Tensors made on the device: filled, ranges, and seeded random numbers. Random values come from a
// counter-based hash of (seed, element index), so they are reproducible across runs and independent of
// how the work is split; test/ref has the same hash for checking.
import { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { runMap, f32Bits } from './launch.js';
import { computeType } from '../../kernels/wgsl.js';
import { currentDevice, type Device } from '../device.js';

export function full(shape: readonly number[], value: number, dtype: DType = 'f32', device: Device = currentDevice()): Tensor {
  const ct = computeType(dtype);
  const v = ct === 'f32' ? 'sc_f(0)' : ct === 'i32' ? 'sc_i(0)' : 'sc_u(0)';
  return runMap({ label: 'fill', body: `return ${v};`, inputs: [], outShape: shape, outDtype: dtype, device,
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
  const body = ct === 'f32' ? 'return sc_f(0) + f32(idx[0]) * sc_f(1);'
    : `return ${ct}(f32(sc_i(0)) + f32(idx[0]) * sc_f(1));`;
  return runMap({ label: 'arange', body, inputs: [], outShape: [n], outDtype: dtype, device,
    scalars: [ct === 'f32' ? f32Bits(start) : start | 0, f32Bits(step)] });
}

/** The hash: PCG-style mixing of (seed, counter) to 32 random bits. Kept in sync with test/ref/random.ts. */
export const HASH_WGSL = /* wgsl */ `
fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn rand_u32(seed: u32, i: u32) -> u32 { return pcg(pcg(i ^ pcg(seed)) + seed); }
// uniform in (0, 1): 24 random bits, offset by half a step so log() never sees 0.
fn rand_f(seed: u32, i: u32) -> f32 { return (f32(rand_u32(seed, i) >> 8u) + 0.5) / 16777216.0; }
`;

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
  return runMap({ label: 'rand', helpers: HASH_WGSL, inputs: [], outShape: shape, outDtype: o.dtype ?? 'f32',
    device: o.device ?? currentDevice(),
    body: `let i = ${linearIndex(shape.length)}; return sc_f(1) + (sc_f(2) - sc_f(1)) * (rand_f(sc_u(0), i) - 0.5 / 16777216.0);`,
    scalars: [nextSeed(o.seed), f32Bits(low), f32Bits(high)] });
}

/** Normal with the given mean and standard deviation (Box-Muller on two hashed uniforms). */
export function randn(shape: readonly number[], mean = 0, std = 1, o: RandomOptions = {}): Tensor {
  return runMap({ label: 'randn', helpers: HASH_WGSL, inputs: [], outShape: shape, outDtype: o.dtype ?? 'f32',
    device: o.device ?? currentDevice(),
    body: `let i = ${linearIndex(shape.length)};
  let u1 = rand_f(sc_u(0), 2u * i); let u2 = rand_f(sc_u(0), 2u * i + 1u);
  return sc_f(1) + sc_f(2) * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);`,
    scalars: [nextSeed(o.seed), f32Bits(mean), f32Bits(std)] });
}

function linearIndex(rank: number): string {
  if (rank === 0) return 'idx[0]';
  let e = 'idx[0]';
  for (let d = 1; d < rank; d++) e = `(${e}) * shape(${d}u) + idx[${d}]`;
  return e;
}
