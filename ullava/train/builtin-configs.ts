// The stage configs shipped in ullava/train/configs (mirroring the official yaml files), by name.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILTIN_CONFIGS = ['stage1', 'stage2', 'stage2-lora', 'shapes-sam', 'shapes-vision', 'shapes-stage1', 'shapes'] as const;

/** The configs directory: beside this file in the source tree, or in it when running the compiled dist/. */
export function builtinConfigDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'configs'), join(here, '..', '..', '..', 'ullava', 'train', 'configs')];
  return candidates.find((c) => existsSync(c)) ?? candidates[1];
}

/** A built-in name (stage1, stage2, stage2-lora, shapes-sam, shapes-vision, shapes-stage1, shapes) to its file; anything else is a path, returned as is. */
export function resolveConfigPath(v: string): string {
  return (BUILTIN_CONFIGS as readonly string[]).includes(v) ? join(builtinConfigDir(), `${v}.json`) : v;
}

export function isBuiltinConfig(path: string): boolean {
  return BUILTIN_CONFIGS.some((b) => path === join(builtinConfigDir(), `${b}.json`));
}
