// A plain float64 CPU reference of SAM (segment_anything/modeling), written from the definitions with
// loops over explicit indices, for the tiny configurations the tests use. Parameters come as a map of
// the model's state dict (segment_anything key names).
import { NDArray, erf, permute } from './ndarray.js';
import { conv2d, convTranspose2d } from './conv.js';
import { interpolateBilinear } from './interpolate.js';
import { layerNorm } from './nn.js';
import type { SamConfig } from '../../ullava/models/sam/config.js';

export type Params = Map<string, NDArray>;

function p(P: Params, k: string): NDArray {
  const t = P.get(k);
  if (!t) throw new Error(`ref SAM: no parameter ${k}`);
  return t;
}

/** x [..., I] · W[O, I]ᵀ + b. */
export function linear(x: NDArray, W: NDArray, b: NDArray | null): NDArray {
  const [O, I] = W.shape;
  const rows = x.size / I;
  const out = NDArray.zeros([...x.shape.slice(0, -1), O]);
  for (let r = 0; r < rows; r++) for (let o = 0; o < O; o++) {
    let s = b ? b.data[o] : 0;
    for (let i = 0; i < I; i++) s += x.data[r * I + i] * W.data[o * I + i];
    out.data[r * O + o] = s;
  }
  return out;
}
const lin = (P: Params, pre: string, x: NDArray, bias = true) => linear(x, p(P, `${pre}.weight`), bias ? p(P, `${pre}.bias`) : null);
const ln = (P: Params, pre: string, x: NDArray, eps: number) => layerNorm(x, 1, p(P, `${pre}.weight`), p(P, `${pre}.bias`), eps);
const map = (x: NDArray, f: (v: number) => number) => new NDArray([...x.shape], x.data.map(f));
export const gelu = (x: NDArray) => map(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
export const relu = (x: NDArray) => map(x, (v) => Math.max(v, 0));
const add = (a: NDArray, b: NDArray) => { if (a.size !== b.size) throw new Error('ref add'); return new NDArray([...a.shape], a.data.map((v, i) => v + b.data[i])); };

/** LayerNorm2d over channels of [B, C, H, W]. */
export function layerNorm2d(x: NDArray, w: NDArray, b: NDArray, eps = 1e-6): NDArray {
  return permute(layerNorm(permute(x, [0, 2, 3, 1]), 1, w, b, eps), [0, 3, 1, 2]);
}
const ln2d = (P: Params, pre: string, x: NDArray) => layerNorm2d(x, p(P, `${pre}.weight`), p(P, `${pre}.bias`));

/** softmax(q kᵀ · scale + bias) v for one head: q [Nq, D], k, v [Nk, D], bias [Nq, Nk] or null. */
function attend(q: number[][], k: number[][], v: number[][], scale: number, bias: ((i: number, j: number) => number) | null): number[][] {
  return q.map((qi, i) => {
    const s = k.map((kj, j) => qi.reduce((a, c, d) => a + c * kj[d], 0) * scale + (bias ? bias(i, j) : 0));
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const z = e.reduce((a, c) => a + c, 0);
    return v[0].map((_, d) => e.reduce((a, c, j) => a + (c / z) * v[j][d], 0));
  });
}

// ---- image encoder ----

export function windowPartition(x: NDArray, ws: number): { windows: NDArray; padHW: [number, number] } {
  const [B, H, W, C] = x.shape;
  const Hp = Math.ceil(H / ws) * ws, Wp = Math.ceil(W / ws) * ws;
  const nh = Hp / ws, nw = Wp / ws;
  const windows = NDArray.fill([B * nh * nw, ws, ws, C], ([n, i, j, c]) => {
    const b = Math.floor(n / (nh * nw)), wi = Math.floor(n / nw) % nh, wj = n % nw;
    const y = wi * ws + i, xx = wj * ws + j;
    return y < H && xx < W ? x.at([b, y, xx, c]) : 0;
  });
  return { windows, padHW: [Hp, Wp] };
}

export function windowUnpartition(w: NDArray, ws: number, [Hp, Wp]: [number, number], [H, W]: [number, number]): NDArray {
  const nh = Hp / ws, nw = Wp / ws, C = w.shape[3];
  const B = w.shape[0] / (nh * nw);
  return NDArray.fill([B, H, W, C], ([b, y, x, c]) =>
    w.at([b * nh * nw + Math.floor(y / ws) * nw + Math.floor(x / ws), y % ws, x % ws, c]));
}

/** get_rel_pos: table [L, C] -> [q, k, C], resizing the table linearly (align_corners false) when needed. */
export function getRelPos(table: NDArray, q: number, k: number): NDArray {
  const [L, C] = table.shape;
  const M = 2 * Math.max(q, k) - 1;
  let t = table;
  if (L !== M) {
    t = NDArray.fill([M, C], ([m, c]) => {
      const s = Math.max((L / M) * (m + 0.5) - 0.5, 0);
      const i0 = Math.min(Math.floor(s), L - 1), i1 = Math.min(i0 + 1, L - 1), l = s - i0;
      return (1 - l) * table.at([i0, c]) + l * table.at([i1, c]);
    });
  }
  const qs = Math.max(k / q, 1), ks = Math.max(q / k, 1);
  return NDArray.fill([q, k, C], ([i, j, c]) => t.at([Math.floor(i * qs - j * ks + (k - 1) * ks), c]));
}

/** The decomposed rel-pos bias for unscaled queries q [B', qh*qw, C]: [B', qh*qw, kh*kw]. */
export function relPosBias(q: NDArray, tH: NDArray, tW: NDArray, [qh, qw]: [number, number], [kh, kw]: [number, number]): NDArray {
  const Rh = getRelPos(tH, qh, kh), Rw = getRelPos(tW, qw, kw);
  const [Bq, , C] = q.shape;
  return NDArray.fill([Bq, qh * qw, kh * kw], ([b, n, m]) => {
    const y = Math.floor(n / qw), x = n % qw, ky = Math.floor(m / kw), kx = m % kw;
    let s = 0;
    for (let c = 0; c < C; c++) s += q.at([b, n, c]) * (Rh.at([y, ky, c]) + Rw.at([x, kx, c]));
    return s;
  });
}

export function encoderAttention(P: Params, pre: string, x: NDArray, nH: number, useRelPos: boolean): NDArray {
  const [B, H, W, C] = x.shape;
  const N = H * W, D = C / nH;
  const qkv = lin(P, `${pre}.qkv`, x); // [B, H, W, 3C]: (3, nH, D) on the last axis
  const out = NDArray.zeros([B, H, W, C]);
  for (let b = 0; b < B; b++) for (let h = 0; h < nH; h++) {
    const part = (s: number) => Array.from({ length: N }, (_, n) => Array.from({ length: D }, (_, d) => qkv.data[(b * N + n) * 3 * C + s * C + h * D + d]));
    const q = part(0), k = part(1), v = part(2);
    let bias: ((i: number, j: number) => number) | null = null;
    if (useRelPos) {
      const rb = relPosBias(NDArray.from([1, N, D], q.flat()), p(P, `${pre}.rel_pos_h`), p(P, `${pre}.rel_pos_w`), [H, W], [H, W]);
      bias = (i, j) => rb.data[i * N + j];
    }
    const o = attend(q, k, v, D ** -0.5, bias);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) out.data[(b * N + n) * C + h * D + d] = o[n][d];
  }
  return lin(P, `${pre}.proj`, out);
}

