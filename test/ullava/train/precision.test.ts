// The trainer (ullava/train/trainer.ts) in 16-bit: bf16 parameters with f32 master weights in AdamW, and
// f16 with dynamic loss scaling (nn/optim GradScaler, PyTorch's semantics): an overflowing scale skips the
// step (nothing moves, the schedule does not advance) and halves the scale, the scale survives --resume,
// and a few steps at a sane scale lower the loss.
import * as assert from 'uvu/assert';
import { test, skip } from '../../harness/test.js';
import { mkdtemp } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { readTrainConfig, type TrainConfig } from '../../../ullava/train/train-config.js';
import { readManifest } from '../../../ullava/train/sample.js';
import { train, type TrainerOptions } from '../../../ullava/train/trainer.js';
import { resolveConfigPath } from '../../../ullava/train/builtin-configs.js';
import { listCheckpoints, readOptimizerTensors } from '../../../ullava/train/checkpoint.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../ullava/train/loss-functions.js';
import type { StepMetrics } from '../../../ullava/train/metrics.js';
import { smallTrainModelDir, writeTrainData } from './fixture.js';

const made: string[] = [];
const tmp = async (p: string) => { const d = await mkdtemp(join(tmpdir(), p)); made.push(d); return d; };
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

async function config(dtype: 'bf16' | 'f16', over: Partial<TrainConfig['training']> = {}): Promise<TrainConfig> {
  const c = await readTrainConfig(resolveConfigPath('stage2'));
  // Two samples, batch 2: every step sees the same batch, so the loss must fall.
  Object.assign(c.training, { dtype, batchSize: 2, maxLength: 64, warmupRatio: 0, lrScheduler: 'constant', learningRate: 1e-3,
    saveSteps: 1000, saveTotalLimit: 2 }, over);
  return c;
}

let data: Promise<string> | null = null;
const manifest = () => (data ??= tmp('ullava-prec-data-').then((d) => writeTrainData(d, 2)));

async function run(cfg: TrainConfig, dtype: 'bf16' | 'f16', o: Partial<TrainerOptions> & { out: string }) {
  const dir = await smallTrainModelDir();
  const loaded = await loadUllava(dir, { dtype });
  const steps: StepMetrics[] = [];
  const r = await train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir: dir, config: cfg, samples: await readManifest(await manifest()),
    resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined, onStep: (m) => steps.push(m), ...o });
  return { loaded, r, steps };
}

const bf16ToF32 = (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0];
const f32ToBf16 = (x: number) => { const b = new Uint32Array(new Float32Array([x]).buffer)[0]; return ((b + 0x7fff + ((b >> 16) & 1)) >>> 16) & 0xffff; };

test('bf16 training: 4 steps lower the loss at each step; parameters stay bf16, AdamW keeps f32 master weights whose rounding is the parameter', async () => {
  await E.getDevice();
  const out = await tmp('ullava-prec-bf16-');
  const { loaded, r, steps } = await run(await config('bf16', { maxSteps: 4 }), 'bf16', { out });
  assert.equal(r.lastStep, 4);
  const losses = steps.map((s) => s.losses.loss);
  assert.ok(losses.every(Number.isFinite), `finite losses: ${losses}`);
  // Measured: 12.35 -> 12.11 -> 11.86 -> 11.62 (lr 1e-3, the same batch each step).
  assert.ok(losses.every((x, i) => i === 0 || x < losses[i - 1]) && losses[3] < 0.97 * losses[0], `loss falls: ${losses.map((x) => x.toFixed(3)).join(' -> ')}`);
  const trainable = [...loaded.model.namedParameters()].filter(([, p]) => p.requiresGrad);
  assert.ok(trainable.length > 20 && trainable.every(([, p]) => p.dtype === 'bf16'), 'every trainable parameter is still bf16');
  // The checkpoint's optimizer state holds an f32 master copy of each bf16 parameter (state.<i>.master);
  // the parameter is that master rounded to nearest-even bf16.
  const [ck] = await listCheckpoints(out);
  const opt = await readOptimizerTensors(ck.dir);
  const masters = [...opt].filter(([k]) => k.endsWith('.master'));
  assert.ok(masters.length > 0 && masters.every(([, t]) => t.dtype === 'F32'), `f32 masters: ${masters.map(([k, t]) => `${k} ${t.dtype}`).slice(0, 3)}`);
  const q = trainable.find(([k]) => k === 'llm.model.layers.0.self_attn.q_proj.weight')![1];
  const qHost = await q.toHost() as Uint16Array;
  const total = masters.reduce((a, [, t]) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(total, trainable.reduce((a, [, p]) => a + p.size, 0), 'one master element per trainable element');
  // Find q_proj's master by content: the bucket that holds it has its elements rounded to the parameter.
  let matched = false;
  for (const [, t] of masters) {
    const f = new Float32Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength));
    for (let at = 0; at + qHost.length <= f.length && !matched; at++) {
      if (f32ToBf16(f[at]) !== qHost[0] || f32ToBf16(f[at + 1]) !== qHost[1]) continue;
      matched = Array.from(qHost).every((h, i) => f32ToBf16(f[at + i]) === h);
      if (matched) assert.ok(Array.from(qHost).some((h, i) => bf16ToF32(h) !== f[at + i]), 'the master carries bits the bf16 parameter cannot');
    }
  }
  assert.ok(matched, 'q_proj is the bf16 rounding of an f32 master in the optimizer state');
  loaded.model.dispose();
});

