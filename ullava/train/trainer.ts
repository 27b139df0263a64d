// The training loop of `ullava train`: the stage applied to the model, AdamW (nn/optim) over the
// trainable parameters with HF's warmup + cosine / linear / constant schedule and global-norm clipping,
// gradient accumulation, the data loader with look-ahead, metrics and the loss curve, evaluation through
// a hook, and checkpoints that resume exactly (weights, optimizer and scheduler state, RNG, data position).
// Ctrl-C finishes the step in flight, writes a checkpoint and returns normally.
//
// Gradient accumulation normalises as HF's Trainer (the official code trains through it): each
// micro-batch's loss (token CE averaged over that micro-batch's supervised tokens, mask loss over its
// masks) is divided by gradient_accumulation_steps before backward, so the update is the gradient of the
// mean of the micro-batch losses. That equals one batch of N·b samples exactly when each micro-batch has
// the same number of supervised tokens and of masks (test/ullava/train/accumulate.test.ts), and
// otherwise weights micro-batches equally, as HF does.
//
// dtype f16: the loss is multiplied by a dynamic scale before backward (PyTorch's GradScaler: 2^16 at
// first, halved and the step skipped when a gradient is inf/NaN, doubled after loss_scale_growth_interval
// clean steps); the optimizer unscales before clipping. As HF's Trainer, a skipped step still counts as a
// step but does not advance the learning-rate schedule. The scaler's state is in each checkpoint.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import {
  Tensor, backward, scope, mulScalar, getRandomState, setRandomState, manualSeed, type Device,
} from '../../engine/index.js';
import { AdamW, GradScaler, LambdaLR, cosineWithWarmup, linearWithWarmup, constantWithWarmup, warmupStepsFromRatio, type GradScalerState } from '../../nn/optim/index.js';
import { toHostArray } from '../../nn/io/hostconv.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import { applyStage, loraLayers, type StagePlan } from './stages.js';
import { trainingForward } from './forward.js';
import { pointPromptForward } from './point-prompt-forward.js';
import { ullavaObjective, type LossFunctions } from './objective.js';
import { DataLoader, type DataPosition } from './loader.js';
import { prepareExample } from './example.js';
import { MediaWorkerPool } from '../data/collate-pool.js';
import { inlineMediaRunner, type MediaRunner } from '../data/collate-media.js';
import { ImageCache } from '../data/collate-cache.js';
import type { TrainingSample } from './sample.js';
import { patchWordForward } from './patch-word-forward.js';
import type { TrainConfig } from './train-config.js';
import { MetricsLog, type StepMetrics } from './metrics.js';
import {
  saveCheckpoint, listCheckpoints, removeUnfinishedCheckpoints, readCheckpointState, loadCheckpointWeights, readOptimizerTensors, paramRecords,
  CheckpointError, type TrainerState,
} from './checkpoint.js';
import { StepProgress } from './step-progress.js';

/** What the evaluation issue plugs in: called every `eval_steps` steps and at the end; its numbers are logged. */
export interface EvalHook {
  name: string;
  run(ctx: { model: UllavaForCausalLM; tokenizer: LlamaTokenizer; step: number }): Promise<Record<string, number>>;
}

export interface TrainerOptions {
  model: UllavaForCausalLM;
  tokenizer: LlamaTokenizer;
  /** The model directory the run starts from (its config.json and tokenizer files go into checkpoints). */
  modelDir: string;
  config: TrainConfig;
  samples: TrainingSample[];
  out: string;
  resume: boolean;
  losses: LossFunctions;
  evalHook?: EvalHook;
  /** Progress line on stderr (default true). */
  progress?: boolean;
  /** Stop after this many steps in this process (tests; the run's own length is the config's). */
  stopAfter?: number;
  /** Worker threads that decode and preprocess media ahead of the GPU (default 2; 0: on this thread). */
  dataWorkers?: number;
  /** Called after each optimizer step (tests, benchmarks). */
  onStep?: (m: StepMetrics) => void;
  say?: (line: string) => void;
}

export interface TrainResult {
  stepsRun: number;
  lastStep: number;
  totalSteps: number;
  interrupted: boolean;
  lastLosses: Record<string, number>;
  checkpoint: string | null;
  plan: StagePlan;
}

/** Digest of what must not change between a run and its resumption. */
export function configDigest(c: TrainConfig, samples: number): string {
  const { saveSteps: _s, saveTotalLimit: _k, loggingSteps: _l, evalSteps: _e, ...t } = c.training;
  return createHash('sha256').update(JSON.stringify({ stage: c.stage, trainable: c.trainable, frozen: c.frozen, lora: c.lora, t, loss: c.loss, samples })).digest('hex').slice(0, 16);
}

export function totalSteps(c: TrainConfig, batchesPerEpoch: number): number {
  const t = c.training;
  return t.maxSteps > 0 ? t.maxSteps : t.epochs * Math.ceil(batchesPerEpoch / t.gradientAccumulationSteps);
}

