import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { readTrainConfig, parseTrainConfig, patternToRegExp } from '../../../ullava/train/train-config.js';
import { resolveConfigPath, BUILTIN_CONFIGS } from '../../../ullava/train/builtin-configs.js';
import { ullavaParamGroups, memoryPlan, formatMemoryPlan } from '../../../ullava/train/memory-plan.js';
import { ullavaConfigFromJSON } from '../../../ullava/models/ullava/config.js';
import { UllavaForCausalLM } from '../../../ullava/models/ullava/model.js';
import { tinyUllavaConfigJSON } from '../../../ullava/models/ullava/tiny.js';
import { publishedUllava7bConfigJSON } from '../../../ullava/train/published-7b.js';
import { applyStage } from '../../../ullava/train/stages.js';

test('the built-in stage configs parse and say what the official recipe says', async () => {
  const [s1, s2, lora] = await Promise.all(BUILTIN_CONFIGS.map((n) => readTrainConfig(resolveConfigPath(n))));
  assert.equal([s1.training.learningRate, s1.training.batchSize, s1.training.maxLength, s1.training.gradientCheckpointing], [2e-3, 48, 1024, true]);
  assert.equal([s2.training.learningRate, s2.training.batchSize, s2.training.epochs, s2.training.maxLength], [2e-5, 16, 5, 512]);
  assert.equal(lora.lora, { r: 8, alpha: 16, dropout: 0.05, targetModules: ['q_proj', 'v_proj'] });
  assert.equal([lora.training.learningRate, lora.training.batchSize], [2e-4, 32]);
  for (const c of [s1, s2, lora]) assert.equal([c.training.warmupRatio, c.training.lrScheduler, c.training.seed], [0.03, 'cosine', 42]);
  assert.equal(s2.loss, { ce: 1, bce: 2, dice: 0.5, l1: 1, giou: 1, prompt: 0 });
});

test('a wrong config is refused naming the file, the field and what is expected', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-cfg-'));
  const base = { stage: 'stage2', trainable: ['llm.*'], training: { learning_rate: 1e-4, per_device_train_batch_size: 2, model_max_length: 64 } };
  const cases: [unknown, RegExp][] = [
    [{ ...base, training: { ...base.training, learning_rate: '1e-4' } }, /bad\.json: "training\.learning_rate" must be a number > 0, got "1e-4"/],
    [{ ...base, training: { ...base.training, per_device_train_batch_size: 0 } }, /"training\.per_device_train_batch_size" must be an integer >= 1, got 0/],
    [{ ...base, training: { ...base.training, lr_scheduler_type: 'step' } }, /"training\.lr_scheduler_type" must be one of "cosine", "linear", "constant"/],
    [{ ...base, training: { ...base.training, learnig_rate: 1 } }, /unknown field "training\.learnig_rate"/],
    [{ ...base, stage: 'stage3' }, /"stage" must be one of "stage1", "stage2", "stage2-lora", "sam", "vision", got "stage3"/],
    [{ ...base, lora: { r: 8, target_modules: ['gate_proj'] } }, /"lora\.target_modules" may name q_proj, k_proj, v_proj and o_proj/],
    [{ ...base, trainable: [] }, /"trainable" must list at least one parameter-name pattern/],
    [{ stage: 'stage1', trainable: ['x'] }, /"training" must be an object, got nothing/],
  ];
  for (const [json, re] of cases) {
    const p = join(dir, 'bad.json');
    await writeFile(p, JSON.stringify(json));
    await assertRejects(() => readTrainConfig(p), re);
  }
  await writeFile(join(dir, 'broken.json'), '{"stage": ');
  await assertRejects(() => readTrainConfig(join(dir, 'broken.json')), /broken\.json: not valid JSON/);
  await assertRejects(() => readTrainConfig(join(dir, 'missing.json')), /missing\.json: cannot read the training config \(ENOENT\)/);
});

