// Attention as the models call it: one entry point, so the implementation (flash kernels or the unfused
// composition used as their reference) is chosen in one place.
import {
  Tensor, matmul, softmax, mul, add, where, arange, reshape, expand, le, transpose, unsqueeze, scope,
  scaledDotProductAttention, type AttentionOptions,
} from '../engine/index.js';
import { ShapeError } from '../engine/errors.js';

/**
 * softmax(q kᵀ · scale + bias + masks) v with q [B, H, Sq, D], k and v [B, Hkv, Skv, D] (Hkv divides H:
 * grouped-query attention). Materialises the [B, H, Sq, Skv] scores: the reference the flash kernels
 * are checked and benchmarked against.
 */
export function attentionUnfused(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw new ShapeError(`attention: q, k, v must be [B, H, S, D], got [${q.shape}], [${k.shape}], [${v.shape}]`);
  const [B, H, Sq, D] = q.shape;
  const [Bk, Hkv, Skv, Dk] = k.shape;
  if (Bk !== B || Dk !== D || v.shape[0] !== B || v.shape[1] !== Hkv || v.shape[2] !== Skv) {
    throw new ShapeError(`attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not agree`);
  }
  if (H % Hkv !== 0) throw new ShapeError(`attention: ${H} query heads are not a multiple of ${Hkv} key/value heads`);
  const scale = o.scale ?? 1 / Math.sqrt(D);
  return scope(() => {
    // Grouped-query: each key/value head serves H / Hkv query heads.
    const rep = (t: Tensor) => (Hkv === H ? t
      : reshape(expand(unsqueeze(t, 2), [B, Hkv, H / Hkv, Skv, t.shape[3]]), [B, H, Skv, t.shape[3]]));
    const kk = rep(k), vv = rep(v);
    let s = mul(matmul(q, transpose(kk)), scale);
    if (o.bias) s = add(s, o.bias);
    if (o.causal) {
      const i = reshape(arange(Skv - Sq, Skv, 1, 'i32', q.device), [Sq, 1]);
      const j = reshape(arange(0, Skv, 1, 'i32', q.device), [1, Skv]);
      s = where(le(j, i), s, -Infinity);
    }
    if (o.keyPaddingMask) s = where(reshape(o.keyPaddingMask, [B, 1, 1, Skv]), s, -Infinity);
    const p = softmax(s, -1);
    return matmul(p, vv);
  });
}

/** 'auto': the flash kernels; 'flash' / 'unfused': always that path (benchmarks, comparisons). */
export type AttentionPath = 'auto' | 'flash' | 'unfused';
let forcedPath: AttentionPath = 'auto';

/** Sets the path attention() takes from now on (bench/train.ts compares them in one run); returns the previous one. */
export function setAttentionPath(p: AttentionPath): AttentionPath { const was = forcedPath; forcedPath = p; return was; }

/**
 * The attention every model uses: the flash kernels (memory O(S), no [S, S] scores), forward and
 * backward, on every adapter. (Software adapters used to take the unfused composition when training:
 * its backward was faster there until the register-tiled backward of kernels/attention-backward.ts;
 * bench/results/train-attention-*.json has both, measured side by side.) Both agree to rounding
 * (test/engine/ops/attention.test.ts); fully masked rows differ (flash: 0, unfused: NaN) — the models
 * never produce them (LLaMA masks padding with a finite bias).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  if (forcedPath === 'unfused') return attentionUnfused(q, k, v, o);
  return scaledDotProductAttention(q, k, v, o);
}
