// Gradient accumulation through the trainer (ullava/train/trainer.ts): 2 micro-batches of 2 samples with
// gradient_accumulation_steps 2 against one batch of the same 4 samples. The trainer divides each
// micro-batch's loss by the number of micro-batches (HF Trainer's normalisation, which the official code
// trains through): with the same number of supervised tokens and of masks in each micro-batch (here: one
// mask and the same answer per sample) that is the loss of the whole batch, so the logged loss, the
// gradient norm and the updated parameters agree up to float rounding (padding differs: the micro-batches
// pad to their own longest prompt).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdtemp } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { readTrainConfig } from '../../../ullava/train/train-config.js';
import { readManifest } from '../../../ullava/train/sample.js';
import { train } from '../../../ullava/train/trainer.js';
import { resolveConfigPath } from '../../../ullava/train/builtin-configs.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../ullava/train/loss-functions.js';
import type { StepMetrics } from '../../../ullava/train/metrics.js';
import { smallTrainModelDir, writeTrainData } from './fixture.js';

const made: string[] = [];
const tmp = async (p: string) => { const d = await mkdtemp(join(tmpdir(), p)); made.push(d); return d; };
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

async function runWith(batchSize: number, accumulation: number, manifest: string) {
  const cfg = await readTrainConfig(resolveConfigPath('stage2'));
  // SGD-like sensitivity is what shows a wrong normalisation; AdamW's first step is ~lr·sign(g), so two
  // steps are taken (the second divides by the first's moments) and the gradient norm is compared too.
  Object.assign(cfg.training, { dtype: 'f32', batchSize, gradientAccumulationSteps: accumulation, maxLength: 64, warmupRatio: 0,
    lrScheduler: 'constant', learningRate: 1e-3, maxGradNorm: 0, maxSteps: 2, saveSteps: 1000, saveTotalLimit: 1 });
  const dir = await smallTrainModelDir();
  const l = await loadUllava(dir, { dtype: 'f32' });
  const steps: StepMetrics[] = [];
  await train({ model: l.model, tokenizer: l.tokenizer, modelDir: dir, config: cfg, samples: await readManifest(manifest), out: await tmp('ullava-accum-out-'),
    resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined, onStep: (m) => steps.push(m) });
  const params = new Map<string, Float32Array>();
  for (const [k, p] of l.model.namedParameters()) if (p.requiresGrad) params.set(k, await p.toArray() as Float32Array);
  l.model.dispose();
  return { steps, params };
}

test('gradient accumulation: 2 micro-batches of 2 give the loss, gradient norm and update of one batch of 4 (each loss normalised per micro-batch, divided by 2)', async () => {
  await E.getDevice();
  const manifest = await writeTrainData(await tmp('ullava-accum-data-'), 4);
  const whole = await runWith(4, 1, manifest);
  const micro = await runWith(2, 2, manifest);
  for (let i = 0; i < 2; i++) {
    const [a, b] = [whole.steps[i], micro.steps[i]];
    for (const k of ['loss', 'ce', 'bce', 'dice']) {
      assert.ok(Math.abs(a.losses[k] - b.losses[k]) <= 1e-4 * Math.abs(a.losses[k]) + 1e-6, `step ${i + 1} ${k}: batch ${a.losses[k]} vs accumulated ${b.losses[k]}`);
    }
    assert.ok(Math.abs(a.gradNorm! - b.gradNorm!) <= 1e-3 * a.gradNorm!, `step ${i + 1} gradient norm: batch ${a.gradNorm} vs accumulated ${b.gradNorm}`);
  }
  // Parameters after two AdamW steps. The update is ~lr = 1e-3 per element; rounding moves it far less,
  // except where a gradient element is itself at rounding level (AdamW's ~lr·sign(g) can then flip):
  // allow that for one element in 10^4.
  let n = 0, off = 0, sum = 0;
  for (const [k, a] of whole.params) {
    const b = micro.params.get(k)!;
    for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); n++; sum += d; if (d > 1e-4) off++; }
  }
  assert.ok(off <= n * 1e-4, `${off} of ${n} parameters differ by more than 1e-4`);
  assert.ok(sum / n < 1e-6, `mean parameter difference ${sum / n}`);
});
