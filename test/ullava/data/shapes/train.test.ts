// test/ullava/data/shapes/train.test.ts: the shapes recipe trains a u-LLaVA from scratch: the built-in
// configs parse ("from_scratch" lets the towers train), and a few steps of the `shapes` config on a handful
// of generated samples (the small variant of the preset) lower the loss, move the mask decoder and the LLM
// (not the towers), and write a checkpoint that loads back to the same weights; the "sam" stage trains the
// segmenter alone, the "vision" stage the CLIP-style tower, its projector and the word embeddings alone.
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { generateShapes } from '../../../../ullava/data/shapes/index.js';
import type { ShapesTask } from '../../../../ullava/data/shapes/samples.js';
import { readTrainConfig, parseTrainConfig } from '../../../../ullava/train/train-config.js';
import { resolveConfigPath } from '../../../../ullava/train/builtin-configs.js';
import { readManifest } from '../../../../ullava/train/sample.js';
import { train } from '../../../../ullava/train/trainer.js';
import { applyStage } from '../../../../ullava/train/stages.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../../ullava/train/loss-functions.js';
import { loadUllava } from '../../../../ullava/models/ullava/load.js';
import { UllavaForCausalLM } from '../../../../ullava/models/ullava/model.js';
import { ullavaConfigFromJSON } from '../../../../ullava/models/ullava/config.js';
import { SHAPES_TEST_PRESET, shapesUllavaConfigJSON, sinCosPositions2d, writeRandomUllava } from '../../../../ullava/models/ullava/shapes-preset.js';
import { drawMaskPoint } from '../../../../ullava/train/point-prompt-forward.js';

