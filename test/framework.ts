// A tiny test framework: files named *.test.ts register tests with `test(name, fn)`;
// test/run.ts imports them all, runs them in order and ends with "N passed, N failed".

export type TestFn = () => void | Promise<void>;
export interface TestCase { name: string; fn: TestFn; file: string }

export const registry: TestCase[] = [];
let currentFile = '';

export function setCurrentFile(file: string): void { currentFile = file; }

export function test(name: string, fn: TestFn): void {
  registry.push({ name, fn, file: currentFile });
}

/** Thrown by a test to say it cannot run here (counted as skipped, with the reason printed). */
export class SkipTest extends Error {
  constructor(reason: string) { super(reason); this.name = 'SkipTest'; }
}
export function skip(reason: string): never { throw new SkipTest(reason); }

export class AssertionError extends Error {
  constructor(message: string) { super(message); this.name = 'AssertionError'; }
}

export function assert(cond: unknown, message = 'assertion failed'): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function assertEqual<T>(actual: T, expected: T, message = ''): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message ? message + ': ' : ''}expected ${e}, got ${a}`);
}

/** Element-wise closeness: |a - e| <= atol + rtol * |e|, NaN matches NaN, infinities must match exactly. */
export function assertClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, message = '' }: { atol?: number; rtol?: number; message?: string } = {},
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${message}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1, worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) { worst = i; worstErr = Infinity; break; }
      continue;
    }
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (err > worstErr || Number.isNaN(err)) { worst = i; worstErr = Number.isNaN(err) ? Infinity : err; }
  }
  if (worst >= 0) {
    throw new AssertionError(
      `${message ? message + ': ' : ''}element ${worst}: got ${actual[worst]}, expected ${expected[worst]} ` +
      `(atol ${atol}, rtol ${rtol})`);
  }
}

export async function assertRejects(fn: () => unknown, pattern: RegExp, message = ''): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    if (!pattern.test(String(err?.message ?? err))) {
      throw new AssertionError(`${message ? message + ': ' : ''}error "${err?.message}" does not match ${pattern}`);
    }
    return err;
  }
  throw new AssertionError(`${message ? message + ': ' : ''}expected an error matching ${pattern}, none was thrown`);
}
