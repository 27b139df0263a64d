// What the model-running commands (chat, segment, ground, caption) share: the option definitions, their
// parsing into numbers with clear UsageErrors, loading (--model, else the built-in shapes-world model of
// api/default-model.ts) with a progress bar, and writing masks / overlays.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { basename, extname, join } from 'node:path';
import { mkdir, stat } from 'node:fs/promises';
import { UsageError } from './command.js';
import { ProgressBar } from './progress.js';
import type { DType } from '../../engine/index.js';
import { loadUllava, type LoadedUllava } from '../models/ullava/load.js';
import { ensureDefaultModel, DEFAULT_MODEL_DTYPE } from '../api/default-model.js';
import { maskArea, maskBox } from '../api/masks.js';
import { validateSampling, type SamplingOptions } from '../chat/sampling.js';
import { writeMaskPng, writeOverlayPng, type Box, type RgbImage } from '../media/index.js';
import type { Answer } from '../session.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** --model and --dtype: every model-running command has them. */
export const MODEL_OPTIONS = {
  model: { type: 'string' }, dtype: { type: 'string' }, quiet: { type: 'boolean' },
} as const satisfies Options;

/** Generation length and sampling. */
export const SAMPLING_OPTIONS = {
  'max-new-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-p': { type: 'string' },
  'top-k': { type: 'string' }, 'repetition-penalty': { type: 'string' }, seed: { type: 'string' },
} as const satisfies Options;

export const MODEL_USAGE = `  --model DIR        a u-LLaVA directory (config.json, weights, tokenizer.model, added_tokens.json), e.g. a
                     download of jinxu95/ullava; default: the built-in shapes-world model (models/shapes in
                     the package, trained from scratch on the procedural shapes world; it knows only that world)
  --dtype D          parameter dtype bf16 (default; f32 for the built-in model), f16 or f32
  --quiet            no progress bar or notices on stderr`;

export const SAMPLING_USAGE = `  --max-new-tokens N     longest answer in tokens (default NDEF)
  --temperature T        0 = greedy (default), > 0 samples
  --top-p P              nucleus sampling, in (0, 1] (default 1 = off)
  --top-k K              keep the K most likely tokens (default 0 = off)
  --repetition-penalty R > 1 discourages repeating tokens (default 1 = off)
  --seed S               seed of the sampling draw (reproducible answers)`;

/** parseArgs with UsageErrors for unknown options and stray arguments. */
export function parseOptions<O extends Options>(argv: string[], options: O, allowPositionals = false):
  ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) { throw new UsageError((e as Error).message); }
}

export function parseNumber(name: string, v: string | undefined, o: { integer?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (o.integer && !Number.isInteger(n)) || (o.min !== undefined && n < o.min)) {
    throw new UsageError(`--${name} must be ${o.integer ? 'an integer' : 'a number'}${o.min !== undefined ? ` >= ${o.min}` : ''}, got "${v}"`);
  }
  return n;
}

export function parseSampling(values: Record<string, unknown>, defaultMaxNewTokens: number): SamplingOptions & { maxNewTokens: number } {
  const s = (k: string) => values[k] as string | undefined;
  const o = {
    maxNewTokens: parseNumber('max-new-tokens', s('max-new-tokens'), { integer: true, min: 1 }) ?? defaultMaxNewTokens,
    temperature: parseNumber('temperature', s('temperature'), { min: 0 }),
    topP: parseNumber('top-p', s('top-p')),
    topK: parseNumber('top-k', s('top-k'), { integer: true, min: 0 }),
    repetitionPenalty: parseNumber('repetition-penalty', s('repetition-penalty')),
    seed: parseNumber('seed', s('seed'), { integer: true }),
  };
  try { validateSampling(o); } catch (e) { throw new UsageError((e as Error).message); }
  return o;
}

export function parseDtype(v: string | undefined): DType | undefined {
  if (v === undefined) return undefined;
  const d = v.toLowerCase();
  if (d !== 'bf16' && d !== 'f16' && d !== 'f32') throw new UsageError(`--dtype must be bf16, f16 or f32, got "${v}"`);
  return d;
}

