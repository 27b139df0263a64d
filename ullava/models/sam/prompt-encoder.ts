// SAM's prompt encoder: points and box corners as random-Fourier-feature positions plus learned type
// embeddings (sparse tokens), masks through a small conv stack or the learned no-mask embedding (dense),
// and LISA/u-LLaVA's extension: projected [SEG] hidden states appended as sparse tokens (text_embeds).
// Prompt coordinates and labels are host values (they come from the user or the data), so the per-label
// selection is built on the host; the positional encoding itself runs on the device.
import {
  Tensor, randn, cast, reshape, expand, permute, concat, matmul, mul, add, sin, cos, scope,
} from '../../../engine/index.js';
import { Module, ModuleList, Embedding, Conv2d, activate, seedPlus } from '../../../nn/index.js';
import { LayerNorm2d } from './common.js';

/** PositionEmbeddingRandom: sin/cos of 2π (2c - 1) G for coordinates c in [0, 1]² and a fixed Gaussian G [2, F]. */
export class PositionEmbeddingRandom extends Module {
  readonly gaussian: Tensor;
  constructor(readonly numPosFeats: number, scale = 1, seed?: number) {
    super();
    this.gaussian = this.buffer('positional_encoding_gaussian_matrix', randn([2, numPosFeats], 0, scale > 0 ? scale : 1, { seed }));
  }
  /**
   * Encodes normalised coordinates given as host values [..., 2] (already mapped to 2c - 1) into
   * [..., 2F]. A constant of the prompt, so it carries no gradient (G is a buffer, not trained).
   */
  private encode(centred: Float32Array, lead: number[]): Tensor {
    return scope(() => {
      const n = centred.length / 2;
      const c = Tensor.fromHost(centred, [n, 2], 'f32', this.gaussian.device);
      const g = this.gaussian.dtype === 'f32' ? this.gaussian : cast(this.gaussian, 'f32');
      const proj = matmul(c, g); // [n, F]
      const angle = mul(proj, 2 * Math.PI);
      return reshape(concat([sin(angle), cos(angle)], 1), [...lead, 2 * this.numPosFeats]);
    });
  }
  /**
   * Encodes coordinates given as a device tensor [n, 2] (x, y, pixels of an image of `size` [H, W], pixel
   * centres at i + 0.5) into [n, 2F], on the device and with the coordinates' graph.
   */
  encodeTensor(coords: Tensor, [H, W]: [number, number]): Tensor {
    return scope(() => {
      const toUnit = Tensor.fromHost(Float32Array.of(2 / W, 2 / H), [1, 2], 'f32', this.gaussian.device);
      const centred = add(mul(coords.dtype === 'f32' ? coords : cast(coords, 'f32'), toUnit), -1);
      const g = this.gaussian.dtype === 'f32' ? this.gaussian : cast(this.gaussian, 'f32');
      const angle = mul(matmul(centred, g), 2 * Math.PI);
      return concat([sin(angle), cos(angle)], 1);
    });
  }
  /** Dense encoding of an h x w grid of pixel centres: [2F, h, w]. */
  grid(h: number, w: number): Tensor {
    const f = Math.fround;
    const c = new Float32Array(h * w * 2);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        c[(y * w + x) * 2] = f(2 * f(f(x + 0.5) / w) - 1);
        c[(y * w + x) * 2 + 1] = f(2 * f(f(y + 0.5) / h) - 1);
      }
    }
    return scope(() => permute(this.encode(c, [h, w]), [2, 0, 1]));
  }
  /** Pixel coordinates [B, N, 2] (x, y) in an image of `size` [H, W] -> [B, N, 2F]. */
  withCoords(coords: ArrayLike<number>, B: number, N: number, [H, W]: [number, number]): Tensor {
    const f = Math.fround;
    const c = new Float32Array(B * N * 2);
    for (let i = 0; i < B * N; i++) {
      c[2 * i] = f(2 * f(f(coords[2 * i]) / W) - 1);
      c[2 * i + 1] = f(2 * f(f(coords[2 * i + 1]) / H) - 1);
    }
    return this.encode(c, [B, N]);
  }
}

