// The whole training step of a tiny u-LLaVA against float64 PyTorch (test/fixtures/torch/ullava-tiny, written by
// make_model_fixture.py from the upstream semantics): the stage-II objective's parts and the gradient of every
// trainable parameter, through our normal loader (published layout), applyStage, trainingForward, the objective
// and backward, in f32 on the device. Tolerances are explained in test/fixtures/torch/README.md.
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { test } from '../../harness/test.js';
import * as E from '../../../engine/index.js';
import { openCheckpointFile } from '../../../nn/io/checkpoint.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { readTrainConfig } from '../../../ullava/train/train-config.js';
import { resolveConfigPath } from '../../../ullava/train/builtin-configs.js';
import { applyStage } from '../../../ullava/train/stages.js';
import { trainingForward } from '../../../ullava/train/forward.js';
import { ullavaObjective } from '../../../ullava/train/objective.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../ullava/train/loss-functions.js';
import { hashWeights } from '../../fixtures/torch/hash-weights.js';
import { fixtureDir, readFixtureJSON, readTinyInputs, writeTinyModelDir, type TinyExpected, type TinyFixture } from '../../fixtures/torch/ullava-tiny.js';

/** ||a - b|| / ||b||, in f64 (b given as f32 from the fixture). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < b.length; i++) { d += (a[i] - b[i]) ** 2; n += b[i] ** 2; }
  return Math.sqrt(d / n);
}

// Relative to each tensor's norm (README.md: f32 against f64 through the whole model; measured worst 1.8e-5).
const GRAD_RTOL = 2e-4;
const MASK_RTOL = 2e-5;
const LOSS_RTOL = 1e-5;
/** PyTorch's f64 norm below which a gradient is zero in exact arithmetic, and the norm ours may then have. */
const ZERO_IN_EXACT_ARITHMETIC = 1e-12;
const ZERO_ATOL = 1e-9;

