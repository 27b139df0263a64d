// Opening any checkpoint by path: a safetensors file, a PyTorch zip (.bin/.pth/.pt), an HF shard index
// (model.safetensors.index.json / pytorch_model.bin.index.json), or a directory holding one of those.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { CheckpointFormatError, type TensorInfo } from './dtypes.js';
import { FileSource } from './source.js';
import { SafetensorsReader } from './safetensors.js';
import { TorchReader } from './torch.js';
import { isZip } from './zip.js';
import type { CheckpointReader } from './reader.js';

export type { CheckpointReader } from './reader.js';

/** Opens one checkpoint file, telling the format by its content (not its name). */
export async function openCheckpointFile(path: string): Promise<CheckpointReader> {
  const src = await FileSource.open(path);
  try {
    if (await isZip(src)) return await TorchReader.open(src, true);
    const head = await src.read(0, Math.min(src.size, 16));
    // Legacy pickles start 0x80 <protocol>, but so does a safetensors header length of 0x0?80 bytes: its JSON's '{' at byte 8 tells them apart.
    if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5 && head[8] !== 0x7b) return await TorchReader.open(src, true); // legacy: clear refusal
    return await SafetensorsReader.open(src, true);
  } catch (e) { await src.close(); throw e; }
}

export interface ShardIndex { metadata: Record<string, unknown>; weightMap: Map<string, string> }

export async function readShardIndex(path: string): Promise<ShardIndex> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new CheckpointFormatError(`${path}: not valid JSON (${(e as Error).message})`); }
  const wm = (json as { weight_map?: unknown })?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new CheckpointFormatError(`${path}: shard index has no weight_map object`);
  const weightMap = new Map<string, string>();
  for (const [k, v] of Object.entries(wm)) {
    if (typeof v !== 'string') throw new CheckpointFormatError(`${path}: weight_map["${k}"] is not a file name`);
    const n = normalize(v);
    if (isAbsolute(n) || n === '..' || n.startsWith(`..${sep}`)) throw new CheckpointFormatError(`${path}: weight_map["${k}"] = "${v}" points outside the index's directory`);
    weightMap.set(k, n);
  }
  const md = (json as { metadata?: unknown }).metadata;
  return { metadata: typeof md === 'object' && md !== null ? md as Record<string, unknown> : {}, weightMap };
}

/** Several shard files seen as one checkpoint, in the order of the index's weight_map. */
export class ShardedReader implements CheckpointReader {
  readonly metadata: Record<string, string> = {};
  private owner = new Map<string, CheckpointReader>();
  readonly tensors: TensorInfo[] = [];

  private constructor(readonly path: string, readonly format: 'safetensors' | 'pytorch', private shards: CheckpointReader[]) {}

  static async open(indexPath: string): Promise<ShardedReader> {
    const index = await readShardIndex(indexPath);
    const dir = dirname(indexPath);
    const files = [...new Set(index.weightMap.values())];
    const shards = new Map<string, CheckpointReader>();
    try {
      for (const f of files) shards.set(f, await openCheckpointFile(join(dir, f)));
    } catch (e) { for (const r of shards.values()) await r.close(); throw e; }
    const formats = new Set([...shards.values()].map((r) => r.format));
    const reader = new ShardedReader(indexPath, formats.has('pytorch') ? 'pytorch' : 'safetensors', [...shards.values()]);
    for (const [name, file] of index.weightMap) {
      const r = shards.get(file)!;
      const info = r.tensors.find((t) => t.name === name);
      if (!info) { await reader.close(); throw new CheckpointFormatError(`${indexPath}: "${name}" is mapped to ${file}, which has no such tensor`); }
      reader.tensors.push(info);
      reader.owner.set(name, r);
    }
    return reader;
  }

  read(name: string): Promise<Uint8Array> {
    const r = this.owner.get(name);
    if (!r) throw new Error(`${this.path}: no tensor named "${name}"`);
    return r.read(name);
  }

  async close(): Promise<void> { for (const r of this.shards) await r.close(); }
}

const DIR_CANDIDATES = ['model.safetensors.index.json', 'model.safetensors', 'pytorch_model.bin.index.json', 'pytorch_model.bin'];

/** Opens a checkpoint file, a shard index (*.index.json) or a directory containing one. */
export async function openCheckpoint(path: string): Promise<CheckpointReader> {
  const st = await stat(path);
  if (st.isDirectory()) {
    for (const c of DIR_CANDIDATES) {
      const p = join(path, c);
      if (await stat(p).then((s) => s.isFile(), () => false)) return openCheckpoint(p);
    }
    throw new CheckpointFormatError(`${path}: directory holds none of ${DIR_CANDIDATES.join(', ')}`);
  }
  if (basename(path).endsWith('.json')) return ShardedReader.open(path);
  return openCheckpointFile(path);
}