const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);
const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/**
 * Loads the model of --model (or the built-in shapes-world model; `demo` says that the built-in default
 * was used), with a progress bar on stderr. A directory without config.json, or a missing or incomplete
 * built-in model, is refused with a plain message; loadUllava refuses a model that does not fit (before
 * allocating anything) with the numbers, which main.ts prints (exit 1).
 */
export async function loadModel(values: { model?: string; dtype?: string; quiet?: boolean }): Promise<LoadedUllava & { demo: boolean; loadMs: number }> {
  const t0 = performance.now();
  let dtype = parseDtype(values.dtype);
  let dir = values.model;
  const demo = dir === undefined;
  const say = (s: string) => { if (!values.quiet) process.stderr.write(s + '\n'); };
  if (dir === undefined) {
    dir = (await ensureDefaultModel()).dir;
    say(`note: no --model given: using the built-in shapes-world model (models/shapes, trained from scratch on the ` +
      `procedural shapes world; it knows only that world) in ${dir}; pass --model DIR for a real u-LLaVA checkpoint`);
    dtype ??= DEFAULT_MODEL_DTYPE;
  } else {
    if (!(await isDir(dir))) throw new Error(`--model ${dir}: no such directory (a u-LLaVA model directory holds config.json, the weights, tokenizer.model and added_tokens.json)`);
    if (!(await isFile(join(dir, 'config.json')))) {
      throw new Error(`--model ${dir}: no config.json there, so it is not a u-LLaVA model directory (download jinxu95/ullava from the Hugging Face hub: config.json, pytorch_model-*.bin + pytorch_model.bin.index.json, tokenizer.model, added_tokens.json)`);
    }
  }
  let bar: ProgressBar | undefined, last = 0;
  const loaded = await loadUllava(dir, {
    dtype,
    // The last update is drawn by finish (once).
    onProgress: values.quiet ? undefined : (done, total) => { last = done; bar ??= new ProgressBar('loading weights', total); if (done < total) bar.update(done); },
  });
  bar?.finish(last);
  return { ...loaded, demo, loadMs: performance.now() - t0 };
}

export function stemOf(path: string): string {
  return basename(path, extname(path)) || 'image';
}

export async function ensureDir(dir: string): Promise<void> {
  try { await mkdir(dir, { recursive: true }); } catch (e) {
    throw new Error(`cannot create the output directory ${dir}: ${(e as Error).message}`);
  }
}

/** Boxes for drawing: a missing box (empty mask) is skipped by drawOverlay as non-finite. */
export function drawableBoxes(boxes: readonly (Box | null)[]): Box[] {
  return boxes.map((b) => b ?? [NaN, NaN, NaN, NaN]);
}

export interface WrittenMask { file: string; area: number; box: Box | null }

/** Writes <dir>/<stem>_mask_<i>.png (0/255 at the image's size) and <dir>/<stem>_overlay.png (masks tinted, boxes drawn). */
export async function writeMasks(dir: string, stem: string, image: RgbImage, answer: Answer): Promise<{ masks: WrittenMask[]; overlay: string }> {
  await ensureDir(dir);
  const masks: WrittenMask[] = [];
  for (let i = 0; i < answer.masks.length; i++) {
    const file = join(dir, `${stem}_mask_${i}.png`);
    await writeMaskPng(file, answer.masks[i], image.width, image.height);
    masks.push({ file, area: maskArea(answer.masks[i]), box: maskBox(answer, i, image) });
  }
  const overlay = join(dir, `${stem}_overlay.png`);
  await writeOverlayPng(overlay, image, answer.masks, drawableBoxes(answer.boxes));
  return { masks, overlay };
}

export function fmtBox(b: Box | null): string {
  return b ? `[${b.map((v) => Math.round(v * 10) / 10).join(', ')}]` : '(none: empty mask)';
}