export function encoderBlock(P: Params, pre: string, x: NDArray, c: SamConfig['encoder'], windowSize: number): NDArray {
  const [, H, W] = x.shape;
  let h = ln(P, `${pre}.norm1`, x, c.layerNormEps);
  if (windowSize > 0) {
    const { windows, padHW } = windowPartition(h, windowSize);
    h = windowUnpartition(encoderAttention(P, `${pre}.attn`, windows, c.numHeads, c.useRelPos), windowSize, padHW, [H, W]);
  } else {
    h = encoderAttention(P, `${pre}.attn`, h, c.numHeads, c.useRelPos);
  }
  const y = add(x, h);
  const m = lin(P, `${pre}.mlp.lin2`, gelu(lin(P, `${pre}.mlp.lin1`, ln(P, `${pre}.norm2`, y, c.layerNormEps))));
  return add(y, m);
}

export function imageEncoder(P: Params, c: SamConfig['encoder'], pixels: NDArray): NDArray {
  const e = 'image_encoder';
  let x = permute(conv2d(pixels, p(P, `${e}.patch_embed.proj.weight`), p(P, `${e}.patch_embed.proj.bias`),
    { stride: [c.patchSize, c.patchSize] }), [0, 2, 3, 1]);
  if (c.useAbsPos) { const pos = p(P, `${e}.pos_embed`), x0 = x; x = NDArray.fill(x.shape, ([b, i, j, ch]) => x0.at([b, i, j, ch]) + pos.at([0, i, j, ch])); }
  for (let i = 0; i < c.depth; i++) x = encoderBlock(P, `${e}.blocks.${i}`, x, c, c.globalAttnIndexes.includes(i) ? 0 : c.windowSize);
  let n = conv2d(permute(x, [0, 3, 1, 2]), p(P, `${e}.neck.0.weight`), null);
  n = ln2d(P, `${e}.neck.1`, n);
  n = conv2d(n, p(P, `${e}.neck.2.weight`), null, { padding: [1, 1] });
  return ln2d(P, `${e}.neck.3`, n);
}

