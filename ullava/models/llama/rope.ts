// Rotary position embeddings as HF LLaMA (rotate_half convention: the head dim is split in two halves,
// not interleaved pairs). cos/sin tables are computed on the host with HF's f32 arithmetic (inv_freq in
// f32, position x inv_freq rounded to f32) and kept on the device, outside any state dict (HF LLaMA has
// no rotary keys; old checkpoints' `rotary_emb.inv_freq` buffers are skipped by the loader). Each
// forward gathers the rows of its position ids, so padded batches and cached decoding get the right
// angle for every token.
import { Tensor, embedding, reshape, split, concat, neg, mul, add, cast, scope, untrack, type Device } from '../../../engine/index.js';

/** HF's inv_freq: 1 / theta^(2i/d) in f32 arithmetic. */
export function ropeInvFreq(headDim: number, theta: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const e = Math.fround((2 * i) / headDim);
    out[i] = Math.fround(1 / Math.fround(Math.pow(theta, e)));
  }
  return out;
}

export class RotaryEmbedding {
  private cosTable: Tensor | null = null;
  private sinTable: Tensor | null = null;
  private rows = 0;
  readonly invFreq: Float32Array;

  constructor(readonly headDim: number, readonly theta: number, readonly initialPositions: number) {
    this.invFreq = ropeInvFreq(headDim, theta);
  }

  /** Makes sure positions [0, n) have table rows (grown in chunks of 1024 beyond the initial size). */
  private ensure(n: number, device: Device): void {
    if (n <= this.rows && this.cosTable) return;
    const rows = Math.max(this.initialPositions, Math.ceil(n / 1024) * 1024);
    const D = this.headDim, half = D / 2;
    const c = new Float32Array(rows * D), s = new Float32Array(rows * D);
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < half; i++) {
        const f = Math.fround(p * this.invFreq[i]);
        const cv = Math.cos(f), sv = Math.sin(f);
        c[p * D + i] = cv; c[p * D + i + half] = cv;
        s[p * D + i] = sv; s[p * D + i + half] = sv;
      }
    }
    this.dispose();
    this.cosTable = Tensor.fromHost(c, [rows, D], 'f32', device);
    this.sinTable = Tensor.fromHost(s, [rows, D], 'f32', device);
    untrack(this.cosTable); untrack(this.sinTable);
    this.rows = rows;
  }

  /**
   * cos and sin [B, 1, S, D] (f32, or `dtype`) for position ids [B, S] (or [1, S], broadcast over the
   * batch). `maxPosition` bounds the ids (the table grows to cover it); ids beyond the table read zeros.
   */
  cosSin(positionIds: Tensor, maxPosition: number, dtype: Tensor['dtype'] = 'f32'): { cos: Tensor; sin: Tensor } {
    this.ensure(maxPosition + 1, positionIds.device);
    const [B, S] = positionIds.shape;
    return scope(() => {
      const pick = (table: Tensor) => {
        const t = reshape(embedding(table, positionIds), [B, 1, S, this.headDim]);
        return dtype === 'f32' ? t : cast(t, dtype);
      };
      return { cos: pick(this.cosTable!), sin: pick(this.sinTable!) };
    });
  }

  dispose(): void {
    this.cosTable?.dispose(); this.sinTable?.dispose();
    this.cosTable = this.sinTable = null;
    this.rows = 0;
  }
}

/** cat(-x2, x1) over the last axis. */
export function rotateHalf(x: Tensor): Tensor {
  return scope(() => {
    const [x1, x2] = split(x, x.shape[x.rank - 1] / 2, -1);
    return concat([neg(x2), x1], -1);
  });
}

/** x * cos + rotate_half(x) * sin, x [B, H, S, D], cos/sin [B or 1, 1, S, D]. */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return scope(() => add(mul(x, cos), mul(rotateHalf(x), sin)));
}
