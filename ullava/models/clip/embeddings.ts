// CLIP's vision embeddings (HF CLIPVisionEmbeddings): a stride-P convolution without bias cuts the image
// into P x P patches, a learned class token goes in front, learned absolute position embeddings are added.
import { Tensor, reshape, transpose, expand, concat, add, cast, scope, randn, unsqueeze } from '../../../engine/index.js';
import { ShapeError } from '../../../engine/errors.js';
import { Module, Conv2d, Embedding, seedPlus, type LayerOptions } from '../../../nn/index.js';
import { type ClipVisionConfig, numPositions } from './config.js';

export class ClipVisionEmbeddings extends Module {
  readonly classEmbedding: Tensor;
  readonly patchEmbedding: Conv2d;
  readonly positionEmbedding: Embedding;

  constructor(readonly config: ClipVisionConfig, o: LayerOptions = {}) {
    super();
    const D = config.hiddenSize;
    const dtype = o.dtype ?? 'f32';
    // HF's init: class token N(0, D^-0.5), patch and position embeddings N(0, 0.02).
    this.classEmbedding = this.param('class_embedding', randn([D], 0, D ** -0.5, { dtype, seed: seedPlus(o.seed, 0) }));
    this.patchEmbedding = this.module('patch_embedding', new Conv2d(config.numChannels, D, config.patchSize,
      { stride: config.patchSize, bias: false, dtype, seed: seedPlus(o.seed, 1) }));
    this.positionEmbedding = this.module('position_embedding', new Embedding(numPositions(config), D, { dtype, seed: seedPlus(o.seed, 3) }));
    const pos = randn([numPositions(config), D], 0, 0.02, { dtype, seed: seedPlus(o.seed, 4) });
    this.positionEmbedding.weight.assign(pos);
    pos.dispose();
  }

  /** pixels [B, C, H, W] (H = W = imageSize) -> [B, 1 + patches, D], in the weights' dtype. */
  forward(pixels: Tensor): Tensor {
    const c = this.config;
    if (pixels.rank !== 4 || pixels.shape[1] !== c.numChannels || pixels.shape[2] !== c.imageSize || pixels.shape[3] !== c.imageSize) {
      throw new ShapeError(`CLIP embeddings: pixels must be [B, ${c.numChannels}, ${c.imageSize}, ${c.imageSize}], got [${pixels.shape}]`);
    }
    const B = pixels.shape[0], D = c.hiddenSize;
    return scope(() => {
      const dt = this.patchEmbedding.weight.dtype;
      const x = pixels.dtype === dt ? pixels : cast(pixels, dt);
      const patches = this.patchEmbedding.forward(x);                          // [B, D, g, g]
      const tokens = transpose(reshape(patches, [B, D, patches.shape[2] * patches.shape[3]]), 1, 2); // [B, N, D]
      const cls = expand(reshape(this.classEmbedding, [1, 1, D]), [B, 1, D]);
      const seq = concat([cls, tokens], 1);                                    // [B, 1 + N, D]
      return add(seq, unsqueeze(this.positionEmbedding.weight, 0));
    });
  }
}
