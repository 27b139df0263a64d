// Applies a stage to a model: LoRA adapters where the config asks (PEFT's keys: the base weight keeps its
// published name, the adapters add `.lora_A.weight` / `.lora_B.weight`), then requiresGrad on exactly the
// parameters whose names match `trainable` and no `frozen` pattern. Everything else is frozen: it gets
// no gradient, the optimizer never sees it, and it stays bit-identical.
import { isFloat } from '../../engine/index.js';
import { LoRALinear, Linear } from '../../nn/index.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import { patternToRegExp, ConfigError, type TrainConfig, type LoraConfig } from './train-config.js';

export interface StagePlan {
  trainable: string[];
  frozen: number;
  trainableElements: number;
  totalElements: number;
}

/** Wraps the configured attention projections of every decoder layer in LoRA (A seeded, B zero). */
export function applyLora(model: UllavaForCausalLM, lora: LoraConfig, seed: number): void {
  model.lm.model.layers.items.forEach((layer, i) => {
    for (const name of lora.targetModules) {
      const cur = layer.self_attn[name];
      if (cur instanceof LoRALinear) continue;
      if (!(cur instanceof Linear)) throw new Error(`LoRA: layer ${i} ${name} is not a Linear`);
      layer.self_attn.replaceProjection(name, new LoRALinear(cur, { r: lora.r, alpha: lora.alpha, dropout: lora.dropout,
        seed: seed + 1000 * i + ['q_proj', 'k_proj', 'v_proj', 'o_proj'].indexOf(name) }));
    }
  });
}

/** The LoRA layers of a model by their key prefix (e.g. llm.model.layers.0.self_attn.q_proj). */
export function loraLayers(model: UllavaForCausalLM): [string, LoRALinear][] {
  return [...model.namedModules()].filter((e): e is [string, LoRALinear] => e[1] instanceof LoRALinear);
}

export function isLoraKey(k: string): boolean { return /\.lora_[AB]\.weight$/.test(k); }

/** Applies the stage and returns what trains. A pattern that matches nothing is an error (a typo). */
export function applyStage(model: UllavaForCausalLM, cfg: TrainConfig): StagePlan {
  if (cfg.lora) applyLora(model, cfg.lora, cfg.training.seed);
  const on = cfg.trainable.map(patternToRegExp), off = cfg.frozen.map(patternToRegExp);
  const params = [...model.namedParameters()];
  // Patterns of optional heads (det_*, seg_projector on the published layout) may match nothing.
  const optional = /^(seg_projector|det_projector|det_decoder|text_hidden_fcs)\b/;
  cfg.trainable.forEach((p, i) => {
    if (!optional.test(p) && !params.some(([k]) => on[i].test(k))) {
      throw new ConfigError(`${cfg.source}: "trainable" pattern "${p}" matches no parameter of the model (names look like llm.model.layers.0.self_attn.q_proj.weight)`);
    }
  });
  const trainable: string[] = [];
  let frozen = 0, trainableElements = 0, totalElements = 0;
  for (const [k, t] of params) {
    totalElements += t.size;
    const train = isFloat(t.dtype) && (isLoraKey(k) || (on.some((r) => r.test(k)) && !off.some((r) => r.test(k))));
    t.requireGrad(train);
    if (train) { trainable.push(k); trainableElements += t.size; } else frozen++;
  }
  // SAM's image encoder is pretrained and frozen in the paper's stages; it trains only in a model trained
  // from scratch, which says so with "from_scratch": true (train/forward.ts then runs it with its graph).
  // Anywhere else a pattern that reaches it is a mistake. (CLIP trains exactly when "trainable" reaches
  // llm.vision_encoder.*: UllavaForCausalLM.encodeImages keeps its graph then.)
  const samEncoder = trainable.filter((k) => k.startsWith('visual_model.image_encoder.'));
  if (samEncoder.length && !cfg.fromScratch) {
    throw new ConfigError(`${cfg.source}: "trainable" reaches SAM's image encoder (${samEncoder[0]}${samEncoder.length > 1 ? `, +${samEncoder.length - 1} more` : ''}), `
      + 'which is frozen in the paper\'s stages (it runs without gradients): narrow the pattern, add "visual_model.image_encoder.*" to "frozen", or set "from_scratch": true for a model trained from scratch');
  }
  return { trainable, frozen, trainableElements, totalElements };
}
