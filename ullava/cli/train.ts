// `ullava train --config FILE [--model DIR] [--data MANIFEST] [--out DIR] [--resume] [--dry-run]`: trains
// u-LLaVA (stage I, stage II full or LoRA, as the config says) with checkpoints that resume exactly, or
// (--dry-run) prints the run's memory plan without loading any weights.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { parseOptions, parseNumber, parseDtype, loadModel } from './model-options.js';
import { cacheDir, defaultModelDir, ensureRandomTinyModel } from '../api/default-model.js';
import { readTrainConfig, type TrainConfig } from '../train/train-config.js';
import { BUILTIN_CONFIGS, resolveConfigPath, isBuiltinConfig } from '../train/builtin-configs.js';
import { readManifest } from '../train/sample.js';
import { train } from '../train/trainer.js';
import { readEvalRecords, EVAL_TASKS, type EvalTask } from '../eval/records.js';
import { evaluationHook } from '../eval/hook.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../train/loss-functions.js';
import { memoryPlan, formatMemoryPlan } from '../train/memory-plan.js';
import { publishedUllava7bConfigJSON } from '../train/published-7b.js';
import { readUllavaConfig, ullavaConfigFromJSON, type UllavaConfig } from '../models/ullava/config.js';
import { tinyUllavaConfigJSON } from '../models/ullava/tiny.js';
import { MODEL_PRESETS, writePresetModel, type ModelPresetName } from '../models/ullava/shapes-preset.js';

const OPTIONS = {
  config: { type: 'string' }, model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' },
  resume: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, dtype: { type: 'string' }, 'max-steps': { type: 'string' },
  'batch-size': { type: 'string' }, 'gpu-memory': { type: 'string' }, quiet: { type: 'boolean' },
  'eval-data': { type: 'string' }, 'eval-task': { type: 'string' }, 'eval-steps': { type: 'string' },
} as const;


const USAGE = `usage: ullava train --config FILE [--model DIR] [--data MANIFEST] [--out DIR] [--resume] [--dry-run]

Trains u-LLaVA as the config says: which parameters train (stage I: projector + input embeddings;
stage II: full, or LoRA on q_proj/v_proj), the learning rate and schedule, batch size, epochs,
gradient checkpointing, loss weights. Writes to OUT:
  checkpoint-<step>/     model.safetensors (published key layout: any command loads the directory with
                         --model), adapter_model.safetensors (LoRA), optimizer.safetensors, trainer_state.json
  metrics.jsonl          one line per logged step: each loss part, lr, grad norm, tokens/s
  loss.svg               the loss curves, redrawn as the run goes
Ctrl-C finishes the current step, writes a checkpoint and exits 0; --resume continues from the last one
exactly (same batches, same random numbers, same result as a run never interrupted).

  --config FILE      a training config (JSON), or one of the built-in ${BUILTIN_CONFIGS.join(', ')}
                     (ullava/train/configs/*.json, mirroring the official yaml files)
  --model DIR        the u-LLaVA to start from (default: the config's model.path or model.preset, else the
                     tiny RANDOM test model, not the built-in shapes model: give --model models/shapes to
                     fine-tune that); "published-7b" with --dry-run plans the published 7B without its weights
  --data MANIFEST    training samples, JSONL (default: the config's data.manifest). One object per line:
                     {"image": "img.jpg", "conversations": [{"from": "human", "value": "<image>\\n..."},
                     {"from": "gpt", "value": "Sure. Info: [SEG]."}], "masks": ["mask.png" | COCO RLE]}, or
                     {"task": "res", "image": ..., "targets": [{"sentences": [..], "category": "cat", "mask": ..}]}
                     (prompts drawn from the official pools); check it first with \`ullava data validate\`
  --out DIR          where checkpoints and metrics go (default ./runs/<stage>)
  --resume           continue the run in OUT from its last checkpoint
  --dry-run          print the memory plan (weights, gradients, optimizer state, activations with and
                     without gradient checkpointing) and stop; loads no weights
  --dtype D          override the config's parameter dtype (f32, bf16, or f16 with dynamic loss scaling; the random test model trains in f32)
  --max-steps N      stop after N optimizer steps (overrides the epochs)
  --batch-size N     override per_device_train_batch_size
  --gpu-memory GB    the device memory --dry-run checks the plan against (default 80)
  --quiet            no progress line
  --eval-data M      evaluate on manifest M every eval_steps steps and at the end (as \`ullava eval\`,
                     teacher-forced); the metrics go to metrics.jsonl as {"step", "eval", "metrics"}
  --eval-task T      the task of --eval-data: ${EVAL_TASKS.join(', ')} (default res)
  --eval-steps N     override training.eval_steps (with --eval-data and no eval_steps: at the end only)`;

function relativeTo(cfg: TrainConfig, p: string): string {
  return isAbsolute(p) || isBuiltinConfig(cfg.source) ? p : resolve(dirname(cfg.source), p);
}

async function modelConfigFor(model: string | undefined, cfg: TrainConfig): Promise<{ config: UllavaConfig; name: string }> {
  if (model === 'published-7b') return { config: ullavaConfigFromJSON(publishedUllava7bConfigJSON(), 'published u-LLaVA-7B'), name: 'published u-LLaVA-7B (jinxu95/ullava)' };
  const dir = model ?? (cfg.modelPath ? relativeTo(cfg, cfg.modelPath) : undefined);
  if (!dir && cfg.modelPreset) return { config: ullavaConfigFromJSON(MODEL_PRESETS[presetName(cfg)](), `preset ${cfg.modelPreset}`), name: `the ${cfg.modelPreset} preset (random initialisation)` };
  if (!dir) return { config: ullavaConfigFromJSON(tinyUllavaConfigJSON(), 'tiny random test model'), name: 'the tiny random test model' };
  return { config: await readUllavaConfig(join(dir, 'config.json')), name: dir };
}