test('the shapes configs parse; they train the towers only because they say "from_scratch"', async () => {
  await E.getDevice();
  const stage1 = await readTrainConfig(resolveConfigPath('shapes-stage1'));
  const stage2 = await readTrainConfig(resolveConfigPath('shapes'));
  assert.equal([stage1.stage, stage1.fromScratch, stage1.modelPreset], ['stage1', true, 'shapes']);
  assert.equal([stage2.stage, stage2.fromScratch, stage2.modelPreset], ['stage2', true, 'shapes']);
  const model = new UllavaForCausalLM(ullavaConfigFromJSON(shapesUllavaConfigJSON(SHAPES_TEST_PRESET)), { seed: 3 });
  try {
    const plan = applyStage(model, stage2);
    for (const prefix of ['visual_model.mask_decoder.', 'llm.model.layers.', 'llm.vision_projector.', 'text_hidden_fcs.']) {
      assert.ok(plan.trainable.some((k) => k.startsWith(prefix)), `${prefix}* trains in the shapes recipe's stage II`);
    }
    // The CLIP-style tower trains in the "vision" stage, then stays frozen as CLIP in the paper.
    assert.not.ok(plan.trainable.some((k) => k.startsWith('llm.vision_encoder.')), 'the ViT is frozen in stage II');
    assert.not.ok(applyStage(model, stage1).trainable.some((k) => k.startsWith('llm.vision_encoder.')), 'the ViT is frozen in stage I');
    // SAM's image encoder trains in the "sam" stage, then stays frozen as in the paper's stage II.
    assert.not.ok(plan.trainable.some((k) => k.startsWith('visual_model.image_encoder.')), 'SAM\'s image encoder is frozen in stage II');
    const { from_scratch: _f, ...withoutSwitch } = stage2Json();
    assert.throws(() => applyStage(model, parseTrainConfig(withoutSwitch, 'noswitch.json')), /noswitch\.json: "trainable" reaches SAM's image encoder .* or set "from_scratch": true/);
  } finally { model.dispose(); }
});

function stage2Json(): Record<string, unknown> {
  return { stage: 'stage2', from_scratch: true, trainable: ['llm.*', 'text_hidden_fcs.*', 'visual_model.image_encoder.*', 'visual_model.mask_decoder.*'],
    training: { learning_rate: 1e-3, per_device_train_batch_size: 2, model_max_length: 128 } };
}

test('a few steps of stage II of the shapes recipe: the loss falls, the LLM and the mask decoder move (not SAM\'s encoder nor CLIP), the checkpoint reloads to the same weights', async () => {
  await E.getDevice();
  const root = await mkdtemp(join(tmpdir(), 'ullava-shapes-train-'));
  try {
    const data = await generateShapes({ out: join(root, 'data'), n: 4, seed: 500, split: 'train', tasks: ['res'], size: 32 });
    const json = shapesUllavaConfigJSON(SHAPES_TEST_PRESET);
    const modelDir = await writeRandomUllava(join(root, 'init'), json, 7);
    const loaded = await loadUllava(modelDir, { dtype: 'f32' });
    const before = new Map<string, Float32Array>();
    for (const [k, t] of loaded.model.stateDict()) before.set(k, (await t.toArray()) as Float32Array);
    const cfg = await readTrainConfig(resolveConfigPath('shapes'));
    // One batch of all 4 samples, repeated: a few steps at a high learning rate must lower the loss.
    Object.assign(cfg.training, { batchSize: 4, maxSteps: 6, learningRate: 5e-3, warmupRatio: 0, lrScheduler: 'constant', saveSteps: 6, maxLength: 128 });
    const losses: number[] = [], pointer: number[] = [];
    const r = await train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir, config: cfg, samples: await readManifest(data.manifest),
      out: join(root, 'run'), resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined,
      onStep: (m) => { losses.push(m.losses.loss); pointer.push(m.losses.pointer); } });
    console.log(`     shapes recipe, ${losses.length} steps: loss ${losses.map((l) => l.toFixed(2)).join(' ')}; pointer ${pointer.map((l) => l.toFixed(3)).join(' ')}`);
    // The preset's [SEG] is a pointer over the image tokens; its cross-entropy, weighed by "prompt", is part of the objective.
    assert.equal(json.seg_prompt, 'pointer');
    assert.ok(cfg.loss.prompt > 0 && pointer.every((p) => Number.isFinite(p) && p > 0), `pointer loss ${pointer}`);
    assert.equal(losses.length, 6);
    // Seeded and deterministic: 17.27 16.99 16.21 15.48 14.74 13.97 when written (the pointer loss included).
    assert.ok(losses[5] < 0.9 * losses[0], `loss ${losses[0]} -> ${losses[5]}`);
    const moved = (k: string, now: Float32Array) => { const b = before.get(k)!; return now.some((v, i) => v !== b[i]); };
    const after = new Map<string, Float32Array>();
    for (const [k, t] of loaded.model.stateDict()) after.set(k, (await t.toArray()) as Float32Array);
    assert.not.ok(moved('visual_model.image_encoder.blocks.0.attn.qkv.weight', after.get('visual_model.image_encoder.blocks.0.attn.qkv.weight')!), 'SAM\'s image encoder is frozen in stage II');
    const clipQ = 'llm.vision_encoder.vision_model.encoder.layers.0.self_attn.q_proj.weight';
    assert.ok(after.has(clipQ), `${clipQ} is a parameter`);
    assert.not.ok(moved(clipQ, after.get(clipQ)!), 'the ViT is frozen in stage II');
    for (const k of ['llm.vision_projector.weight', 'visual_model.mask_decoder.output_upscaling.0.weight', 'llm.model.layers.0.self_attn.q_proj.weight', 'llm.model.embed_tokens.weight']) {
      assert.ok(after.has(k), `${k} is a parameter`);
      assert.ok(moved(k, after.get(k)!), `${k} trained`);
    }
    assert.ok(r.checkpoint, 'a checkpoint was written');
    const reloaded = await loadUllava(r.checkpoint!, { dtype: 'f32' });
    try {
      for (const [k, t] of reloaded.model.stateDict()) {
        assert.equal(Array.from((await t.toArray()) as Float32Array), Array.from(after.get(k)!), `${k} reloads as trained`);
      }
    } finally { reloaded.model.dispose(); loaded.model.dispose(); }
  } finally { await rm(root, { recursive: true, force: true }); }
});

