// Data types of tensors and how they are stored on the GPU: the vocabulary shared by the kernel
// generators and the engine (which re-exports it).
// 16-bit types (f16, bf16) are stored as halves packed two to a u32 word, u8 four to a word, so
// every storage buffer is an array<u32>/array<f32>/array<i32> and no kernel needs shader-f16.
// Kernels widen to f32 on load and round to nearest-even on store.

export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u32' | 'u8';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u32', 'u8'];

/** Bytes per element in storage. */
export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'f32': case 'i32': case 'u32': return 4;
    case 'f16': case 'bf16': return 2;
    case 'u8': return 1;
  }
}

/** Elements packed in one 32-bit storage word. */
export function packFactor(dtype: DType): number { return 4 / itemSize(dtype); }

/** Storage bytes for n elements, rounded up to whole 32-bit words. */
export function storageBytes(dtype: DType, n: number): number {
  return Math.ceil(n / packFactor(dtype)) * 4;
}

export function isFloat(dtype: DType): boolean { return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16'; }

export function assertDType(dtype: unknown, where: string): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new TypeError(`${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`);
  }
}
