// Pieces SAM's three parts share: LayerNorm2d (channels-first layer norm, eps 1e-6) and the two-layer
// MLP block (lin1 -> act -> lin2).
import { Tensor, layerNorm, permute, scope, ones, zeros } from '../../../engine/index.js';
import { Module, Linear, activate, type Activation, type LayerOptions } from '../../../nn/index.js';

/** Layer norm over the channel axis of [B, C, H, W] (segment_anything.modeling.common.LayerNorm2d). */
export class LayerNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly channels: number, readonly eps = 1e-6) {
    super();
    this.weight = this.param('weight', ones([channels]));
    this.bias = this.param('bias', zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return scope(() => permute(layerNorm(permute(x, [0, 2, 3, 1]), null, this.weight, this.bias, this.eps), [0, 3, 1, 2]));
  }
}

/** segment_anything's MLPBlock: keys lin1.*, lin2.* (GELU in the image encoder, ReLU in the decoder). */
export class MLPBlock extends Module {
  readonly lin1: Linear;
  readonly lin2: Linear;
  constructor(dim: number, mlpDim: number, readonly act: Activation, o: LayerOptions = {}) {
    super();
    this.lin1 = this.module('lin1', new Linear(dim, mlpDim, o));
    this.lin2 = this.module('lin2', new Linear(mlpDim, dim, o));
  }
  forward(x: Tensor): Tensor {
    return scope(() => this.lin2.forward(activate(this.lin1.forward(x), this.act)));
  }
}