test('the "sam" stage needs "from_scratch"; drawMaskPoint draws only inside the mask', async () => {
  const sam = await readTrainConfig(resolveConfigPath('shapes-sam'));
  assert.equal([sam.stage, sam.fromScratch, sam.modelPreset], ['sam', true, 'shapes']);
  assert.throws(() => parseTrainConfig({ stage: 'sam', trainable: ['visual_model.mask_decoder.*'], training: { learning_rate: 1e-3, per_device_train_batch_size: 2, model_max_length: 128 } }, 'sam.json'), /sam\.json: "stage": "sam" .* set "from_scratch": true/);
  const m = new Uint8Array(5 * 4); // 5 wide, 4 tall; inside: (1, 2), (3, 2), (4, 3)
  m[2 * 5 + 1] = 1; m[2 * 5 + 3] = 1; m[3 * 5 + 4] = 1;
  let s = 1;
  const rand = () => { s = (s * 48271) % 2147483647; return s / 2147483647; };
  const seen = new Set<string>();
  for (let i = 0; i < 60; i++) seen.add(String(drawMaskPoint(m, 5, rand)));
  assert.equal([...seen].sort(), ['1,2', '3,2', '4,3']);
  assert.is(drawMaskPoint(new Uint8Array(6), 3, rand), null);
});

/**
 * Six steps of a built-in shapes config (one batch of 4 generated samples, repeated, at a high constant rate)
 * on a fresh random model of the test preset under `root`: the loss part `part` per step, and whether a
 * parameter moved. The caller disposes `loaded.model`.
 */
async function sixSteps(root: string, config: string, tasks: ShapesTask[], seed: number, part: string) {
  const data = await generateShapes({ out: join(root, 'data'), n: 4, seed, split: 'train', tasks, size: 32 });
  const modelDir = await writeRandomUllava(join(root, 'init'), shapesUllavaConfigJSON(SHAPES_TEST_PRESET), 7);
  const loaded = await loadUllava(modelDir, { dtype: 'f32' });
  const before = new Map<string, Float32Array>();
  for (const [k, t] of loaded.model.stateDict()) before.set(k, (await t.toArray()) as Float32Array);
  const cfg = await readTrainConfig(resolveConfigPath(config));
  Object.assign(cfg.training, { batchSize: 4, maxSteps: 6, learningRate: 5e-3, warmupRatio: 0, lrScheduler: 'constant', saveSteps: 6, maxLength: 128 });
  const losses: number[] = [];
  await train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir, config: cfg, samples: await readManifest(data.manifest),
    out: join(root, 'run'), resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined, onStep: (m) => losses.push(m.losses[part]) });
  const moved = async (k: string) => { const now = (await loaded.model.stateDict().get(k)!.toArray()) as Float32Array; const b = before.get(k)!; return now.some((v, i) => v !== b[i]); };
  return { loaded, modelDir, cfg, losses, moved, has: (k: string) => before.has(k) };
}

