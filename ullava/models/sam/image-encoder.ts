// SAM's image encoder (ViTDet-style ViT): 16x16 patch embedding, absolute position embedding, blocks with
// windowed attention (global in a few blocks) and decomposed relative-position bias, then a conv neck to
// [B, outChans, S/16, S/16]. Tokens stay channels-last [B, H, W, C] through the blocks, as in PyTorch.
import {
  Tensor, reshape, permute, slice, pad, add, matmul, transpose, indexSelect, interpolateBilinear, scope, zeros,
  layerNorm, linear, concat,
} from '../../../engine/index.js';
import { Module, ModuleList, Linear, LayerNorm, Conv2d, attention } from '../../../nn/index.js';
import { LayerNorm2d, MLPBlock } from './common.js';
import { samMlpDim, type SamEncoderConfig } from './config.js';

// ---- windows ----

/**
 * [B, H, W, C] -> [B * nWindows, ws, ws, C], zero-padding H and W at the bottom/right up to multiples of
 * ws; also returns the padded size (window_partition).
 */
export function windowPartition(x: Tensor, ws: number): { windows: Tensor; padHW: [number, number] } {
  const [B, H, W, C] = x.shape;
  const ph = (ws - (H % ws)) % ws, pw = (ws - (W % ws)) % ws;
  const Hp = H + ph, Wp = W + pw;
  const windows = scope(() => {
    const xp = ph || pw ? pad(x, [0, 0, 0, pw, 0, ph]) : x;
    const v = reshape(xp, [B, Hp / ws, ws, Wp / ws, ws, C]);
    return reshape(permute(v, [0, 1, 3, 2, 4, 5]), [-1, ws, ws, C]);
  });
  return { windows, padHW: [Hp, Wp] };
}

/** The inverse of windowPartition: [B * nWindows, ws, ws, C] -> [B, H, W, C], padding removed. */
export function windowUnpartition(windows: Tensor, ws: number, [Hp, Wp]: [number, number], [H, W]: [number, number]): Tensor {
  return scope(() => {
    const B = windows.shape[0] / ((Hp / ws) * (Wp / ws));
    const C = windows.shape[3];
    const v = reshape(windows, [B, Hp / ws, Wp / ws, ws, ws, C]);
    let x = reshape(permute(v, [0, 1, 3, 2, 4, 5]), [B, Hp, Wp, C]);
    if (Hp > H) x = slice(x, 1, 0, H);
    if (Wp > W) x = slice(x, 2, 0, W);
    return x;
  });
}

// ---- relative positions ----

/**
 * Index of the table row for each (query, key) pair: get_rel_pos's relative_coords, computed in f32 like
 * PyTorch (arange * python float gives a float32 tensor), then truncated.
 */
export function relPosIndex(qSize: number, kSize: number): Int32Array {
  const f = Math.fround;
  const qs = f(Math.max(kSize / qSize, 1)), ks = f(Math.max(qSize / kSize, 1));
  const shift = f((kSize - 1) * Math.max(qSize / kSize, 1));
  const out = new Int32Array(qSize * kSize);
  for (let i = 0; i < qSize; i++) {
    for (let j = 0; j < kSize; j++) out[i * kSize + j] = Math.trunc(f(f(f(i * qs) - f(j * ks)) + shift));
  }
  return out;
}

/**
 * get_rel_pos: the [qSize, kSize, C] relative-position embeddings from a [L, C] table. When L is not
 * 2 * max(q, k) - 1 the table is first resized along L by linear interpolation (F.interpolate 'linear',
 * align_corners false), done as a bilinear resize of a one-row image so it stays on the device and
 * differentiable.
 */
