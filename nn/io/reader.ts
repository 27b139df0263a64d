// What every checkpoint reader offers: the list of tensors (names, dtypes, shapes) from headers alone,
// and the bytes of one tensor on demand, contiguous, row-major and little-endian.
import type { TensorInfo } from './dtypes.js';

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
