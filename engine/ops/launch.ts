// Launching map kernels on tensors: strides aligned to the output's rank, parameters packed, the kernel
// generated from its body (kernels/) through the kernel cache.
import { Tensor, numel } from '../tensor.js';
import type { DType } from '../dtype.js';
import { packFactor } from '../dtype.js';
import { mapKernel, mapKernelVec4, MAP_WORKGROUP, type MapBody } from '../../kernels/map.js';
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

const indexFreeBodies = new Map<string, boolean>();

/**
 * Whether a map body reads its inputs only as `ld_NAME(idx)` and never looks at the index or the shape itself
 * (remembered per body: every elementwise op asks).
 */
export function isIndexFree(body: string): boolean {
  let free = indexFreeBodies.get(body);
  if (free === undefined) {
    free = !/\bidx\b|\bshape\(/.test(body.replace(/\bld_\w+\(idx\)/g, ''));
    indexFreeBodies.set(body, free);
  }
  return free;
}

/**
 * The same walk over fewer dimensions (as PyTorch's TensorIterator coalesces): size-1 dimensions are dropped
 * and a dimension merges into the one before it when every input steps over both as one (the output is
 * contiguous). Rank >= 1.
 */
export function coalesceDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [], outStrides: number[][] = strides.map(() => []);
  shape.forEach((size, d) => {
    if (size === 1) return;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * size)) {
      outShape[last] *= size;
      strides.forEach((s, k) => { outStrides[k][last] = s[d]; });
    } else {
      outShape.push(size);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  });
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/**
 * Per input, whether the vec4 kernel (kernels/map.ts mapKernelVec4) loads it four at a time (true) or
 * broadcasts one value (false); null where that kernel does not apply: an index-reading body, a tensor that
 * is not f32, an innermost dimension not a multiple of 4, or a vec4 input not aligned to 4 elements.
 */
function vec4Inputs(a: RunMapArgs, indexFree: boolean, shape: number[], strides: number[][], offsets: number[]): boolean[] | null {
  const R = shape.length;
  if (a.outDtype !== 'f32' || shape[R - 1] % 4 !== 0 || !indexFree) return null;
  const flags: boolean[] = [];
  for (let k = 0; k < a.inputs.length; k++) {
    const s = strides[k];
    if (a.inputs[k].tensor.dtype !== 'f32' || (s[R - 1] !== 0 && s[R - 1] !== 1)) return null;
    const v = s[R - 1] === 1;
    if (v && (offsets[k] % 4 !== 0 || s.some((x, d) => d < R - 1 && x % 4 !== 0))) return null;
    flags.push(v);
  }
  return flags;
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
  let shape = a.outShape.length ? [...a.outShape] : [1];
  let strides = a.inputs.map((i) => {
    const s = i.strides ?? (a.outShape.length ? broadcastStrides(i.tensor, a.outShape) : [0]);
    if (s.length !== shape.length) throw new Error(`${label}: input ${i.name} has ${s.length} strides for rank ${shape.length}`);
    return s;
  });
  // A body that only reads its inputs at the output's own index may run over fewer, longer dimensions:
  // each dimension costs an integer division per element, the dearest instruction on CPU drivers.
  const indexFree = isIndexFree(a.kernel.body);
  if (indexFree) ({ shape, strides } = coalesceDims(shape, strides));
  const R = shape.length;
  const offsets = a.inputs.map((i) => i.offset ?? i.tensor.offset);
  const spec = { ...a.kernel, rank: R, out: a.outDtype, inputs: a.inputs.map((i) => ({ name: i.name, dtype: i.tensor.dtype })) };
  const vec4 = vec4Inputs(a, indexFree, shape, strides, offsets);
  const kernel = vec4 ? kernelFor(mapKernelVec4, { ...spec, vec4 }) : kernelFor(mapKernel, spec);
  const params: number[] = [n, ...shape];
  a.inputs.forEach((i, k) => params.push(offsets[k], ...strides[k]));
  if (a.scalars) params.push(...a.scalars);
  const threads = vec4 ? n / 4 : Math.ceil(n / packFactor(a.outDtype));
  const perWorkgroup = vec4 ? MAP_WORKGROUP / 4 : MAP_WORKGROUP;
  device.dispatch(kernel, Uint32Array.from(params), [...a.inputs.map((i) => ({ buffer: i.tensor.storage.buffer })),
    { buffer: out.storage.buffer }], grid(Math.ceil(threads / perWorkgroup)));
  return out;
}

