// Tensor: a typed, strided view of pooled GPU storage, with an optional autograd node.
// Views (reshape, permute, slice, expand) share storage; ops write new contiguous tensors.
import { type Device, currentDevice } from './device.js';
import { type DType, assertDType, storageBytes, packFactor, itemSize, decodeHost, encodeHost } from './dtype.js';
import type { GradNode } from './autograd.js';
import { track, untrack } from './scope.js';
import { ShapeError } from './errors.js';

/** A GPU buffer shared by a tensor and its views; returned to the pool when the last one lets go. */
export class Storage {
  refs = 1;
  constructor(readonly device: Device, readonly buffer: GPUBuffer, readonly bytes: number) {}
  retain(): this { this.refs++; return this; }
  release(): void {
    if (--this.refs === 0) this.device.pool.release(this.buffer);
  }
}

export type HostData = Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: readonly number[], where: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

export class Tensor {
  readonly isTensor = true;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  private disposedFlag = false;

  constructor(
    public storage: Storage,
    public shape: readonly number[],
    public dtype: DType,
    public strides: readonly number[] = contiguousStrides(shape),
    public offset = 0,
  ) {
    track(this);
  }

  get device(): Device { return this.storage.device; }
  get rank(): number { return this.shape.length; }
  get size(): number { return numel(this.shape); }
  get disposed(): boolean { return this.disposedFlag; }
  get isLeaf(): boolean { return this.node === null; }

  isContiguous(): boolean {
    let acc = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== acc) return false;
      acc *= this.shape[i];
    }
    return true;
  }

  /** Throws if this tensor was disposed (every op calls it on its inputs). */
  assertAlive(op: string): void {
    if (this.disposedFlag) throw new Error(`${op}: tensor of shape [${this.shape}] was used after dispose()`);
  }

  // ---- creation ----

  /** A new uninitialised contiguous tensor. */
  static empty(shape: readonly number[], dtype: DType = 'f32', device: Device = currentDevice()): Tensor {
    checkShape(shape, 'empty');
    assertDType(dtype, 'empty');
    const bytes = Math.max(4, storageBytes(dtype, numel(shape)));
    return new Tensor(new Storage(device, device.pool.acquire(bytes), bytes), [...shape], dtype);
  }

  /**
   * A tensor from host data in the dtype's host representation: Float32Array for f32, Int32Array for
   * i32, Uint32Array for u32, Uint8Array for u8, and raw 16-bit patterns (Uint16Array) for f16/bf16.
   */
  static fromHost(data: HostData, shape: readonly number[], dtype: DType, device: Device = currentDevice()): Tensor {
    checkShape(shape, 'fromHost');
    assertDType(dtype, 'fromHost');
    const n = numel(shape);
    if (data.length !== n) throw new ShapeError(`fromHost: ${data.length} values do not fill shape [${shape}] (${n})`);
    const expected = { f32: Float32Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array, f16: Uint16Array, bf16: Uint16Array }[dtype];
    if (!(data instanceof expected)) {
      throw new TypeError(`fromHost: dtype ${dtype} takes a ${expected.name}, got ${data.constructor.name}`);
    }
    const t = Tensor.empty(shape, dtype, device);
    if (n > 0) {
      const bytes = storageBytes(dtype, n);
      if (data.byteLength === bytes) {
        device.upload(data, t.storage.buffer);
      } else {
        const padded = new Uint8Array(bytes);
        padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        device.upload(padded, t.storage.buffer);
      }
    }
    return t;
  }

  /** A tensor from numbers (converted to the dtype, bf16/f16 rounded to nearest even). */
  static from(values: ArrayLike<number>, shape: readonly number[] = [values.length], dtype: DType = 'f32', device: Device = currentDevice()): Tensor {
    return Tensor.fromHost(encodeHost(dtype, values), shape, dtype, device);
  }

  // ---- readback ----

  /** The values in row-major order: Float32Array for float dtypes (16-bit widened), else the integer array. */
  async toArray(): Promise<Float32Array | Int32Array | Uint32Array | Uint8Array> {
    return decodeHost(this.dtype, await this.toHost());
  }

  /** The values in the dtype's host representation (raw bits for f16/bf16). */
  async toHost(): Promise<HostData> {
    this.assertAlive('toArray');
    if (!this.isContiguous()) {
      const { contiguous } = await import('./ops/views.js');
      const c = contiguous(this);
      try { return await c.toHost(); } finally { c.dispose(); }
    }
    const n = this.size;
    const ctor = { f32: Float32Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array, f16: Uint16Array, bf16: Uint16Array }[this.dtype];
    if (n === 0) return new ctor(0);
    const isz = itemSize(this.dtype);
    const startByte = this.offset * isz;
    const alignedStart = Math.floor(startByte / 4) * 4;
    const endByte = startByte + n * isz;
    const buf = await this.device.read(this.storage.buffer, alignedStart, Math.ceil((endByte - alignedStart) / 4) * 4);
    const skip = (startByte - alignedStart) / isz;
    return new ctor(buf, 0, skip + n).slice(skip, skip + n) as HostData;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item(): tensor has ${this.size} elements, shape [${this.shape}]`);
    return (await this.toArray())[0];
  }

  // ---- lifetime ----

  /** Frees this handle's hold on the storage (and on its autograd node). Safe to call twice. */
  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.storage.release();
    untrack(this);
    if (this.node) { this.node.unref(); this.node = null; }
    if (this.grad) { this.grad.dispose(); this.grad = null; }
  }

  /** A new handle on the same storage and view, with no autograd history. */
  retain(): Tensor {
    this.assertAlive('retain');
    return new Tensor(this.storage.retain(), this.shape, this.dtype, this.strides, this.offset);
  }

  /** A handle that shares storage but is cut from the graph. */
  detach(): Tensor { return this.retain(); }

  /** Marks a leaf as requiring a gradient (its .grad is filled by backward()). */
  requireGrad(flag = true): this {
    if (flag && this.dtype !== 'f32' && this.dtype !== 'f16' && this.dtype !== 'bf16') {
      throw new TypeError(`requireGrad: only floating tensors can require gradients, this one is ${this.dtype}`);
    }
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Replaces this tensor's contents by src's (same shape and dtype), e.g. an optimizer update.
   * `changeDtype` lets the tensor take src's dtype too (a module converting its parameters).
   */
  assign(src: Tensor, changeDtype = false): this {
    this.assertAlive('assign'); src.assertAlive('assign');
    if (changeDtype) this.dtype = src.dtype;
    if (src.dtype !== this.dtype || src.shape.join() !== this.shape.join()) {
      throw new ShapeError(`assign: source [${src.shape}] ${src.dtype} does not match target [${this.shape}] ${this.dtype}`);
    }
    src.storage.retain();
    this.storage.release();
    this.storage = src.storage;
    this.strides = src.strides;
    this.offset = src.offset;
    return this;
  }

  /** Elements per 32-bit word of storage (2 for 16-bit dtypes, 4 for u8). */
  get packFactor(): number { return packFactor(this.dtype); }

  toString(): string { return `Tensor([${this.shape}], ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`; }
}