test('a few steps of the "sam" stage: the mask loss falls, only the segmenter moves, a batch without masks is refused', async () => {
  await E.getDevice();
  const root = await mkdtemp(join(tmpdir(), 'ullava-shapes-sam-'));
  try {
    const { loaded, modelDir, cfg, losses, moved, has } = await sixSteps(root, 'shapes-sam', ['res'], 900, 'loss');
    try {
      console.log(`     sam stage, ${losses.length} steps: loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
      assert.ok(losses[5] < 0.9 * losses[0], `loss ${losses[0]} -> ${losses[5]}`);
      for (const k of ['visual_model.image_encoder.blocks.0.attn.qkv.weight', 'visual_model.mask_decoder.output_upscaling.0.weight', 'visual_model.prompt_encoder.point_embeddings.1.weight']) {
        assert.ok(await moved(k), `${k} trained`);
      }
      for (const k of ['llm.model.layers.0.self_attn.q_proj.weight', 'llm.vision_encoder.vision_model.encoder.layers.0.self_attn.q_proj.weight', 'text_hidden_fcs.0.0.weight']) {
        if (has(k)) assert.not.ok(await moved(k), `${k} does not train in the sam stage`);
      }
      const vqa = await generateShapes({ out: join(root, 'vqa'), n: 2, seed: 950, split: 'train', tasks: ['vqa'], size: 32 });
      Object.assign(cfg.training, { batchSize: 2, maxSteps: 1 });
      const vqaSamples = await readManifest(vqa.manifest);
      await assertRejects(() => train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir, config: cfg, samples: vqaSamples,
        out: join(root, 'run-vqa'), resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined }), /the "sam" stage trains on masks: this batch has none/);
    } finally { loaded.model.dispose(); }
  } finally { await rm(root, { recursive: true, force: true }); }
});

test('a few steps of the "vision" stage: the patch-word loss falls, only the CLIP-style tower, its projector and the word embeddings move, a batch without objects is refused', async () => {
  await E.getDevice();
  assert.throws(() => parseTrainConfig({ stage: 'vision', trainable: ['llm.vision_encoder.*'], training: { learning_rate: 1e-3, per_device_train_batch_size: 2, model_max_length: 128 } }, 'v.json'), /v\.json: "stage": "vision" .* set "from_scratch": true/);
  const root = await mkdtemp(join(tmpdir(), 'ullava-shapes-vision-'));
  try {
    const { loaded, modelDir, cfg, losses, moved } = await sixSteps(root, 'shapes-vision', ['caption'], 1300, 'words');
    try {
      assert.equal([cfg.stage, cfg.fromScratch], ['vision', true]);
      console.log(`     vision stage, ${losses.length} steps: patch-word loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
      // Chance over the batch's words (up to 18) is ~ln 18 = 2.9 at the start.
      assert.ok(losses.every(Number.isFinite) && losses[5] < 0.8 * losses[0], `loss ${losses[0]} -> ${losses[5]}`);
      for (const k of ['llm.vision_encoder.vision_model.encoder.layers.0.self_attn.q_proj.weight', 'llm.vision_projector.weight', 'llm.model.embed_tokens.weight']) {
        assert.ok(await moved(k), `${k} trained`);
      }
      for (const k of ['llm.model.layers.0.self_attn.q_proj.weight', 'visual_model.image_encoder.blocks.0.attn.qkv.weight', 'visual_model.mask_decoder.output_upscaling.0.weight']) {
        assert.not.ok(await moved(k), `${k} does not train in the vision stage`);
      }
      const video = await generateShapes({ out: join(root, 'video'), n: 2, seed: 1350, split: 'train', tasks: ['video'], size: 32 });
      Object.assign(cfg.training, { batchSize: 2, maxSteps: 1 });
      const videoSamples = await readManifest(video.manifest);
      await assertRejects(() => train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir, config: cfg, samples: videoSamples,
        out: join(root, 'run-video'), resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined }), /the "vision" stage learns from annotated objects: this batch has none/);
    } finally { loaded.model.dispose(); }
  } finally { await rm(root, { recursive: true, force: true }); }
});

test('a preset model starts its CLIP position embeddings as 2D sin-cos (class token 0): row and column codes, as MAE\'s', async () => {
  const p = sinCosPositions2d(3, 8); // 3x3 grid, width 8: 2 frequencies (1, 1/100) per axis
  assert.is(p.length, 10 * 8);
  assert.equal(Array.from(p.subarray(0, 8)), [0, 0, 0, 0, 0, 0, 0, 0]);
  // Patch (row 1, column 2) is token 1 + 1 * 3 + 2 = 6: [sin(1), sin(1/100), cos(1), cos(1/100), sin(2), sin(2/100), cos(2), cos(2/100)].
  const want = [Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01), Math.sin(2), Math.sin(0.02), Math.cos(2), Math.cos(0.02)];
  Array.from(p.subarray(6 * 8, 7 * 8)).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `channel ${i}: ${v} vs ${want[i]}`));
  assert.throws(() => sinCosPositions2d(2, 6), /not a multiple of 4/);
  await E.getDevice();
  const root = await mkdtemp(join(tmpdir(), 'ullava-preset-'));
  try {
    const dir = await writeRandomUllava(join(root, 'init'), shapesUllavaConfigJSON(SHAPES_TEST_PRESET), 7);
    const loaded = await loadUllava(dir, { dtype: 'f32' });
    try {
      const pos = (await loaded.model.stateDict().get('llm.vision_encoder.vision_model.embeddings.position_embedding.weight')!.toArray()) as Float32Array;
      const grid = SHAPES_TEST_PRESET.imageSize / SHAPES_TEST_PRESET.clipPatch;
      assert.equal(Array.from(pos), Array.from(sinCosPositions2d(grid, SHAPES_TEST_PRESET.clipWidth)));
    } finally { loaded.model.dispose(); }
  } finally { await rm(root, { recursive: true, force: true }); }
});
