// Define-by-run autograd. An op that has an input requiring a gradient records a GradNode on its
// output: the edges to its inputs, the tensors it saved, and its backward rule (which sits beside the
// op's forward in engine/ops). Nodes are reference-counted by the handles and the downstream nodes that
// point at them, so disposing the last tensor of an unused graph frees what it saved.
import type { Tensor } from './tensor.js';
import { untrack } from './scope.js';

export type BackwardFn = (grad: Tensor, saved: Tensor[]) => (Tensor | null | undefined)[];

interface Edge { node: GradNode | null; leaf: Tensor | null }

export class GradNode {
  refs = 1;
  freed = false;
  constructor(
    readonly name: string,
    readonly edges: Edge[],
    readonly backward: BackwardFn,
    public saved: Tensor[],
  ) {
    for (const e of edges) if (e.node) e.node.refs++;
  }

  /** Frees the saved tensors (after backward, or when the graph is dropped). */
  freeSaved(): void {
    if (this.freed) return;
    this.freed = true;
    for (const t of this.saved) t.dispose();
    this.saved = [];
  }

  unref(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const e of this.edges) e.node?.unref();
    this.edges.length = 0;
  }
}

let gradDepth = 0;

export function isGradEnabled(): boolean { return gradDepth === 0; }

/** Runs fn without recording gradients (also for async fns; the flag is restored when the promise settles). */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  let result: T;
  try {
    result = fn();
  } catch (e) { gradDepth--; throw e; }
  if (result instanceof Promise) return result.finally(() => { gradDepth--; }) as T;
  gradDepth--;
  return result;
}

/** Runs fn with gradients recorded even inside noGrad (used by checkpointing's recompute). */
export function enableGrad<T>(fn: () => T): T {
  const saved = gradDepth;
  gradDepth = 0;
  try { return fn(); } finally { gradDepth = saved; }
}

/**
 * Records `out` as produced by an op on `inputs`. `save` are tensors the backward needs; they are
 * retained (their storage stays alive even if the caller disposes them) and passed to `backward`.
 */
export function record(name: string, out: Tensor, inputs: Tensor[], backward: BackwardFn, save: Tensor[] = []): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  const edges = inputs.map((t) => t.requiresGrad ? { node: t.node, leaf: t.node ? null : t } : { node: null, leaf: null });
  // Saved handles belong to the node, not to any scope: they live until backward or the graph's release.
  const saved = save.map((t) => { const r = t.retain(); untrack(r); return r; });
  out.node = new GradNode(name, edges, backward, saved);
  out.requiresGrad = true;
  return out;
}