// ---- prompt encoder ----

/** sin/cos features of normalised coords [N, 2] in [0, 1]: [N, 2F]. */
export function fourier(P: Params, coords: number[][]): number[][] {
  const G = p(P, 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix');
  const F = G.shape[1];
  return coords.map(([x, y]) => {
    const a = Array.from({ length: F }, (_, j) => 2 * Math.PI * ((2 * x - 1) * G.data[j] + (2 * y - 1) * G.data[F + j]));
    return [...a.map(Math.sin), ...a.map(Math.cos)];
  });
}

export function densePe(P: Params, h: number, w: number): NDArray {
  const coords: number[][] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) coords.push([(x + 0.5) / w, (y + 0.5) / h]);
  const f = fourier(P, coords);
  const C = f[0].length;
  return NDArray.fill([1, C, h, w], ([, c, y, x]) => f[y * w + x][c]);
}

export interface RefPrompts {
  points?: { coords: number[][][]; labels: number[][] }; // [B][N][2], [B][N]
  boxes?: number[][];                                       // [B][4]
  masks?: NDArray;                                          // [B, 1, 4h, 4w]
  textEmbeds?: NDArray;                                     // [B, N, C]
}

export function promptEncoder(P: Params, cfg: SamConfig, pr: RefPrompts): { sparse: NDArray; dense: NDArray } {
  const S = cfg.encoder.imageSize, g = S / cfg.encoder.patchSize, C = cfg.encoder.outChans;
  const B = pr.points?.coords.length ?? pr.boxes?.length ?? pr.masks?.shape[0] ?? pr.textEmbeds?.shape[0] ?? 1;
  const emb = (k: string) => Array.from(p(P, `prompt_encoder.${k}.weight`).data);
  const tokens: number[][][] = Array.from({ length: B }, () => []);
  for (let b = 0; b < B; b++) {
    if (pr.points) {
      const pts = pr.points.coords[b].map(([x, y]) => [x + 0.5, y + 0.5]);
      const labels = [...pr.points.labels[b]];
      if (!pr.boxes) { pts.push([0, 0]); labels.push(-1); }
      const f = fourier(P, pts.map(([x, y]) => [x / S, y / S]));
      f.forEach((row, i) => {
        const l = labels[i];
        const extra = l === -1 ? emb('not_a_point_embed') : l === 0 ? emb('point_embeddings.0') : l === 1 ? emb('point_embeddings.1') : null;
        tokens[b].push(row.map((v, c) => (l === -1 ? 0 : v) + (extra ? extra[c] : 0)));
      });
    }
    if (pr.boxes) {
      const [x0, y0, x1, y1] = pr.boxes[b].map((v) => v + 0.5);
      const f = fourier(P, [[x0 / S, y0 / S], [x1 / S, y1 / S]]);
      tokens[b].push(f[0].map((v, c) => v + emb('point_embeddings.2')[c]), f[1].map((v, c) => v + emb('point_embeddings.3')[c]));
    }
    if (pr.textEmbeds) {
      const [, N] = pr.textEmbeds.shape;
      for (let n = 0; n < N; n++) tokens[b].push(Array.from({ length: C }, (_, c) => pr.textEmbeds!.at([b, n, c])));
    }
  }
  const n = tokens[0].length;
  const sparse = NDArray.from([B, n, C], tokens.flat(2));
  let dense: NDArray;
  if (pr.masks) {
    const m = 'prompt_encoder.mask_downscaling';
    let h = gelu(ln2d(P, `${m}.1`, conv2d(pr.masks, p(P, `${m}.0.weight`), p(P, `${m}.0.bias`), { stride: [2, 2] })));
    h = gelu(ln2d(P, `${m}.4`, conv2d(h, p(P, `${m}.3.weight`), p(P, `${m}.3.bias`), { stride: [2, 2] })));
    dense = conv2d(h, p(P, `${m}.6.weight`), p(P, `${m}.6.bias`));
  } else {
    const w = emb('no_mask_embed');
    dense = NDArray.fill([B, C, g, g], ([, c]) => w[c]);
  }
  return { sparse, dense };
}

