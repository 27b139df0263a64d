// The memory plan of a training run, from the model's config alone (no weights loaded, so it works for
// the published 7B on a laptop): parameters by group under their published key names, which of them the
// stage trains, and the bytes of weights, f32 master weights (16-bit training), gradients, AdamW's two
// f32 moments, and the activations kept for backward with and without gradient checkpointing.
import type { UllavaConfig } from '../models/ullava/config.js';
import { headDim } from '../models/llama/config.js';
import { patternToRegExp, type TrainConfig } from './train-config.js';

export interface ParamGroup {
  /** One real parameter name of the group (what the stage patterns are matched against). */
  example: string;
  label: string;
  elements: number;
}

const lin = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);

/** Parameter groups of u-LLaVA, counted from the config (exactly what the model classes create). */
export function ullavaParamGroups(c: UllavaConfig, lora: TrainConfig['lora'] = null): ParamGroup[] {
  const L = c.llm, H = L.hiddenSize, I = L.intermediateSize, V = L.vocabSize, kv = L.numKeyValueHeads * headDim(L), n = L.numHiddenLayers;
  const g: ParamGroup[] = [
    { example: 'llm.model.embed_tokens.weight', label: 'LLM input embeddings', elements: V * H },
    { example: 'llm.model.layers.0.self_attn.q_proj.weight', label: 'LLM attention', elements: n * (2 * H * H + 2 * H * kv) },
    { example: 'llm.model.layers.0.mlp.gate_proj.weight', label: 'LLM MLP', elements: n * 3 * H * I },
    { example: 'llm.model.layers.0.input_layernorm.weight', label: 'LLM norms', elements: n * 2 * H + H },
  ];
  if (!L.tieWordEmbeddings) g.push({ example: 'llm.lm_head.weight', label: 'LLM head', elements: V * H });
  if (lora) {
    const per = (t: string) => lora.r * (H + (t === 'k_proj' || t === 'v_proj' ? kv : H));
    g.push({ example: 'llm.model.layers.0.self_attn.q_proj.lora_A.weight', label: `LoRA adapters (r ${lora.r})`,
      elements: n * lora.targetModules.reduce((a, t) => a + per(t), 0) });
  }
  const v = c.vision, D = v.hiddenSize, P = (v.imageSize / v.patchSize) ** 2 + 1;
  g.push({ example: 'llm.vision_encoder.vision_model.encoder.layers.0.self_attn.q_proj.weight', label: 'CLIP vision tower',
    elements: D + v.numChannels * D * v.patchSize ** 2 + P * D + 2 * D + v.numHiddenLayers * (4 * lin(D, D) + 4 * D + lin(D, v.intermediateSize) + lin(v.intermediateSize, D)) + 2 * D });
  const Vd = v.hiddenSize;
  g.push({ example: 'llm.vision_projector.weight', label: 'projector', elements: c.projector === 'linear' ? lin(Vd, H) : lin(Vd, H) + lin(H, H) });
  const e = c.sam.encoder, E = e.embedDim, grid = e.imageSize / e.patchSize, hd = E / e.numHeads;
  const blocks = Array.from({ length: e.depth }, (_, i) => {
    const size = e.globalAttnIndexes.includes(i) ? grid : e.windowSize;
    const mlp = Math.trunc(E * e.mlpRatio);
    return 4 * E + lin(E, 3 * E, e.qkvBias) + lin(E, E) + (e.useRelPos ? 2 * (2 * size - 1) * hd : 0) + lin(E, mlp) + lin(mlp, E);
  }).reduce((a, b) => a + b, 0);
  const O = e.outChans;
  g.push({ example: 'visual_model.image_encoder.blocks.0.attn.qkv.weight', label: 'SAM image encoder',
    elements: e.inChans * E * e.patchSize ** 2 + E + (e.useAbsPos ? grid * grid * E : 0) + blocks + E * O + 2 * O + O * O * 9 + 2 * O });
  const m = c.sam.maskInChans;
  g.push({ example: 'visual_model.prompt_encoder.no_mask_embed.weight', label: 'SAM prompt encoder',
    elements: 4 * O + O + (4 * (m / 4) + m / 4) + 2 * (m / 4) + (m / 4 * m * 4 + m) + 2 * m + lin(m, O) + O });
  const d = c.sam.decoder, M = d.numMultimaskOutputs + 1;
  const attn = (ds: number) => { const int = O / ds; return 3 * lin(O, int) + lin(int, O); };
  const twoWay = d.transformerDepth * (attn(1) + 2 * attn(d.attentionDownsampleRate) + lin(O, d.transformerMlpDim) + lin(d.transformerMlpDim, O) + 8 * O)
    + attn(d.attentionDownsampleRate) + 2 * O;
  const ups = O * (O / 4) * 4 + O / 4 + 2 * (O / 4) + (O / 4) * (O / 8) * 4 + O / 8;
  const hyper = M * (2 * lin(O, O) + lin(O, O / 8));
  const iouDims = [O, ...Array.from({ length: d.iouHeadDepth - 1 }, () => d.iouHeadHiddenDim), M];
  const iou = iouDims.slice(1).reduce((a, o, i) => a + lin(iouDims[i], o), 0);
  g.push({ example: 'visual_model.mask_decoder.transformer.layers.0.self_attn.q_proj.weight', label: 'SAM mask decoder (without IoU head)',
    elements: twoWay + O + M * O + ups + hyper });
  g.push({ example: 'visual_model.mask_decoder.iou_prediction_head.layers.0.weight', label: 'SAM IoU head', elements: iou });
  const seg = c.layout === 'head' ? 'seg_projector' : 'text_hidden_fcs';
  g.push({ example: `${seg}.0.weight`, label: 'seg head', elements: lin(H, H) + lin(H, c.outDim) });
  if (c.layout === 'head') {
    g.push({ example: 'det_projector.0.weight', label: 'det projector', elements: lin(H, H) + lin(H, c.outDim) });
    g.push({ example: 'det_decoder.0.weight', label: 'det decoder', elements: lin(c.outDim, c.outDim) + lin(c.outDim, c.outDim / 2) + lin(c.outDim / 2, 4) });
  }
  return g;
}

