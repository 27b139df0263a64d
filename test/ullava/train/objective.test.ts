// test/ullava/train/objective.test.ts: the gradient of the mask objective (ullava/train/objective.ts) through the WHOLE
// training forward (LLM -> [SEG] state -> seg head -> SAM mask decoder -> postprocessing -> BCE + Dice) against central
// finite differences along the gradient's direction, for parameters at each stage of that path.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { readManifest } from '../../../ullava/train/sample.js';
import { prepareExample } from '../../../ullava/train/example.js';
import { trainingForward } from '../../../ullava/train/forward.js';
import { ullavaObjective } from '../../../ullava/train/objective.js';
import { applyStage } from '../../../ullava/train/stages.js';
import { readTrainConfig } from '../../../ullava/train/train-config.js';
import { resolveConfigPath } from '../../../ullava/train/builtin-configs.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../ullava/train/loss-functions.js';
import { smallTrainModelDir, writeTrainData } from './fixture.js';

test('the mask objective\'s gradient reaches the mask decoder, the seg head and the LLM body, and matches finite differences through the whole training forward', async () => {
  await E.getDevice();
  const cfg = await readTrainConfig(resolveConfigPath('stage2'));
  // Only the mask terms (the token CE does not depend on SAM or the seg head, and its size would drown the f32 differences).
  const weights = { ...cfg.loss, ce: 0 };
  const { model, tokenizer } = await loadUllava(await smallTrainModelDir(), { dtype: 'f32' });
  applyStage(model, cfg);
  model.eval();
  const samples = await readManifest(await writeTrainData(await mkdtemp(join(tmpdir(), 'ullava-objective-')), 2));
  const ex = await Promise.all(samples.map((s) => prepareExample(s, { tokenizer, config: model.config, maxLength: 64 })));
  const loss = async (withGrad: boolean) => {
    const v = E.scope(() => {
      const o = ullavaObjective(trainingForward(model, ex, { gradientCheckpointing: false }), weights, ULLAVA_LOSS_FUNCTIONS);
      if (withGrad) E.backward(o.total);
      return o.total.detach();
    });
    const x = await v.item(); v.dispose(); return x;
  };
  await loss(true);
  const params = new Map(model.namedParameters());
  // [name, step as a fraction of the weights' RMS]: larger where the gradient is small (f32 rounding of the loss),
  // smaller where the loss curves more (the output MLP).
  const probed: [string, number][] = [['visual_model.mask_decoder.output_hypernetworks_mlps.0.layers.0.weight', 0.01],
    ['visual_model.mask_decoder.output_upscaling.0.weight', 0.02], ['visual_model.mask_decoder.transformer.layers.0.self_attn.q_proj.weight', 0.02],
    ['text_hidden_fcs.0.weight', 0.03], ['llm.model.layers.1.mlp.down_proj.weight', 0.1]];
  const report: string[] = [];
  for (const [name, relStep] of probed) {
    const p = params.get(name);
    assert.ok(p?.grad, `${name} has a gradient`);
    const g = await p.grad.toArray() as Float32Array, w = await p.toArray() as Float32Array;
    const gNorm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
    assert.ok(gNorm > 1e-6 && Number.isFinite(gNorm), `${name}: |grad| ${gNorm}`);
    // Step along the unit gradient: the directional derivative there is |grad|.
    const eps = relStep * Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    const set = (s: number) => E.noGrad(() => { const t = E.Tensor.fromHost(Float32Array.from(w, (v, i) => v + s * eps * g[i] / gNorm), p.shape, 'f32', p.device); p.assign(t); t.dispose(); });
    set(1); const up = await loss(false);
    set(-1); const down = await loss(false);
    set(0);
    const fd = (up - down) / (2 * eps);
    report.push(`${name}: autograd ${gNorm.toExponential(3)}, FD ${fd.toExponential(3)}`);
    assert.ok(Math.abs(fd - gNorm) < 0.02 * gNorm, report.join('\n'));
  }
  console.log('     ' + report.join('\n     '));
  model.dispose();
});