// ---- mask decoder ----

/** Decoder attention for one batch element: q [Nq, C], k, v [Nk, C] -> [Nq, C]. */
export function decoderAttention(P: Params, pre: string, q: NDArray, k: NDArray, v: NDArray, nH: number): NDArray {
  const qp = lin(P, `${pre}.q_proj`, q), kp = lin(P, `${pre}.k_proj`, k), vp = lin(P, `${pre}.v_proj`, v);
  const Di = qp.shape[1], D = Di / nH, Nq = q.shape[0];
  const out = NDArray.zeros([Nq, Di]);
  const head = (t: NDArray, h: number) => Array.from({ length: t.shape[0] }, (_, n) => Array.from(t.data.subarray(n * Di + h * D, n * Di + (h + 1) * D)));
  for (let h = 0; h < nH; h++) {
    const o = attend(head(qp, h), head(kp, h), head(vp, h), 1 / Math.sqrt(D), null);
    o.forEach((row, n) => row.forEach((val, d) => { out.data[n * Di + h * D + d] = val; }));
  }
  return lin(P, `${pre}.out_proj`, out);
}

function mlp(P: Params, pre: string, x: NDArray, n: number): NDArray {
  let h = x;
  for (let i = 0; i < n; i++) { h = lin(P, `${pre}.layers.${i}`, h); if (i < n - 1) h = relu(h); }
  return h;
}

