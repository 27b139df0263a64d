// Pooled GPU storage buffers. Freed buffers go back to a free list by size bucket and are handed out
// again to later tensors. Reuse inside one command encoder is safe: dispatches in one encoder run in
// order, and every upload goes through the encoder too (device.ts), never through queue.writeBuffer.

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */;

/** Rounds a request up to a bucket: powers of two split in quarters, so waste stays under 25%. */
function bucketSize(bytes: number): number {
  const b = Math.max(256, bytes);
  const p = 2 ** Math.floor(Math.log2(b));
  if (p === b) return b;
  const q = p / 4;
  return Math.ceil(b / q) * q;
}

export interface MemoryStats {
  /** Bytes held by live tensors (bucket sizes). */
  liveBytes: number;
  liveBuffers: number;
  /** Bytes in freed buffers kept for reuse. */
  pooledBytes: number;
  pooledBuffers: number;
  /** Highest liveBytes since the device opened or since resetPeak(). */
  peakLiveBytes: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private live = 0;
  private liveCount = 0;
  private pooled = 0;
  private pooledCount = 0;
  private peak = 0;

  /** maxBytes: the largest buffer a kernel can bind (Device.maxBindingBytes). */
  constructor(private readonly gpu: GPUDevice, private readonly maxBytes: number) {}

  acquire(bytes: number): GPUBuffer {
    if (bytes > this.maxBytes) {
      throw new RangeError(`a tensor of ${bytes.toLocaleString('en-US')} bytes exceeds this device's largest bindable buffer ` +
        `(${this.maxBytes.toLocaleString('en-US')} bytes: min of maxBufferSize, maxStorageBufferBindingSize and WEBGPU_ENGINE_MAX_BINDING): ` +
        `split it along its first dimension, or use a 16-bit dtype or a GPU with larger limits`);
    }
    const size = Math.min(bucketSize(bytes), Math.floor(this.maxBytes / 4) * 4);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.pooled -= size; this.pooledCount--;
    } else {
      buf = this.gpu.createBuffer({ size, usage: STORAGE_USAGE });
    }
    this.live += size; this.liveCount++;
    if (this.live > this.peak) this.peak = this.live;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.live -= size; this.liveCount--;
    let list = this.free.get(size);
    if (!list) { list = []; this.free.set(size, list); }
    list.push(buf);
    this.pooled += size; this.pooledCount++;
  }

  /** Destroys every pooled (unused) buffer, returning their memory to the driver. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0; this.pooledCount = 0;
  }

  resetPeak(): void { this.peak = this.live; }

  stats(): MemoryStats {
    return { liveBytes: this.live, liveBuffers: this.liveCount, pooledBytes: this.pooled,
      pooledBuffers: this.pooledCount, peakLiveBytes: this.peak };
  }
}
