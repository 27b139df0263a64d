// Temporaries of a composed loss: everything registered is disposed when the builder returns (the
// autograd graph keeps, by reference, what its backward needs).
import type { Tensor } from '../../../engine/index.js';

export function withTemps<T>(fn: (tmp: (t: Tensor) => Tensor) => T): T {
  const temps: Tensor[] = [];
  try { return fn((t) => { temps.push(t); return t; }); } finally { for (const t of temps) t.dispose(); }
}

