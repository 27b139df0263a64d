// The gradient-statistics pass shared by the optimizer step and clipGradNorm: per gradient one dispatch
// writing per-workgroup partial sums of squares and non-finite flags, then one finalize dispatch that
// reduces them in a fixed order (deterministic) into the step state (norm, clip coefficient, skip flag).
import { Tensor, zeros, type Device } from '../../engine/index.js';
import { untrack } from '../../engine/scope.js';
import { grid, type KernelSource } from '../../kernels/kernel.js';
import {
  gradStatsKernel, optimFinalizeKernel, OPTIM_WORKGROUP, STATS_MAX_WORKGROUPS, FINALIZE_FLAGS,
} from '../../kernels/optim.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The bits of x rounded to f32 (host math runs in float64, as Python's does; kernels get f32 scalars). */
export function f32Bits(x: number): number { f32[0] = x; return u32[0]; }
export function fromF32Bits(b: number): number { u32[0] = b; return f32[0]; }

const kernelCache = new Map<string, KernelSource>();
export function cachedKernel(key: string, make: () => KernelSource): KernelSource {
  let k = kernelCache.get(key);
  if (!k) { k = make(); kernelCache.set(key, k); }
  return k;
}

export interface FinalizeOptions {
  maxGradNorm?: number;
  scaler?: { state: Tensor; growthFactor: number; backoffFactor: number; growthInterval: number };
  /** Parameter indices whose step count advances (unless the step is skipped). */
  updated?: number[];
}

/** Scratch buffers of the pass, kept between steps. */
/** Fewest gradient elements one grad-stats thread sums. */
const STATS_ELEMENTS_PER_THREAD = 64;

export class GradNormWorkspace {
  private partials: Tensor | null = null;
  // Stand-ins bound when there are no partials or no scaler (two: a buffer may not be bound both
  // read-only and writable in one dispatch).
  private readonly noPartials: Tensor;
  private readonly noScaler: Tensor;
  constructor(readonly device: Device) {
    this.noPartials = zeros([2], 'f32', device);
    this.noScaler = zeros([2], 'u32', device);
    untrack(this.noPartials); untrack(this.noScaler);
  }

  /**
   * Encodes the statistics of `grads` (contiguous, 16-bit ones at even offsets) and the finalize
   * dispatch writing `stepState` (layout STEP_STATE). With no maxGradNorm and no scaler, the
   * statistics are skipped and the finalize only sets the multipliers to 1 and advances step counts.
   */
  encode(grads: Tensor[], stepState: Tensor, opts: FinalizeOptions): void {
    const stats = opts.maxGradNorm !== undefined || opts.scaler !== undefined;
    const n = stats ? this.encodeStats(grads) : 0;
    const s = opts.scaler;
    const flags = (opts.maxGradNorm !== undefined ? FINALIZE_FLAGS.clip : 0) | (s ? FINALIZE_FLAGS.scaler : 0);
    const updated = opts.updated ?? [];
    const params = [n, flags, f32Bits(opts.maxGradNorm ?? 0), f32Bits(s?.growthFactor ?? 1), f32Bits(s?.backoffFactor ?? 1),
      s?.growthInterval ?? 0, updated.length, ...updated];
    this.device.dispatch(cachedKernel('finalize', optimFinalizeKernel), Uint32Array.from(params),
      [{ buffer: (this.partials ?? this.noPartials).storage.buffer }, { buffer: stepState.storage.buffer },
        { buffer: (s ? s.state : this.noScaler).storage.buffer }], [1, 1, 1]);
  }

  private encodeStats(grads: Tensor[]): number {
    // At least STATS_ELEMENTS_PER_THREAD elements per thread: each workgroup ends in a barrier-heavy
    // reduction, which CPU drivers run as coroutine switches (a 5M-element embedding gradient took 80 ms
    // with 4 per thread on lavapipe); a GPU still gets hundreds of workgroups for the large gradients.
    const counts = grads.map((g) => Math.max(1, Math.min(STATS_MAX_WORKGROUPS, Math.ceil(g.size / (OPTIM_WORKGROUP * STATS_ELEMENTS_PER_THREAD)))));
    const total = counts.reduce((a, b) => a + b, 0);
    if (!this.partials || this.partials.size < 2 * total) {
      this.partials?.dispose();
      this.partials = zeros([2 * Math.max(1, total)], 'f32', this.device);
      untrack(this.partials);
    }
    const bases: number[] = [];
    counts.reduce((acc, c, i) => { bases[i] = acc; return acc + c; }, 0);
    // Several gradients of one dtype per dispatch, as many as the bindings allow (P and PART take two).
    const maxK = Math.max(1, Math.min(MAX_STATS_PER_DISPATCH, bindingLimit(this.device) - 2));
    for (const batch of batches(grads.map((g, i) => i), (i) => grads[i].dtype, maxK)) {
      const k = batch.length;
      const dtype = grads[batch[0]].dtype;
      const starts = [0];
      for (const i of batch) starts.push(starts[starts.length - 1] + counts[i]);
      // An empty gradient still owns its partial slot: the kernel writes zeros there.
      const params = [...starts, ...batch.flatMap((i) => [grads[i].size, bases[i], grads[i].offset, counts[i]])];
      this.device.dispatch(cachedKernel(`stats|${dtype}|${k}`, () => gradStatsKernel(dtype, k)), Uint32Array.from(params),
        [{ buffer: this.partials.storage.buffer }, ...batch.map((i) => ({ buffer: grads[i].storage.buffer }))], grid(starts[k]));
    }
    return total;
  }

  dispose(): void { this.partials?.dispose(); this.partials = null; this.noPartials.dispose(); this.noScaler.dispose(); }
}

/** Most parameters one update dispatch takes (bounds the generated code; the binding limit may be lower). */
export const MAX_TENSORS_PER_DISPATCH = 8;
/** Most gradients one statistics dispatch takes. */
export const MAX_STATS_PER_DISPATCH = 16;

/** Storage buffers a shader may bind (WebGPU guarantees 8). */
export function bindingLimit(device: Device): number {
  return Math.max(8, Number(device.limits.maxStorageBuffersPerShaderStage) || 8);
}

/** Consecutive runs of items with the same key, cut into batches of at most maxK (order kept). */
export function batches<T>(items: T[], key: (t: T) => string, maxK: number): T[][] {
  const out: T[][] = [];
  const open = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let cur = open.get(k);
    if (!cur || cur.length >= maxK) { cur = []; open.set(k, cur); out.push(cur); }
    cur.push(it);
  }
  return out;
}