export interface MemoryPlanInput {
  config: UllavaConfig;
  train: TrainConfig;
  batch: number;
  seqLen: number;
  /** Parameter dtype (bf16 as published, f16 or f32). */
  dtype: 'f32' | 'bf16' | 'f16';
}

export interface MemoryPlan {
  groups: (ParamGroup & { trainable: boolean })[];
  totalParams: number;
  trainableParams: number;
  bytes: {
    weights: number;
    masterWeights: number;
    gradients: number;
    optimizer: number;
    activations: number;
    activationsCheckpointed: number;
    /** The largest transient: the frozen towers' forwards (no graph kept) and the token logits. */
    transient: number;
  };
  total: number;
  totalWithCheckpointing: number;
  gradientCheckpointing: boolean;
}

export function memoryPlan(p: MemoryPlanInput): MemoryPlan {
  const { config: c, train } = p;
  const on = train.trainable.map(patternToRegExp), off = train.frozen.map(patternToRegExp);
  const groups = ullavaParamGroups(c, train.lora).map((gr) => ({ ...gr,
    trainable: /lora_[AB]/.test(gr.example) || (on.some((r) => r.test(gr.example)) && !off.some((r) => r.test(gr.example))) }));
  const totalParams = groups.reduce((a, g) => a + g.elements, 0);
  const trainableParams = groups.filter((g) => g.trainable).reduce((a, g) => a + g.elements, 0);
  const item = p.dtype === 'f32' ? 4 : 2;
  const L = c.llm, H = L.hiddenSize, I = L.intermediateSize, tokens = p.batch * p.seqLen;
  const llmTrains = groups.some((g) => g.trainable && g.example.startsWith('llm.model.layers.'));
  const embedsTrain = groups.some((g) => g.trainable && (g.example.startsWith('llm.model.embed') || g.example.startsWith('llm.vision_projector')));
  // Saved per token and decoder layer for backward: the layer input, both norms' outputs, q, k, v and the
  // rotated q, k, the attention output (+ f32 log-sum-exp per head), gate, up, silu(gate) and their product.
  const perTokenLayer = (9 * H + 4 * I) * item + L.numAttentionHeads * 4;
  // Backward runs through the decoder whenever anything at or before it trains (the projector or the
  // embeddings of stage I need the gradient to flow back through every layer).
  const needsGraph = llmTrains || embedsTrain;
  const activations = needsGraph ? tokens * L.numHiddenLayers * perTokenLayer : 0;
  // Checkpointing keeps each layer's input and recomputes one layer at a time during backward.
  const activationsCheckpointed = needsGraph ? tokens * L.numHiddenLayers * H * item + tokens * perTokenLayer : 0;
  // Logits only at supervised rows (assume up to half the tokens) in f32, and their gradient.
  const logits = (tokens / 2) * L.vocabSize * 4 * 2;
  const v = c.vision, clipTokens = (v.imageSize / v.patchSize) ** 2 + 1;
  const clipFwd = p.batch * clipTokens * (4 * v.hiddenSize + v.intermediateSize) * item;
  const e = c.sam.encoder, samTokens = (e.imageSize / e.patchSize) ** 2;
  const samFwd = p.batch * samTokens * (4 * e.embedDim + Math.trunc(e.embedDim * e.mlpRatio)) * item;
  const transient = Math.max(clipFwd, samFwd) + logits;
  const bytes = {
    weights: totalParams * item,
    masterWeights: p.dtype === 'f32' ? 0 : trainableParams * 4,
    gradients: trainableParams * item,
    optimizer: trainableParams * 8,
    activations, activationsCheckpointed, transient,
  };
  const base = bytes.weights + bytes.masterWeights + bytes.gradients + bytes.optimizer + bytes.transient;
  return { groups, totalParams, trainableParams, bytes, total: base + activations, totalWithCheckpointing: base + activationsCheckpointed,
    gradientCheckpointing: train.training.gradientCheckpointing };
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const num = (n: number) => n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);