export async function train(o: TrainerOptions): Promise<TrainResult> {
  const { model, config: cfg } = o;
  const t = cfg.training;
  const say = o.say ?? ((s: string) => process.stderr.write(s + '\n'));
  const plan = applyStage(model, cfg);
  model.train();
  const named = [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
  const device: Device = named[0][1].device;
  if (t.dtype === 'f16' && !device.has('shader-f16')) {
    throw new Error(`${cfg.source}: "training.dtype" f16 needs the shader-f16 feature, which this adapter (${device.describe().description}) lacks; train in bf16 or f32`);
  }
  const workers = o.dataWorkers ?? 2;
  // The pool starts with the first batch (inside the loop's try, whose finally closes it).
  let pool: MediaWorkerPool | null = null;
  const runner: MediaRunner = workers > 0
    ? { run: (job) => (pool ??= new MediaWorkerPool(workers)).run(job), close: async () => { await pool?.close(); } }
    : inlineMediaRunner;
  const cache = new ImageCache();
  const loader = new DataLoader(o.samples, t.batchSize, t.seed,
    (s, ctx) => prepareExample(s, { tokenizer: o.tokenizer, config: model.config, maxLength: t.maxLength, seed: ctx.seed, runner, cache,
      patchWords: cfg.stage === 'vision' }));
  const total = totalSteps(cfg, loader.batchesPerEpoch);
  const optimizer = new AdamW(named, { lr: t.learningRate, betas: [t.adamBeta1, t.adamBeta2], eps: t.adamEpsilon,
    weightDecay: t.weightDecay, masterWeights: true });
  const warmup = warmupStepsFromRatio(t.warmupRatio, total);
  const schedule = new LambdaLR(optimizer, t.lrScheduler === 'cosine' ? cosineWithWarmup(warmup, total)
    : t.lrScheduler === 'linear' ? linearWithWarmup(warmup, total) : constantWithWarmup(warmup));
  const scaler = t.dtype === 'f16' ? new GradScaler({ initScale: t.lossScaleInit, growthInterval: t.lossScaleGrowthInterval }) : null;
  const digest = configDigest(cfg, o.samples.length);
  const metrics = new MetricsLog(o.out);

  let step = 0;
  let pos: DataPosition = { epoch: 0, batch: 0 };
  try { await mkdir(o.out, { recursive: true }); } catch (e) {
    throw new CheckpointError(`cannot create the output directory ${o.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const stale = await removeUnfinishedCheckpoints(o.out);
  if (stale.length) say(`removed ${stale.length} unfinished checkpoint write(s) of an interrupted run in ${o.out}`);
  const existing = await listCheckpoints(o.out);
  if (o.resume) {
    if (!existing.length) throw new CheckpointError(`--resume: ${o.out} holds no checkpoint to resume from (run without --resume to start)`);
    const last = existing[existing.length - 1];
    const state = await readCheckpointState(last.dir, { stage: cfg.stage, configDigest: digest, params: paramRecords(model) });
    await loadCheckpointWeights(last.dir, model);
    await loadOptimizer(optimizer, last.dir, state, device);
    const saved = state.optimizer as { schedule: { lastEpoch: number; baseLrs: number[] }; scaler?: GradScalerState };
    schedule.loadStateDict(saved.schedule);
    if (scaler) {
      if (!saved.scaler) throw new CheckpointError(`${last.dir}: the run trains in f16 but the checkpoint has no loss-scaler state`);
      scaler.loadStateDict(saved.scaler);
    }
    setRandomState(state.rng);
    step = state.step;
    pos = state.data;
    say(`resuming from ${last.dir} (step ${step} of ${total})`);
    await metrics.open(step);
  } else {
    if (existing.length) {
      throw new CheckpointError(`${o.out} already holds checkpoints (last: ${existing[existing.length - 1].dir}); pass --resume to continue that run, or choose another --out`);
    }
    manualSeed(t.seed);
    await metrics.open(null);
  }

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) { say('second Ctrl-C: exiting without a checkpoint'); process.exit(130); }
    interrupted = true;
    say('\nCtrl-C: finishing this step, then writing a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);

  const progress = o.progress === false ? null : new StepProgress(total, step);
  let lastCheckpoint: string | null = null, lastSavedStep = step, stepsRun = 0;
  let lastLosses: Record<string, number> = {};
  const save = async () => {
    const sched = schedule.stateDict();
    const sd = await optimizer.stateDict();
    try {
      lastCheckpoint = await saveCheckpoint(o.out, {
        model, modelDir: o.modelDir, optimizerTensors: sd.tensors, keep: t.saveTotalLimit,
        adapterConfig: cfg.lora ? { peft_type: 'LORA', r: cfg.lora.r, lora_alpha: cfg.lora.alpha, lora_dropout: cfg.lora.dropout,
          target_modules: cfg.lora.targetModules, layers: loraLayers(model).map(([k]) => k) } : null,
        state: { step, data: pos, rng: getRandomState(), optimizer: { meta: sd.meta, schedule: sched, ...(scaler ? { scaler: await scaler.stateDict() } : {}) }, stage: cfg.stage,
          configDigest: digest, extra: { losses: lastLosses, totalSteps: total } },
      });
    } finally { for (const x of sd.tensors.values()) x.dispose(); }
    lastSavedStep = step;
  };

  try {
    while (step < total && !interrupted && (o.stopAfter === undefined || stepsRun < o.stopAfter)) {
      const t0 = performance.now();
      let tokens = 0;
      const sums: Record<string, number> = {};
      for (let micro = 0; micro < t.gradientAccumulationSteps; micro++) {
        const batch = await loader.get(pos);
        pos = loader.next(pos);
        const values = await scope(() => {
          const out = cfg.stage === 'sam' ? pointPromptForward(model, batch.examples, step * t.gradientAccumulationSteps + micro)
            : cfg.stage === 'vision' ? patchWordForward(model, batch.examples)
            : trainingForward(model, batch.examples, { gradientCheckpointing: t.gradientCheckpointing, pointTargets: cfg.loss.prompt > 0 });
          tokens += out.tokens;
          const obj = ullavaObjective(out, cfg.loss, o.losses);
          const part = t.gradientAccumulationSteps === 1 ? obj.total : mulScalar(obj.total, 1 / t.gradientAccumulationSteps);
          backward(scaler ? scaler.scale(part) : part);
          return { loss: obj.total.detach(), ...Object.fromEntries(Object.entries(obj.parts).map(([k, v]) => [k, v.detach()])) } as Record<string, Tensor>;
        });
        for (const [k, v] of Object.entries(values)) { sums[k] = (sums[k] ?? 0) + (await v.item()) / t.gradientAccumulationSteps; v.dispose(); }
      }
      const lr = optimizer.paramGroups[0].lr;
      optimizer.step({ maxGradNorm: t.maxGradNorm > 0 ? t.maxGradNorm : undefined, scaler: scaler ?? undefined });
      optimizer.zeroGrad();
      const { gradNorm, skipped } = await optimizer.lastStep();
      if (!skipped) schedule.step();
      step++; stepsRun++;
      lastLosses = sums;
      const stepMs = performance.now() - t0;
      const m: StepMetrics = { step, epoch: pos.epoch + pos.batch / loader.batchesPerEpoch, losses: sums, lr,
        gradNorm: Number.isFinite(gradNorm) ? gradNorm : null,
        ...(scaler ? { lossScale: await scaler.getScale(), skipped } : {}), tokensPerSecond: tokens / (stepMs / 1000), stepMs, time: new Date().toISOString() };
      if (step % t.loggingSteps === 0 || step === total) { await metrics.log(m); void metrics.draw(); }
      progress?.update(m);
      o.onStep?.(m);
      if (o.evalHook && t.evalSteps > 0 && step % t.evalSteps === 0) await runEval(o, step, metrics, say);
      if (step % t.saveSteps === 0 && step < total) await save();
    }
    if (step !== lastSavedStep || (!lastCheckpoint && stepsRun > 0)) await save();
    if (step === total && o.evalHook && t.evalSteps > 0 && step % t.evalSteps !== 0) await runEval(o, step, metrics, say);
    await metrics.draw();
  } finally {
    process.off('SIGINT', onSigint);
    progress?.finish();
    optimizer.dispose();
    scaler?.dispose();
    await runner.close();
  }
  return { stepsRun, lastStep: step, totalSteps: total, interrupted, lastLosses, checkpoint: lastCheckpoint, plan };
}


async function runEval(o: TrainerOptions, step: number, metrics: MetricsLog, say: (s: string) => void): Promise<void> {
  const hook = o.evalHook!;
  o.model.eval();
  try {
    const r = await hook.run({ model: o.model, tokenizer: o.tokenizer, step });
    say(`eval ${hook.name} at step ${step}: ${Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
    await metrics.logEval(step, hook.name, r);
  } finally { o.model.train(); }
}

async function loadOptimizer(opt: AdamW, dir: string, state: TrainerState, device: Device): Promise<void> {
  const host = await readOptimizerTensors(dir);
  const tensors = new Map<string, Tensor>();
  try {
    for (const [k, v] of host) {
      if (v.dtype !== 'F32') throw new CheckpointError(`${dir}: optimizer.safetensors: ${k} is ${v.dtype}, expected F32`);
      tensors.set(k, Tensor.fromHost(toHostArray('F32', v.bytes, 'f32', k), v.shape, 'f32', device));
    }
    try {
      opt.loadStateDict({ meta: (state.optimizer as { meta: never }).meta, tensors });
    } catch (e) { throw new CheckpointError(`${dir}: the optimizer state does not fit this run (${(e as Error).message})`); }
  } finally { for (const t of tensors.values()) t.dispose(); }
}