async function checkAgainstTorch(fixture: TinyFixture): Promise<void> {
  await E.getDevice();
  const expected = await readFixtureJSON<TinyExpected>(fixture, 'expected.json');
  for (const [k, v] of Object.entries(expected.weight_probe)) {
    assert.equal(Array.from(hashWeights(expected.weights.find((w) => w.name === k)!).subarray(0, v.length)), v, `${k}: hash-weights.ts and make_model_fixture.py generate the same weights`);
  }
  const dir = await writeTinyModelDir(fixture, expected);
  const { model } = await loadUllava(dir, { dtype: 'f32' });
  try {
    const cfg = await readTrainConfig(resolveConfigPath('stage2'));
    const plan = applyStage(model, cfg);
    assert.equal([...plan.trainable].sort(), expected.trainable, 'stage II trains the same parameters as the PyTorch side');
    model.train();
    const examples = await readTinyInputs(fixture);
    const values = await E.scopeAsync(async () => {
      const out = trainingForward(model, examples, { gradientCheckpointing: false });
      const obj = ullavaObjective(out, cfg.loss, ULLAVA_LOSS_FUNCTIONS);
      E.backward(obj.total);
      const masks = await Promise.all(out.maskLogits.map((m) => m.toArray()));
      const parts: Record<string, number> = {};
      for (const [k, v] of Object.entries(obj.parts)) parts[k] = await v.item();
      return { parts, total: await obj.total.item(), masks };
    });
    const ref = await openCheckpointFile(join(fixtureDir(fixture), 'expected.safetensors'));
    const read = async (k: string) => { const b = await ref.read(k); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
    try {
      for (const [i, m] of values.masks.entries()) {
        const e = relErr(m, await read(`mask_logits.${i}`));
        if (process.env.ULLAVA_FIXTURE_REPORT) console.log(`mask logits ${i}: ${e.toExponential(2)}`);
        assert.ok(e < MASK_RTOL, `sample ${i}: mask logits differ by ${e.toExponential(2)} of their norm`);
      }
      assert.equal(Object.keys(values.parts).sort(), Object.keys(expected.losses).filter((k) => k !== 'total').sort(), 'the objective reports the same parts');
      values.parts.total = values.total;
      for (const [k, want] of Object.entries(expected.losses)) {
        const got = values.parts[k];
        if (process.env.ULLAVA_FIXTURE_REPORT) console.log(`${k}: ours ${got}, PyTorch ${want} (relative ${(Math.abs(got - want) / Math.abs(want)).toExponential(2)})`);
        assert.ok(Math.abs(got - want) <= LOSS_RTOL * Math.abs(want), `${k}: ours ${got}, PyTorch ${want}`);
      }
      const params = new Map(model.namedParameters());
      const worst: Record<string, [number, string]> = {};
      const bad: string[] = [];
      for (const k of expected.trainable) {
        const p = params.get(k)!;
        const want = await read(k);
        // sparse_rows: the only rows with a gradient (the others must be 0); sampled_rows: the rows stored.
        const rows = expected.sparse_rows[k] ?? expected.sampled_rows?.[k];
        let got = p.grad ? (await p.grad.toArray()) as Float32Array : new Float32Array(p.size);
        if (rows) {
          const w = p.shape[1];
          const all = got;
          const kept = new Set(rows);
          if (expected.sparse_rows[k]) {
            for (let r = 0; r < p.shape[0]; r++) if (!kept.has(r)) for (let c = 0; c < w; c++) assert.is(all[r * w + c], 0, `${k}: row ${r} is not in the batch, its gradient must be 0`);
          }
          got = Float32Array.from(rows.flatMap((r) => Array.from(all.subarray(r * w, (r + 1) * w))));
        }
        if (expected.grad_norms[k] === 0) {
          // The hypernetworks of the three unused mask tokens: no path to the loss.
          assert.ok(got.every((x) => x === 0), `${k}: PyTorch gives no gradient, ours is not zero`);
          continue;
        }
        if (expected.grad_norms[k] < ZERO_IN_EXACT_ARITHMETIC) {
          // A key projection's bias adds the same q·b to every score of a softmax row, which the softmax
          // cancels: zero in exact arithmetic, rounding noise on both sides (PyTorch f64 ~1e-19, ours f32 ~1e-10).
          const n = Math.hypot(...got);
          if (!(n < ZERO_ATOL)) bad.push(`${k}: zero in exact arithmetic, ours has norm ${n.toExponential(2)}`);
          continue;
        }
        const e = relErr(got, want);
        const group = k.replace(/\.\d+\./g, '.N.').replace(/\.(weight|bias)$/, '');
        if (!worst[group] || worst[group][0] < e) worst[group] = [e, k];
        if (!(e < GRAD_RTOL)) bad.push(`${k}: the gradient differs from PyTorch's by ${e.toExponential(2)} of its norm (${expected.grad_norms[k].toExponential(2)}; ours ${Math.hypot(...got).toExponential(2)})`);
      }
      assert.equal(bad, [], 'gradients within tolerance');
      if (process.env.ULLAVA_FIXTURE_REPORT) for (const [g, [e, k]] of Object.entries(worst)) console.log(`${fixture}: ${e.toExponential(2)}  ${g}  (${k})`);
      const state = model.stateDict();
      for (const k of expected.frozen) {
        const t = state.get(k);
        assert.ok(t, `${k}: in the checkpoint, so in the model`);
        assert.ok(!t.requiresGrad && t.grad === null, `${k} is frozen: no gradient`);
      }
    } finally { await ref.close(); }
  } finally { model.dispose(); }
}

test('tiny u-LLaVA (published layout), stage II: ce, bce, dice and every trainable gradient match float64 PyTorch; frozen parameters get none',
  () => checkAgainstTorch('ullava-tiny'));

test('tiny u-LLaVA (newer layout: seg_projector, det head, [LOC] boxes), stage II: ce, bce, dice, l1, giou and every trainable gradient match float64 PyTorch',
  () => checkAgainstTorch('ullava-tiny-head'));
