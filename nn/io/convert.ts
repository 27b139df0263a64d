// Checkpoint conversion: any readable checkpoint to safetensors, sharded by size, streaming one tensor
// at a time (memory holds at most one tensor, never a whole shard).
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { shapeNumel, sourceItemSize, type SourceDType } from './dtypes.js';
import { writeSafetensors, type TensorToWrite } from './safetensors.js';
import { openCheckpoint } from './checkpoint.js';
import { convertFloatBytes, isFloatSource } from './hostconv.js';

export const DEFAULT_SHARD_BYTES = 5 * 1024 ** 3;

function byteSize(t: Omit<TensorToWrite, 'data'>): number { return shapeNumel(t.shape, t.name) * sourceItemSize(t.dtype); }

/** Splits tensors, in order, into shards of at most maxShardBytes (a bigger tensor gets a shard of its own). */
export function planShards<T extends Omit<TensorToWrite, 'data'>>(tensors: readonly T[], maxShardBytes: number): T[][] {
  const shards: T[][] = [];
  let cur: T[] = [], size = 0;
  for (const t of tensors) {
    const n = byteSize(t);
    if (cur.length && size + n > maxShardBytes) { shards.push(cur); cur = []; size = 0; }
    cur.push(t); size += n;
  }
  if (cur.length || shards.length === 0) shards.push(cur);
  return shards;
}

/**
 * Writes `<prefix>.safetensors` when everything fits one shard, else `<prefix>-0000i-of-0000n.safetensors`
 * and `<prefix>.safetensors.index.json` (HF layout), in `dir`. Returns the shard file names.
 */
export async function writeShardedSafetensors(dir: string, prefix: string, tensors: readonly TensorToWrite[],
  opts: { maxShardBytes?: number; metadata?: Record<string, string>; onBytes?: (n: number) => void } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const shards = planShards(tensors, opts.maxShardBytes ?? DEFAULT_SHARD_BYTES);
  const n = shards.length;
  const names = shards.map((_, i) => n === 1 ? `${prefix}.safetensors` : `${prefix}-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`);
  const metadata = { format: 'pt', ...opts.metadata };
  for (let i = 0; i < n; i++) await writeSafetensors(join(dir, names[i]), shards[i], { metadata, onBytes: opts.onBytes });
  if (n > 1) {
    const weight_map: Record<string, string> = {};
    shards.forEach((s, i) => { for (const t of s) weight_map[t.name] = names[i]; });
    const total_size = tensors.reduce((a, t) => a + byteSize(t), 0);
    const path = join(dir, `${prefix}.safetensors.index.json`);
    await writeFile(`${path}.tmp`, JSON.stringify({ metadata: { total_size }, weight_map }, null, 2) + '\n');
    await rename(`${path}.tmp`, path);
  }
  return names;
}

export interface ConvertOptions {
  maxShardBytes?: number;
  /** Re-encode floating-point tensors to this dtype (integers are kept). */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Called with (bytes written so far, total bytes). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Converts a checkpoint (PyTorch .bin/.pth, a shard index, safetensors, or a directory) to safetensors.
 * OUT ending in .safetensors names the file (shards go beside it); anything else is a directory.
 */
export async function convertCheckpoint(input: string, out: string, opts: ConvertOptions = {}): Promise<{ files: string[]; tensors: number; bytes: number }> {
  const reader = await openCheckpoint(input);
  try {
    const outDtype = (d: SourceDType): SourceDType => (opts.dtype && isFloatSource(d) ? opts.dtype : d);
    const tensors: TensorToWrite[] = reader.tensors.map((t) => ({
      name: t.name, dtype: outDtype(t.dtype), shape: t.shape,
      data: async () => {
        const b = await reader.read(t.name);
        return opts.dtype && isFloatSource(t.dtype) ? convertFloatBytes(t.dtype, b, opts.dtype) : b;
      },
    }));
    const total = tensors.reduce((a, t) => a + byteSize(t), 0);
    let done = 0;
    const onBytes = (n: number) => { done += n; opts.onProgress?.(done, total); };
    const isFile = out.endsWith('.safetensors');
    const dir = isFile ? dirname(out) : out;
    const prefix = isFile ? basename(out, '.safetensors') : 'model';
    const files = await writeShardedSafetensors(dir, prefix, tensors, { maxShardBytes: opts.maxShardBytes, onBytes });
    return { files: files.map((f) => join(dir, f)), tensors: tensors.length, bytes: total };
  } finally { await reader.close(); }
}
