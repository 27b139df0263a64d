// The README's library example, run verbatim from inside the package (Node resolves `ullava-ts` to this
// package by its own name and exports map), so the documented API cannot drift from the real one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { checkExampleOutput, cleanEnv, readmeExample, repoRoot, run } from './helpers.js';

test('the README library example runs as written and prints a mask at the image size', async () => {
  // The script must lie inside the package (under its package.json) for the self-reference to resolve.
  const dir = mkdtempSync(join(repoRoot, 'dist', '.readme-example-'));
  const cache = mkdtempSync(join(tmpdir(), 'ullava-readme-cache-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, readmeExample());
    checkExampleOutput(await run(process.execPath, [file], { cwd: dir, env: cleanEnv({ ULLAVA_CACHE: cache }) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

test('readmeExample finds the code block of the library section and nothing else', () => {
  const md = '# x\n```js\nwrong();\n```\n## Use it as a library\ntext\n```js\nright();\n```\n```js\nsecond();\n```\n## Next\n```js\nlater();\n```\n';
  assert.equal(readmeExample(md), 'right();\n');
  let refused = '';
  try { readmeExample('# no section\n'); } catch (e) { refused = (e as Error).message; }
  assert.ok(/no "## Use it as a library" section/.test(refused), `a README without the section: ${refused || 'accepted'}`);
});
