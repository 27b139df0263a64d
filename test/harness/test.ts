// test(name, fn) for the *.test.ts files: each file's tests go into a uvu suite of their own, which
// test/run.ts creates before importing the file and runs afterwards (so a file never calls test.run()).
// The body is wrapped to time it, to turn skip(reason) into a reported skip instead of a failure (uvu has
// no run-time skip), and to stop a hung test after HANG_GUARD_MS.
import { suite, type Test } from 'uvu';

/**
 * The only wall-clock limit a test or its child process may have: a guard against hangs, never a speed
 * check. Generous on purpose: on 2 cores shared by a dozen busy processes (load ~25), one op test of
 * engine/ops/attention took over 15 minutes of wall time for a few minutes of CPU time.
 */
export const HANG_GUARD_MS = 60 * 60_000;

/** Thrown by a test to say it cannot run here (counted as skipped, with the reason printed). */
export class SkipTest extends Error {
  constructor(reason: string) { super(reason); this.name = 'SkipTest'; }
}

/** Ends the running test as skipped: `if (!dev.has('shader-f16')) skip('no shader-f16 on this adapter')`. */
export function skip(reason: string): never { throw new SkipTest(reason); }

export type TestFn = () => unknown;

export type Outcome =
  | { status: 'ok'; file: string; name: string; ms: number }
  | { status: 'skip'; file: string; name: string; ms: number; reason: string }
  | { status: 'fail'; file: string; name: string; ms: number; error: unknown };

interface FileSuite { file: string; suite: Test; onOutcome: (o: Outcome) => void }
let current: FileSuite | undefined;
let running: { file: string; name: string } | undefined;

/** Registers a test of the file being loaded by test/run.ts. */
export function test(name: string, fn: TestFn): void {
  const target = current;
  if (!target) {
    throw new Error(`test('${name}') outside test/run.js: run the file with node dist/test/run.js <path-substring>`);
  }
  target.suite(name, async () => {
    const start = performance.now();
    const outcome = (o: Partial<Outcome> & Pick<Outcome, 'status'>) =>
      target.onOutcome({ file: target.file, name, ms: performance.now() - start, ...o } as Outcome);
    running = { file: target.file, name };
    try {
      await withHangGuard(fn, name);
      outcome({ status: 'ok' });
    } catch (error) {
      if (error instanceof SkipTest) { outcome({ status: 'skip', reason: error.message }); return; }
      outcome({ status: 'fail', error });
      // uvu records the failure too (its counts and exit code agree with ours); its reporter needs an Error.
      throw error instanceof Error ? error : new Error(String(error));
    } finally {
      running = undefined;
    }
  });
}

async function withHangGuard(fn: TestFn, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(
      `'${name}' did not finish in ${HANG_GUARD_MS / 60_000} minutes: hung (this limit is a hang guard, not a speed check)`)),
    HANG_GUARD_MS);
    timer.unref(); // a pending guard alone must not keep the process alive
  });
  try {
    await Promise.race([Promise.resolve().then(fn), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** For test/run.ts: the suite that `test()` fills while `file` is imported. */
export function beginFile(file: string, onOutcome: (o: Outcome) => void): void {
  current = { file, suite: suite(file), onOutcome };
}

/** For test/run.ts: queues the file's suite on uvu's runner (uvu's `exec` runs the queue) and closes it. */
export function endFile(): void {
  current?.suite.run();
  current = undefined;
}

/** For test/run.ts: the test whose body is running now, if any. */
export function runningTest(): { file: string; name: string } | undefined { return running; }
