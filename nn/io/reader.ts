// What every checkpoint reader offers: the list of tensors (names, dtypes, shapes) from headers alone,
// and the bytes of one tensor on demand, contiguous, row-major and little-endian.
import type { TensorInfo } from './dtypes.js';
import { FileSource, type ByteSource } from './source.js';

export interface CheckpointReader {
  readonly path: string;
  readonly format: 'safetensors' | 'pytorch';
  readonly tensors: readonly TensorInfo[];
  /** String metadata (safetensors __metadata__; empty for PyTorch files). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The tensor's bytes in its source dtype; one tensor at a time, so memory stays bounded. */
  read(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** What the two file formats' readers share: the tensors by name, and the source, closed when owned. */
export abstract class SourceReader<E extends TensorInfo> {
  private readonly byName = new Map<string, E>();
  protected constructor(protected readonly src: ByteSource, readonly tensors: E[], private readonly owned: boolean) {
    for (const t of tensors) this.byName.set(t.name, t);
  }

  get path(): string { return this.src.name; }

  entry(name: string): E {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named "${name}"`);
    return e;
  }

  async close(): Promise<void> { if (this.owned) await this.src.close(); }
}

/** Opens a file and parses it with `open` (which then owns it); the file is closed if parsing fails. */
export async function openFileWith<R>(path: string, open: (src: ByteSource, owned: boolean) => Promise<R>): Promise<R> {
  const src = await FileSource.open(path);
  try { return await open(src, true); } catch (e) { await src.close(); throw e; }
}
