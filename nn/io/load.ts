// Loading a checkpoint's tensors onto the device, one tensor at a time: read its bytes (bounded by the
// tensor's size, never the whole file), convert on the host to the wanted dtype, upload, let go.
import { Tensor } from '../../engine/tensor.js';
import type { DType } from '../../engine/dtype.js';
import { openCheckpoint, type CheckpointReader } from './checkpoint.js';
import type { TensorInfo } from './dtypes.js';
import { defaultDType, isFloatSource, toHostArray } from './hostconv.js';

export interface LoadOptions {
  /** Target dtype for floating-point tensors (or per tensor); integers keep their natural dtype (I64 -> i32). */
  dtype?: DType | ((info: TensorInfo) => DType | undefined);
  /** Which tensors to load (default: all). */
  filter?: (name: string) => boolean;
  /** Renames a tensor (e.g. strip a "llm." prefix); returning undefined skips it. */
  rename?: (name: string) => string | undefined;
  /** Called after each tensor with (bytes loaded so far, total bytes to load). */
  onProgress?: (done: number, total: number) => void;
}

function targetDType(info: TensorInfo, opt: LoadOptions['dtype']): DType {
  const asked = typeof opt === 'function' ? opt(info) : opt;
  if (asked && isFloatSource(info.dtype)) return asked;
  return defaultDType(info.dtype);
}

/** Loads tensors from an open reader into device tensors (the caller owns and disposes them). */
export async function loadTensors(reader: CheckpointReader, opts: LoadOptions = {}): Promise<Map<string, Tensor>> {
  const chosen = reader.tensors.filter((t) => !opts.filter || opts.filter(t.name));
  const total = chosen.reduce((a, t) => a + t.byteLength, 0);
  const out = new Map<string, Tensor>();
  let done = 0;
  try {
    for (const t of chosen) {
      const name = opts.rename ? opts.rename(t.name) : t.name;
      if (name === undefined) continue;
      if (out.has(name)) throw new Error(`${reader.path}: two tensors load as "${name}"`);
      const dtype = targetDType(t, opts.dtype);
      const host = toHostArray(t.dtype, await reader.read(t.name), dtype, t.name);
      out.set(name, Tensor.fromHost(host, t.shape, dtype));
      done += t.byteLength;
      opts.onProgress?.(done, total);
    }
  } catch (e) {
    for (const x of out.values()) x.dispose();
    throw e;
  }
  return out;
}

/** Opens any checkpoint (file, shard index or directory), loads it onto the device, closes it. */
export async function loadCheckpoint(path: string, opts: LoadOptions = {}): Promise<Map<string, Tensor>> {
  const reader = await openCheckpoint(path);
  try { return await loadTensors(reader, opts); } finally { await reader.close(); }
}
