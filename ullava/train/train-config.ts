// A training run's config file (JSON): which parameters train in this stage (name patterns over the
// published key layout), LoRA, and the hyper-parameters under the names of HF's TrainingArguments, as
// the official u-LLaVA yaml files use them (configs/train/ullava_core_stage1.yaml, ullava_stage2.yaml,
// ullava_stage2_lora.yaml). Every field is checked; an error names the file, the field and what is
// expected, and an unknown field (a typo) is refused rather than ignored.
import { readFile } from 'node:fs/promises';

export interface LoraConfig { r: number; alpha: number; dropout: number; targetModules: ('q_proj' | 'k_proj' | 'v_proj' | 'o_proj')[] }

export interface LossWeights {
  ce: number; bce: number; dice: number; l1: number; giou: number;
  /**
   * Not in the paper: for a pointer model (seg_prompt "pointer"), the pointer's cross-entropy against the
   * patches the target covers; otherwise the mean squared distance of each [SEG] prompt token to SAM's point
   * token of its mask's interior point. For a recipe whose segmenter first learnt from point prompts ("sam" stage).
   */
  prompt: number;
}

export interface TrainingHyper {
  learningRate: number;
  weightDecay: number;
  warmupRatio: number;
  lrScheduler: 'cosine' | 'linear' | 'constant';
  batchSize: number;
  gradientAccumulationSteps: number;
  epochs: number;
  /** > 0: stop after this many optimizer steps (overrides epochs, as HF's max_steps). */
  maxSteps: number;
  maxLength: number;
  gradientCheckpointing: boolean;
  /** Parameter and activation dtype. 16-bit parameters keep f32 master weights in AdamW; f16 also scales the
   * loss dynamically (nn/optim GradScaler, PyTorch's semantics). */
  dtype: 'f32' | 'bf16' | 'f16';
  /** f16 only: the loss scale to start from (PyTorch's GradScaler init_scale, 2^16). */
  lossScaleInit: number;
  /** f16 only: grow the scale x2 after this many steps without inf/NaN (GradScaler growth_interval, 2000). */
  lossScaleGrowthInterval: number;
  seed: number;
  /** Global-norm gradient clipping (HF default 1.0; 0 = off). */
  maxGradNorm: number;
  adamBeta1: number; adamBeta2: number; adamEpsilon: number;
  saveSteps: number;
  saveTotalLimit: number;
  loggingSteps: number;
  /** Evaluation hook every N steps (0 = never). */
  evalSteps: number;
}

export interface TrainConfig {
  /** Where it was read from (for messages). */
  source: string;
  /**
   * 'sam': the segmenter alone, prompted by points drawn from the masks (point-prompt-forward.ts), for a
   * model trained from scratch (no pretrained SAM exists at its size); needs "from_scratch": true.
   * 'vision': the CLIP-style tower and projector alone, each patch taught the words of the object on it
   * (patch-word-forward.ts), for a model trained from scratch (no pretrained CLIP at its size); needs "from_scratch".
   */
  stage: 'stage1' | 'stage2' | 'stage2-lora' | 'sam' | 'vision';
  description: string;
  /** Parameter-name patterns ('*' = any run of characters) that train; `frozen` patterns win over them. */
  trainable: string[];
  frozen: string[];
  lora: LoraConfig | null;
  training: TrainingHyper;
  loss: LossWeights;
  /** Defaults for --model / --data (relative to the config file). */
  modelPath: string | null;
  dataPath: string | null;
  /** A built-in architecture to initialise at random when no model is given ("model": {"preset": "shapes"}). */
  modelPreset: string | null;
  /**
   * The model is trained from scratch: its vision towers (CLIP and SAM's image encoder, frozen in the paper)
   * may be listed in `trainable`, and then run with their graphs. Off by default, so a config for pretrained
   * weights cannot reach them by a loose pattern.
   */
  fromScratch: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'ConfigError'; }
}

type Json = Record<string, unknown>;

