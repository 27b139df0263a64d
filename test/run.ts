// Runs every *.test.js under dist/test (or those whose path under dist/test contains one of the given
// filters) on uvu: one uvu suite per file, run in path order by uvu's exec(). uvu's own reporter (dots
// and a "Total/Passed/Skipped" block) is replaced by one line per test with its time, skip reasons,
// failures with their diff and stack, and the closing line "N passed, N failed, N skipped" that CI reads.
// The shared WebGPU device is closed at the end; the exit code is 1 when anything failed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { closeDefaultDevice } from '../engine/device.js';
import type { Outcome } from './harness/test.js';

declare global {
  // uvu's programmatic protocol (as in uvu/run): with UVU_DEFER set before uvu loads, suite.run() queues
  // the suite on UVU_QUEUE[UVU_INDEX] instead of starting it, and exec() runs the queue.
  var UVU_DEFER: number | undefined;
  var UVU_QUEUE: unknown[][];
}
globalThis.UVU_DEFER = 1;
const { exec } = await import('uvu');
const { beginFile, endFile, runningTest } = await import('./harness/test.js');

const here = dirname(fileURLToPath(import.meta.url));
const sourceRoot = join(here, '..', '..', 'test'); // dist/test -> test (absent when only dist/ is shipped)

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** A compiled test whose source is gone (moved or deleted since the last build) must not run. */
function isStale(file: string): boolean {
  return existsSync(sourceRoot) && !existsSync(join(sourceRoot, relative(here, file).replace(/\.js$/, '.ts')));
}

const originalWrite = process.stdout.write.bind(process.stdout) as (s: string) => boolean;
const out = (line: string) => { originalWrite(line + '\n'); };

/** The message (with the error's class unless it is an assertion), uvu's diff, and the test's own frames. */
function describeError(error: unknown): string {
  const err = error as { name?: string; message?: string; stack?: string; details?: string | false };
  const isAssertion = err?.name === 'Assertion';
  const lines: string[] = [err?.message === undefined ? String(error) : isAssertion ? err.message : `${err.name}: ${err.message}`];
  if (isAssertion && err.details) lines.push(...aroundDifferences(err.details.split('\n')));
  const frames = String(err?.stack ?? '').split('\n')
    .filter((l) => /^\s+at /.test(l) && !/node:internal|\/uvu\/|\/test\/run\.js|\/test\/harness\/(test|assert)\.js/.test(l));
  lines.push(...frames.slice(0, 6).map((l) => l.trim()));
  return lines.map((l) => `     ${l}`).join('\n');
}

/** uvu's diff lists every line of both values; around the marked lines is enough for long arrays. */
function aroundDifferences(diff: string[], context = 4, limit = 40): string[] {
  if (diff.length <= limit) return diff;
  const keep = new Set<number>();
  diff.forEach((l, i) => {
    if (/Actual:|Expected:/.test(l)) for (let j = i - context; j <= i + context + 1; j++) keep.add(j);
  });
  const out = diff.filter((_, i) => keep.has(i)).slice(0, limit);
  return [...out, `(diff cut to ${out.length} of ${diff.length} lines)`];
}

/** Whether process.stdout.write was called from uvu's own module (the frame below the patched write). */
function calledFromUvu(): boolean {
  const frames = (new Error().stack ?? '').split('\n');
  const write = frames.findIndex((l) => l.includes('process.stdout.write'));
  return write >= 0 && /\/uvu\/dist\//.test(frames[write + 1] ?? '');
}

/** dist/test/a/b.test.js is reported as test/a/b.test.ts, the file to open. */
const sourcePath = (rel: string) => join('test', rel.replace(/\.js$/, '.ts'));

const counts = { ok: 0, skip: 0, fail: 0 };
const closingLine = () => `${counts.ok} passed, ${counts.fail} failed, ${counts.skip} skipped`;
function report(o: Outcome): void {
  counts[o.status]++;
  const where = `${sourcePath(o.file)} > ${o.name}`;
  if (o.status === 'ok') out(`ok   ${where} (${o.ms.toFixed(0)} ms)`);
  else if (o.status === 'skip') out(`skip ${where}: ${o.reason}`);
  else out(`FAIL ${where} (${o.ms.toFixed(0)} ms)\n${describeError(o.error)}`);
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const all = findTests(here);
  const stale = all.filter(isStale);
  if (stale.length > 0) {
    out(`note: ${stale.length} compiled test file(s) under dist/test have no source any more (moved or deleted since an ` +
      `earlier build), not run: ${stale.slice(0, 3).map((f) => relative(here, f)).join(', ')}${stale.length > 3 ? ', ...' : ''}`);
  }
  const files = all.filter((f) => !isStale(f))
    .filter((f) => filters.length === 0 || filters.some((s) => relative(here, f).includes(s) || sourcePath(relative(here, f)).includes(s)));
  if (files.length === 0) {
    out(`no test file under ${here} matches ${filters.map((s) => JSON.stringify(s)).join(' or ')}`);
    process.exitCode = 1;
    return;
  }

  // Node exits when nothing is left to wait for, e.g. a test awaiting a promise nothing will settle.
  process.on('exit', () => {
    const t = runningTest();
    if (!t) return;
    counts.fail++;
    out(`FAIL ${sourcePath(t.file)} > ${t.name}\n     the process ran out of work while this test waited (a promise that never settles)`);
    out(closingLine());
    process.exitCode = 1;
  });

  const t0 = performance.now();
  globalThis.UVU_QUEUE.push([null]); // one group, no header: every suite is queued on UVU_QUEUE[0]
  for (const file of files) {
    const name = relative(here, file);
    beginFile(name, report);
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      report({ status: 'fail', file: name, name: '(loading the file)', ms: 0, error });
    }
    endFile();
  }

  // uvu's reporter calls process.stdout.write from its own module: those writes are dropped (report()
  // prints instead); everything else, such as a test's own console.log, goes through.
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    calledFromUvu() ? true : (originalWrite as (...a: unknown[]) => boolean)(chunk, ...rest)
  ) as typeof process.stdout.write;
  try {
    await exec();
  } finally {
    process.stdout.write = originalWrite as typeof process.stdout.write;
  }

  try {
    await closeDefaultDevice();
  } catch (e) {
    counts.fail++;
    out(`FAIL closing the device after the tests: ${(e as Error).message}`);
  }
  out(`\n${((performance.now() - t0) / 1000).toFixed(1)} s`);
  out(closingLine());
  process.exitCode = counts.fail > 0 ? 1 : 0;
}

await main();
