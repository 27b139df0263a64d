// The model used when none is named (`Ullava.load()` without a directory, the CLI without --model):
// today a tiny RANDOM u-LLaVA, written once under the cache directory, so that every path (loading,
// tokenising, generating, segmenting) runs without the 15 GB of real weights. Its answers are noise.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { DType } from '../../engine/index.js';
import { writeTinyUllava } from '../models/ullava/tiny.js';

/** The demo model's parameter dtype: it is tiny, and f32 keeps its random answers the same on every adapter. */
export const DEFAULT_MODEL_DTYPE: DType = 'f32';

/** The cache directory: $ULLAVA_CACHE, else $XDG_CACHE_HOME/ullava, else ~/.cache/ullava. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ULLAVA_CACHE) return resolve(env.ULLAVA_CACHE);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'ullava');
  return join(homedir(), '.cache', 'ullava');
}

/** Where the default model lives: <cache>/tiny-ullava. */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'tiny-ullava');
}

/** Writes the default model unless a complete one is already there; says whether it was written now. */
export async function ensureDefaultModel(env: NodeJS.ProcessEnv = process.env): Promise<{ dir: string; written: boolean }> {
  const dir = defaultModelDir(env);
  const existed = await stat(join(dir, '.complete')).then((s) => s.isFile(), () => false);
  await writeTinyUllava(dir);
  return { dir, written: !existed };
}
