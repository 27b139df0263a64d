// The data loader: a seeded shuffle per epoch (the order is a pure function of (seed, epoch), so a resumed
// run that knows its epoch and position sees exactly the batches the uninterrupted run would), and one
// batch of look-ahead: while the GPU runs step k, batch k+1 is read, decoded and tokenised.
import type { TrainingSample } from './sample.js';
import type { PreparedExample } from './example.js';

/** splitmix32: a small, well-mixed PRNG; the whole state is one 32-bit word. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates over 0..n-1 with the stream of (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rnd = splitmix32((seed * 1000003 + epoch * 7919 + 1) >>> 0);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Where the loader is: the next batch is batch `batch` of epoch `epoch`. Saved in checkpoints. */
export interface DataPosition { epoch: number; batch: number }

export interface LoadedBatch { position: DataPosition; examples: PreparedExample[]; indices: number[] }

export class DataLoader {
  readonly batchesPerEpoch: number;
  private pending: Promise<LoadedBatch> | null = null;
  private pendingAt: DataPosition | null = null;

  constructor(private samples: TrainingSample[], readonly batchSize: number, readonly seed: number,
    private prepare: (s: TrainingSample) => Promise<PreparedExample>) {
    if (samples.length === 0) throw new RangeError('DataLoader: no samples');
    this.batchesPerEpoch = Math.ceil(samples.length / batchSize);
  }

  /** The position after `p` (wrapping into the next epoch). */
  next(p: DataPosition): DataPosition {
    return p.batch + 1 < this.batchesPerEpoch ? { epoch: p.epoch, batch: p.batch + 1 } : { epoch: p.epoch + 1, batch: 0 };
  }

  private async load(p: DataPosition): Promise<LoadedBatch> {
    const order = epochOrder(this.samples.length, this.seed, p.epoch);
    const indices = order.slice(p.batch * this.batchSize, (p.batch + 1) * this.batchSize);
    const examples = await Promise.all(indices.map((i) => this.prepare(this.samples[i])));
    return { position: p, examples, indices };
  }

  /** The batch at `p`, and starts preparing the one after it. */
  async get(p: DataPosition): Promise<LoadedBatch> {
    const mine = this.pending && this.pendingAt && this.pendingAt.epoch === p.epoch && this.pendingAt.batch === p.batch
      ? this.pending : this.load(p);
    const after = this.next(p);
    this.pendingAt = after;
    this.pending = this.load(after);
    // An error in the look-ahead surfaces when that batch is asked for, not as an unhandled rejection now.
    this.pending.catch(() => undefined);
    return mine;
  }
}
