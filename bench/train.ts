// Training speed of the tiny u-LLaVA (the demo model's shapes: 256 image tokens + text, LLaMA width 64,
// 2 layers, SAM tiny): one optimizer step of stage II (full) on a batch of synthetic samples with masks,
// with and without gradient checkpointing. Reports step time, tokens/s and the peak of live GPU memory
// during the step (the pool's high-water mark, parameters and optimizer state included).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDevice, backward, scope, type Tensor } from '../engine/index.js';
import { AdamW } from '../nn/optim/index.js';
import { loadUllava } from '../ullava/models/ullava/load.js';
import { writeTinyUllava } from '../ullava/models/ullava/tiny.js';
import { readTrainConfig } from '../ullava/train/train-config.js';
import { resolveConfigPath } from '../ullava/train/builtin-configs.js';
import { readManifest } from '../ullava/train/sample.js';
import { prepareExample } from '../ullava/train/example.js';
import { applyStage } from '../ullava/train/stages.js';
import { trainingForward } from '../ullava/train/forward.js';
import { ullavaObjective } from '../ullava/train/objective.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../ullava/train/loss-functions.js';
import { writeTrainData } from '../test/ullava/train/fixture.js';
import { timeGpu, printTable, makeReport, writeJson, type BenchOptions } from './common.js';

interface Row { config: string; batch: number; tokens: number; gradientCheckpointing: boolean; stepMs: number; tokensPerSecond: number; peakMiB: number }

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const root = await mkdtemp(join(tmpdir(), 'ullava-bench-train-'));
  try {
    const dir = await writeTinyUllava(join(root, 'model'));
    const batch = o.quick ? 2 : 4;
    const samples = await readManifest(await writeTrainData(join(root, 'data'), batch));
    const loaded = await loadUllava(dir, { dtype: 'f32' });
    const cfg = await readTrainConfig(resolveConfigPath('stage2'));
    const model = loaded.model;
    applyStage(model, cfg);
    model.train();
    const examples = await Promise.all(samples.map((s) => prepareExample(s, { tokenizer: loaded.tokenizer, config: model.config, maxLength: 512 })));
    const tokens = examples.reduce((a, e) => a + e.ids.length, 0);
    const opt = new AdamW([...model.namedParameters()].filter(([, p]) => p.requiresGrad), { lr: 1e-5, weightDecay: 0 });
    const rows: Row[] = [];
    for (const gc of [false, true]) {
      const step = () => {
        scope(() => {
          const out = trainingForward(model, examples, { gradientCheckpointing: gc });
          const { total } = ullavaObjective(out, cfg.loss, ULLAVA_LOSS_FUNCTIONS);
          backward(total as Tensor);
        });
        opt.step({ maxGradNorm: 1 });
        opt.zeroGrad();
      };
      step(); await device.sync();
      device.pool.resetPeak();
      const t = await timeGpu(step, () => device.sync(), o.seconds, o.quick ? 3 : 10);
      rows.push({ config: 'tiny u-LLaVA, stage II full', batch, tokens, gradientCheckpointing: gc, stepMs: t.meanMs,
        tokensPerSecond: tokens / (t.meanMs / 1000), peakMiB: device.memory().peakLiveBytes / 2 ** 20 });
    }
    opt.dispose();
    model.dispose();
    printTable(rows.map((r) => ({ ...r, gradientCheckpointing: String(r.gradientCheckpointing) })));
    if (o.json) writeJson(o.json, makeReport('train', device, rows, ['one AdamW step (forward, backward, clipped update) of the tiny demo model on synthetic samples with one mask each']));
  } finally { await rm(root, { recursive: true, force: true }); }
}
