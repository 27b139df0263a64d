// The optimizer base: parameter groups (per-group lr, weight decay and the rule's hyperparameters), lazily
// created f32 state, f32 master weights for 16-bit parameters, and the GPU-side step (kernels/optim.ts):
// per parameter one grad-stats dispatch when clipping or loss scaling asks for it, one finalize dispatch
// for the step, then one fused update dispatch per parameter. No readback inside step().
import { Tensor, Storage, cast, zeros, noGrad, contiguous, fusedMap, reshape, isFloat, type DType, type Device } from '../../engine/index.js';
import { untrack } from '../../engine/scope.js';
import { grid, type KernelSource } from '../../kernels/kernel.js';
import { OPTIM_WORKGROUP, UPDATE_WORDS_PER_THREAD, STEP_STATE } from '../../kernels/optim.js';
import { GradNormWorkspace, f32Bits, fromF32Bits, cachedKernel } from './grad_norm.js';
import type { GradScaler } from './grad_scaler.js';

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
  master: Tensor | null;
  slots: Tensor[] | null;
}

export abstract class Optimizer<H extends BaseHyper> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly entries: Entry[] = [];
  /** u32 words: STEP_STATE header, then one step count per parameter. */
  readonly stepState: Tensor;
  private readonly workspace: GradNormWorkspace;
  readonly device: Device;
  private disposed = false;

  /** Names of the f32 state slots of one parameter (e.g. exp_avg, exp_avg_sq), in binding order. */
  protected abstract slotNames(group: ParamGroup<H>): string[];
  /** Encodes the fused update of one parameter. */
  protected abstract dispatchUpdate(e: Entry, group: ParamGroup<H>, grad: Tensor, slots: Tensor[]): void;
  abstract readonly kind: string;

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
          master: null, slots: null });
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
      const grads = live.map((e) => {
        const g = e.param.grad!;
        return g.isContiguous() && (g.dtype === 'f32' || g.offset % 2 === 0) ? g : contiguous(g);
      });
      try {
        this.workspace.encode(grads, this.stepState, { maxGradNorm: opts.maxGradNorm,
          scaler: opts.scaler?.enabled ? opts.scaler : undefined, updated: live.map((e) => e.index) });
        live.forEach((e, i) => {
          const group = this.paramGroups[e.group];
          this.dispatchUpdate(e, group, grads[i], this.ensureState(e, group));
        });
      } finally {
        grads.forEach((g, i) => { if (g !== live[i].param.grad) g.dispose(); });
      }
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
      if (e.master) { const m = noGrad(() => cast(p, 'f32')); e.master.assign(m); m.dispose(); }
    }
  }

  protected nameOf(e: Entry): string {
    const n = this.paramGroups[e.group].names[this.paramGroups[e.group].params.indexOf(e.param)];
    return n ? `'${n}'` : `#${e.index} [${e.param.shape}]`;
  }

  private ensureState(e: Entry, group: ParamGroup<H>): Tensor[] {
    if (!e.slots) {
      e.slots = this.slotNames(group).map(() => { const t = zeros([e.param.size], 'f32', this.device); untrack(t); return t; });
      if (e.dtype !== 'f32' && this.masterWeights) { e.master = cast(e.param, 'f32'); untrack(e.master); }
    }
    return e.slots;
  }

  /** Launch helper for the update kernels: bindings ST, G, PARAM, slots..., [MASTER]. */
  protected launchUpdate(kernel: KernelSource, e: Entry, grad: Tensor, slots: Tensor[], scalars: number[]): void {
    const n = e.param.size;
    if (n === 0) return;
    const pack = e.dtype === 'f32' ? 1 : 2;
    const buffers = [this.stepState, grad, e.param, ...slots, ...(e.master ? [e.master] : [])].map((t) => ({ buffer: t.storage.buffer }));
    this.device.dispatch(kernel, Uint32Array.from([n, e.index, grad.offset, e.param.offset, ...scalars]), buffers,
      grid(Math.ceil(Math.ceil(n / pack) / (OPTIM_WORKGROUP * UPDATE_WORDS_PER_THREAD))));
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
    for (const e of this.entries) {
      if (!e.slots) continue;
      const names = this.slotNames(this.paramGroups[e.group]);
      e.slots.forEach((s, k) => tensors.set(`state.${e.index}.${names[k]}`, s.retain()));
      if (e.master) tensors.set(`state.${e.index}.master`, e.master.retain());
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
      const group = this.paramGroups[e.group];
      const needed = [...this.slotNames(group), ...(e.dtype !== 'f32' && this.masterWeights ? ['master'] : [])];
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
      this.entries.forEach((e, i) => {
        const group = this.paramGroups[e.group];
        const names = this.slotNames(group);
        // A real copy (cast of an f32 tensor would share its storage, and the update writes in place).
        const copy = (t: Tensor) => {
          const v = reshape(t, [t.size]);
          const c = fusedMap('optim_state_copy', 'x', { x: v }, [t.size], 'f32');
          v.dispose(); untrack(c);
          return c;
        };
        e.slots?.forEach((s) => s.dispose());
        e.master?.dispose();
        e.slots = null; e.master = null;
        if (tensors.has(`state.${i}.${names[0] ?? 'master'}`) || tensors.has(`state.${i}.master`)) {
          e.slots = names.map((s) => copy(tensors.get(`state.${i}.${s}`)!));
          if (e.dtype !== 'f32' && this.masterWeights) e.master = copy(tensors.get(`state.${i}.master`)!);
        }
        e.seen = e.param.storage;
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
    for (const e of this.entries) { e.slots?.forEach((s) => s.dispose()); e.master?.dispose(); e.slots = null; e.master = null; }
    this.stepState.dispose(); this.workspace.dispose();
  }
}

function isGroupSpec(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !(x as Tensor).isTensor && !Array.isArray(x) && 'params' in (x as object);
}