test('f16 training: an overflowing loss scale skips the step (nothing moves) and halves the scale; the scale is checkpointed and resumed', async () => {
  const dev = await E.getDevice();
  if (!dev.has('shader-f16')) skip('no shader-f16 on this adapter: f16 training is refused there');
  const out = await tmp('ullava-prec-f16-skip-');
  // 2^60 times any loss gradient overflows f16 (max 65504) at the first 16-bit activation.
  // A linear schedule: had a skipped step advanced it, the next step's lr would be lower.
  const cfg = await config('f16', { maxSteps: 3, lossScaleInit: 2 ** 60, lrScheduler: 'linear' });
  const before = new Map<string, Uint16Array>();
  {
    const l = await loadUllava(await smallTrainModelDir(), { dtype: 'f16' });
    for (const [k, p] of l.model.namedParameters()) before.set(k, await p.toHost() as Uint16Array);
    l.model.dispose();
  }
  const a = await run(cfg, 'f16', { out, stopAfter: 2 });
  assert.equal(a.steps.map((s) => [s.skipped, s.lossScale]), [[true, 2 ** 59], [true, 2 ** 58]]);
  assert.equal(a.steps.map((s) => s.lr), [1e-3, 1e-3]);
  for (const [k, p] of a.loaded.model.namedParameters()) {
    const h = await p.toHost() as Uint16Array;
    assert.ok(h.every((x, i) => x === before.get(k)![i]), `${k} moved in a skipped step`);
  }
  a.loaded.model.dispose();
  // Resumed: the scale continues from the checkpoint's 2^58 (a fresh scaler would start again at 2^60).
  const b = await run(cfg, 'f16', { out, resume: true });
  assert.equal(b.steps.map((s) => [s.step, s.skipped, s.lossScale, s.lr]), [[3, true, 2 ** 57, 1e-3]]);
  b.loaded.model.dispose();
});

test('f16 training: at a sane loss scale a few steps lower the loss; the scale grows after the growth interval of clean steps', async () => {
  const dev = await E.getDevice();
  if (!dev.has('shader-f16')) skip('no shader-f16 on this adapter: f16 training is refused there');
  const cfg = await config('f16', { maxSteps: 4, lossScaleInit: 2 ** 8, lossScaleGrowthInterval: 2 });
  const { loaded, steps } = await run(cfg, 'f16', { out: await tmp('ullava-prec-f16-') });
  const losses = steps.map((s) => s.losses.loss);
  assert.equal(steps.map((s) => s.skipped), [false, false, false, false], 'no overflow at 2^8');
  assert.equal(steps.map((s) => s.lossScale), [2 ** 8, 2 ** 9, 2 ** 9, 2 ** 10], 'x2 after every 2 clean steps');
  assert.ok(losses.every((x, i) => Number.isFinite(x) && (i === 0 || x < losses[i - 1])) && losses[3] < 0.97 * losses[0], `loss falls: ${losses.map((x) => x.toFixed(3)).join(' -> ')}`);
  assert.ok([...loaded.model.namedParameters()].filter(([, p]) => p.requiresGrad).every(([, p]) => p.dtype === 'f16'));
  loaded.model.dispose();
});