function presetName(cfg: TrainConfig): ModelPresetName {
  const p = cfg.modelPreset!;
  if (!(p in MODEL_PRESETS)) throw new UsageError(`${cfg.source}: "model.preset" must be one of ${Object.keys(MODEL_PRESETS).join(', ')}, got "${p}"`);
  return p as ModelPresetName;
}

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'train u-LLaVA (stage I, stage II full or LoRA) with exact resume; --dry-run prints the memory plan',
  usage: USAGE,
  async run(argv) {
    const { values } = parseOptions(argv, OPTIONS);
    if (!values.config) throw new UsageError('--config FILE is required (or one of the built-in stage1, stage2, stage2-lora)');
    const cfg = await readTrainConfig(resolveConfigPath(values.config));
    const dtype = parseDtype(values.dtype) as 'f32' | 'bf16' | 'f16' | undefined;
    const maxSteps = parseNumber('max-steps', values['max-steps'], { integer: true, min: 1 });
    const batch = parseNumber('batch-size', values['batch-size'], { integer: true, min: 1 });
    if (maxSteps !== undefined) cfg.training.maxSteps = maxSteps;
    if (batch !== undefined) cfg.training.batchSize = batch;
    if (dtype) cfg.training.dtype = dtype;
    const say = (s: string) => { if (!values.quiet) process.stderr.write(s + '\n'); };

    if (values['dry-run']) {
      const { config, name } = await modelConfigFor(values.model, cfg);
      const gpu = parseNumber('gpu-memory', values['gpu-memory'], { min: 0 }) ?? 80;
      const plan = memoryPlan({ config, train: cfg, batch: cfg.training.batchSize, seqLen: cfg.training.maxLength, dtype: cfg.training.dtype });
      console.log(`${cfg.description || cfg.stage} (${cfg.source})\nmodel: ${name}\n`);
      console.log(formatMemoryPlan(plan, { batch: cfg.training.batchSize, seqLen: cfg.training.maxLength, dtype: cfg.training.dtype, budget: gpu * 2 ** 30 }));
      return 0;
    }

    if (values.model === 'published-7b') throw new UsageError('--model published-7b is only for --dry-run (it has no weights); give the downloaded model directory');
    const dataPath = values.data ?? (cfg.dataPath ? relativeTo(cfg, cfg.dataPath) : undefined);
    if (!dataPath) throw new UsageError('--data MANIFEST is required (or data.manifest in the config)');
    const samples = await readManifest(dataPath);
    const evalTask = (values['eval-task'] ?? 'res') as EvalTask;
    if (!(EVAL_TASKS as readonly string[]).includes(evalTask)) throw new UsageError(`--eval-task must be one of ${EVAL_TASKS.join(', ')}, got "${evalTask}"`);
    const evalSteps = parseNumber('eval-steps', values['eval-steps'], { integer: true, min: 1 });
    if (evalSteps !== undefined) cfg.training.evalSteps = evalSteps;
    const modelDir = values.model ?? (cfg.modelPath ? relativeTo(cfg, cfg.modelPath) : undefined);
    // A config with "model": {"preset": NAME} starts from that architecture, freshly initialised (seeded by training.seed).
    const presetDir = modelDir === undefined && cfg.modelPreset
      ? await writePresetModel(join(cacheDir(), 'presets', `${presetName(cfg)}-seed${cfg.training.seed}`), presetName(cfg), cfg.training.seed) : undefined;
    // Neither: the tiny random test model (the published 7B's layout at a tiny size), never the built-in
    // shapes model, whose weights a run would otherwise quietly start from. It trains in f32 unless told
    // otherwise (its point is to run anywhere, exactly).
    const demoDir = modelDir === undefined && !presetDir ? (await ensureRandomTinyModel()).dir : undefined;
    if (demoDir) say(`note: no --model and no model in the config: training starts from the tiny RANDOM test model in ${demoDir} (--model ${defaultModelDir()} fine-tunes the built-in shapes model)`);
    if (demoDir && !dtype) cfg.training.dtype = 'f32';
    const loaded = await loadModel({ model: modelDir ?? presetDir ?? demoDir, dtype: cfg.training.dtype, quiet: values.quiet });
    const out = values.out ?? join('runs', cfg.stage);
    let evalHook;
    if (values['eval-data']) {
      const style = loaded.config.locTokenId === null ? 'published' : 'loc';
      evalHook = evaluationHook({ records: (await readEvalRecords(values['eval-data'], evalTask, style)).records, task: evalTask });
      // Without eval_steps, evaluate once, at the end of the run.
      if (cfg.training.evalSteps === 0) cfg.training.evalSteps = Number.MAX_SAFE_INTEGER;
    }
    say(`training ${cfg.stage} on ${samples.length} samples from ${dataPath}; writing to ${out}`);
    const r = await train({
      model: loaded.model, tokenizer: loaded.tokenizer, modelDir: loaded.dir, config: cfg, samples, out,
      resume: !!values.resume, losses: ULLAVA_LOSS_FUNCTIONS, progress: !values.quiet, say, evalHook,
    });
    say(`${r.plan.trainable.length} trainable tensors (${r.plan.trainableElements} of ${r.plan.totalElements} parameters); ` +
      `ran ${r.stepsRun} steps, now at step ${r.lastStep} of ${r.totalSteps}`);
    if (r.checkpoint) say(`checkpoint: ${r.checkpoint}${r.interrupted ? ' (interrupted: continue with --resume)' : ''}`);
    loaded.model.dispose();
    return 0;
  },
};