class Reader {
  constructor(readonly file: string, readonly obj: Json, readonly prefix: string) {}
  private name(k: string): string { return this.prefix ? `${this.prefix}.${k}` : k; }
  fail(k: string, expected: string): never {
    const v = this.obj[k];
    throw new ConfigError(`${this.file}: "${this.name(k)}" must be ${expected}, got ${v === undefined ? 'nothing (the field is required)' : JSON.stringify(v)}`);
  }
  onlyKnown(known: string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!known.includes(k)) throw new ConfigError(`${this.file}: unknown field "${this.name(k)}" (known: ${known.join(', ')})`);
    }
  }
  num(k: string, d: number | undefined, o: { min?: number; max?: number; integer?: boolean; minExclusive?: boolean } = {}): number {
    const v = this.obj[k];
    if (v === undefined && d !== undefined) return d;
    const range = `${o.min !== undefined ? ` ${o.minExclusive ? '>' : '>='} ${o.min}` : ''}${o.max !== undefined ? ` and <= ${o.max}` : ''}`;
    const what = `${o.integer ? 'an integer' : 'a number'}${range}`;
    if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v))) this.fail(k, what);
    if (o.min !== undefined && (o.minExclusive ? v <= o.min : v < o.min)) this.fail(k, what);
    if (o.max !== undefined && v > o.max) this.fail(k, what);
    return v;
  }
  bool(k: string, d: boolean): boolean {
    const v = this.obj[k];
    if (v === undefined) return d;
    if (typeof v !== 'boolean') this.fail(k, 'true or false');
    return v;
  }
  oneOf<T extends string>(k: string, options: readonly T[], d?: T): T {
    const v = this.obj[k];
    if (v === undefined && d !== undefined) return d;
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(k, `one of ${options.map((s) => `"${s}"`).join(', ')}`);
    return v as T;
  }
  str(k: string, d: string | null): string | null {
    const v = this.obj[k];
    if (v === undefined || v === null) return d;
    if (typeof v !== 'string' || !v) this.fail(k, 'a non-empty string');
    return v;
  }
  strings(k: string, d: string[]): string[] {
    const v = this.obj[k];
    if (v === undefined) return d;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.length > 0)) this.fail(k, 'an array of non-empty strings');
    return v as string[];
  }
  child(k: string, required: boolean): Reader | null {
    const v = this.obj[k];
    if (v === undefined || v === null) { if (required) this.fail(k, 'an object'); return null; }
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(k, 'an object');
    return new Reader(this.file, v as Json, this.name(k));
  }
}

const TRAINING_FIELDS = ['learning_rate', 'weight_decay', 'warmup_ratio', 'lr_scheduler_type', 'per_device_train_batch_size',
  'gradient_accumulation_steps', 'num_train_epochs', 'max_steps', 'model_max_length', 'gradient_checkpointing', 'dtype', 'seed',
  'loss_scale_init', 'loss_scale_growth_interval',
  'max_grad_norm', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'save_steps', 'save_total_limit', 'logging_steps', 'eval_steps'];

