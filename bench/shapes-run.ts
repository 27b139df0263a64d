// A short training run of the shapes preset (issue 13): does it learn? Trains the `shapes` recipe's stage II
// config on a small shapes-world split and, every --eval-every steps, measures the teacher-forced mask IoU
// of the [SEG] masks on training samples (the first --eval-n with masks). Writes OUT/shapes-run.json (the
// loss and IoU curves, step times, CPU time, load averages) beside the trainer's metrics.jsonl / loss.svg.
//   node dist/bench/shapes-run.js --data DIR/manifest.jsonl --out DIR [--steps 40] [--batch 8] [--lr 3e-3]
//     [--eval-every 10] [--eval-n 16] [--preset full|small] [--config shapes|shapes-stage1]
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { writeFile } from 'node:fs/promises';
import * as E from '../engine/index.js';
import { readTrainConfig } from '../ullava/train/train-config.js';
import { resolveConfigPath } from '../ullava/train/builtin-configs.js';
import { readManifest } from '../ullava/train/sample.js';
import { prepareExample } from '../ullava/train/example.js';
import { trainingForward } from '../ullava/train/forward.js';
import { train, type EvalHook } from '../ullava/train/trainer.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../ullava/train/loss-functions.js';
import { loadUllava } from '../ullava/models/ullava/load.js';
import { SHAPES_PRESET, SHAPES_TEST_PRESET, shapesUllavaConfigJSON, writeRandomUllava } from '../ullava/models/ullava/shapes-preset.js';

const { values: v } = parseArgs({ options: {
  data: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string', default: '40' }, batch: { type: 'string', default: '8' },
  lr: { type: 'string', default: '3e-3' }, 'eval-every': { type: 'string', default: '10' }, 'eval-n': { type: 'string', default: '16' },
  preset: { type: 'string', default: 'full' }, seed: { type: 'string', default: '42' }, config: { type: 'string', default: 'shapes' },
} });
if (!v.data || !v.out) throw new Error('usage: shapes-run --data MANIFEST --out DIR [--steps N] [--batch B] [--lr LR] [--eval-every K] [--eval-n N] [--preset full|small]');

const cfg = await readTrainConfig(resolveConfigPath(v.config!));
cfg.training = { ...cfg.training, maxSteps: +v.steps!, batchSize: +v.batch!, learningRate: +v.lr!, evalSteps: +v['eval-every']!, saveSteps: +v.steps!, seed: +v.seed! };
await E.getDevice();
const json = shapesUllavaConfigJSON(v.preset === 'small' ? SHAPES_TEST_PRESET : SHAPES_PRESET);
const modelDir = await writeRandomUllava(join(v.out, 'init'), json, cfg.training.seed);
const loaded = await loadUllava(modelDir, { dtype: 'f32' });
const samples = await readManifest(v.data);
const evalSamples = samples.filter((s) => s.masks.length).slice(0, +v['eval-n']!);
const params = loaded.model.numParameters();

const curve: { step: number; iou: number; cpuS: number; wallS: number; load1: number }[] = [];
const t0 = performance.now(), c0 = process.cpuUsage();
const cpuS = () => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1e6; };
async function maskIoU(model: typeof loaded.model): Promise<number> {
  // Teacher-forced: the [SEG] hidden states of the reference answers, through the seg head and the mask decoder.
  let inter = 0, union = 0;
  for (let i = 0; i < evalSamples.length; i += 4) {
    const ex = await Promise.all(evalSamples.slice(i, i + 4).map((s) => prepareExample(s, { tokenizer: loaded.tokenizer, config: model.config, maxLength: cfg.training.maxLength })));
    const out = E.noGrad(() => trainingForward(model, ex, { gradientCheckpointing: false }));
    for (let k = 0; k < out.maskLogits.length; k++) {
      const p = await out.maskLogits[k].toArray(), g = await out.maskTargets[k].toArray();
      for (let q = 0; q < p.length; q++) { const a = p[q] > 0, b = g[q] > 0.5; inter += +(a && b); union += +(a || b); }
    }
    E.noGrad(() => { for (const t of [out.hidden, ...out.maskLogits, ...out.maskTargets]) t.dispose(); });
  }
  return union ? inter / union : 1;
}
const evalHook: EvalHook | undefined = !evalSamples.length ? undefined : { name: 'train-set cumulative mask IoU', async run({ model, step }) {
  const iou = await maskIoU(model);
  curve.push({ step, iou, cpuS: cpuS(), wallS: (performance.now() - t0) / 1000, load1: loadavg()[0] });
  console.log(`step ${step}: train-set cIoU ${iou.toFixed(3)} (cpu ${cpuS().toFixed(0)} s, wall ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()[0].toFixed(1)})`);
  return { maskIoU: iou };
} };
const iou0 = evalSamples.length ? await maskIoU(loaded.model) : NaN;
curve.push({ step: 0, iou: iou0, cpuS: cpuS(), wallS: (performance.now() - t0) / 1000, load1: loadavg()[0] });
console.log(`step 0: train-set cIoU ${iou0.toFixed(3)}; ${params} parameters; ${samples.length} samples, batch ${cfg.training.batchSize}`);
const steps: { step: number; loss: number; ce: number; bce: number; dice: number; stepMs: number; cpuS: number; tokensPerSecond: number; load1: number }[] = [];
const r = await train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir, config: cfg, samples, out: join(v.out, 'run'), resume: false,
  losses: ULLAVA_LOSS_FUNCTIONS, progress: false, evalHook, onStep: (m) => steps.push({ step: m.step, ...m.losses, stepMs: m.stepMs, cpuS: cpuS(), tokensPerSecond: m.tokensPerSecond, load1: loadavg()[0] } as never) });
const summary = { preset: v.preset, params, bytesF32: 4 * params, samples: samples.length, batch: cfg.training.batchSize, lr: cfg.training.learningRate,
  steps, iou: curve, wallS: (performance.now() - t0) / 1000, cpuS: cpuS(), checkpoint: r.checkpoint };
await writeFile(join(v.out, 'shapes-run.json'), JSON.stringify(summary, null, 1));
const ms = steps.slice(1).map((s) => s.stepMs).sort((a, b) => a - b);
const cpuPerStep = steps.length > 2 ? (steps[steps.length - 1].cpuS - steps[1].cpuS) / (steps.length - 2) : NaN;
console.log(`loss ${steps[0].loss.toFixed(3)} -> ${steps[steps.length - 1].loss.toFixed(3)}; IoU ${curve.map((c) => c.iou.toFixed(3)).join(' -> ')}; median step ${(ms[ms.length >> 1] / 1000).toFixed(1)} s wall, ${cpuPerStep.toFixed(1)} s CPU per step after the first; cpu ${cpuS().toFixed(0)} s over ${summary.wallS.toFixed(0)} s wall`);
loaded.model.dispose();
