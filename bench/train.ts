// Training speed of the tiny u-LLaVA (the demo model's shapes: 256 image tokens + text, LLaMA width 64,
// 2 layers, SAM tiny): one optimizer step of stage II (full) on a batch of synthetic samples with masks,
// with and without gradient checkpointing, and with the flash attention kernels or the unfused
// composition (nn/attention.ts setAttentionPath) in every attention that trains. The four configurations
// run interleaved, round by round, in one process, so they share the machine's load (the development
// machines are shared); reported: mean step time (wall), process CPU time per step (lavapipe's threads
// run in-process), tokens/s, the peak of live GPU memory during a step (the pool's high-water mark,
// parameters and optimizer state included), and the load average when the run started.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { getDevice, backward, scope, type Tensor } from '../engine/index.js';
import { AdamW } from '../nn/optim/index.js';
import { setAttentionPath, type AttentionPath } from '../nn/attention.js';
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
import { printTable, makeReport, writeJson, type BenchOptions } from './common.js';

interface Row { config: string; batch: number; tokens: number; gradientCheckpointing: boolean; attention: AttentionPath; steps: number; stepMs: number; cpuMs: number; tokensPerSecond: number; peakMiB: number }

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
    const configs = [false, true].flatMap((gc) => (['flash', 'unfused'] as const).map((path) => ({ gc, path, ms: 0, cpu: 0, peak: 0, n: 0 })));
    const step = (c: typeof configs[number]) => {
      const was = setAttentionPath(c.path);
      try {
        scope(() => {
          const out = trainingForward(model, examples, { gradientCheckpointing: c.gc });
          const { total } = ullavaObjective(out, cfg.loss, ULLAVA_LOSS_FUNCTIONS);
          backward(total as Tensor);
        });
      } finally { setAttentionPath(was); }
      opt.step({ maxGradNorm: 1 });
      opt.zeroGrad();
    };
    const load = loadavg();
    // One warm-up step each (pipelines compiled, pool filled), then rounds in rotating order.
    for (const c of configs) { step(c); await device.sync(); }
    const rounds = o.quick ? 2 : 5;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < configs.length; i++) {
        const c = configs[(i + r) % configs.length];
        await device.sync();
        device.pool.resetPeak();
        const c0 = process.cpuUsage(); const t0 = performance.now();
        step(c); await device.sync();
        c.ms += performance.now() - t0;
        const cu = process.cpuUsage(c0); c.cpu += (cu.user + cu.system) / 1000;
        c.peak = Math.max(c.peak, device.memory().peakLiveBytes); c.n++;
      }
    }
    const rows: Row[] = configs.map((c) => ({ config: 'tiny u-LLaVA, stage II full', batch, tokens, gradientCheckpointing: c.gc, attention: c.path,
      steps: c.n, stepMs: c.ms / c.n, cpuMs: c.cpu / c.n, tokensPerSecond: tokens / (c.ms / c.n / 1000), peakMiB: c.peak / 2 ** 20 }));
    opt.dispose();
    model.dispose();
    printTable(rows.map((r) => ({ ...r, gradientCheckpointing: String(r.gradientCheckpointing) })));
    console.log(`load average at start: ${load.map((x) => x.toFixed(2)).join(' ')}`);
    if (o.json) writeJson(o.json, { ...makeReport('train', device, rows, [
      'one AdamW step (forward, backward, clipped update) of the tiny demo model on synthetic samples with one mask each',
      'attention: the path of every attention call (flash kernels or the unfused composition); the four configurations interleaved round by round',
      'cpuMs: process CPU time per step (user + system, all threads; lavapipe runs in-process)',
    ]), loadAverage: load });
  } finally { await rm(root, { recursive: true, force: true }); }
}
