// The element types that checkpoint files declare, by their safetensors names. PyTorch storages are
// mapped onto the same names, so every reader reports tensors the same way.

export type SourceDType =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8'
  | 'U64' | 'U32' | 'U16' | 'U8'
  | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

const SIZES: Record<SourceDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

export function isSourceDType(s: unknown): s is SourceDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SIZES, s);
}

export function sourceItemSize(d: SourceDType): number { return SIZES[d]; }

/** Error for anything wrong with a checkpoint file: the message names the file and what is wrong. */
export class CheckpointFormatError extends Error {
  constructor(message: string) { super(message); this.name = 'CheckpointFormatError'; }
}

/** Product of a shape, refusing negative, fractional or overflowing (beyond 2^53) dimensions. */
export function shapeNumel(shape: readonly unknown[], where: string): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new CheckpointFormatError(`${where}: bad dimension ${JSON.stringify(d)} in shape ${JSON.stringify(shape)}`);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) throw new CheckpointFormatError(`${where}: shape ${JSON.stringify(shape)} has too many elements`);
  }
  return n;
}

/** One tensor of a checkpoint as its reader reports it, before any bytes are read. */
export interface TensorInfo {
  name: string;
  dtype: SourceDType;
  shape: number[];
  /** Bytes of the tensor laid out contiguously (numel * item size). */
  byteLength: number;
}
