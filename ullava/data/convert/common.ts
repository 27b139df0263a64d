// What every converter shares: the manifest v1 record it writes, reading the source's JSON with errors
// that name the file, media paths made relative to the manifest, existence checks that name the record,
// a progress line for large inputs, and the atomic JSONL write.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../../media/atomic-write.js';
import type { CocoRle } from '../coco/rle.js';

export type Task = 'res' | 'rec' | 'semantic' | 'salient' | 'caption' | 'vqa' | 'video';

/** Manifest v1 mask: a PNG (non-zero inside) | COCO RLE | polygons | one class of a label map (255 ignored). */
export type ManifestMask =
  | string
  | CocoRle
  | { size: [number, number]; polygons: number[][] }
  | { label_png: string; class_id: number };

export interface Target {
  sentences?: string[];
  category: string;
  mask?: ManifestMask;
  /** Pixels, [x0, y0, x1, y1]. */
  box?: [number, number, number, number];
}

export interface Turn { from: 'human' | 'gpt'; value: string }

export interface ManifestRecord {
  id: string;
  source: string;
  split?: string;
  task: Task;
  image?: string;
  video?: string;
  conversations?: Turn[];
  targets?: Target[];
}

export class ConvertError extends Error {
  constructor(message: string) { super(message); this.name = 'ConvertError'; }
}

export interface ConvertOptions {
  /** The dataset's directory (layout per source: see each converter). */
  root: string;
  /** The manifest to write; media paths in it are relative to its directory. */
  out: string;
  /** Only this split (sources with splits). */
  split?: string;
  /** Overrides of the default layout under root. */
  annotations?: string;
  images?: string;
  labels?: string;
  /** REFER's splitBy (unc, google, umd, berkeley). */
  splitBy?: string;
  /** Check every video with ffmpeg (TGIF). */
  probe?: boolean;
  /** Progress reports: (done, total) on the current stage. */
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface ConvertResult { records: number; out: string; skipped: { reason: string; count: number }[] }

/** A text file, with errors that name it (including one too large for a JS string). */
export async function readText(path: string, what: string): Promise<string> {
  try { return await readFile(path, 'utf8'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_STRING_TOO_LONG') {
      throw new ConvertError(`${path}: the ${what} is larger than the longest string Node can hold (about 512 MiB), so it cannot be parsed as one JSON document here; split it (e.g. by image) and convert the parts`);
    }
    throw new ConvertError(`${path}: cannot read the ${what} (${code ?? (e as Error).message})`);
  }
}

export async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what);
  try { return JSON.parse(text); } catch (e) {
    throw new ConvertError(`${path}: the ${what} is not valid JSON (${(e as Error).message}); a truncated download? fetch it again`);
  }
}

/** A JSON list, or JSONL (one item a line): u-LLaVA keeps its annotation files in either form. */
export async function readJsonList(path: string, what: string): Promise<unknown[]> {
  const text = (await readText(path, what)).trim();
  if (text.startsWith('[')) {
    try { return JSON.parse(text); } catch (e) { throw new ConvertError(`${path}: the ${what} is not valid JSON (${(e as Error).message}); a truncated download? fetch it again`); }
  }
  return text.split('\n').map((l, i) => [l, i] as const).filter(([l]) => l.trim()).map(([l, i]) => {
    try { return JSON.parse(l); } catch (e) { throw new ConvertError(`${path}:${i + 1}: the ${what} line is not valid JSON (${(e as Error).message})`); }
  });
}

export async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try { return await readFile(path); } catch (e) {
    throw new ConvertError(`${path}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export async function isFile(path: string): Promise<boolean> {
  try { return (await stat(path)).isFile(); } catch { return false; }
}

/** Throws naming the record when a media file is missing. */
export async function requireFile(path: string, record: string, field: string): Promise<void> {
  if (!(await isFile(path))) throw new ConvertError(`${record}: "${field}" file ${path} does not exist; check --root / --images (the dataset's files are never copied, the manifest points at them)`);
}

/** A path as the manifest stores it: relative to the manifest's directory (POSIX separators). */
export function manifestPath(out: string, file: string): string {
  const rel = relative(dirname(resolve(out)), resolve(file));
  return isAbsolute(rel) ? rel : rel.split(sep).join("/"); // another drive (Windows) stays absolute
}

export function fail(where: string, field: string, expected: string, got: unknown): never {
  const shown = JSON.stringify(got);
  throw new ConvertError(`${where}: "${field}" must be ${expected}, got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`);
}

/** COCO xywh -> manifest xyxy, checked. */
export function xywhToXyxy(b: unknown, where: string): [number, number, number, number] {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)) || b[2] < 0 || b[3] < 0) {
    fail(where, 'bbox', '[x, y, width, height] with non-negative width and height', b);
  }
  return [b[0], b[1], b[0] + b[2], b[1] + b[3]];
}

/** Writes the records as JSONL, atomically (a reader never sees half a manifest). */
export async function writeManifest(out: string, records: readonly ManifestRecord[]): Promise<void> {
  if (records.length === 0) throw new ConvertError(`${out}: nothing to write (no record converted); check --root and --split`);
  const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  await mkdir(dirname(resolve(out)), { recursive: true });
  await writeFileAtomic(out, Buffer.from(text, 'utf8'));
}

/** Calls onProgress at most every ~2% (and at the end), so a large source reports without flooding. */
export function progressTicker(opts: ConvertOptions, stage: string, total: number): (done: number) => void {
  const step = Math.max(1, Math.floor(total / 50));
  return (done) => { if (opts.onProgress && (done % step === 0 || done === total)) opts.onProgress(stage, done, total); };
}

export function rootPath(opts: ConvertOptions, ...parts: string[]): string {
  return resolve(opts.root, ...parts);
}
