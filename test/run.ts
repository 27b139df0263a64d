// Runs every *.test.js under dist/test (or those whose path contains one of the given filters)
// and ends with the line "N passed, N failed" (skips are reported separately, with reasons).
import { readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registry, setCurrentFile, SkipTest } from './framework.js';
import { closeDefaultDevice } from '../engine/device.js';

const here = dirname(fileURLToPath(import.meta.url));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = findTests(here).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
  for (const file of files) {
    setCurrentFile(relative(here, file));
    await import(pathToFileURL(file).href);
  }
  let passed = 0, failed = 0, skipped = 0;
  const t0 = performance.now();
  for (const tc of registry) {
    const start = performance.now();
    try {
      await tc.fn();
      passed++;
      console.log(`ok   ${tc.file} > ${tc.name} (${(performance.now() - start).toFixed(0)} ms)`);
    } catch (e) {
      if (e instanceof SkipTest) {
        skipped++;
        console.log(`skip ${tc.file} > ${tc.name}: ${e.message}`);
      } else {
        failed++;
        const err = e as Error;
        console.log(`FAIL ${tc.file} > ${tc.name}\n     ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n     ')}`);
      }
    }
  }
  try {
    await closeDefaultDevice();
  } catch (e) {
    failed++;
    console.log(`FAIL closing the device after the tests: ${(e as Error).message}`);
  }
  console.log(`\n${((performance.now() - t0) / 1000).toFixed(1)} s, ${skipped} skipped`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