/** mask_downscaling: conv2x2/2 -> LN2d -> GELU -> conv2x2/2 -> LN2d -> GELU -> conv1x1; keys 0,1,3,4,6. */
export class MaskDownscaling extends Module {
  readonly conv1: Conv2d; readonly norm1: LayerNorm2d;
  readonly conv2: Conv2d; readonly norm2: LayerNorm2d;
  readonly conv3: Conv2d;
  constructor(maskInChans: number, embedDim: number) {
    super();
    this.conv1 = this.module('0', new Conv2d(1, maskInChans / 4, 2, { stride: 2 }));
    this.norm1 = this.module('1', new LayerNorm2d(maskInChans / 4));
    this.conv2 = this.module('3', new Conv2d(maskInChans / 4, maskInChans, 2, { stride: 2 }));
    this.norm2 = this.module('4', new LayerNorm2d(maskInChans));
    this.conv3 = this.module('6', new Conv2d(maskInChans, embedDim, 1));
  }
  forward(masks: Tensor): Tensor {
    return scope(() => {
      const h = activate(this.norm1.forward(this.conv1.forward(masks)), 'gelu');
      const h2 = activate(this.norm2.forward(this.conv2.forward(h)), 'gelu');
      return this.conv3.forward(h2);
    });
  }
}

/** Point prompts: coordinates [B, N, 2] in the 1024-frame (x, y) and labels [B, N] (1 fg, 0 bg, -1 none). */
export interface PointPrompts { coords: ArrayLike<number>; labels: ArrayLike<number>; batch: number; count: number }

export interface Prompts {
  points?: PointPrompts;
  /** Boxes [B, 4] as x0, y0, x1, y1 in the 1024-frame. */
  boxes?: { values: ArrayLike<number>; batch: number };
  /** Low-resolution mask logits [B, 1, 4h, 4w]. */
  masks?: Tensor;
  /** u-LLaVA / LISA: projected [SEG] states [B, N, embedDim], appended as sparse tokens. */
  textEmbeds?: Tensor;
}

export class PromptEncoder extends Module {
  readonly peLayer: PositionEmbeddingRandom;
  readonly pointEmbeddings: ModuleList<Embedding>;
  readonly notAPointEmbed: Embedding;
  readonly maskDownscaling: MaskDownscaling;
  readonly noMaskEmbed: Embedding;
  constructor(readonly embedDim: number, readonly imageEmbeddingSize: [number, number], readonly inputImageSize: [number, number],
    maskInChans: number, seed?: number) {
    super();
    this.peLayer = this.module('pe_layer', new PositionEmbeddingRandom(embedDim / 2, 1, seedPlus(seed, 0)));
    this.pointEmbeddings = this.module('point_embeddings', new ModuleList(
      [0, 1, 2, 3].map((i) => new Embedding(1, embedDim, { seed: seedPlus(seed, 1 + i) }))));
    this.notAPointEmbed = this.module('not_a_point_embed', new Embedding(1, embedDim, { seed: seedPlus(seed, 5) }));
    this.maskDownscaling = this.module('mask_downscaling', new MaskDownscaling(maskInChans, embedDim));
    this.noMaskEmbed = this.module('no_mask_embed', new Embedding(1, embedDim, { seed: seedPlus(seed, 6) }));
  }

  /** Positional encoding of the image embedding's grid: [1, embedDim, h, w] (get_dense_pe). */
  getDensePe(): Tensor {
    const [h, w] = this.imageEmbeddingSize;
    return scope(() => reshape(this.peLayer.grid(h, w), [1, this.embedDim, h, w]));
  }

  private embedPoints(p: PointPrompts, padPoint: boolean): Tensor {
    const { batch: B, count: N0 } = p;
    const N = N0 + (padPoint ? 1 : 0);
    const coords = new Float32Array(B * N * 2), labels = new Int32Array(B * N);
    for (let b = 0; b < B; b++) {
      for (let n = 0; n < N; n++) {
        const i = b * N + n, j = b * N0 + n;
        if (n < N0) {
          coords[2 * i] = Math.fround(p.coords[2 * j] + 0.5); // pixel centre
          coords[2 * i + 1] = Math.fround(p.coords[2 * j + 1] + 0.5);
          labels[i] = p.labels[j];
        } else {
          labels[i] = -1; // the padding point sits at (0, 0), then is zeroed like any label -1
        }
      }
    }
    // point_embedding[label == -1] = not_a_point; [label == 0] += pe[0]; [label == 1] += pe[1].
    const keep = new Float32Array(B * N), pick = new Float32Array(B * N * 3);
    for (let i = 0; i < B * N; i++) {
      keep[i] = labels[i] === -1 ? 0 : 1;
      const col = labels[i] === -1 ? 0 : labels[i] === 0 ? 1 : labels[i] === 1 ? 2 : -1;
      if (col >= 0) pick[i * 3 + col] = 1;
    }
    return scope(() => {
      const dev = this.noMaskEmbed.weight.device;
      const pe = this.peLayer.withCoords(coords, B, N, this.inputImageSize);
      const table = concat([this.notAPointEmbed.weight, this.pointEmbeddings.at(0).weight, this.pointEmbeddings.at(1).weight], 0);
      const typeEmb = matmul(Tensor.fromHost(pick, [B, N, 3], 'f32', dev), table);
      return add(mul(pe, Tensor.fromHost(keep, [B, N, 1], 'f32', dev)), typeEmb);
    });
  }

