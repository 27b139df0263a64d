// Launching map kernels on tensors: strides aligned to the output's rank, parameters packed, the kernel
// generated from its body (kernels/) through the kernel cache.
import { Tensor, numel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { packFactor } from '../dtype.js';
import { mapKernel, MAP_WORKGROUP, type MapBody } from '../../kernels/map.js';
import { grid } from '../../kernels/kernel.js';
import { kernelFor } from '../kernel-cache.js';
import type { Device } from '../device.js';
import { ShapeError } from '../errors.js';

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
const i32buf = new Int32Array(f32buf.buffer);
export function f32Bits(x: number): number { f32buf[0] = x; return u32buf[0]; }
export function i32Bits(x: number): number { i32buf[0] = x; return u32buf[0]; }

/** Strides that read `t` broadcast to `outShape` (right-aligned; broadcast dims get stride 0). */
export function broadcastStrides(t: Tensor, outShape: readonly number[]): number[] {
  const R = outShape.length, r = t.rank;
  const s = new Array<number>(R).fill(0);
  for (let i = 0; i < r; i++) {
    const d = t.shape[r - 1 - i], o = outShape[R - 1 - i];
    if (d === o) s[R - 1 - i] = t.strides[r - 1 - i];
    else if (d !== 1) throw new ShapeError(`cannot broadcast shape [${t.shape}] to [${outShape}]`);
  }
  return s;
}

export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const R = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(R).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = R - s.length + i, d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new ShapeError(`${op}: shapes ${shapes.map((x) => `[${x}]`).join(' and ')} cannot be broadcast together`);
      }
    }
  }
  return out;
}

export interface MapInputArg {
  name: string;
  tensor: Tensor;
  /** Strides over the output's index space (default: broadcast of the tensor to the output shape). */
  strides?: number[];
  /** Element offset (default: the tensor's own). */
  offset?: number;
}

export interface RunMapArgs {
  /** The kernel's body, from a generator in kernels/. */
  kernel: MapBody;
  inputs: MapInputArg[];
  outShape: readonly number[];
  outDtype: DType;
  /** Extra u32 words (use f32Bits / i32Bits for other scalars). */
  scalars?: number[];
  device?: Device;
}

/** Runs a map kernel and returns its (new, contiguous) output. */
export function runMap(a: RunMapArgs): Tensor {
  const device = a.device ?? a.inputs[0]?.tensor.device;
  const label = a.kernel.label;
  if (!device) throw new Error(`${label}: no device (no inputs and none given)`);
  for (const i of a.inputs) i.tensor.assertAlive(label);
  const out = Tensor.empty(a.outShape, a.outDtype, device);
  const n = numel(a.outShape);
  if (n === 0) return out;
  const R = Math.max(1, a.outShape.length);
  const shape = a.outShape.length ? [...a.outShape] : [1];
  const kernel = kernelFor(mapKernel, { ...a.kernel, rank: R, out: a.outDtype,
    inputs: a.inputs.map((i) => ({ name: i.name, dtype: i.tensor.dtype })) });
  const params: number[] = [n, ...shape];
  for (const i of a.inputs) {
    const s = i.strides ?? (a.outShape.length ? broadcastStrides(i.tensor, a.outShape) : [0]);
    if (s.length !== R) throw new Error(`${label}: input ${i.name} has ${s.length} strides for rank ${R}`);
    params.push(i.offset ?? i.tensor.offset, ...s);
  }
  if (a.scalars) params.push(...a.scalars);
  const threads = Math.ceil(n / packFactor(a.outDtype));
  device.dispatch(kernel, Uint32Array.from(params), [...a.inputs.map((i) => ({ buffer: i.tensor.storage.buffer })),
    { buffer: out.storage.buffer }], grid(Math.ceil(threads / MAP_WORKGROUP)));
  return out;
}