/** The plan as a table; `budget` (bytes) adds whether it fits. */
export function formatMemoryPlan(plan: MemoryPlan, o: { batch: number; seqLen: number; dtype: string; budget?: number }): string {
  const w = Math.max(...plan.groups.map((g) => g.label.length));
  const lines = [`parameters (${o.dtype}):`];
  for (const g of plan.groups) lines.push(`  ${g.label.padEnd(w)}  ${num(g.elements).padStart(9)}  ${g.trainable ? 'trains' : 'frozen'}`);
  lines.push(`  ${'total'.padEnd(w)}  ${num(plan.totalParams).padStart(9)}  (${num(plan.trainableParams)} trainable, ${(100 * plan.trainableParams / plan.totalParams).toFixed(2)}%)`);
  const b = plan.bytes;
  lines.push('', `memory (batch ${o.batch} x ${o.seqLen} tokens):`,
    `  weights                         ${gib(b.weights)}`,
    `  f32 master weights (trainable)  ${gib(b.masterWeights)}`,
    `  gradients                       ${gib(b.gradients)}`,
    `  optimizer state (AdamW, f32)    ${gib(b.optimizer)}`,
    `  activations, no checkpointing   ${gib(b.activations)}`,
    `  activations, checkpointing      ${gib(b.activationsCheckpointed)}`,
    `  transient (towers, logits)      ${gib(b.transient)}`,
    `  total without checkpointing     ${gib(plan.total)}`,
    `  total with checkpointing        ${gib(plan.totalWithCheckpointing)}   (this config: gradient_checkpointing ${plan.gradientCheckpointing})`);
  if (o.budget !== undefined) {
    const need = plan.gradientCheckpointing ? plan.totalWithCheckpointing : plan.total;
    lines.push(`  on a ${gib(o.budget)} device: ${need <= o.budget ? 'fits' : `does NOT fit (${gib(need - o.budget)} over; ${plan.total > o.budget && plan.totalWithCheckpointing <= o.budget ? 'fits with gradient checkpointing; ' : ''}use LoRA, a smaller batch or shard the optimizer state across GPUs as the official ZeRO-2 runs do)`}`);
  }
  return lines.join('\n');
}
