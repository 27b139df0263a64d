// scope(fn): every tensor created while fn runs is disposed when it returns, except what it returns
// (and what was explicitly kept). Scopes nest; returned tensors move to the enclosing scope.
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

export function track(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].add(t);
}

/** Removes a tensor from scope tracking (parameters, gradients, optimizer state outlive any scope). */
export function untrack(t: Tensor): void {
  for (const s of stack) s.delete(t);
}

function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ((value as { isTensor?: boolean }).isTensor === true) { out.add(value as Tensor); return; }
  if (Array.isArray(value)) { for (const v of value) collect(v, out, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collect(v, out, seen); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

function close(created: Set<Tensor>, result: unknown): void {
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of created) if (!keep.has(t)) t.dispose();
  const parent = stack[stack.length - 1];
  if (parent) for (const t of keep) if (created.has(t)) parent.add(t);
}

/** Runs fn and disposes the tensors it created but did not return. */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  stack.push(created);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    close(created, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    stack.pop();
    throw new TypeError('scope(fn): fn returned a Promise; use scopeAsync for async functions');
  }
  stack.pop();
  close(created, result);
  return result;
}

/**
 * Async form of scope. Tensors are tracked by a process-wide stack, so other async work running
 * concurrently is tracked too: do not interleave independent scoped tasks.
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const created = new Set<Tensor>();
  stack.push(created);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    stack.splice(stack.indexOf(created), 1);
    close(created, undefined);
    throw e;
  }
  stack.splice(stack.indexOf(created), 1);
  close(created, result);
  return result;
}

/**
 * Runs fn, disposing every temporary it registers through `tmp` once fn returns (an op's intermediate
 * results: the autograd graph keeps what its backward needs).
 */
export function withTemps<T>(fn: (tmp: (t: Tensor) => Tensor) => T): T {
  const temps: Tensor[] = [];
  try { return fn((t) => { temps.push(t); return t; }); } finally { for (const t of temps) t.dispose(); }
}
