// Loading a checkpoint (safetensors or PyTorch .bin, one file, a shard index or a directory) into an
// existing Module: names and shapes are checked against the module from the headers alone, before any
// byte is read (strict: one error listing every missing, unexpected and mis-shaped key); then each
// tensor is read, converted on the host to its parameter's dtype and uploaded straight into the
// parameter's GPU buffer. Host memory stays near one tensor and GPU memory at the model's own size.
import { Tensor } from '../../engine/index.js';
import { StateDictError, type LoadResult, type Module } from '../module.js';
import { openCheckpoint } from './checkpoint.js';
import { toHostArray } from './hostconv.js';
import type { TensorInfo } from './dtypes.js';

export interface LoadModuleOptions {
  /** Only keys starting with this prefix belong to the module (it is stripped). */
  prefix?: string;
  /** Maps a checkpoint key (after the prefix) to the module's key; undefined skips it. */
  rename?: (name: string) => string | undefined;
  /** Checkpoint keys (after prefix and rename) that carry nothing the module needs. */
  ignore?: (name: string) => boolean;
  /** Module keys that the checkpoint need not contain (e.g. a tied head). */
  optional?: (name: string) => boolean;
  /** Default true: any missing, unexpected or mis-shaped key fails the load before anything is read. */
  strict?: boolean;
  /** Called after each tensor with the bytes read so far and the total. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Where the error says the problem is (default: the path). */
  where?: string;
}

export async function loadModuleWeights(module: Module, path: string, o: LoadModuleOptions = {}): Promise<LoadResult> {
  const reader = await openCheckpoint(path);
  try {
    const own = module.stateDict();
    const prefix = o.prefix ?? '';
    const plan: { param: Tensor; info: (typeof reader.tensors)[number] }[] = [];
    const result: LoadResult = { missing: [], unexpected: [], mismatched: [] };
    const seen = new Set<string>();
    for (const info of reader.tensors) {
      if (!info.name.startsWith(prefix)) continue;
      const stripped = info.name.slice(prefix.length);
      const name = o.rename ? o.rename(stripped) : stripped;
      if (name === undefined || o.ignore?.(name)) continue;
      const param = own.get(name);
      if (!param) { result.unexpected.push(info.name); continue; }
      seen.add(name);
      if (param.shape.join() !== info.shape.join()) { result.mismatched.push(`${info.name} [${info.shape}] vs model [${param.shape}]`); continue; }
      plan.push({ param, info });
    }
    for (const k of own.keys()) if (!seen.has(k) && !o.optional?.(k)) result.missing.push(k);
    const bad = result.missing.length + result.unexpected.length + result.mismatched.length;
    if (bad && (o.strict ?? true)) throw new StateDictError(result, o.where ?? path);
    const total = plan.reduce((a, p) => a + p.info.byteLength, 0);
    let done = 0;
    for (const { param, info } of plan) {
      writeInto(param, toHostArray(info.dtype, await reader.read(info.name), param.dtype, info.name));
      done += info.byteLength;
      o.onProgress?.(done, total);
    }
    plan[0]?.param.device.flush();
    return result;
  } finally {
    await reader.close();
  }
}

/** A checkpoint's tensor names, shapes and dtypes, from its headers alone (no tensor is read). */
export async function readTensorInfos(path: string): Promise<readonly TensorInfo[]> {
  const reader = await openCheckpoint(path);
  try { return reader.tensors; } finally { await reader.close(); }
}

/** Runs `load` on a module just built and returns it; if loading fails the module is disposed (no leak). */
export async function loadNewModule<M extends Module>(module: M, load: (m: M) => Promise<unknown>): Promise<M> {
  try {
    await load(module);
  } catch (e) {
    module.dispose();
    throw e;
  }
  return module;
}

/** Uploads host data into a parameter's own buffer (no second GPU copy); falls back to assign for views. */
function writeInto(param: Tensor, host: ReturnType<typeof toHostArray>): void {
  if (param.isContiguous() && param.offset === 0 && param.storage.refs === 1) {
    param.device.upload(host, param.storage.buffer);
    return;
  }
  const t = Tensor.fromHost(host, param.shape, param.dtype, param.device);
  param.assign(t);
  t.dispose();
}