export function getRelPos(table: Tensor, qSize: number, kSize: number): Tensor {
  return scope(() => {
    const [L, C] = table.shape;
    const M = 2 * Math.max(qSize, kSize) - 1;
    let t = table;
    if (L !== M) {
      const img = reshape(transpose(table), [1, C, 1, L]);
      t = transpose(reshape(interpolateBilinear(img, [1, M], { alignCorners: false }), [C, M]));
    }
    const idx = Tensor.fromHost(relPosIndex(qSize, kSize), [qSize * kSize], 'i32', table.device);
    return reshape(indexSelect(t, 0, idx), [qSize, kSize, C]);
  });
}

/**
 * The two terms of the decomposed relative-position bias (MViTv2, add_decomposed_rel_pos) for unscaled
 * queries q [B', qh * qw, C]: relH[b, n, kh] = q[b, n] · Rh[qh(n), kh] and relW[b, n, kw] = q[b, n] · Rw[qw(n), kw].
 * They are small; the full bias is their broadcast sum, built per block of query rows (relPosBiasRows).
 */
export function relPosTerms(q: Tensor, relPosH: Tensor, relPosW: Tensor, [qh, qw]: [number, number],
  [kh, kw]: [number, number]): { relH: Tensor; relW: Tensor } {
  return scope(() => {
    const Rh = getRelPos(relPosH, qh, kh); // [qh, kh, C]
    const Rw = getRelPos(relPosW, qw, kw); // [qw, kw, C]
    const [Bq, , C] = q.shape;
    const rq = reshape(q, [Bq, qh, qw, C]);
    // einsum bhwc,hkc->bhwk as one batched matmul over qh (and over qw for the width term).
    const byH = reshape(permute(rq, [1, 0, 2, 3]), [qh, Bq * qw, C]);
    const relH = permute(reshape(matmul(byH, Rh, { transB: true }), [qh, Bq, qw, kh]), [1, 0, 2, 3]);
    const byW = reshape(permute(rq, [2, 0, 1, 3]), [qw, Bq * qh, C]);
    const relW = permute(reshape(matmul(byW, Rw, { transB: true }), [qw, Bq, qh, kw]), [1, 2, 0, 3]);
    return { relH: reshape(relH, [Bq, qh * qw, kh]), relW: reshape(relW, [Bq, qh * qw, kw]) };
  });
}

/** Rows [r0, r1) of the bias: [B', r1 - r0, kh * kw] with bias[b, n, (i, j)] = relH[b, n, i] + relW[b, n, j]. */
export function relPosBiasRows(relH: Tensor, relW: Tensor, r0: number, r1: number): Tensor {
  return scope(() => {
    const [Bq, , kh] = relH.shape, kw = relW.shape[2], n = r1 - r0;
    const bias = add(reshape(slice(relH, 1, r0, r1), [Bq, n, kh, 1]), reshape(slice(relW, 1, r0, r1), [Bq, n, 1, kw]));
    return reshape(bias, [Bq, n, kh * kw]);
  });
}

/** The whole decomposed rel-pos bias [B', qh * qw, kh * kw] for unscaled queries q [B', qh * qw, C]. */
export function decomposedRelPosBias(q: Tensor, relPosH: Tensor, relPosW: Tensor, qSize: [number, number],
  kSize: [number, number]): Tensor {
  return scope(() => {
    const { relH, relW } = relPosTerms(q, relPosH, relPosW, qSize, kSize);
    return relPosBiasRows(relH, relW, 0, q.shape[1]);
  });
}

/**
 * Bytes allowed for one block of attention scores (and its bias): the unfused attention materialises
 * [B, heads, rows, keys], which for SAM's global blocks (4096 tokens, 16 heads) is 1 GiB per tensor,
 * more than many adapters can bind. Query rows are independent, so they are processed in blocks.
 */
export const ATTENTION_BLOCK_BYTES = 64 * 2 ** 20;

// ---- modules ----

