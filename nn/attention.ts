// Attention as the models call it: one entry point, so the implementation (flash kernels or the unfused
// composition used as their reference) is chosen in one place.
import {
  Tensor, matmul, softmax, mul, add, where, arange, reshape, expand, le, transpose, unsqueeze, scope,
  scaledDotProductAttention, isGradEnabled, type AttentionOptions,
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

/** Scores above this many bytes go to the flash kernels even where the unfused backward is faster. */
const UNFUSED_SCORE_LIMIT = 32 << 20;

/**
 * The attention every model uses: the flash kernels (memory O(S), no [S, S] scores) — except on software
 * adapters when gradients are needed and the scores are small: there the flash backward measures slower
 * than the unfused composition (bench/results/attention-*.json), while the flash forward is faster.
 * Both agree to rounding (test/engine/ops/attention.test.ts); fully masked rows differ (flash: 0, unfused:
 * NaN) — the models never produce them (LLaMA masks padding with a finite bias).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  const [B, H, Sq] = q.shape;
  const Skv = k.shape[2];
  const scoreBytes = 4 * B * H * Sq * Skv;
  const needsGrad = isGradEnabled() && [q, k, v, o.bias].some((t) => t?.requiresGrad);
  if (q.device.isSoftwareAdapter && needsGrad && scoreBytes <= UNFUSED_SCORE_LIMIT) return attentionUnfused(q, k, v, o);
  return scaledDotProductAttention(q, k, v, o);
}
