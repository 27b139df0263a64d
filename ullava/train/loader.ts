// The data loader: a seeded shuffle per epoch (the order is a pure function of (seed, epoch), so a resumed
// run that knows its epoch and position sees exactly the batches the uninterrupted run would), and one
// batch of look-ahead: while the GPU runs step k, batch k+1 is read, decoded and tokenised (on worker
// threads when the collator's runner is a pool), so a missing or broken image fails with its line and path
// before the step that needs it. Each sample gets its own seed from (run seed, epoch, index), so its draws
// (prompt templates, expressions, frames) do not depend on which thread prepared it or in which order.
import type { TrainingSample } from './sample.js';
import type { PreparedExample } from './example.js';

import { splitmix32, sampleSeed } from '../data/rng.js';

export { splitmix32, sampleSeed };

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

/** Which sample the loader asks for: its index in the manifest and the epoch, and its seed. */
export interface SampleContext { epoch: number; index: number; seed: number }

export interface LoadedBatch { position: DataPosition; examples: PreparedExample[]; indices: number[] }

export class DataLoader {
  readonly batchesPerEpoch: number;
  private pending: Promise<LoadedBatch> | null = null;
  private pendingAt: DataPosition | null = null;

  constructor(private samples: TrainingSample[], readonly batchSize: number, readonly seed: number,
    private prepare: (s: TrainingSample, ctx: SampleContext) => Promise<PreparedExample>) {
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
    const examples = await Promise.all(indices.map((i) => this.prepare(this.samples[i], { epoch: p.epoch, index: i, seed: sampleSeed(this.seed, p.epoch, i) })));
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