export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  constructor(inChans: number, embedDim: number, patch: number) {
    super();
    this.proj = this.module('proj', new Conv2d(inChans, embedDim, patch, { stride: patch }));
  }
  /** [B, 3, S, S] -> [B, S/p, S/p, embed]. */
  forward(x: Tensor): Tensor { return scope(() => permute(this.proj.forward(x), [0, 2, 3, 1])); }
}

/** Multi-head self-attention over a [B, H, W, C] grid with optional decomposed relative-position bias. */
export class EncoderAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly relPosH: Tensor | null = null;
  readonly relPosW: Tensor | null = null;
  readonly headDim: number;
  constructor(readonly dim: number, readonly numHeads: number, qkvBias: boolean, useRelPos: boolean, inputSize: [number, number]) {
    super();
    this.headDim = dim / numHeads;
    this.qkv = this.module('qkv', new Linear(dim, 3 * dim, { bias: qkvBias }));
    this.proj = this.module('proj', new Linear(dim, dim));
    if (useRelPos) {
      this.relPosH = this.param('rel_pos_h', zeros([2 * inputSize[0] - 1, this.headDim]));
      this.relPosW = this.param('rel_pos_w', zeros([2 * inputSize[1] - 1, this.headDim]));
    }
  }
  /** Bytes per block of query rows' scores (see ATTENTION_BLOCK_BYTES; tests make it small). */
  blockBytes = ATTENTION_BLOCK_BYTES;
  forward(x: Tensor): Tensor {
    return scope(() => {
      const [B, H, W] = x.shape;
      const N = H * W, nH = this.numHeads, D = this.headDim;
      const qkv = permute(reshape(this.qkv.forward(x), [B, N, 3, nH, D]), [2, 0, 3, 1, 4]); // [3, B, nH, N, D]
      const [q, k, v] = [0, 1, 2].map((i) => reshape(slice(qkv, 0, i, i + 1), [B, nH, N, D]));
      const terms = this.relPosH && this.relPosW
        ? relPosTerms(reshape(q, [B * nH, N, D]), this.relPosH, this.relPosW, [H, W], [H, W]) : null;
      const limit = Math.min(this.blockBytes, x.device.maxBindingBytes / 2);
      const rows = Math.max(1, Math.min(N, Math.floor(limit / (B * nH * N * 4))));
      const parts: Tensor[] = [];
      for (let r0 = 0; r0 < N; r0 += rows) {
        const r1 = Math.min(N, r0 + rows);
        const qr = r1 - r0 === N ? q : slice(q, 2, r0, r1);
        const bias = terms ? reshape(relPosBiasRows(terms.relH, terms.relW, r0, r1), [B, nH, r1 - r0, N]) : null;
        parts.push(attention(qr, k, v, { bias, scale: D ** -0.5 })); // [B, nH, rows, D]
      }
      const o = parts.length === 1 ? parts[0] : concat(parts, 2);
      return this.proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, H, W, nH * D]));
    });
  }
}

export class EncoderBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: EncoderAttention;
  readonly norm2: LayerNorm;
  readonly mlp: MLPBlock;
  constructor(c: SamEncoderConfig, readonly windowSize: number) {
    super();
    const grid = c.imageSize / c.patchSize;
    this.norm1 = this.module('norm1', new LayerNorm(c.embedDim, c.layerNormEps));
    this.attn = this.module('attn', new EncoderAttention(c.embedDim, c.numHeads, c.qkvBias, c.useRelPos,
      windowSize > 0 ? [windowSize, windowSize] : [grid, grid]));
    this.norm2 = this.module('norm2', new LayerNorm(c.embedDim, c.layerNormEps));
    this.mlp = this.module('mlp', new MLPBlock(c.embedDim, samMlpDim(c), 'gelu'));
  }
  /** [B, H, W, C] -> [B, H, W, C]. */
  forward(x: Tensor): Tensor {
    return scope(() => {
      const [, H, W] = x.shape;
      let h = this.norm1.forward(x);
      if (this.windowSize > 0) {
        const { windows, padHW } = windowPartition(h, this.windowSize);
        h = windowUnpartition(this.attn.forward(windows), this.windowSize, padHW, [H, W]);
      } else {
        h = this.attn.forward(h);
      }
      const y = add(x, h);
      return add(y, this.mlp.forward(this.norm2.forward(y)));
    });
  }
}