  /** One sparse token per point [B, N, embedDim], no padding point: a point prompt in the form of u-LLaVA's text prompts. */
  pointTokens(p: PointPrompts): Tensor {
    return this.embedPoints(p, false);
  }

  /**
   * Foreground point tokens [N, embedDim] at coordinates computed on the device [N, 2] (x, y pixel indices
   * in the input frame, as PointPrompts' coords): the pointer prompt's point (ullava/models/ullava/pointer-prompt.ts).
   */
  foregroundPointTokensAt(coords: Tensor): Tensor {
    return scope(() => {
      const pe = this.peLayer.encodeTensor(add(coords, 0.5), this.inputImageSize);
      const fg = this.pointEmbeddings.at(1).weight;
      return add(pe, fg.dtype === 'f32' ? fg : cast(fg, 'f32'));
    });
  }

  private embedBoxes(boxes: { values: ArrayLike<number>; batch: number }): Tensor {
    const B = boxes.batch;
    const c = new Float32Array(B * 4);
    for (let i = 0; i < B * 4; i++) c[i] = Math.fround(boxes.values[i] + 0.5);
    return scope(() => {
      const pe = this.peLayer.withCoords(c, B, 2, this.inputImageSize); // [B, 2, C]
      return add(pe, concat([this.pointEmbeddings.at(2).weight, this.pointEmbeddings.at(3).weight], 0));
    });
  }

  batchSize(p: Prompts): number {
    if (p.points) return p.points.batch;
    if (p.boxes) return p.boxes.batch;
    if (p.masks) return p.masks.shape[0];
    if (p.textEmbeds) return p.textEmbeds.shape[0];
    return 1;
  }

  /**
   * Sparse tokens [B, n, embedDim] (points (+ a padding point when there is no box), box corners, text
   * embeddings, in that order; n may be 0) and dense embeddings [B, embedDim, h, w].
   */
  forward(p: Prompts): { sparse: Tensor; dense: Tensor } {
    const B = this.batchSize(p);
    for (const [name, b] of [['points', p.points?.batch], ['boxes', p.boxes?.batch], ['masks', p.masks?.shape[0]], ['textEmbeds', p.textEmbeds?.shape[0]]] as const) {
      if (b !== undefined && b !== B) throw new RangeError(`SAM prompt encoder: ${name} has batch ${b}, expected ${B}`);
    }
    if (p.textEmbeds && (p.textEmbeds.rank !== 3 || p.textEmbeds.shape[2] !== this.embedDim)) {
      throw new RangeError(`SAM prompt encoder: textEmbeds must be [B, N, ${this.embedDim}], got [${p.textEmbeds.shape}]`);
    }
    return scope(() => {
      const parts: Tensor[] = [];
      if (p.points) parts.push(this.embedPoints(p.points, !p.boxes));
      if (p.boxes) parts.push(this.embedBoxes(p.boxes));
      if (p.textEmbeds) parts.push(p.textEmbeds);
      const sparse = parts.length === 0 ? Tensor.empty([B, 0, this.embedDim], 'f32', this.noMaskEmbed.weight.device)
        : parts.length === 1 && parts[0] !== p.textEmbeds ? parts[0] : concat(parts, 1);
      const [h, w] = this.imageEmbeddingSize;
      const dense = p.masks ? this.maskDownscaling.forward(p.masks)
        : expand(reshape(this.noMaskEmbed.weight, [1, this.embedDim, 1, 1]), [B, this.embedDim, h, w]);
      return { sparse, dense };
    });
  }
}
