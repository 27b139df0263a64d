import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { readTrainConfig, type TrainConfig } from '../../../ullava/train/train-config.js';
import { readManifest } from '../../../ullava/train/sample.js';
import { train, type TrainerOptions, type EvalHook } from '../../../ullava/train/trainer.js';
import { prepareExample } from '../../../ullava/train/example.js';
import { trainingForward } from '../../../ullava/train/forward.js';
import { resolveConfigPath } from '../../../ullava/train/builtin-configs.js';
import { applyLora, isLoraKey } from '../../../ullava/train/stages.js';
import { loadCheckpointWeights, listCheckpoints, saveCheckpoint } from '../../../ullava/train/checkpoint.js';
import { smallTrainModelDir, writeTrainData } from './fixture.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../ullava/train/loss-functions.js';

const made: string[] = [];
const tmp = async (p: string) => { const d = await mkdtemp(join(tmpdir(), p)); made.push(d); return d; };
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

async function stageConfig(stage: 'stage1' | 'stage2' | 'stage2-lora', over: Partial<TrainConfig['training']> = {}): Promise<TrainConfig> {
  const c = await readTrainConfig(resolveConfigPath(stage));
  Object.assign(c.training, { dtype: 'f32', batchSize: 2, maxLength: 64, warmupRatio: 0, saveSteps: 1000, saveTotalLimit: 2 }, over);
  return c;
}

async function snapshot(model: { stateDict(): Map<string, E.Tensor> }): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [k, t] of model.stateDict()) { const h = await t.toHost(); out.set(k, new Uint8Array(h.buffer.slice(h.byteOffset, h.byteOffset + h.byteLength))); }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

async function run(cfg: TrainConfig, o: Partial<TrainerOptions> & { manifest: string; out: string }) {
  const dir = await smallTrainModelDir();
  const loaded = await loadUllava(dir, { dtype: 'f32' });
  const r = await train({ model: loaded.model, tokenizer: loaded.tokenizer, modelDir: dir, config: cfg, samples: await readManifest(o.manifest),
    resume: false, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined, ...o });
  return { loaded, r };
}

let data: Promise<string> | null = null;
const manifest = () => (data ??= tmp('ullava-train-data-').then((d) => writeTrainData(d, 4)));

test('stage II full: the frozen towers (CLIP, SAM encoders, IoU head) stay bit-identical; LLM, projector, heads and mask decoder move', async () => {
  await E.getDevice();
  const cfg = await stageConfig('stage2', { learningRate: 1e-3, maxSteps: 2 });
  const dir = await smallTrainModelDir();
  const before = await snapshot((await loadUllava(dir, { dtype: 'f32' })).model);
  const { loaded, r } = await run(cfg, { manifest: await manifest(), out: await tmp('ullava-train-out-') });
  assert.equal(r.lastStep, 2);
  const after = await snapshot(loaded.model);
  const frozen = /^(llm\.vision_encoder\.|visual_model\.image_encoder\.|visual_model\.prompt_encoder\.|visual_model\.mask_decoder\.iou_prediction_head\.)/;
  let frozenSeen = 0, movedSeen = 0;
  for (const [k, a] of before) {
    const moved = !same(a, after.get(k)!);
    if (frozen.test(k)) { frozenSeen++; assert.ok(!moved, `${k} is frozen in stage II but changed`); }
    else if (/^(llm\.model\.layers\.0\.self_attn\.q_proj|llm\.vision_projector|text_hidden_fcs\.0|visual_model\.mask_decoder\.output_hypernetworks_mlps\.0\.layers\.0)\.weight$/.test(k)) {
      movedSeen++; assert.ok(moved, `${k} trains in stage II but did not change`);
    }
  }
  assert.ok(frozenSeen > 30 && movedSeen === 4, `${frozenSeen} frozen, ${movedSeen} moving checked`);
  assert.equal(r.plan.trainable.some((k) => k.startsWith('visual_model.mask_decoder.iou_prediction_head')), false);
  loaded.model.dispose();
});

const child = new URL('./train-child.js', import.meta.url).pathname;

/** Runs the child; `killAt`: SIGKILL (or the given signal) once it reports that step. */
function runChild(args: Record<string, unknown>, killAt?: { step: number; signal: NodeJS.Signals }): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [child, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', sent = false;
    p.stdout.on('data', (d) => {
      out += d;
      if (killAt && !sent && new RegExp(`STEP ${killAt.step}\\n`).test(out)) { sent = true; p.kill(killAt.signal); }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code, signal) => resolve({ code, signal, out, err }));
  });
}