/** neck: conv1x1 (no bias) -> LayerNorm2d -> conv3x3 pad 1 (no bias) -> LayerNorm2d; keys neck.{0,1,2,3}. */
export class Neck extends Module {
  readonly conv1: Conv2d;
  readonly norm1: LayerNorm2d;
  readonly conv2: Conv2d;
  readonly norm2: LayerNorm2d;
  constructor(embedDim: number, outChans: number) {
    super();
    this.conv1 = this.module('0', new Conv2d(embedDim, outChans, 1, { bias: false }));
    this.norm1 = this.module('1', new LayerNorm2d(outChans));
    this.conv2 = this.module('2', new Conv2d(outChans, outChans, 3, { padding: 1, bias: false }));
    this.norm2 = this.module('3', new LayerNorm2d(outChans));
  }
  /** Channels-last tokens [B, H, W, C] -> [B, outChans, H, W]. */
  forward(x: Tensor): Tensor {
    return scope(() => {
      const [O, C] = this.conv1.weight.shape;
      // The 1x1 conv and the first LayerNorm2d work directly on channels-last tokens (a linear and a
      // last-axis layer norm): no transpose of the encoder's widest tensor.
      const h = linear(x, reshape(this.conv1.weight, [O, C]));
      const n = layerNorm(h, null, this.norm1.weight, this.norm1.bias, this.norm1.eps);
      return this.norm2.forward(this.conv2.forward(permute(n, [0, 3, 1, 2])));
    });
  }
}

export class ImageEncoderViT extends Module {
  readonly patchEmbed: PatchEmbed;
  readonly posEmbed: Tensor | null = null;
  readonly blocks: ModuleList<EncoderBlock>;
  readonly neck: Neck;
  constructor(readonly config: SamEncoderConfig) {
    super();
    const c = config;
    const grid = c.imageSize / c.patchSize;
    if (!Number.isInteger(grid)) throw new RangeError(`SAM: image size ${c.imageSize} is not a multiple of the patch size ${c.patchSize}`);
    if (c.embedDim % c.numHeads) throw new RangeError(`SAM: embed dim ${c.embedDim} is not divisible by ${c.numHeads} heads`);
    this.patchEmbed = this.module('patch_embed', new PatchEmbed(c.inChans, c.embedDim, c.patchSize));
    if (c.useAbsPos) this.posEmbed = this.param('pos_embed', zeros([1, grid, grid, c.embedDim]));
    this.blocks = this.module('blocks', new ModuleList(Array.from({ length: c.depth }, (_, i) =>
      new EncoderBlock(c, c.globalAttnIndexes.includes(i) ? 0 : c.windowSize))));
    this.neck = this.module('neck', new Neck(c.embedDim, c.outChans));
  }
  /** [B, 3, S, S] normalised, padded pixels -> image embeddings [B, outChans, S/16, S/16]. */
  forward(pixels: Tensor): Tensor {
    const S = this.config.imageSize;
    if (pixels.rank !== 4 || pixels.shape[1] !== this.config.inChans || pixels.shape[2] !== S || pixels.shape[3] !== S) {
      throw new RangeError(`SAM image encoder: input must be [B, ${this.config.inChans}, ${S}, ${S}], got [${pixels.shape}]`);
    }
    return scope(() => {
      let x = this.patchEmbed.forward(pixels);
      if (this.posEmbed) x = add(x, this.posEmbed);
      for (const blk of this.blocks) {
        const y = blk.forward(x);
        x.dispose();
        x = y;
      }
      return this.neck.forward(x);
    });
  }
}
