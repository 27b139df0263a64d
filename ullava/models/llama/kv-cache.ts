// The key/value cache of cached decoding. Per layer, K and V live in preallocated [B, Hkv, capacity, D]
// buffers; each forward writes its new keys/values at the current length in place (engine writeSlice,
// one dispatch per tensor) and attends over the window [0, length + S). When a step would run past the
// capacity, the buffers grow by whole chunks (one copy of what is cached). The attention mask of every
// cached position ([B, capacity], 1 = token, 0 = padding) is kept beside them, so later steps need only
// the new tokens' mask and still never attend to earlier padding.
import { Tensor, zeros, slice, writeSlice, cast, ones, untrack, noGrad, type DType, type Device } from '../../../engine/index.js';
import { headDim, type LlamaConfig } from './config.js';

export interface KVCacheOptions {
  batch: number;
  /** Initial capacity in tokens (prompt + new tokens, if known; grows when exceeded). */
  maxLength: number;
  /** Storage dtype of K and V (default f32; bf16/f16 halve the memory). */
  dtype?: DType;
  /** Growth step in tokens (default 256). */
  chunk?: number;
  device?: Device;
}

export class KVCache {
  readonly batch: number;
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly dtype: DType;
  readonly chunk: number;
  private keys: Tensor[] = [];
  private values: Tensor[] = [];
  private maskBuf: Tensor;
  private cap: number;
  private len = 0;
  /** Whether any mask with padding was written (else attention needs no padding bias). */
  hasPadding = false;

  constructor(c: LlamaConfig, o: KVCacheOptions) {
    if (!Number.isInteger(o.batch) || o.batch < 1) throw new RangeError(`KVCache: batch must be a positive integer, got ${o.batch}`);
    if (!Number.isInteger(o.maxLength) || o.maxLength < 1) throw new RangeError(`KVCache: maxLength must be a positive integer, got ${o.maxLength}`);
    this.batch = o.batch;
    this.numLayers = c.numHiddenLayers;
    this.numKvHeads = c.numKeyValueHeads;
    this.headDim = headDim(c);
    this.dtype = o.dtype ?? 'f32';
    this.chunk = o.chunk ?? 256;
    this.cap = o.maxLength;
    for (let l = 0; l < this.numLayers; l++) {
      this.keys.push(this.alloc(this.cap, o.device));
      this.values.push(this.alloc(this.cap, o.device));
    }
    this.maskBuf = zeros([this.batch, this.cap], 'f32', o.device);
    untrack(this.maskBuf);
  }

  private alloc(cap: number, device?: Device): Tensor {
    const t = Tensor.empty([this.batch, this.numKvHeads, cap, this.headDim], this.dtype, device);
    untrack(t);
    return t;
  }

  /** Tokens cached so far. */
  get length(): number { return this.len; }
  get capacity(): number { return this.cap; }

  /** Bytes of K/V storage per cached token (all layers, whole batch). */
  bytesPerToken(): number {
    return 2 * this.numLayers * this.batch * this.numKvHeads * this.headDim * (this.dtype === 'f32' ? 4 : 2);
  }

  /** Grows the buffers so `n` more tokens fit (rounded up to whole chunks). */
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.cap) return;
    const cap = Math.ceil(need / this.chunk) * this.chunk;
    noGrad(() => {
      const move = (old: Tensor) => {
        const t = this.alloc(cap, old.device);
        if (this.len) writeSlice(t, slice(old, 2, 0, this.len), 2, 0);
        old.dispose();
        return t;
      };
      this.keys = this.keys.map(move);
      this.values = this.values.map(move);
      const m = zeros([this.batch, cap], 'f32', this.maskBuf.device);
      untrack(m);
      if (this.len) writeSlice(m, slice(this.maskBuf, 1, 0, this.len), 1, 0);
      this.maskBuf.dispose();
      this.maskBuf = m;
    });
    this.cap = cap;
  }

  /**
   * Records the mask of the next `S` tokens ([B, S], any dtype, nonzero = token; null = all tokens) and
   * returns the mask of every position so far, [B, length + S] f32 (a view of the cache's buffer).
   */
  pushMask(mask: Tensor | null, S: number): Tensor {
    this.reserve(S);
    noGrad(() => {
      const m = mask ? (mask.dtype === 'f32' ? mask : cast(mask, 'f32')) : ones([this.batch, S], 'f32', this.maskBuf.device);
      writeSlice(this.maskBuf, m, 1, this.len);
      if (m !== mask) m.dispose();
    });
    if (mask) this.hasPadding = true;
    return slice(this.maskBuf, 1, 0, this.len + S);
  }

  /**
   * Writes layer `layer`'s new keys and values [B, Hkv, S, D] at the current length and returns views of
   * everything cached for that layer including them, [B, Hkv, length + S, D]. Call advance(S) once every
   * layer has appended.
   */
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const S = k.shape[2];
    if (k.shape[0] !== this.batch || k.shape[1] !== this.numKvHeads || k.shape[3] !== this.headDim) {
      throw new RangeError(`KVCache.append: keys [${k.shape}] do not fit the cache [${this.batch}, ${this.numKvHeads}, *, ${this.headDim}]`);
    }
    this.reserve(S);
    writeSlice(this.keys[layer], k, 2, this.len);
    writeSlice(this.values[layer], v, 2, this.len);
    return { k: slice(this.keys[layer], 2, 0, this.len + S), v: slice(this.values[layer], 2, 0, this.len + S) };
  }

  advance(S: number): void {
    if (this.len + S > this.cap) throw new RangeError(`KVCache.advance: ${this.len} + ${S} tokens exceed the capacity ${this.cap}`);
    this.len += S;
  }

  /** Forgets everything cached (keeps the buffers). */
  reset(): void { this.len = 0; this.hasPadding = false; }

  /** Drops the last tokens (e.g. to re-run a turn); only the length changes. */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.len) throw new RangeError(`KVCache.truncate: ${length} is not in [0, ${this.len}]`);
    this.len = length;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values, this.maskBuf]) t.dispose();
    this.keys = []; this.values = [];
  }
}
