// A plain float64 CPU reference of HF's CLIP vision tower, written from its definition with loops so it
// is easy to trust: patch convolution (no bias), class token, position embeddings, pre-LN, then per layer
// x += out(attn(LN1 x)), x += fc2(act(fc1(LN2 x))); post-LN on the class token.
export interface ClipRefConfig {
  hiddenSize: number; intermediateSize: number; numHiddenLayers: number; numAttentionHeads: number;
  numChannels: number; imageSize: number; patchSize: number; hiddenAct: string; layerNormEps: number;
}

/** Parameters by their HF names without the `vision_model.` prefix, row-major. */
export type ClipRefParams = Map<string, Float64Array>;

export interface ClipRefOutput { hiddenStates: Float64Array[]; pooled: Float64Array }

type Mat = Float64Array; // [S, D] row-major per image

function act(x: number, a: string): number {
  switch (a) {
    case 'quick_gelu': return x / (1 + Math.exp(-1.702 * x));
    case 'relu': return Math.max(0, x);
    case 'gelu_new': case 'gelu_pytorch_tanh': return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    default: throw new Error(`ref: activation ${a} not in the reference`);
  }
}

function layerNorm(x: Mat, S: number, D: number, w: Float64Array, b: Float64Array, eps: number): Mat {
  const y = new Float64Array(S * D);
  for (let s = 0; s < S; s++) {
    let mu = 0;
    for (let d = 0; d < D; d++) mu += x[s * D + d];
    mu /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[s * D + d] - mu) ** 2;
    v /= D;
    const r = 1 / Math.sqrt(v + eps);
    for (let d = 0; d < D; d++) y[s * D + d] = (x[s * D + d] - mu) * r * w[d] + b[d];
  }
  return y;
}

/** x [S, I] · wᵀ (w [O, I]) + b. */
function linear(x: Mat, S: number, I: number, w: Float64Array, b: Float64Array, O: number): Mat {
  const y = new Float64Array(S * O);
  for (let s = 0; s < S; s++) for (let o = 0; o < O; o++) {
    let acc = b[o];
    for (let i = 0; i < I; i++) acc += x[s * I + i] * w[o * I + i];
    y[s * O + o] = acc;
  }
  return y;
}

function get(p: ClipRefParams, k: string): Float64Array {
  const v = p.get(k);
  if (!v) throw new Error(`ref: missing parameter ${k}`);
  return v;
}

/** pixels [B, C, H, W] row-major -> every hidden state [B, S, D] and pooled [B, D]. */
export function clipVisionRef(c: ClipRefConfig, p: ClipRefParams, pixels: Float64Array, B: number): ClipRefOutput {
  const D = c.hiddenSize, P = c.patchSize, C = c.numChannels, Hi = c.imageSize, g = Hi / P, N = g * g, S = N + 1;
  const H = c.numAttentionHeads, Dh = D / H, F = c.intermediateSize;
  const convW = get(p, 'embeddings.patch_embedding.weight'), cls = get(p, 'embeddings.class_embedding');
  const pos = get(p, 'embeddings.position_embedding.weight');
  const states: Float64Array[] = Array.from({ length: c.numHiddenLayers + 1 }, () => new Float64Array(B * S * D));
  const pooled = new Float64Array(B * D);
  for (let b = 0; b < B; b++) {
    // Embeddings: token 0 is the class embedding, token 1 + (gy * g + gx) the patch at (gy, gx).
    let x: Mat = new Float64Array(S * D);
    for (let d = 0; d < D; d++) x[d] = cls[d] + pos[d];
    for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
      const t = 1 + gy * g + gx;
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let ch = 0; ch < C; ch++) for (let ky = 0; ky < P; ky++) for (let kx = 0; kx < P; kx++) {
          acc += convW[((d * C + ch) * P + ky) * P + kx] * pixels[((b * C + ch) * Hi + gy * P + ky) * Hi + gx * P + kx];
        }
        x[t * D + d] = acc + pos[t * D + d];
      }
    }
    x = layerNorm(x, S, D, get(p, 'pre_layrnorm.weight'), get(p, 'pre_layrnorm.bias'), c.layerNormEps);
    states[0].set(x, b * S * D);
    for (let l = 0; l < c.numHiddenLayers; l++) {
      const k = (n: string) => get(p, `encoder.layers.${l}.${n}`);
      const h = layerNorm(x, S, D, k('layer_norm1.weight'), k('layer_norm1.bias'), c.layerNormEps);
      const q = linear(h, S, D, k('self_attn.q_proj.weight'), k('self_attn.q_proj.bias'), D);
      const kk = linear(h, S, D, k('self_attn.k_proj.weight'), k('self_attn.k_proj.bias'), D);
      const v = linear(h, S, D, k('self_attn.v_proj.weight'), k('self_attn.v_proj.bias'), D);
      const ctx = new Float64Array(S * D);
      const scale = 1 / Math.sqrt(Dh);
      for (let hd = 0; hd < H; hd++) for (let i = 0; i < S; i++) {
        const sc = new Float64Array(S);
        let m = -Infinity;
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let e = 0; e < Dh; e++) dot += q[i * D + hd * Dh + e] * kk[j * D + hd * Dh + e];
          sc[j] = dot * scale;
          m = Math.max(m, sc[j]);
        }
        let z = 0;
        for (let j = 0; j < S; j++) { sc[j] = Math.exp(sc[j] - m); z += sc[j]; }
        for (let e = 0; e < Dh; e++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += sc[j] / z * v[j * D + hd * Dh + e];
          ctx[i * D + hd * Dh + e] = acc;
        }
      }
      const attnOut = linear(ctx, S, D, k('self_attn.out_proj.weight'), k('self_attn.out_proj.bias'), D);
      const x1 = x.map((val, i) => val + attnOut[i]);
      const h2 = layerNorm(x1, S, D, k('layer_norm2.weight'), k('layer_norm2.bias'), c.layerNormEps);
      const f = linear(h2, S, D, k('mlp.fc1.weight'), k('mlp.fc1.bias'), F).map((t) => act(t, c.hiddenAct));
      const m2 = linear(f, S, F, k('mlp.fc2.weight'), k('mlp.fc2.bias'), D);
      x = x1.map((val, i) => val + m2[i]);
      states[l + 1].set(x, b * S * D);
    }
    pooled.set(layerNorm(x.subarray(0, D), 1, D, get(p, 'post_layernorm.weight'), get(p, 'post_layernorm.bias'), c.layerNormEps), b * D);
  }
  return { hiddenStates: states, pooled };
}
