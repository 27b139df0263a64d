// The one cache of generated kernels. Generators (kernels/) are pure functions, so a generator and its
// arguments determine the source text completely: the key is the arguments themselves, never a
// hand-written label. The device then compiles one pipeline per distinct source text.
import type { KernelSource } from '../kernels/kernel.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Generator = (...args: any[]) => KernelSource;

const memo = new Map<Generator, Map<string, KernelSource>>();

/** generate(...args), generated once per distinct argument list (compared by value). */
export function kernelFor<G extends Generator>(generate: G, ...args: Parameters<G>): KernelSource {
  let byArgs = memo.get(generate);
  if (!byArgs) { byArgs = new Map(); memo.set(generate, byArgs); }
  const key = JSON.stringify(args);
  let k = byArgs.get(key);
  if (!k) { k = generate(...args); byArgs.set(key, k); }
  return k;
}
