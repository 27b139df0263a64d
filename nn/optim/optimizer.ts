// The optimizer base: parameter groups (per-group lr, weight decay and the rule's hyperparameters), f32
// state in flat buckets (one set per parameter dtype, created at the first step), f32 master weights for
// 16-bit parameters, and the GPU-side step: grad-stats dispatches (several gradients each) when clipping
// or loss scaling asks for them, one finalize dispatch, then fused multi-tensor updates
// (kernels/optim-update.ts: as many parameters per dispatch as the binding limit allows). Parameters
// and gradients stay where the model keeps them. No readback inside step().
import { Tensor, Storage, cast, zeros, noGrad, contiguous, reshape, writeSlice, isFloat, type DType, type Device } from '../../engine/index.js';
import { untrack } from '../../engine/scope.js';
import { grid } from '../../kernels/kernel.js';
import { STEP_STATE } from '../../kernels/optim.js';
import { multiUpdateKernel, UPDATE_TILE_WORDS, type UpdateRule } from '../../kernels/optim-update.js';
import { GradNormWorkspace, f32Bits, fromF32Bits, cachedKernel, bindingLimit, batches, MAX_TENSORS_PER_DISPATCH } from './grad-norm.js';
import type { GradScaler } from './grad-scaler.js';

export { f32Bits, fromF32Bits, cachedKernel };

/** Hyperparameters every group has. */
export interface BaseHyper { lr: number; weightDecay: number }

/** A group as given to the constructor: its parameters (optionally named) and overrides of the defaults. */
export type ParamGroupSpec<H extends BaseHyper> = Partial<H> & { params: Iterable<Tensor | [string, Tensor]> };

export type ParamGroup<H extends BaseHyper> = H & { params: Tensor[]; names: (string | null)[] };

export interface StepOptions {
  /** Clip the global L2 norm of the (unscaled) gradients to this value, as torch.nn.utils.clip_grad_norm_. */
  maxGradNorm?: number;
  /** Dynamic loss scaling: gradients are unscaled, the step is skipped on inf/NaN and the scale updated. */
  scaler?: GradScaler;
}

/** Serialisable optimizer state: JSON-able metadata plus the f32 state tensors by name. */
export interface OptimizerStateDict {
  meta: {
    kind: string;
    groups: Record<string, unknown>[];
    /** Per parameter (flat index over the groups): its name if given, shape, dtype and step count. */
    params: { name: string | null; shape: number[]; dtype: DType; step: number }[];
  };
  /** `state.<i>.<slot>` (e.g. state.3.exp_avg) and `state.<i>.master` for 16-bit parameters. */
  tensors: Map<string, Tensor>;
}

export class OptimizerStateError extends Error {
  constructor(message: string) { super(message); this.name = 'OptimizerStateError'; }
}

interface Entry {
  param: Tensor;
  group: number;
  index: number;
  dtype: DType;
  /** The storage the master weights were copied from: a parameter assigned anew gets a fresh master. */
  seen: Storage;
  /** Where the parameter's state lives (set at the first step): its bucket and element offset there. */
  bucket: StateBucket | null;
  off: number;
}

/** Flat f32 state of parameters of one dtype: one tensor per slot, and master weights for 16-bit ones. */
interface StateBucket { dtype: DType; slots: Tensor[]; master: Tensor | null }