export function parseTrainConfig(json: unknown, file: string): TrainConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: the config must be a JSON object`);
  const top = new Reader(file, json as Json, '');
  top.onlyKnown(['$comment', 'stage', 'description', 'model', 'data', 'trainable', 'frozen', 'lora', 'training', 'loss', 'from_scratch']);
  const stage = top.oneOf('stage', ['stage1', 'stage2', 'stage2-lora', 'sam', 'vision'] as const);
  const trainable = top.strings('trainable', []);
  if (trainable.length === 0 && !top.obj.lora) throw new ConfigError(`${file}: "trainable" must list at least one parameter-name pattern (or give "lora"), else nothing trains`);
  const loraR = top.child('lora', false);
  let lora: LoraConfig | null = null;
  if (loraR) {
    loraR.onlyKnown(['r', 'alpha', 'dropout', 'target_modules']);
    const targets = loraR.strings('target_modules', ['q_proj', 'v_proj']);
    for (const t of targets) {
      if (!['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(t)) {
        throw new ConfigError(`${file}: "lora.target_modules" may name q_proj, k_proj, v_proj and o_proj (the attention projections), got "${t}"`);
      }
    }
    lora = { r: loraR.num('r', 8, { integer: true, min: 1 }), alpha: loraR.num('alpha', 16, { min: 0, minExclusive: true }),
      dropout: loraR.num('dropout', 0.05, { min: 0, max: 0.99 }), targetModules: targets as LoraConfig['targetModules'] };
  }
  const t = top.child('training', true)!;
  t.onlyKnown(TRAINING_FIELDS);
  const training: TrainingHyper = {
    learningRate: t.num('learning_rate', undefined, { min: 0, minExclusive: true }),
    weightDecay: t.num('weight_decay', 0, { min: 0 }),
    warmupRatio: t.num('warmup_ratio', 0, { min: 0, max: 1 }),
    lrScheduler: t.oneOf('lr_scheduler_type', ['cosine', 'linear', 'constant'] as const, 'cosine'),
    batchSize: t.num('per_device_train_batch_size', undefined, { integer: true, min: 1 }),
    gradientAccumulationSteps: t.num('gradient_accumulation_steps', 1, { integer: true, min: 1 }),
    epochs: t.num('num_train_epochs', 1, { integer: true, min: 1 }),
    maxSteps: t.num('max_steps', -1, { integer: true, min: -1 }),
    maxLength: t.num('model_max_length', undefined, { integer: true, min: 8 }),
    gradientCheckpointing: t.bool('gradient_checkpointing', false),
    dtype: t.oneOf('dtype', ['f32', 'bf16', 'f16'] as const, 'bf16'),
    lossScaleInit: t.num('loss_scale_init', 2 ** 16, { min: 0, minExclusive: true }),
    lossScaleGrowthInterval: t.num('loss_scale_growth_interval', 2000, { integer: true, min: 1 }),
    seed: t.num('seed', 42, { integer: true, min: 0 }),
    maxGradNorm: t.num('max_grad_norm', 1, { min: 0 }),
    adamBeta1: t.num('adam_beta1', 0.9, { min: 0, max: 0.999999 }),
    adamBeta2: t.num('adam_beta2', 0.999, { min: 0, max: 0.999999 }),
    adamEpsilon: t.num('adam_epsilon', 1e-8, { min: 0, minExclusive: true }),
    saveSteps: t.num('save_steps', 500, { integer: true, min: 1 }),
    saveTotalLimit: t.num('save_total_limit', 2, { integer: true, min: 1 }),
    loggingSteps: t.num('logging_steps', 1, { integer: true, min: 1 }),
    evalSteps: t.num('eval_steps', 0, { integer: true, min: 0 }),
  };
  const l = top.child('loss', false);
  l?.onlyKnown(['ce_weight', 'bce_weight', 'dice_weight', 'l1_weight', 'giou_weight', 'prompt_weight']);
  const w = (k: string, d: number) => (l ? l.num(k, d, { min: 0 }) : d);
  const loss: LossWeights = { ce: w('ce_weight', 1), bce: w('bce_weight', 2), dice: w('dice_weight', 0.5), l1: w('l1_weight', 1), giou: w('giou_weight', 1), prompt: w('prompt_weight', 0) };
  const model = top.child('model', false);
  model?.onlyKnown(['path', 'preset']);
  const data = top.child('data', false);
  data?.onlyKnown(['manifest']);
  const fromScratch = top.bool('from_scratch', false);
  if (stage === 'sam' && !fromScratch) {
    throw new ConfigError(`${file}: "stage": "sam" trains the segmenter alone, for a model trained from scratch; set "from_scratch": true (the paper's SAM is pretrained and frozen)`);
  }
  if (stage === 'vision' && !fromScratch) {
    throw new ConfigError(`${file}: "stage": "vision" pretrains the CLIP-style tower, for a model trained from scratch; set "from_scratch": true (the paper's CLIP is pretrained and frozen)`);
  }
  return {
    source: file, stage, description: top.str('description', '') ?? '', trainable, frozen: top.strings('frozen', []), lora, training, loss,
    modelPath: model?.str('path', null) ?? null, dataPath: data?.str('manifest', null) ?? null,
    modelPreset: model?.str('preset', null) ?? null, fromScratch,
  };
}

export async function readTrainConfig(path: string): Promise<TrainConfig> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (e) {
    throw new ConfigError(`${path}: cannot read the training config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`); }
  return parseTrainConfig(json, path);
}

/** '*' matches any run of characters (dots included); everything else literally. */
export function patternToRegExp(p: string): RegExp {
  return new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