async function checkpointBytes(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const f of ['model.safetensors', 'adapter_model.safetensors', 'optimizer.safetensors']) {
    out[f] = await readFile(join(dir, f)).catch(() => Buffer.alloc(0));
  }
  return out;
}

test('stage I: only the projector and the input embeddings move; the LLM body, LM head, CLIP, SAM and the seg head stay bit-identical', async () => {
  await E.getDevice();
  const cfg = await stageConfig('stage1', { learningRate: 1e-2, maxSteps: 1, gradientCheckpointing: true });
  const before = await snapshot((await loadUllava(await smallTrainModelDir(), { dtype: 'f32' })).model);
  const { loaded, r } = await run(cfg, { manifest: await manifest(), out: await tmp('ullava-train-s1-') });
  assert.equal(r.plan.trainable.sort(), ['llm.model.embed_tokens.weight', 'llm.vision_projector.bias', 'llm.vision_projector.weight']);
  const after = await snapshot(loaded.model);
  for (const [k, a] of before) assert.equal(!same(a, after.get(k)!), r.plan.trainable.includes(k), `${k} ${r.plan.trainable.includes(k) ? 'trains but did not move' : 'is frozen but moved'}`);
  loaded.model.dispose();
});

test('a run killed with SIGKILL at step 3, resumed, stopped with Ctrl-C (checkpoint, exit 0) and resumed again has at step 5 the same bytes (weights, adapters, optimizer state) as a run never interrupted', async () => {
  const model = await smallTrainModelDir();
  const m = await manifest();
  const base = { model, manifest: m, stage: 'stage2-lora', maxSteps: 5, saveSteps: 2 };
  // The uninterrupted reference runs in this process (same code and settings as the child).
  const whole = await tmp('ullava-train-whole-');
  const cfg = await stageConfig('stage2-lora', { warmupRatio: 0.2, learningRate: 1e-3, maxSteps: 5, saveSteps: 2, saveTotalLimit: 3 });
  const ref = await run(cfg, { manifest: m, out: whole });
  ref.loaded.model.dispose();
  const killed = await tmp('ullava-train-killed-');
  const b = await runChild({ ...base, out: killed, resume: false }, { step: 3, signal: 'SIGKILL' });
  assert.equal(b.signal, 'SIGKILL', `${b.out}\n${b.err}`);
  assert.equal((await listCheckpoints(killed)).map((c) => c.step), [2], 'the killed run left its step-2 checkpoint');
  // Resumed from step 2; Ctrl-C once step 3 is reported: step 4 finishes, is checkpointed, exit code 0.
  const c = await runChild({ ...base, out: killed, resume: true }, { step: 3, signal: 'SIGINT' });
  assert.equal(c.code, 0, `${c.out}\n${c.err}`);
  assert.ok(/DONE 4 interrupted/.test(c.out), c.out);
  const d = await runChild({ ...base, out: killed, resume: true });
  assert.equal(d.code, 0, d.err);
  assert.ok(/DONE 5 complete/.test(d.out), d.out);
  const [wa, wb] = [await listCheckpoints(whole), await listCheckpoints(killed)];
  assert.equal([wa[wa.length - 1].step, wb[wb.length - 1].step], [5, 5]);
  const x = await checkpointBytes(wa[wa.length - 1].dir), y = await checkpointBytes(wb[wb.length - 1].dir);
  for (const f of Object.keys(x)) {
    assert.ok(x[f].length > 0, `${f} written`);
    assert.ok(x[f].equals(y[f]), `${f} differs between the uninterrupted and the interrupted-and-resumed run`);
  }
  // The metrics read as one run: steps 1..5 once each.
  const steps = (await readFile(join(killed, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(steps, [1, 2, 3, 4, 5]);
});

test('stage II LoRA trains only the adapters inside the LLM body (its weights bit-identical); merge-lora gives the same logits without adapters', async () => {
  await E.getDevice();
  const cfg = await stageConfig('stage2-lora', { learningRate: 5e-3, maxSteps: 2 });
  const dir = await smallTrainModelDir();
  const before = await snapshot((await loadUllava(dir, { dtype: 'f32' })).model);
  const out = await tmp('ullava-train-lora-');
  const { loaded, r } = await run(cfg, { manifest: await manifest(), out });
  const after = await snapshot(loaded.model);
  let adapters = 0;
  for (const [k, v] of after) {
    if (isLoraKey(k)) { adapters++; if (/lora_B/.test(k)) assert.ok(v.some((b) => b !== 0), `${k} did not train`); continue; }
    if (k.startsWith('llm.model.layers.')) assert.ok(same(before.get(k)!, v), `${k} changed under LoRA`);
  }
  assert.equal(adapters, 2 * 2 * 2, 'q_proj and v_proj of 2 layers, A and B');
  assert.ok(r.plan.trainable.filter((k) => k.startsWith('llm.model.layers.')).every(isLoraKey), 'only adapters train in the body');
  // merge-lora on the checkpoint, then logits of the merged model vs the LoRA model (dropout off).
  const [ck] = (await listCheckpoints(out)).slice(-1);
  const merged = await tmp('ullava-merged-');
  const { mergeLoraCommand } = await import('../../../ullava/cli/merge-lora.js');
  assert.equal(await mergeLoraCommand.run(['--model', ck.dir, '--adapter', ck.dir, '--out', merged, '--quiet']), 0);
  const m = await loadUllava(merged, { dtype: 'f32' });
  assert.ok(![...m.model.stateDict().keys()].some(isLoraKey), 'the merged model has no adapter keys');
  const withLora = await loadUllava(ck.dir, { dtype: 'f32' });
  applyLora(withLora.model, cfg.lora!, 0);
  await loadCheckpointWeights(ck.dir, withLora.model);
  const ids = E.Tensor.from([1, 319, 4996, 17354, 32007, 29889, 2], [1, 7], 'i32');
  const logits = async (l: typeof m) => { l.model.eval(); const t = E.noGrad(() => l.model.lm.forward({ inputIds: ids }).logits); const a = await t.toArray(); t.dispose(); return a; };
  const [a, b] = [await logits(withLora), await logits(m)];
  const base = await logits(await loadUllava(dir, { dtype: 'f32' }));
  assertClose(b, a, { atol: 1e-4, rtol: 1e-4, message: 'merged vs adapters' });
  assert.ok(a.some((v, i) => Math.abs(v - base[i]) > 1e-3), 'the adapters changed the logits (the test would pass trivially otherwise)');
  for (const l of [loaded, m, withLora]) l.model.dispose();
});

test('resume refuses a corrupt or mismatched checkpoint with the reason; a failed checkpoint write leaves the earlier ones untouched', async () => {
  await E.getDevice();
  const out = await tmp('ullava-train-ck-');
  const cfg = await stageConfig('stage2', { learningRate: 1e-3, maxSteps: 1 });
  const { loaded } = await run(cfg, { manifest: await manifest(), out });
  const [ck] = await listCheckpoints(out);
  const dir = await smallTrainModelDir();
  const resume = async (c: TrainConfig) => { const { loaded: l } = await run(c, { manifest: await manifest(), out, resume: true }); l.model.dispose(); };
  // Without --resume, an OUT with checkpoints is not overwritten.
  await assertRejects(async () => { const c2 = await stageConfig('stage2', { learningRate: 1e-3, maxSteps: 1 }); await run(c2, { manifest: await manifest(), out }); }, /already holds checkpoints .* pass --resume/);
  // A changed config.
  await assertRejects(async () => resume(await stageConfig('stage2', { learningRate: 2e-3, maxSteps: 2 })), /the training config changed since this checkpoint was written/);
  await assertRejects(async () => resume(await stageConfig('stage2-lora', { learningRate: 1e-3, maxSteps: 2 })), /this checkpoint is from stage "stage2", the config says "stage2-lora"/);
  // A damaged file.
  const f = join(ck.dir, 'optimizer.safetensors');
  const bytes = await readFile(f);
  bytes[bytes.length - 3] ^= 0xff;
  await writeFile(f, bytes);
  await assertRejects(async () => resume(await stageConfig('stage2', { learningRate: 1e-3, maxSteps: 2 })), /corrupt checkpoint: optimizer\.safetensors has .* recorded/);
  // A write that fails half-way (a tensor that cannot be read back) leaves the directory as it was.
  const listing = (await readdir(out)).sort();
  const dead = E.Tensor.from([1, 2, 3]); dead.dispose();
  await assertRejects(() => saveCheckpoint(out, { model: loaded.model, modelDir: dir, optimizerTensors: new Map([['x', dead]]), adapterConfig: null, keep: 1,
    state: { step: 7, data: { epoch: 0, batch: 0 }, rng: { seed: 1, counter: 0 }, optimizer: {}, stage: 'stage2', configDigest: 'x', extra: {} } }),
    /could not write the checkpoint of step 7 .* the earlier checkpoints there are unchanged/);
  assert.equal((await readdir(out)).sort(), listing, 'no temporary directory left, no checkpoint removed');
  loaded.model.dispose();
});

test('a tiny u-LLaVA overfits 8 samples with masks: in 80 steps the loss falls from ~14 below 0.1, the answers are learnt (CE < 0.01) and the masks too (IoU > 0.9)', async () => {
  await E.getDevice();
  // One batch of all 8 samples, lr 1e-2 decaying by cosine (at a constant 1e-2 the IoU peaks near step 50, then swings), no clipping (the LM head's gradient would dominate the global norm).
  const cfg = await stageConfig('stage2', { batchSize: 8, learningRate: 1e-2, lrScheduler: 'cosine', maxGradNorm: 0, maxSteps: 80 });
  cfg.training.evalSteps = 10;
  // From scratch (random SAM), the official 2 * BCE + 0.5 * Dice first drives every logit negative (the masks cover
  // 6-25% of the image) and the IoU stays ~0 for 30+ steps; weighting Dice up (0.5 * BCE + 4 * Dice) makes the
  // decoder separate the rectangles from the background at once (with this seed and the cosine decay: IoU 0.91 at step 30, 0.97 from step 40 on). The gradients themselves were
  // checked against finite differences through the whole training forward (mask decoder, seg head, LLM).
  cfg.loss = { ...cfg.loss, bce: 0.5, dice: 4 };
  const seen: Record<string, number>[] = [];
  // The evaluation hook (the eval issue plugs its metrics in here): teacher-forced mask IoU on the training samples.
  const evals: { step: number; iou: number }[] = [];
  const eightSamples = await tmp('ullava-train-data8-').then((d) => writeTrainData(d, 8));
  const samples = await readManifest(eightSamples);
  const evalHook: EvalHook = { name: 'train-set mask IoU', async run({ model, tokenizer, step }) {
    const ex = await Promise.all(samples.map((s) => prepareExample(s, { tokenizer, config: model.config, maxLength: 64 })));
    const out = E.noGrad(() => trainingForward(model, ex, { gradientCheckpointing: false }));
    let iou = 0;
    for (let i = 0; i < out.maskLogits.length; i++) {
      const p = await out.maskLogits[i].toArray(), g = await out.maskTargets[i].toArray();
      let inter = 0, union = 0;
      for (let k = 0; k < p.length; k++) { const a = p[k] > 0, b = g[k] > 0.5; inter += +(a && b); union += +(a || b); }
      iou += union ? inter / union : 1;
    }
    E.noGrad(() => { for (const t of [out.hidden, ...out.maskLogits, ...out.maskTargets]) t.dispose(); });
    evals.push({ step, iou: iou / out.maskLogits.length });
    return { maskIoU: iou / out.maskLogits.length };
  } };
  const out = await tmp('ullava-train-overfit-');
  const { loaded } = await run(cfg, { manifest: eightSamples, out, evalHook, onStep: (m) => seen.push(m.losses) });
  assert.equal(evals.map((e) => e.step), [10, 20, 30, 40, 50, 60, 70, 80], 'the hook runs every eval_steps');
  const logged = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.eval);
  assert.equal(logged.map((l) => [l.step, l.metrics.maskIoU]), evals.map((e) => [e.step, e.iou]));
  const [first, last] = [seen[0], seen[seen.length - 1]];
  console.log(`     overfit: loss ${first.loss.toFixed(3)} -> ${last.loss.toFixed(4)}, mask IoU at steps 10/20/.../80: ${evals.map((e) => e.iou.toFixed(3)).join(' / ')}`);
  assert.equal(seen.length, 80);
  assert.ok(first.loss > 10 && last.loss < 0.1, `loss ${first.loss} -> ${last.loss}`);
  assert.ok(last.ce < 0.01, `CE ${first.ce} -> ${last.ce}`);
  assert.ok(last.bce < 0.05 && last.dice < 0.05, `BCE ${first.bce} -> ${last.bce}, Dice ${first.dice} -> ${last.dice}`);
  assert.ok(evals[0].iou < 0.5, `the masks are not known before training (IoU ${evals[0].iou} at step 10)`);
  assert.ok(evals[evals.length - 1].iou > 0.9, `train-set mask IoU ${evals.map((e) => e.iou.toFixed(3)).join(' -> ')}`);
  loaded.model.dispose();
});
