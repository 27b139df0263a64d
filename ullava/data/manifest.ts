// The data manifest (JSONL, format in manifest-types.ts): reading with every error reported at once,
// validation with a summary per task, and the media check that decodes every image, video and mask of a
// record (the loader runs it on the batches ahead of the GPU; `ullava data validate --media` on all).
//
// The API the other data users read through (eval, the converters' tests, the shapes world):
//   readManifest(path) -> ManifestRecord[]            every line validated (a ManifestError lists all issues)
//   validateManifest(path) -> ManifestReport          records, issues, per-task counts (never throws for a bad line)
//   materialize(record, rng, style) -> {conversations, masks, boxes}   targets -> up to 3 rounds (prompts.ts)
//   decodeMask(MASK json, base) / decodeMaskSource(parsed MASK) -> {width, height, data: 0 | 1 | 255}
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadImage, probeMedia } from '../media/index.js';
import { parseRecord } from './manifest-parse.js';
import { decodeMaskSource } from './mask-decode.js';
import { ManifestError, formatIssue, TASKS, type ManifestIssue, type ManifestRecord, type Task } from './manifest-types.js';

export { materialize, type MaterializedSample, type AnswerStyle } from './prompts.js';
export { decodeMask, decodeMaskSource, IGNORE_LABEL, type DecodedMask } from './mask-decode.js';
export { splitmix32, sampleSeed } from './rng.js';
export { ManifestError, TASKS, type Task, type ManifestRecord, type ManifestTarget, type MaskSource, type PixelBox, type VideoSource, type ManifestIssue } from './manifest-types.js';

export interface ManifestReport {
  path: string;
  records: ManifestRecord[];
  issues: ManifestIssue[];
  /** Non-blank lines read. */
  lines: number;
  /** Per task: valid records and lines with issues (a line whose task cannot be told counts under "unknown"). */
  perTask: Record<string, { valid: number; invalid: number }>;
}

/** Reads and validates every line; never throws for a bad line (only for an unreadable file). */
export async function validateManifest(path: string): Promise<ManifestReport> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (e) {
    throw new ManifestError(`${path}: cannot read the data manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const base = dirname(resolve(path));
  const records: ManifestRecord[] = [], issues: ManifestIssue[] = [];
  const perTask: ManifestReport['perTask'] = {};
  const tally = (task: string, ok: boolean) => { const t = (perTask[task] ??= { valid: 0, invalid: 0 }); if (ok) t.valid++; else t.invalid++; };
  let lines = 0;
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    lines++;
    const where = `${path}:${i + 1}`;
    let json: unknown;
    try { json = JSON.parse(raw); } catch (e) {
      issues.push({ where, line: i + 1, field: '(line)', message: `not valid JSON (${(e as Error).message})` });
      tally('unknown', false);
      return;
    }
    const r = parseRecord(json, where, i + 1, base);
    if (r.record) { records.push(r.record); tally(r.record.task, true); } else {
      issues.push(...r.issues);
      const t = (json as { task?: unknown })?.task;
      tally(typeof t === 'string' && (TASKS as readonly string[]).includes(t) ? t : 'unknown', false);
    }
  });
  if (lines === 0) issues.push({ where: path, line: 0, field: '(file)', message: 'holds no samples (one JSON object per line expected)' });
  return { path, records, issues, lines, perTask };
}

/** The issues as lines of text, at most `limit` of them, then how many more. */
export function formatIssues(issues: ManifestIssue[], limit = 50): string {
  const shown = issues.slice(0, limit).map(formatIssue);
  if (issues.length > limit) shown.push(`... and ${issues.length - limit} more`);
  return shown.join('\n');
}

/** Reads a manifest: its records, or a ManifestError listing every issue of every line. */
export async function readManifest(path: string): Promise<ManifestRecord[]> {
  const r = await validateManifest(path);
  if (r.issues.length) {
    const bad = new Set(r.issues.map((i) => i.line)).size;
    const head = r.issues.length === 1 ? '' : `${path}: ${r.issues.length} problems on ${bad} of ${r.lines} lines:\n`;
    throw new ManifestError(head + formatIssues(r.issues));
  }
  return r.records;
}

/** The summary table of a report: one line per task. */
export function formatSummary(r: ManifestReport): string {
  const tasks = Object.keys(r.perTask).sort((a, b) => (a === 'unknown' ? 1 : b === 'unknown' ? -1 : TASKS.indexOf(a as Task) - TASKS.indexOf(b as Task)));
  const w = Math.max(7, ...tasks.map((t) => t.length));
  return [`${'task'.padEnd(w)}  valid  invalid`, ...tasks.map((t) => `${t.padEnd(w)}  ${String(r.perTask[t].valid).padStart(5)}  ${String(r.perTask[t].invalid).padStart(7)}`)].join('\n');
}

/**
 * Decodes the record's image (or probes its video / decodes its frames) and every mask, checking the masks
 * are at the image's size. Throws a ManifestError naming the line, the field and the path.
 */
export async function checkRecordMedia(r: ManifestRecord): Promise<void> {
  let size: [number, number] | null = null;
  if (r.image) {
    const img = await loadImage(r.image).catch((e) => { throw new ManifestError(`${r.where}: "image": ${(e as Error).message}`); });
    size = [img.height, img.width];
  }
  if (r.video && 'path' in r.video) {
    await probeMedia(r.video.path, r.video.path, { countFrames: true }).catch((e) => { throw new ManifestError(`${r.where}: "video": ${(e as Error).message}`); });
  } else if (r.video) {
    for (const [k, f] of r.video.frames.entries()) await loadImage(f).catch((e) => { throw new ManifestError(`${r.where}: "video.frames[${k}]": ${(e as Error).message}`); });
  }
  const masks = r.targets ? r.targets.flatMap((t, i) => (t.mask ? [[`targets[${i}].mask`, t.mask] as const] : [])) : r.masks.map((m, i) => [`masks[${i}]`, m] as const);
  for (const [field, m] of masks) {
    const d = await decodeMaskSource(m, `${r.where}: "${field}"`);
    if (size && (d.height !== size[0] || d.width !== size[1])) {
      throw new ManifestError(`${r.where}: "${field}" is ${d.width}x${d.height} but the image is ${size[1]}x${size[0]} (masks must be at the image's size)`);
    }
  }
}