export abstract class Optimizer<H extends BaseHyper> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly entries: Entry[] = [];
  /** u32 words: STEP_STATE header, then one step count per parameter. */
  readonly stepState: Tensor;
  private readonly workspace: GradNormWorkspace;
  readonly device: Device;
  private disposed = false;

  /** Names of the f32 state slots of every parameter (e.g. exp_avg, exp_avg_sq), in binding order. */
  protected abstract slotNames(): string[];
  /** The update rule's per-parameter scalars (RULE_SCALARS words: f32 bits or u32 flags) for a group. */
  protected abstract ruleScalars(group: ParamGroup<H>): number[];
  protected abstract readonly rule: UpdateRule;
  abstract readonly kind: string;
  private buckets: StateBucket[] | null = null;
  /** Most elements per state bucket (default: what one binding may hold). Set before the first step. */
  bucketElements: number | undefined;

  constructor(params: Iterable<Tensor | [string, Tensor]> | ParamGroupSpec<H>[], readonly defaults: H,
    /** Keep f32 master weights for 16-bit parameters (default true). */
    readonly masterWeights = true) {
    this.checkHyper(defaults, 'defaults');
    const list = [...params as Iterable<unknown>];
    const specs: ParamGroupSpec<H>[] = list.length > 0 && isGroupSpec(list[0])
      ? list as ParamGroupSpec<H>[] : [{ params: list as (Tensor | [string, Tensor])[] } as unknown as ParamGroupSpec<H>];
    const seen = new Set<Tensor>();
    this.paramGroups = specs.map((spec, gi) => {
      if (!isGroupSpec(spec)) throw new TypeError(`optimizer: group ${gi} must be an object with a 'params' list`);
      const { params: ps, ...over } = spec;
      const group = { ...defaults, ...over, params: [] as Tensor[], names: [] as (string | null)[] } as ParamGroup<H>;
      this.checkHyper(group, `group ${gi}`);
      for (const item of ps) {
        const [name, p] = Array.isArray(item) ? item as [string, Tensor] : [null, item as Tensor];
        if (!(p as Tensor)?.isTensor) throw new TypeError(`optimizer: group ${gi} has a non-tensor parameter${name ? ` '${name}'` : ''}`);
        const where = name ? `'${name}'` : `${group.params.length} of group ${gi}`;
        if (!isFloat(p.dtype)) throw new TypeError(`optimizer: parameter ${where} is ${p.dtype}; only floating tensors can be optimized`);
        if (!p.isContiguous()) throw new TypeError(`optimizer: parameter ${where} [${p.shape}] is a strided view; parameters must be contiguous`);
        if (p.dtype !== 'f32' && p.offset % 2 !== 0) throw new TypeError(`optimizer: 16-bit parameter ${where} starts at an odd element offset`);
        if (seen.has(p)) throw new TypeError(`optimizer: parameter ${where} appears twice`);
        seen.add(p);
        group.params.push(p);
        group.names.push(name);
        this.entries.push({ param: p, group: gi, index: this.entries.length, dtype: p.dtype, seen: p.storage,
          bucket: null, off: 0 });
      }
      return group;
    });
    if (this.entries.length === 0) throw new TypeError('optimizer: got an empty parameter list');
    this.device = this.entries[0].param.device;
    this.stepState = noGrad(() => zeros([STEP_STATE.steps + this.entries.length], 'u32', this.device));
    this.workspace = new GradNormWorkspace(this.device);
    untrack(this.stepState);
  }

  /** Validates hyperparameters (subclasses extend). */
  protected checkHyper(h: H, where: string): void {
    if (!(h.lr >= 0) || !Number.isFinite(h.lr)) throw new RangeError(`optimizer ${where}: lr must be a finite number >= 0, got ${h.lr}`);
    if (!(h.weightDecay >= 0) || !Number.isFinite(h.weightDecay)) throw new RangeError(`optimizer ${where}: weightDecay must be >= 0, got ${h.weightDecay}`);
  }

  /** Sets every parameter's .grad to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const e of this.entries) { e.param.grad?.dispose(); e.param.grad = null; }
  }

  /** The parameters, in the flat order used by stateDict. */
  get params(): Tensor[] { return this.entries.map((e) => e.param); }

  /**
   * One optimization step over the parameters that have a .grad (the others are left alone and keep
   * their step count, as PyTorch skips parameters whose grad is None). Encodes GPU work only.
   */
  step(opts: StepOptions = {}): void {
    if (this.disposed) throw new Error('optimizer.step: the optimizer was disposed');
    if (opts.maxGradNorm !== undefined && !(opts.maxGradNorm > 0)) {
      throw new RangeError(`optimizer.step: maxGradNorm must be > 0, got ${opts.maxGradNorm}`);
    }
    const live = this.entries.filter((e) => e.param.grad);
    for (const e of live) this.checkEntry(e);
    noGrad(() => {
      if (!this.buckets) this.allocateState();
      const grads = live.map((e) => {
        const g = e.param.grad!;
        return g.isContiguous() && (g.dtype === 'f32' || g.offset % 2 === 0) ? g : contiguous(g);
      });
      try {
        this.workspace.encode(grads, this.stepState, { maxGradNorm: opts.maxGradNorm,
          scaler: opts.scaler?.enabled ? opts.scaler : undefined, updated: live.map((e) => e.index) });
        this.encodeUpdates(live, grads);
      } finally {
        grads.forEach((g, i) => { if (g !== live[i].param.grad) g.dispose(); });
      }
    });
  }

  /** One fused dispatch per batch of parameters sharing a state bucket (so a dtype). */
  private encodeUpdates(live: Entry[], grads: Tensor[]): void {
    const nSlots = this.slotNames().length;
    const byEntry = new Map(live.map((e, i) => [e, grads[i]]));
    for (const batch of batches(live, (e) => String(this.buckets!.indexOf(e.bucket!)), Infinity)) {
      const bucket = batch[0].bucket!;
      const master = bucket.master !== null;
      const maxK = Math.max(1, Math.min(MAX_TENSORS_PER_DISPATCH, Math.floor((bindingLimit(this.device) - 2 - nSlots - (master ? 1 : 0)) / 2)));
      for (const part of splitParts(batch, maxK)) {
        const k = part.length;
        const kernel = cachedKernel(`${this.rule}|${bucket.dtype}|${master}|${nSlots}|${k}`,
          () => multiUpdateKernel(this.rule, bucket.dtype, master, nSlots, k));
        const pack = bucket.dtype === 'f32' ? 1 : 2;
        const starts = [0];
        for (const e of part) starts.push(starts[starts.length - 1] + Math.ceil(Math.ceil(e.param.size / pack) / UPDATE_TILE_WORDS));
        const params = [...starts, ...part.flatMap((e) => [e.param.size, e.index, byEntry.get(e)!.offset, e.param.offset, e.off, 0,
          ...this.ruleScalars(this.paramGroups[e.group])])];
        const buffers = [this.stepState, ...bucket.slots, ...(master ? [bucket.master!] : []),
          ...part.flatMap((e) => [e.param, byEntry.get(e)!])].map((t) => ({ buffer: t.storage.buffer }));
        if (starts[k] > 0) this.device.dispatch(kernel, Uint32Array.from(params), buffers, grid(starts[k]));
      }
    }
  }

  /** Creates the zeroed state buckets (and master weights from the parameters) for every parameter. */
  private allocateState(): void {
    const nSlots = this.slotNames().length;
    const cap = this.bucketElements ?? Math.floor(this.device.maxBindingBytes / 4);
    const buckets: StateBucket[] = [];
    const sizes: number[] = [];
    const open = new Map<DType, number>();
    for (const e of this.entries) {
      const n = Math.max(1, e.param.size);
      let b = open.get(e.dtype);
      if (b === undefined || sizes[b] + n > cap) {
        b = buckets.length;
        buckets.push({ dtype: e.dtype, slots: [], master: null });
        sizes.push(0);
        open.set(e.dtype, b);
      }
      e.bucket = buckets[b];
      e.off = sizes[b];
      sizes[b] += n;
    }
    buckets.forEach((bk, i) => {
      const make = () => { const t = zeros([sizes[i]], 'f32', this.device); untrack(t); return t; };
      bk.slots = Array.from({ length: nSlots }, make);
      if (bk.dtype !== 'f32' && this.masterWeights) bk.master = make();
    });
    this.buckets = buckets;
    for (const e of this.entries) if (e.bucket!.master) this.refreshMaster(e);
  }

  /** master[e] = the parameter's current values, widened to f32. */
  private refreshMaster(e: Entry): void {
    if (e.param.size === 0) return;
    noGrad(() => {
      const wide = cast(e.param, 'f32');
      const flat = reshape(wide, [e.param.size]);
      writeSlice(e.bucket!.master!, flat, 0, e.off);
      flat.dispose(); wide.dispose();
    });
  }

  private checkEntry(e: Entry): void {
    const p = e.param;
    p.assertAlive('optimizer.step');
    if (p.dtype !== e.dtype) {
      throw new TypeError(`optimizer.step: parameter ${this.nameOf(e)} changed dtype from ${e.dtype} to ${p.dtype}; ` +
        'create the optimizer after converting the model');
    }
    const g = p.grad!;
    if (g.shape.join() !== p.shape.join() || g.dtype !== p.dtype) {
      throw new TypeError(`optimizer.step: parameter ${this.nameOf(e)} [${p.shape}] ${p.dtype} has a gradient [${g.shape}] ${g.dtype}`);
    }
    if (p.storage !== e.seen) {
      // The parameter was assigned new contents (weights loaded): its master copy restarts from them.
      e.seen = p.storage;
      if (e.bucket?.master) this.refreshMaster(e);
    }
  }

  protected nameOf(e: Entry): string {
    const n = this.paramGroups[e.group].names[this.paramGroups[e.group].params.indexOf(e.param)];
    return n ? `'${n}'` : `#${e.index} [${e.param.shape}]`;
  }

  /** Reads the step state back (a sync point): the last step's gradient norm, skip flag and loss-scale factor. */
  async lastStep(): Promise<{ gradNorm: number; skipped: boolean; clipCoef: number; invScale: number }> {
    const w = await this.stepState.toArray() as Uint32Array;
    return { gradNorm: fromF32Bits(w[STEP_STATE.norm]), skipped: w[STEP_STATE.foundInf] !== 0,
      clipCoef: fromF32Bits(w[STEP_STATE.clipCoef]), invScale: fromF32Bits(w[STEP_STATE.invScale]) };
  }

  /** Step count of every parameter (a sync point). */
  async stepCounts(): Promise<number[]> {
    const w = await this.stepState.toArray() as Uint32Array;
    return Array.from(w.subarray(STEP_STATE.steps));
  }

  /** Hyperparameters of a group as plain JSON (no tensors). */
  private groupMeta(g: ParamGroup<H>): Record<string, unknown> {
    const { params, names, ...rest } = g;
    return { ...rest, params: params.map((p) => this.entries.findIndex((e) => e.param === p)) };
  }

  /**
   * The state for a checkpoint. The tensors are new handles on the live state (dispose them when
   * written); write them before the next step() changes them in place.
   */
  async stateDict(): Promise<OptimizerStateDict> {
    const steps = await this.stepCounts();
    const tensors = new Map<string, Tensor>();
    const names = this.slotNames();
    const view = (t: Tensor, e: Entry) => new Tensor(t.storage.retain(), [e.param.size], 'f32', [1], e.off);
    for (const e of this.entries) {
      // As PyTorch: state only for parameters that have taken a step.
      if (!e.bucket || steps[e.index] === 0) continue;
      e.bucket.slots.forEach((s, k) => tensors.set(`state.${e.index}.${names[k]}`, view(s, e)));
      if (e.bucket.master) tensors.set(`state.${e.index}.master`, view(e.bucket.master, e));
    }
    return {
      meta: {
        kind: this.kind,
        groups: this.paramGroups.map((g) => this.groupMeta(g)),
        params: this.entries.map((e) => ({ name: this.paramGroups[e.group].names[this.paramGroups[e.group].params.indexOf(e.param)],
          shape: [...e.param.shape], dtype: e.dtype, step: steps[e.index] })),
      },
      tensors,
    };
  }

  /**
   * Restores a state from stateDict() (the tensors are copied; the caller keeps and disposes its own).
   * Refuses, changing nothing, a state of another optimizer kind, parameter list or shapes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const { meta, tensors } = sd;
    if (meta?.kind !== this.kind) throw new OptimizerStateError(`loadStateDict: the state is of a '${meta?.kind}' optimizer, this one is '${this.kind}'`);
    if (meta.groups.length !== this.paramGroups.length) {
      throw new OptimizerStateError(`loadStateDict: the state has ${meta.groups.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    }
    if (meta.params.length !== this.entries.length) {
      throw new OptimizerStateError(`loadStateDict: the state has ${meta.params.length} parameters, this optimizer ${this.entries.length}`);
    }
    const problems: string[] = [];
    this.entries.forEach((e, i) => {
      const m = meta.params[i];
      if (m.shape.join() !== e.param.shape.join() || m.dtype !== e.dtype) {
        problems.push(`#${i}${m.name ? ` '${m.name}'` : ''}: state [${m.shape}] ${m.dtype}, parameter [${e.param.shape}] ${e.dtype}`);
      }
      const needed = [...this.slotNames(), ...(e.dtype !== 'f32' && this.masterWeights ? ['master'] : [])];
      const present = needed.filter((s) => tensors.has(`state.${i}.${s}`));
      if (present.length !== 0 && present.length !== needed.length) problems.push(`#${i}: has ${present.join(', ')} but not all of ${needed.join(', ')}`);
      if (present.length === 0 && m.step > 0) problems.push(`#${i}: step ${m.step} but no state tensors`);
      for (const s of present) {
        const t = tensors.get(`state.${i}.${s}`)!;
        if (t.size !== e.param.size) problems.push(`#${i}.${s}: ${t.size} values for a parameter of ${e.param.size}`);
      }
    });
    if (problems.length) throw new OptimizerStateError(`loadStateDict: the state does not match the parameters (${problems.slice(0, 8).join('; ')})`);
    noGrad(() => {
      if (!this.buckets) this.allocateState();
      const names = this.slotNames();
      // Copies into the buckets (never shares the caller's storage: the update writes in place).
      const put = (dst: Tensor, e: Entry, src: Tensor | undefined) => {
        if (e.param.size === 0) return;
        const flat = src ? reshape(src, [e.param.size]) : zeros([e.param.size], 'f32', this.device);
        writeSlice(dst, flat, 0, e.off);
        flat.dispose();
      };
      this.entries.forEach((e, i) => {
        const b = e.bucket!;
        b.slots.forEach((s, k) => put(s, e, tensors.get(`state.${i}.${names[k]}`)));
        e.seen = e.param.storage;
        if (!b.master) return;
        const m = tensors.get(`state.${i}.master`);
        if (m) put(b.master, e, m); else this.refreshMaster(e);
      });
      const words = new Uint32Array(this.stepState.size);
      meta.params.forEach((m, i) => { words[STEP_STATE.steps + i] = m.step; });
      const fresh = Tensor.fromHost(words, [words.length], 'u32', this.device);
      this.stepState.assign(fresh); fresh.dispose();
      meta.groups.forEach((gm, gi) => {
        const { params: _p, ...hyper } = gm;
        Object.assign(this.paramGroups[gi], hyper);
      });
    });
  }

  /** Frees the optimizer state (the parameters are not touched). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.buckets ?? []) { b.slots.forEach((s) => s.dispose()); b.master?.dispose(); }
    this.buckets = null;
    for (const e of this.entries) e.bucket = null;
    this.stepState.dispose(); this.workspace.dispose();
  }
}

/**
 * Cuts a batch into dispatches of at most maxK parameters, never putting two parameters that share a
 * GPU buffer (views of one storage, tied weights) in one dispatch: a buffer may be bound writable once.
 */
function splitParts(batch: Entry[], maxK: number): Entry[][] {
  const parts: Entry[][] = [];
  let cur: Entry[] = [];
  let buffers = new Set<GPUBuffer>();
  for (const e of batch) {
    const b = e.param.storage.buffer;
    if (cur.length >= maxK || buffers.has(b)) { parts.push(cur); cur = []; buffers = new Set(); }
    cur.push(e);
    buffers.add(b);
  }
  if (cur.length) parts.push(cur);
  return parts;
}

function isGroupSpec(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !(x as Tensor).isTensor && !Array.isArray(x) && 'params' in (x as object);
}
