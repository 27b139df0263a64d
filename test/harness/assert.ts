// Assertions uvu/assert does not have: numeric closeness of arrays, and async rejection with a message
// pattern (uvu's `throws` is synchronous). They throw uvu's Assertion, so failures print like uvu's own.
import { Assertion } from 'uvu/assert';

/** Fails the running test with a message (and, when given, the values the reporter diffs). */
export function fail(message: string, values?: { actual: unknown; expects: unknown; operator?: string }): never {
  throw new Assertion({ message, operator: values?.operator ?? 'fail', actual: values?.actual, expects: values?.expects });
}

/** Element-wise closeness: |a - e| <= atol + rtol * |e|, NaN matches NaN, infinities must match exactly. */
export function assertClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, message = '' }: { atol?: number; rtol?: number; message?: string } = {},
): void {
  const prefix = message ? message + ': ' : '';
  if (actual.length !== expected.length) {
    fail(`${prefix}length ${actual.length} != expected ${expected.length}`, { actual: actual.length, expects: expected.length, operator: 'close' });
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
    fail(`${prefix}element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
      { actual: actual[worst], expects: expected[worst], operator: 'close' });
  }
}

/** Awaits `fn` and checks it throws (or rejects) with a message matching `pattern`; returns the error. */
export async function assertRejects(fn: () => unknown, pattern: RegExp, message = ''): Promise<Error> {
  const prefix = message ? message + ': ' : '';
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    const text = String(err?.message ?? err);
    if (!pattern.test(text)) fail(`${prefix}error "${text}" does not match ${pattern}`, { actual: text, expects: pattern, operator: 'rejects' });
    return err;
  }
  return fail(`${prefix}expected an error matching ${pattern}, none was thrown`, { actual: undefined, expects: pattern, operator: 'rejects' });
}
