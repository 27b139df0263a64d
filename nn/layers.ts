// The basic layers, with PyTorch's parameter names and default initialisations.
import {
  Tensor, rand, randn, ones, zeros, linear, embedding, layerNorm, rmsNorm, conv2d, convTranspose2d, dropout,
  relu, gelu, quickGelu, silu, tanh, sigmoid, scope, type DType,
} from '../engine/index.js';
import { Module, ModuleList } from './module.js';

export interface LayerOptions { dtype?: DType; seed?: number }

/** A seed k steps on; undefined stays undefined (an unseeded draw). */
export function seedPlus(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + k;
}

/** The options with the seed k steps on, so that each part of a seeded model draws its own values. */
export function withSeed(o: LayerOptions, k: number): LayerOptions { return { ...o, seed: seedPlus(o.seed, k) }; }

/** U(-bound, bound) as torch's kaiming_uniform_(a=sqrt(5)) gives for Linear/Conv weights: bound = 1/sqrt(fan_in). */
function uniformInit(shape: number[], fanIn: number, o: LayerOptions, salt: number): Tensor {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  return rand(shape, -bound, bound, { dtype: o.dtype ?? 'f32', seed: seedPlus(o.seed, salt) });
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, o: LayerOptions & { bias?: boolean } = {}) {
    super();
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], inFeatures, o, 0));
    this.bias = (o.bias ?? true) ? this.param('bias', uniformInit([outFeatures], inFeatures, o, 1)) : null;
  }
  forward(x: Tensor): Tensor { return linear(x, this.weight, this.bias); }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly dim: number, o: LayerOptions = {}) {
    super();
    this.weight = this.param('weight', randn([numEmbeddings, dim], 0, 1, { dtype: o.dtype ?? 'f32', seed: o.seed }));
  }
  forward(ids: Tensor): Tensor { return embedding(this.weight, ids); }
}

export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  constructor(readonly dim: number, readonly eps = 1e-5, o: LayerOptions & { affine?: boolean } = {}) {
    super();
    const affine = o.affine ?? true;
    this.weight = affine ? this.param('weight', ones([dim], o.dtype ?? 'f32')) : null;
    this.bias = affine ? this.param('bias', zeros([dim], o.dtype ?? 'f32')) : null;
  }
  forward(x: Tensor): Tensor { return layerNorm(x, null, this.weight, this.bias, this.eps); }
}

/** LLaMA's RMSNorm (and SAM's LayerNorm2d lives in the SAM model, channels-first). */
export class RMSNorm extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-6, o: LayerOptions = {}) {
    super();
    this.weight = this.param('weight', ones([dim], o.dtype ?? 'f32'));
  }
  forward(x: Tensor): Tensor { return rmsNorm(x, this.weight, this.eps); }
}

export interface ConvOptions extends LayerOptions {
  stride?: number | [number, number]; padding?: number | [number, number]; dilation?: number | [number, number];
  groups?: number; bias?: boolean;
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, kernel: number | [number, number], readonly o: ConvOptions = {}) {
    super();
    const [kh, kw] = pair(kernel, 1);
    const groups = o.groups ?? 1;
    if (inChannels % groups || outChannels % groups) throw new RangeError(`Conv2d: channels ${inChannels}->${outChannels} not divisible by groups ${groups}`);
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = this.param('weight', uniformInit([outChannels, inChannels / groups, kh, kw], fanIn, o, 0));
    this.bias = (o.bias ?? true) ? this.param('bias', uniformInit([outChannels], fanIn, o, 1)) : null;
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: pair(this.o.stride, 1), padding: pair(this.o.padding, 0),
      dilation: pair(this.o.dilation, 1), groups: this.o.groups ?? 1 });
  }
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, kernel: number | [number, number],
    readonly o: ConvOptions & { outputPadding?: number | [number, number] } = {}) {
    super();
    const [kh, kw] = pair(kernel, 1);
    const groups = o.groups ?? 1;
    // torch computes fan_in from weight.size(1) * kh * kw for transposed convs.
    const fanIn = (outChannels / groups) * kh * kw;
    this.weight = this.param('weight', uniformInit([inChannels, outChannels / groups, kh, kw], fanIn, o, 0));
    this.bias = (o.bias ?? true) ? this.param('bias', uniformInit([outChannels], fanIn, o, 1)) : null;
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, { stride: pair(this.o.stride, 1), padding: pair(this.o.padding, 0),
      outputPadding: pair(this.o.outputPadding, 0), dilation: pair(this.o.dilation, 1), groups: this.o.groups ?? 1 });
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) { super(); }
  forward(x: Tensor): Tensor { return dropout(x, this.p, this.training); }
}

export type Activation = 'relu' | 'gelu' | 'gelu_tanh' | 'quick_gelu' | 'silu' | 'tanh' | 'sigmoid';

export function activate(x: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'relu': return relu(x);
    case 'gelu': return gelu(x);
    case 'gelu_tanh': return gelu(x, 'tanh');
    case 'quick_gelu': return quickGelu(x);
    case 'silu': return silu(x);
    case 'tanh': return tanh(x);
    case 'sigmoid': return sigmoid(x);
  }
}

export interface MLPOptions extends LayerOptions {
  /** A sigmoid after the last layer (SAM's MLP option). */
  sigmoidOutput?: boolean;
  /**
   * How the checkpoint names the layers: 'layers' (default) `layers.{i}.*`, as SAM's MLP; 'sequential'
   * `{2i}.*`, as a torch nn.Sequential with the activation modules between the Linears (u-LLaVA's
   * projector and heads).
   */
  keys?: 'layers' | 'sequential';
}

/** Linear layers with an activation between them (none after the last); dims = [in, hidden..., out]. */
export class MLP extends Module {
  readonly layers: readonly Linear[];
  private readonly sigmoidOutput: boolean;
  constructor(dims: number[], readonly activation: Activation = 'relu', o: MLPOptions = {}) {
    super();
    if (dims.length < 2) throw new RangeError(`MLP: needs at least [in, out], got [${dims}]`);
    const { sigmoidOutput, keys, ...layerOptions } = o;
    const linears = dims.slice(1).map((d, i) =>
      new Linear(dims[i], d, { ...layerOptions, seed: seedPlus(o.seed, 10 * i) }));
    if ((keys ?? 'layers') === 'layers') this.module('layers', new ModuleList(linears));
    else linears.forEach((l, i) => this.module(String(2 * i), l));
    this.layers = linears;
    this.sigmoidOutput = sigmoidOutput ?? false;
  }
  forward(x: Tensor): Tensor {
    return scope(() => {
      let h = x;
      this.layers.forEach((l, i) => {
        h = l.forward(h);
        if (i < this.layers.length - 1) h = activate(h, this.activation);
      });
      return this.sigmoidOutput ? sigmoid(h) : h;
    });
  }
}