export function maskDecoder(P: Params, cfg: SamConfig, image: NDArray, pe: NDArray, sparse: NDArray, dense: NDArray,
  multimask: boolean): { masks: NDArray; iouPred: NDArray } {
  const d = cfg.decoder, C = cfg.encoder.outChans, M = d.numMultimaskOutputs + 1;
  const [B, n] = sparse.shape;
  const [, , h, w] = image.shape;
  const out = [...p(P, 'mask_decoder.iou_token.weight').data, ...p(P, 'mask_decoder.mask_tokens.weight').data];
  const allMasks: number[] = [], allIou: number[] = [];
  let H4 = 0, W4 = 0;
  for (let b = 0; b < B; b++) {
    const tokens = NDArray.from([1 + M + n, C], [...out, ...sparse.data.subarray(b * n * C, (b + 1) * n * C)]);
    const ib = image.shape[0] === 1 ? 0 : b;
    const keys0 = NDArray.fill([h * w, C], ([i, c]) => image.at([ib, c, Math.floor(i / w), i % w]) + dense.at([b, c, Math.floor(i / w), i % w]));
    const kpe = NDArray.fill([h * w, C], ([i, c]) => pe.at([0, c, Math.floor(i / w), i % w]));
    const T = 'mask_decoder.transformer';
    let qs = tokens, ks = keys0;
    for (let l = 0; l < d.transformerDepth; l++) {
      const L = `${T}.layers.${l}`;
      if (l === 0) qs = decoderAttention(P, `${L}.self_attn`, qs, qs, qs, d.transformerHeads);
      else { const q = add(qs, tokens); qs = add(qs, decoderAttention(P, `${L}.self_attn`, q, q, qs, d.transformerHeads)); }
      qs = ln(P, `${L}.norm1`, qs, 1e-5);
      qs = ln(P, `${L}.norm2`, add(qs, decoderAttention(P, `${L}.cross_attn_token_to_image`, add(qs, tokens), add(ks, kpe), ks, d.transformerHeads)), 1e-5);
      qs = ln(P, `${L}.norm3`, add(qs, lin(P, `${L}.mlp.lin2`, relu(lin(P, `${L}.mlp.lin1`, qs)))), 1e-5);
      ks = ln(P, `${L}.norm4`, add(ks, decoderAttention(P, `${L}.cross_attn_image_to_token`, add(ks, kpe), add(qs, tokens), qs, d.transformerHeads)), 1e-5);
    }
    qs = ln(P, `${T}.norm_final_attn`, add(qs, decoderAttention(P, `${T}.final_attn_token_to_image`, add(qs, tokens), add(ks, kpe), ks, d.transformerHeads)), 1e-5);
    const U = 'mask_decoder.output_upscaling';
    const src = NDArray.fill([1, C, h, w], ([, c, y, x]) => ks.at([y * w + x, c]));
    let up = convTranspose2d(src, p(P, `${U}.0.weight`), p(P, `${U}.0.bias`), { stride: [2, 2] });
    up = gelu(ln2d(P, `${U}.1`, up));
    up = gelu(convTranspose2d(up, p(P, `${U}.3.weight`), p(P, `${U}.3.bias`), { stride: [2, 2] }));
    const [, Cu] = up.shape; H4 = up.shape[2]; W4 = up.shape[3];
    const row = (i: number) => NDArray.from([1, C], qs.data.subarray(i * C, (i + 1) * C));
    for (let m = 0; m < M; m++) {
      const hyper = mlp(P, `mask_decoder.output_hypernetworks_mlps.${m}`, row(1 + m), 3);
      for (let i = 0; i < H4 * W4; i++) {
        let s = 0;
        for (let c = 0; c < Cu; c++) s += hyper.data[c] * up.data[c * H4 * W4 + i];
        allMasks.push(s);
      }
    }
    allIou.push(...mlp(P, 'mask_decoder.iou_prediction_head', row(0), d.iouHeadDepth).data);
  }
  const masks = NDArray.from([B, M, H4, W4], allMasks), iou = NDArray.from([B, M], allIou);
  const [a, e] = multimask ? [1, M] : [0, 1];
  return {
    masks: NDArray.fill([B, e - a, H4, W4], ([b, m, y, x]) => masks.at([b, m + a, y, x])),
    iouPred: NDArray.fill([B, e - a], ([b, m]) => iou.at([b, m + a])),
  };
}

export function postprocess(masks: NDArray, inputSize: [number, number], originalSize: [number, number], imageSize: number): NDArray {
  const full = interpolateBilinear(masks, [imageSize, imageSize]);
  const [B, C] = masks.shape;
  const crop = NDArray.fill([B, C, inputSize[0], inputSize[1]], ([b, c, y, x]) => full.at([b, c, y, x]));
  return interpolateBilinear(crop, originalSize);
}
