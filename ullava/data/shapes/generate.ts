// Writes a shapes-world dataset: N samples from seeds S .. S+N-1 of a split, their pictures under
// images/ and videos/<seed>/, and manifest.jsonl (one line per sample, in seed order) written last and
// atomically, so a directory with a manifest is complete.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../media/atomic-write.js';
import { encodeRgbPng } from '../../media/png.js';
import { generateSample, TASKS, type SampleOptions, type ShapesTask } from './samples.js';
import { checkSeedRange, type SplitName } from './splits.js';

export interface GenerateOptions {
  out: string;
  n: number;
  seed: number;
  split: SplitName;
  tasks?: readonly ShapesTask[];
  /** Image width and height in pixels (default 64). */
  size?: number;
  onProgress?: (done: number, n: number) => void;
}

export interface GenerateResult { manifest: string; samples: number; files: number; byTask: Record<string, number> }

export async function generateShapes(o: GenerateOptions): Promise<GenerateResult> {
  if (!Number.isInteger(o.n) || o.n < 1) throw new RangeError(`--n must be a positive integer, got ${o.n}`);
  checkSeedRange(o.split, o.seed, o.n);
  const size = o.size ?? 64;
  if (!Number.isInteger(size) || size < 32 || size > 1024) throw new RangeError(`--size must be an integer in [32, 1024], got ${size}`);
  const opts: SampleOptions = { width: size, height: size, tasks: o.tasks ?? TASKS, split: o.split };
  await mkdir(o.out, { recursive: true });
  const lines: string[] = [], byTask: Record<string, number> = {}, dirs = new Set<string>();
  let files = 0;
  // Pictures are written a batch at a time (small files; the encoding is the cost, not the disk).
  const BATCH = 64;
  for (let start = 0; start < o.n; start += BATCH) {
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(o.n, start + BATCH); i++) {
      const { record, pictures } = generateSample(o.seed + i, opts);
      for (const p of pictures) {
        const path = join(o.out, p.path), d = dirname(path);
        if (!dirs.has(d)) { await mkdir(d, { recursive: true }); dirs.add(d); }
        writes.push(writeFile(path, encodeRgbPng(p.image)));
        files++;
      }
      lines.push(JSON.stringify(record));
      byTask[record.task] = (byTask[record.task] ?? 0) + 1;
    }
    await Promise.all(writes);
    o.onProgress?.(Math.min(o.n, start + BATCH), o.n);
  }
  const manifest = join(o.out, 'manifest.jsonl');
  await writeFileAtomic(manifest, Buffer.from(lines.join('\n') + '\n'));
  return { manifest, samples: lines.length, files, byTask };
}