test('parameter-name patterns: * spans dots, the rest is literal; a trainable pattern that matches nothing is an error', async () => {
  assert.ok(patternToRegExp('llm.model.*').test('llm.model.layers.0.mlp.up_proj.weight'));
  assert.ok(!patternToRegExp('llm.model.*').test('llmXmodel.norm.weight'));
  await E.getDevice();
  const model = new UllavaForCausalLM(ullavaConfigFromJSON(tinyUllavaConfigJSON(), 'tiny'), { seed: 1 });
  try {
    const cfg = parseTrainConfig({ stage: 'stage2', trainable: ['llm.modle.*'], training: { learning_rate: 1, per_device_train_batch_size: 1, model_max_length: 64 } }, 'typo.json');
    let msg = '';
    try { applyStage(model, cfg); } catch (e) { msg = (e as Error).message; }
    assert.ok(/typo\.json: "trainable" pattern "llm\.modle\.\*" matches no parameter/.test(msg), msg);
    // SAM's image encoder never gets gradients (it runs under noGrad): asking to train it is refused, not ignored.
    const sam = parseTrainConfig({ stage: 'stage2', trainable: ['visual_model.*'], training: { learning_rate: 1, per_device_train_batch_size: 1, model_max_length: 64 } }, 'sam.json');
    msg = '';
    try { applyStage(model, sam); } catch (e) { msg = (e as Error).message; }
    assert.ok(/sam\.json: "trainable" reaches SAM's image encoder \(visual_model\.image_encoder\./.test(msg), msg);
    const samFrozen = parseTrainConfig({ stage: 'stage2', trainable: ['visual_model.*'], frozen: ['visual_model.image_encoder.*'], training: { learning_rate: 1, per_device_train_batch_size: 1, model_max_length: 64 } }, 'sam.json');
    assert.ok(applyStage(model, samFrozen).trainable.some((k) => k.startsWith('visual_model.mask_decoder.')));
  } finally { model.dispose(); }
});

test('memory plan: the parameter groups counted from the config equal the tiny model\'s parameters, group by group', async () => {
  await E.getDevice();
  for (const layout of ['published', 'head'] as const) {
    const cfg = ullavaConfigFromJSON(tinyUllavaConfigJSON(layout), 'tiny', layout);
    const model = new UllavaForCausalLM(cfg, { seed: 1 });
    try {
      const groups = ullavaParamGroups(cfg);
      assert.equal(groups.reduce((a, g) => a + g.elements, 0), model.numParameters(), `${layout}: total`);
      const sam = [...model.namedParameters()].filter(([k]) => k.startsWith('visual_model.image_encoder.')).reduce((a, [, t]) => a + t.size, 0);
      assert.equal(groups.find((g) => g.label === 'SAM image encoder')!.elements, sam, `${layout}: SAM image encoder`);
      const iou = [...model.namedParameters()].filter(([k]) => k.includes('iou_prediction_head')).reduce((a, [, t]) => a + t.size, 0);
      assert.equal(groups.find((g) => g.label === 'SAM IoU head')!.elements, iou, `${layout}: IoU head`);
    } finally { model.dispose(); }
  }
});

test('memory plan of the published 7B: ~7.7 B parameters; stage II full does not fit one 80 GB GPU, LoRA does', async () => {
  const cfg = ullavaConfigFromJSON(publishedUllava7bConfigJSON(), 'published 7B');
  const full = await readTrainConfig(resolveConfigPath('stage2'));
  const lora = await readTrainConfig(resolveConfigPath('stage2-lora'));
  const GB80 = 80 * 2 ** 30;
  const pf = memoryPlan({ config: cfg, train: full, batch: 16, seqLen: 512, dtype: 'bf16' });
  assert.ok(pf.totalParams > 7.5e9 && pf.totalParams < 7.9e9, `total ${pf.totalParams}`);
  // LLaMA-7B with 32010 tokens: 6.74 B + 2 x 10 x 4096 new embedding rows.
  const llm = pf.groups.filter((g) => g.example.startsWith('llm.model') || g.example.startsWith('llm.lm_head')).reduce((a, g) => a + g.elements, 0);
  assert.equal(llm, 6738415616 + 2 * 10 * 4096);
  assert.ok(pf.bytes.optimizer === pf.trainableParams * 8 && pf.totalWithCheckpointing > GB80, `stage II full: ${pf.totalWithCheckpointing / 2 ** 30} GiB`);
  const pl = memoryPlan({ config: cfg, train: lora, batch: 16, seqLen: 512, dtype: 'bf16' });
  assert.ok(pl.trainableParams < pf.trainableParams / 10, `LoRA trains ${pl.trainableParams}`);
  assert.ok(pl.totalWithCheckpointing < GB80, `LoRA with checkpointing: ${pl.totalWithCheckpointing / 2 ** 30} GiB`);
  assert.ok(pl.bytes.activationsCheckpointed < pl.bytes.activations / 4, 'checkpointing cuts the activations');
  const text = formatMemoryPlan(pf, { batch: 16, seqLen: 512, dtype: 'bf16', budget: GB80 });
  assert.ok(/does NOT fit/.test(text) && /SAM IoU head .* frozen/.test(text) && /LLM MLP .* trains/.test(text), text);
});
