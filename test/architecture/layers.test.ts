// `npm test` fails when a file imports a higher layer (kernels < engine < nn < ullava < bench, test).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { importSites, upwardImports, resolveRelative } from './layers.js';

// dist/test/architecture -> the package root (the .ts sources, not the emitted .js).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

test('the scanner finds static, re-export, side-effect and dynamic imports with their lines', () => {
  const src = [
    "import { a } from '../engine/index.js';",
    '/* import { no } from "../ullava/x.js"; */',
    "// import('../ullava/also-no.js')",
    'import type {',
    '  B,',
    "} from './b.js';",
    "export { c } from \"../nn/c.js\";",
    "export * from '../kernels/k.js';",
    "import 'node:fs';",
    "const m = await import('../ullava/cli/main.js');",
    "const s = 'import from nowhere';",
  ].join('\n');
  assert.equal(importSites(src), [
    { line: 1, specifier: '../engine/index.js' }, { line: 6, specifier: './b.js' }, { line: 7, specifier: '../nn/c.js' },
    { line: 8, specifier: '../kernels/k.js' }, { line: 9, specifier: 'node:fs' }, { line: 10, specifier: '../ullava/cli/main.js' },
  ]);
  assert.equal(resolveRelative('engine/ops/conv.ts', '../../kernels/map.js'), 'kernels/map.js');
  assert.equal(upwardImports('engine/x.ts', src).map((v) => `${v.line} ${v.to}`), ['7 nn', '10 ullava']);
  assert.equal(upwardImports('ullava/x.ts', src), []);
  assert.equal(upwardImports('kernels/x.ts', "import { t } from '../test/ref/ndarray.js';").map((v) => v.to), ['test']);
});

test('no file imports a higher layer (kernels < engine < nn < ullava)', () => {
  assert.ok(existsSync(join(root, 'kernels')) && existsSync(join(root, 'engine')), `package root not found at ${root}`);
  const found: string[] = [];
  for (const layer of ['kernels', 'engine', 'nn', 'ullava']) {
    for (const file of sources(join(root, layer))) {
      const rel = relative(root, file).split(sep).join('/');
      for (const v of upwardImports(rel, readFileSync(file, 'utf8'))) {
        found.push(`${v.file}:${v.line} imports '${v.specifier}' (${v.from} may not import ${v.to})`);
      }
    }
  }
  assert.ok(found.length === 0, `upward imports:\n  ${found.join('\n  ')}`);
});
