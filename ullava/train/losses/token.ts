// Token cross-entropy of a causal LM as Hugging Face's LlamaForCausalLM computes it (logits at position
// i predict labels[i + 1]; labels -100 are ignored; mean over the supervised tokens), except that the
// LM head runs only on the hidden states of supervised positions: they are gathered first, so the
// vocabulary-wide head never runs over prompt, image and padding tokens.
import { Tensor, reshape, indexSelect, crossEntropy, cast, zeros, noGrad } from '../../../engine/index.js';
import { withTemps } from './scope.js';

export const IGNORE_INDEX = -100;

export interface SupervisedPositions {
  /** Row of each supervised position in hidden reshaped to [B * S, D]. */
  rows: Int32Array;
  /** The token each of them must predict. */
  targets: Int32Array;
}

/** Positions (b, i), i < S - 1, whose next label is not ignored, with that label as the target. */
export function supervisedPositions(labels: ArrayLike<number>, batch: number, seqLen: number, ignoreIndex = IGNORE_INDEX): SupervisedPositions {
  if (labels.length !== batch * seqLen) {
    throw new RangeError(`supervisedPositions: ${labels.length} labels for batch ${batch} x sequence ${seqLen}`);
  }
  const rows: number[] = [], targets: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i + 1 < seqLen; i++) {
      const t = labels[b * seqLen + i + 1];
      if (t === ignoreIndex) continue;
      if (!Number.isInteger(t) || t < 0) {
        throw new RangeError(`tokenCrossEntropy: label ${t} at batch ${b}, position ${i + 1} is neither a token id nor ${ignoreIndex}`);
      }
      rows.push(b * seqLen + i);
      targets.push(t);
    }
  }
  return { rows: Int32Array.from(rows), targets: Int32Array.from(targets) };
}

export interface TokenLoss {
  /** Mean cross-entropy over the supervised tokens (0-d f32). 0 without graph when there is none. */
  loss: Tensor;
  /** How many tokens were supervised. */
  tokens: number;
}

/**
 * hidden: final-norm hidden states [B, S, D]; labels: B * S token ids on the host (the collator's
 * labels, -100 where not supervised); lmHead: maps [N, D] to logits [N, V]. A batch with no supervised
 * token gives a constant 0 loss (HF would give NaN) and tokens 0, so that other loss parts still train.
 */
export function tokenCrossEntropy(hidden: Tensor, labels: ArrayLike<number>, lmHead: (h: Tensor) => Tensor,
  opts: { ignoreIndex?: number } = {}): TokenLoss {
  hidden.assertAlive('tokenCrossEntropy');
  if (hidden.rank !== 3) throw new RangeError(`tokenCrossEntropy: hidden must be [batch, seq, dim], got [${hidden.shape}]`);
  const [B, S, D] = hidden.shape;
  const { rows, targets } = supervisedPositions(labels, B, S, opts.ignoreIndex ?? IGNORE_INDEX);
  if (rows.length === 0) return { loss: noGrad(() => zeros([], 'f32', hidden.device)), tokens: 0 };
  return withTemps((tmp) => {
    const flat = tmp(reshape(hidden, [B * S, D]));
    const picked = tmp(indexSelect(flat, 0, tmp(Tensor.fromHost(rows, [rows.length], 'i32', hidden.device))));
    const logits = tmp(lmHead(picked));
    if (logits.rank !== 2 || logits.shape[0] !== rows.length) {
      throw new RangeError(`tokenCrossEntropy: lmHead returned [${logits.shape}] for [${picked.shape}] (expected [${rows.length}, vocab])`);
    }
    const V = logits.shape[1];
    const bad = targets.findIndex((t) => t >= V);
    if (bad >= 0) throw new RangeError(`tokenCrossEntropy: label ${targets[bad]} is outside the vocabulary of ${V} tokens`);
    const tgt = tmp(Tensor.fromHost(targets, [targets.length], 'i32', hidden.device));
    // HF upcasts the logits to float before the loss.
    const l32 = logits.dtype === 'f32' ? logits : tmp(cast(logits, 'f32'));
    return { loss: crossEntropy(l32, tgt), tokens: rows.length };
  });
}
