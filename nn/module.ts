// Module: named parameters, buffers and submodules, state dicts with PyTorch's key names, strict loading
// that lists every problem in one error, dtype conversion and train/eval mode.
import { Tensor, cast, noGrad, isFloat, type DType } from '../engine/index.js';
import { untrack } from '../engine/scope.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult { missing: string[]; unexpected: string[]; mismatched: string[] }

export class StateDictError extends Error {
  constructor(readonly result: LoadResult, where: string) {
    const parts: string[] = [];
    if (result.missing.length) parts.push(`missing ${result.missing.length}: ${preview(result.missing)}`);
    if (result.unexpected.length) parts.push(`unexpected ${result.unexpected.length}: ${preview(result.unexpected)}`);
    if (result.mismatched.length) parts.push(`wrong shape ${result.mismatched.length}: ${preview(result.mismatched)}`);
    super(`${where}: the state dict does not match the model (${parts.join('; ')})`);
    this.name = 'StateDictError';
  }
}

function preview(keys: string[], n = 8): string {
  return keys.slice(0, n).join(', ') + (keys.length > n ? `, ... (${keys.length - n} more)` : '');
}

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();

  /** Registers a trainable parameter (floats require grad) under `name`; returns it. */
  protected param(name: string, t: Tensor): Tensor {
    untrack(t);
    if (isFloat(t.dtype)) t.requireGrad();
    this._params.set(name, t);
    return t;
  }

  /** Registers a non-trainable tensor that belongs in the state dict (e.g. position ids). */
  protected buffer(name: string, t: Tensor): Tensor {
    untrack(t);
    this._buffers.set(name, t);
    return t;
  }

  /** Registers a child module; its keys are prefixed with `name.`. */
  protected module<M extends Module>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this._modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, t] of m._params) yield [p ? `${p}.${n}` : n, t];
    }
  }

  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, t] of m._buffers) yield [p ? `${p}.${n}` : n, t];
    }
  }

  parameters(): Tensor[] { return [...this.namedParameters()].map(([, t]) => t); }

  /** Parameters that currently require a gradient. */
  trainableParameters(): Tensor[] { return this.parameters().filter((t) => t.requiresGrad); }

  numParameters(): number { return this.parameters().reduce((a, t) => a + t.size, 0); }

  /** Parameters and buffers by their PyTorch names (the tensors themselves, not copies). */
  stateDict(): StateDict {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies tensors into the module's parameters and buffers (converted to each parameter's dtype).
   * Strict (default): any missing, unexpected or mis-shaped key fails the whole load, listed in one
   * error, before anything is changed. Non-strict: loads what matches and reports the rest.
   */
  loadStateDict(sd: StateDict | Record<string, Tensor>, opts: { strict?: boolean; where?: string } = {}): LoadResult {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const result: LoadResult = { missing: [], unexpected: [], mismatched: [] };
    for (const k of own.keys()) if (!src.has(k)) result.missing.push(k);
    for (const [k, t] of src) {
      const mine = own.get(k);
      if (!mine) result.unexpected.push(k);
      else if (mine.shape.join() !== t.shape.join()) result.mismatched.push(`${k} [${t.shape}] vs model [${mine.shape}]`);
    }
    const bad = result.missing.length + result.unexpected.length + result.mismatched.length;
    if (bad && (opts.strict ?? true)) throw new StateDictError(result, opts.where ?? this.constructor.name);
    noGrad(() => {
      for (const [k, mine] of own) {
        const t = src.get(k);
        if (!t || mine.shape.join() !== t.shape.join()) continue;
        const v = t.dtype === mine.dtype ? t.retain() : cast(t, mine.dtype);
        mine.assign(v);
        v.dispose();
      }
    });
    return result;
  }

  /** Converts every floating parameter and buffer to `dtype` (in place; gradients are dropped). */
  to(dtype: DType): this {
    noGrad(() => {
      for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
        if (!isFloat(t.dtype) || t.dtype === dtype) continue;
        const c = cast(t, dtype);
        t.assign(c, true);
        c.dispose();
        if (t.grad) { t.grad.dispose(); t.grad = null; }
      }
    });
    return this;
  }

  train(flag = true): this {
    for (const [, m] of this.namedModules()) m.training = flag;
    return this;
  }

  eval(): this { return this.train(false); }

  /** Sets requiresGrad on every floating parameter (freezing when false). */
  requiresGrad(flag: boolean): this {
    for (const t of this.parameters()) if (isFloat(t.dtype)) t.requireGrad(flag);
    return this;
  }

  /** Clears the gradients of all parameters. */
  zeroGrad(): void {
    for (const t of this.parameters()) if (t.grad) { t.grad.dispose(); t.grad = null; }
  }

  /** Frees every parameter and buffer on the device. */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.dispose();
  }
}

/** Submodules numbered 0..n-1, as torch.nn.ModuleList. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.module(String(i), m));
  }
  get length(): number { return this.items.length; }
  at(i: number): M { return this.items[i]; }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}

export type { Tensor };
