// CPU reference of scaled-dot-product attention, written plainly from the definition in float64:
// out[b,h,i] = sum_j softmax_j(scale * q[b,h,i]·k[b,hk,j] + bias[b,h,i,j]) v[b,hk,j], over the keys j that are
// visible (keyPaddingMask[b,j] != 0, and j <= i + Skv - Sq when causal), hk = h / (H / Hkv).
// A row with no visible key outputs 0 (the engine's documented rule).
import { NDArray, atBroadcast } from './ndarray.js';

export interface RefAttentionOptions { causal?: boolean; mask?: NDArray | null; bias?: NDArray | null; scale?: number }

export function attention(q: NDArray, k: NDArray, v: NDArray, o: RefAttentionOptions = {}): NDArray {
  const [B, H, Sq, D] = q.shape;
  const [, Hkv, Skv] = k.shape;
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const out = NDArray.zeros([B, H, Sq, D]);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const hk = Math.floor(h / (H / Hkv));
    for (let i = 0; i < Sq; i++) {
      const logits: number[] = [], keys: number[] = [];
      for (let j = 0; j < Skv; j++) {
        if (o.mask && o.mask.at([b, j]) === 0) continue;
        if (o.causal && j > i + Skv - Sq) continue;
        let s = 0;
        for (let d = 0; d < D; d++) s += q.at([b, h, i, d]) * k.at([b, hk, j, d]);
        s = s * scale + (o.bias ? atBroadcast(o.bias, [b, h, i, j]) : 0);
        if (s === -Infinity) continue;
        logits.push(s); keys.push(j);
      }
      if (!keys.length) continue;
      const m = Math.max(...logits);
      const e = logits.map((x) => Math.exp(x - m));
      const z = e.reduce((a, c) => a + c, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        keys.forEach((j, t) => { acc += (e[t] / z) * v.at([b, hk, j, d]); });
        out.data[((b * H + h) * Sq + i) * D + d] = acc;
      }
    }
  }
  return out;
}
