// A plain float64 CPU reference of LLaMA (HF LlamaForCausalLM math): embedding, RMSNorm, rotary
// embeddings (rotate_half, HF's f32 inv_freq), causal attention with grouped-query heads and a key
// padding mask, SwiGLU, lm_head. One sequence at a time, written for clarity, not speed.

export interface RefLlamaConfig {
  vocabSize: number; hiddenSize: number; intermediateSize: number; numHiddenLayers: number;
  numAttentionHeads: number; numKeyValueHeads: number; rmsNormEps: number; ropeTheta: number; tieWordEmbeddings: boolean;
}

/** Weights by HF key, row-major. */
export type RefWeights = Map<string, Float64Array>;

/** y[o] = sum_i W[o, i] x[i] for W [out, in]. */
function matvec(W: Float64Array, x: Float64Array, out: number): Float64Array {
  const n = x.length, y = new Float64Array(out);
  for (let o = 0; o < out; o++) { let s = 0; for (let i = 0; i < n; i++) s += W[o * n + i] * x[i]; y[o] = s; }
  return y;
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * r * w[i]);
}

function rope(x: Float64Array, pos: number, theta: number): Float64Array {
  const D = x.length, half = D / 2, out = new Float64Array(D);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / D))));
    const f = Math.fround(pos * inv);
    const c = Math.cos(f), s = Math.sin(f);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/**
 * Logits [S, V] and final-norm hidden states [S, H] of one sequence. Either ids or embeds [S][H].
 * mask (1 token / 0 pad) hides padding keys; positions default to cumsum(mask) - 1 (pads: 1), as HF.
 * A query that sees no key outputs 0 from attention.
 */
export function refLlama(c: RefLlamaConfig, w: RefWeights, input: { ids?: number[]; embeds?: Float64Array[]; mask?: number[]; positions?: number[] }):
  { logits: Float64Array[]; hidden: Float64Array[] } {
  const H = c.hiddenSize, nH = c.numAttentionHeads, nKV = c.numKeyValueHeads, D = H / nH, I = c.intermediateSize;
  const get = (k: string) => { const t = w.get(k); if (!t) throw new Error(`refLlama: no weight ${k}`); return t; };
  const S = input.ids ? input.ids.length : input.embeds!.length;
  const mask = input.mask ?? new Array<number>(S).fill(1);
  let positions = input.positions;
  if (!positions) {
    let cum = 0;
    positions = mask.map((m) => { cum += m; return m ? cum - 1 : 1; });
  }
  const E = get('model.embed_tokens.weight');
  let xs: Float64Array[] = input.embeds ? input.embeds.map((e) => Float64Array.from(e))
    : input.ids!.map((id) => E.slice(id * H, (id + 1) * H));
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    const hs = xs.map((x) => rmsNorm(x, get(p + 'input_layernorm.weight'), c.rmsNormEps));
    const q = hs.map((h) => matvec(get(p + 'self_attn.q_proj.weight'), h, H));
    const k = hs.map((h) => matvec(get(p + 'self_attn.k_proj.weight'), h, nKV * D));
    const v = hs.map((h) => matvec(get(p + 'self_attn.v_proj.weight'), h, nKV * D));
    const qr = q.map((qq, t) => { const o = new Float64Array(H); for (let h = 0; h < nH; h++) o.set(rope(qq.subarray(h * D, (h + 1) * D), positions![t], c.ropeTheta), h * D); return o; });
    const kr = k.map((kk, t) => { const o = new Float64Array(nKV * D); for (let h = 0; h < nKV; h++) o.set(rope(kk.subarray(h * D, (h + 1) * D), positions![t], c.ropeTheta), h * D); return o; });
    const attn = xs.map(() => new Float64Array(H));
    for (let t = 0; t < S; t++) {
      for (let h = 0; h < nH; h++) {
        const g = Math.floor(h / (nH / nKV));
        const scores: number[] = [], idx: number[] = [];
        for (let j = 0; j <= t; j++) {
          if (!mask[j]) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += qr[t][h * D + d] * kr[j][g * D + d];
          scores.push(s / Math.sqrt(D)); idx.push(j);
        }
        if (!scores.length) continue;
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let n = 0; n < idx.length; n++) for (let d = 0; d < D; d++) attn[t][h * D + d] += (e[n] / z) * v[idx[n]][g * D + d];
      }
    }
    xs = xs.map((x, t) => { const o = matvec(get(p + 'self_attn.o_proj.weight'), attn[t], H); return x.map((val, i) => val + o[i]); });
    xs = xs.map((x) => {
      const hh = rmsNorm(x, get(p + 'post_attention_layernorm.weight'), c.rmsNormEps);
      const gate = matvec(get(p + 'mlp.gate_proj.weight'), hh, I), up = matvec(get(p + 'mlp.up_proj.weight'), hh, I);
      const down = matvec(get(p + 'mlp.down_proj.weight'), gate.map((gv, i) => silu(gv) * up[i]), H);
      return x.map((val, i) => val + down[i]);
    });
  }
  const hidden = xs.map((x) => rmsNorm(x, get('model.norm.weight'), c.rmsNormEps));
  const head = c.tieWordEmbeddings ? E : get('lm_head.weight');
  return { hidden, logits: hidden.map((h) => matvec(head, h, c.vocabSize)) };
}

/** Mean cross-entropy of logits [S][V] against targets (ignoreIndex skipped). */
export function refCrossEntropy(logits: Float64Array[], targets: number[], ignoreIndex = -100): number {
  let total = 0, n = 0;
  logits.forEach((l, t) => {
    if (targets[t] === ignoreIndex) return;
    const m = Math.max(...l);
    const lse = m + Math.log(l.reduce((a, v) => a + Math.exp(v - m), 0));
    total += lse - l[targets[t]]; n++;
  });
  return total / n;
}
