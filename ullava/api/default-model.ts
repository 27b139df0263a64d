// The model used when none is named (`Ullava.load()` without a directory, the CLI without --model): the
// built-in shapes-world u-LLaVA, shipped with the package in models/shapes (the published layout). It was
// trained from scratch here on the procedural shapes world (scripts/train-shapes.sh) and knows only that
// world. The tiny RANDOM model (random weights, the published 7B's image span) is for tests only: it runs
// every path quickly, and its answers are noise.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { open, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { DType } from '../../engine/index.js';
import { writeTinyUllava } from '../models/ullava/tiny.js';

/** The built-in model's parameter dtype: it is small, trained in f32, and f32 gives the same answers on every adapter. */
export const DEFAULT_MODEL_DTYPE: DType = 'f32';

/** The files of the built-in model's directory (the published layout, weights in one safetensors file). */
export const DEFAULT_MODEL_FILES = [
  'config.json', 'model.safetensors', 'tokenizer.model', 'added_tokens.json', 'special_tokens_map.json', 'tokenizer_config.json',
] as const;

/**
 * Where the built-in model lives: <package root>/models/shapes. This file runs as
 * <package root>/dist/ullava/api/default-model.js both in the repository (after the build) and in an
 * installed package (node_modules/ullava-ts/dist/...), so the package root is three folders up.
 */
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../../../models/shapes', import.meta.url));
}

/** The error of a missing or incomplete built-in model: what is missing and how to get it. */
export class DefaultModelMissingError extends Error {
  constructor(readonly dir: string, readonly problems: string[]) {
    super(`the built-in shapes-world model in ${dir} is missing or incomplete: ${problems.join('; ')}. It ships with ullava-ts ` +
      `(the published layout: ${DEFAULT_MODEL_FILES.join(', ')}). Get it back by reinstalling the package (npm install ullava-ts), ` +
      `or, in a clone of the repository, with \`git checkout -- models/shapes\` or a fresh \`git clone\` (plain git, no ` +
      `Git LFS needed); or name another u-LLaVA directory (--model DIR on the command line, Ullava.load(dir) in code).`);
    this.name = 'DefaultModelMissingError';
  }
}

/** A Git LFS pointer (what a clone with LFS smudging off leaves) starts with this line instead of the data. */
const LFS_POINTER = 'version https://git-lfs';

/** What is wrong with a model directory's files (empty when all of DEFAULT_MODEL_FILES are there and non-empty). */
export async function defaultModelProblems(dir: string): Promise<string[]> {
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) return ['the directory does not exist'];
  const problems: string[] = [];
  for (const f of DEFAULT_MODEL_FILES) {
    const s = await stat(join(dir, f)).catch(() => null);
    if (!s || !s.isFile()) { problems.push(`${f} is missing`); continue; }
    if (s.size === 0) { problems.push(`${f} is empty`); continue; }
    if (f === 'model.safetensors' && s.size < 1024) {
      const h = await open(join(dir, f));
      try {
        const buf = Buffer.alloc(LFS_POINTER.length);
        await h.read(buf, 0, buf.length, 0);
        if (buf.toString('latin1') === LFS_POINTER) problems.push(`${f} is a Git LFS pointer, not the weights`);
        else problems.push(`${f} has only ${s.size} bytes (the weights are about 28 MB)`);
      } finally { await h.close(); }
    }
  }
  return problems;
}

/** The built-in model's directory, checked: throws DefaultModelMissingError when a file is missing or broken. */
export async function ensureDefaultModel(dir = defaultModelDir()): Promise<{ dir: string }> {
  const problems = await defaultModelProblems(dir);
  if (problems.length) throw new DefaultModelMissingError(dir, problems);
  return { dir };
}

/** The cache directory: $ULLAVA_CACHE, else $XDG_CACHE_HOME/ullava, else ~/.cache/ullava. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ULLAVA_CACHE) return resolve(env.ULLAVA_CACHE);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'ullava');
  return join(homedir(), '.cache', 'ullava');
}

/** Where the tiny RANDOM test model is written: <cache>/tiny-ullava. */
export function randomTinyModelDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'tiny-ullava');
}

/**
 * Writes the tiny RANDOM test model (writeTinyUllava) under the cache unless a complete one is already
 * there; says whether it was written now. For tests and `ullava train` without a model: never a default
 * of the commands that answer.
 */
export async function ensureRandomTinyModel(env: NodeJS.ProcessEnv = process.env): Promise<{ dir: string; written: boolean }> {
  const dir = randomTinyModelDir(env);
  const existed = await stat(join(dir, '.complete')).then((s) => s.isFile(), () => false);
  await writeTinyUllava(dir);
  return { dir, written: !existed };
}
