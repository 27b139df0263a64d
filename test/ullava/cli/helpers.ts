// Running the built CLI as a user does (a child process), with ULLAVA_CACHE in a temporary directory. Without
// --model the CLI uses the built-in shapes model; tests that need only speed and a model of the published
// layout pass the tiny RANDOM test model (randomModel(), written there once for all the CLI tests of a process).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePng, type RgbImage } from '../../../ullava/media/index.js';
import { HANG_GUARD_MS } from '../../harness/test.js';
import { ensureRandomTinyModel } from '../../../ullava/api/default-model.js';

export const cli = fileURLToPath(new URL('../../../ullava/cli/main.js', import.meta.url));

/** Temporary root of these tests (the cache and the fixtures), removed when the process exits. */
export const root = mkdtempSync(join(tmpdir(), 'ullava-cli-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

let random: Promise<string> | undefined;
/** The tiny RANDOM test model's directory (<root>/cache/tiny-ullava), written once: pass it as --model. */
export function randomModel(): Promise<string> {
  random ??= ensureRandomTinyModel({ ULLAVA_CACHE: join(root, 'cache') }).then((r) => r.dir);
  return random;
}

export function run(args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8', timeout: HANG_GUARD_MS, input: o.input ?? '',
    env: { ...process.env, ULLAVA_CACHE: join(root, 'cache'), ULLAVA_DEBUG: '', ...o.env },
  });
}

/** A w x h image: a red square on a light background. */
export function squareImage(width = 40, height = 30): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const inside = x >= width / 4 && x < width / 2 && y >= height / 4 && y < (3 * height) / 4;
    data.set(inside ? [220, 30, 30] : [230, 230, 220], (y * width + x) * 3);
  }
  return { width, height, data };
}

let fixture: string | undefined;
/** <root>/square.png (40 x 30), written once. */
export async function squarePng(): Promise<string> {
  if (!fixture) { fixture = join(root, 'square.png'); await writePng(fixture, squareImage()); }
  return fixture;
}

export function describe(r: SpawnSyncReturns<string>): string {
  return `status ${r.status}${r.error ? ` (${r.error.message})` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}
