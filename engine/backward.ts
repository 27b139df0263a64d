// Reverse-mode sweep over the recorded graph, and gradient checkpointing.
import { Tensor } from './tensor.js';
import { GradNode, noGrad, enableGrad, record } from './autograd.js';
import { add, fullLike } from './ops/elementwise.js';
import { cast } from './ops/views.js';
import { ShapeError } from './errors.js';
import { untrack } from './scope.js';
import { getRandomState, setRandomState } from './ops/creation.js';

export interface BackwardOptions {
  /** Gradient of the output (default: 1 for a one-element output). */
  grad?: Tensor;
  /** Keep the saved tensors so backward can run through this graph again. */
  retainGraph?: boolean;
}

function topoOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: [GradNode, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.edges.length) {
      top[1]++;
      const next = node.edges[i].node;
      if (next && !seen.has(next)) { seen.add(next); stack.push([next, 0]); }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  return order.reverse();
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  let gg = g;
  if (g.dtype !== leaf.dtype) { gg = cast(g, leaf.dtype); g.dispose(); }
  if (leaf.grad) {
    const sum = add(leaf.grad, gg);
    leaf.grad.dispose(); gg.dispose();
    leaf.grad = sum;
  } else {
    leaf.grad = gg;
  }
  untrack(leaf.grad);
}

/** Accumulates d(output)/d(leaf) into every leaf's .grad that requires it. */
export function backward(output: Tensor, opts: BackwardOptions = {}): void {
  output.assertAlive('backward');
  if (!output.requiresGrad) throw new Error('backward: the tensor does not require grad (no input of its graph requires it)');
  noGrad(() => {
    let seed = opts.grad;
    if (seed) {
      if (seed.shape.join() !== output.shape.join()) {
        throw new ShapeError(`backward: gradient [${seed.shape}] does not match output [${output.shape}]`);
      }
      seed = seed.retain();
    } else {
      if (output.size !== 1) throw new ShapeError(`backward: output has shape [${output.shape}]; pass opts.grad for non-scalars`);
      seed = fullLike(output, 1);
    }
    if (!output.node) { accumulateLeaf(output, seed); return; }
    const grads = new Map<GradNode, Tensor>([[output.node, seed]]);
    for (const node of topoOrder(output.node)) {
      const g = grads.get(node);
      if (!g) continue;
      grads.delete(node);
      if (node.freed) {
        g.dispose();
        throw new Error(`backward: the graph through '${node.name}' was already freed by an earlier backward(); pass { retainGraph: true } the first time`);
      }
      const inGrads = node.backward(g, node.saved);
      g.dispose();
      if (!opts.retainGraph) node.freeSaved();
      node.edges.forEach((e, i) => {
        const gi = inGrads[i];
        if (!gi) return;
        if (e.leaf) { accumulateLeaf(e.leaf, gi); return; }
        if (!e.node) { gi.dispose(); return; }
        const prev = grads.get(e.node);
        if (prev) { grads.set(e.node, add(prev, gi)); prev.dispose(); gi.dispose(); } else grads.set(e.node, gi);
      });
    }
    for (const g of grads.values()) g.dispose();
  });
}

/**
 * Gradient checkpointing: runs fn without keeping its intermediate activations, and recomputes them
 * during backward. fn must be deterministic and take its differentiable inputs as arguments
 * (parameters it closes over still receive gradients). The random stream is replayed for the recompute
 * (as torch's preserve_rng_state), so dropout inside fn draws the same masks twice, and the stream
 * afterwards is where it would be without checkpointing.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  const rngAtForward = getRandomState();
  const out = noGrad(() => fn(...inputs));
  return record('checkpoint', out, inputs, (g, saved) => {
    const detached = saved.map((s, i) => {
      const d = s.detach();
      if (inputs[i].requiresGrad) d.requireGrad();
      return d;
    });
    const rngNow = getRandomState();
    setRandomState(rngAtForward);
    let recomputed: Tensor;
    try { recomputed = enableGrad(() => fn(...detached)); } finally { setRandomState(rngNow); }
    if (recomputed.requiresGrad) enableGrad(() => backward(recomputed, { grad: g }));
    recomputed.dispose();
    return detached.map((d) => {
      const gr = d.grad;
      d.grad = null;
      d.dispose();
      return gr;
    });
  }, inputs);
}
