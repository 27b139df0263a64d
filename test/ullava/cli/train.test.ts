import * as assert from 'uvu/assert';
import { test, skip } from '../../harness/test.js';
import { readFileSync, existsSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run, root, squarePng, describe } from './helpers.js';
import { smallTrainModelDir, writeTrainData } from '../train/fixture.js';

test('ullava train --dry-run plans the published 7B on an 80 GB GPU without weights: stage II full does not fit, LoRA with checkpointing does', () => {
  const full = run(['train', '--config', 'stage2', '--model', 'published-7b', '--dry-run']);
  assert.equal(full.status, 0, describe(full));
  assert.ok(/LLM MLP\s+4\.33 B\s+trains/.test(full.stdout) && /SAM image encoder .* frozen/.test(full.stdout), full.stdout);
  assert.ok(/total .*7\.\d\d B .*trainable/.test(full.stdout) && /does NOT fit/.test(full.stdout), full.stdout);
  const lora = run(['train', '--config', 'stage2-lora', '--model', 'published-7b', '--dry-run']);
  assert.equal(lora.status, 0, describe(lora));
  assert.ok(/LoRA adapters \(r 8\)\s+4\.19 M\s+trains/.test(lora.stdout), lora.stdout);
  const m = /total with checkpointing\s+([\d.]+) GiB/.exec(lora.stdout);
  assert.ok(m && Number(m[1]) < 80, lora.stdout);
});

test('ullava train: a wrong config, a missing manifest and an unknown option are refused with the reason', () => {
  const dir = join(root, 'train-bad');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ stage: 'stage2', trainable: ['llm.*'], training: { learning_rate: -1, per_device_train_batch_size: 2, model_max_length: 64 } }));
  const a = run(['train', '--config', join(dir, 'bad.json'), '--data', 'x.jsonl']);
  assert.equal(a.status, 1, describe(a));
  assert.ok(/bad\.json: "training\.learning_rate" must be a number > 0, got -1/.test(a.stderr), a.stderr);
  const b = run(['train', '--config', 'stage2', '--data', join(dir, 'missing.jsonl'), '--out', join(dir, 'out')]);
  assert.equal(b.status, 1, describe(b));
  assert.ok(/missing\.jsonl: cannot read the data manifest \(ENOENT\)/.test(b.stderr), b.stderr);
  const c = run(['train', '--config', 'stage2', '--epochs', '3']);
  assert.equal(c.status, 2, describe(c));
  const d = run(['train', '--config', join(dir, 'nope.json')]);
  assert.equal(d.status, 1, describe(d));
  assert.ok(/nope\.json: cannot read the training config \(ENOENT\)/.test(d.stderr), d.stderr);
});

test('ullava train end to end: 2 steps on the small model write a checkpoint that `ullava segment --model` loads, metrics.jsonl and loss.svg', async () => {
  const model = await smallTrainModelDir();
  const data = await writeTrainData(join(root, 'train-data'), 2);
  const cfg = join(root, 'tiny-stage2.json');
  writeFileSync(cfg, JSON.stringify({ stage: 'stage2', trainable: ['llm.*', 'text_hidden_fcs.*', 'visual_model.mask_decoder.*'],
    frozen: ['visual_model.mask_decoder.iou_prediction_head.*', 'llm.vision_encoder.*'],
    training: { learning_rate: 1e-3, per_device_train_batch_size: 2, model_max_length: 64, max_steps: 2, dtype: 'f32', save_steps: 100 } }));
  const out = join(root, 'train-out');
  const r = run(['train', '--config', cfg, '--model', model, '--data', data, '--out', out]);
  assert.equal(r.status, 0, describe(r));
  assert.ok(/step 2\/2 epoch [\d.]+ loss [\d.]+ \(ce [\d.]+ bce [\d.e-]+ dice [\d.e-]+\) lr [\d.e+-]+ \d+ tok\/s ETA/.test(r.stderr), r.stderr);
  const ck = join(out, 'checkpoint-00000002');
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'config.json', 'tokenizer.model']) assert.ok(existsSync(join(ck, f)), `${f} in the checkpoint`);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.step), [1, 2]);
  assert.ok(['loss', 'ce', 'bce', 'dice'].every((k) => Number.isFinite(lines[1].losses[k])), JSON.stringify(lines[1]));
  assert.ok(readFileSync(join(out, 'loss.svg'), 'utf8').startsWith('<svg'), 'loss.svg is an SVG');
  const again = run(['train', '--config', cfg, '--model', model, '--data', data, '--out', out]);
  assert.equal(again.status, 1, describe(again));
  assert.ok(/already holds checkpoints .* pass --resume/.test(again.stderr), again.stderr);
  const seg = run(['segment', '--model', ck, '--dtype', 'f32', '--image', await squarePng(), '--prompt', 'the square', '--force-seg',
    '--max-new-tokens', '2', '--out', join(root, 'seg-after-train')]);
  assert.equal(seg.status, 0, describe(seg));
});

test('ullava train on a full disk: the checkpoint that does not fit is refused with the reason (exit 1), the earlier one is intact, no partial files are left', async (): Promise<void> => {
  const disk = join(root, 'small-disk');
  mkdirSync(disk, { recursive: true });
  // A 75 MB filesystem: one checkpoint of the small model (49 MB) fits, a second one does not.
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=75M', 'tmpfs', disk], { encoding: 'utf8' });
  if (m.status !== 0) skip(`cannot mount a small tmpfs here (${(m.stderr || m.error?.message || '').trim()}); needs root`);
  try {
    const model = await smallTrainModelDir();
    const data = await writeTrainData(join(root, 'train-data-disk'), 2);
    const cfg = join(root, 'tiny-stage2-disk.json');
    writeFileSync(cfg, JSON.stringify({ stage: 'stage2', trainable: ['llm.*', 'text_hidden_fcs.*', 'visual_model.mask_decoder.*'],
      training: { learning_rate: 1e-3, per_device_train_batch_size: 2, model_max_length: 64, max_steps: 2, dtype: 'f32', save_steps: 1 } }));
    const out = join(disk, 'out');
    const r = run(['train', '--config', cfg, '--model', model, '--data', data, '--out', out, '--quiet']);
    assert.equal(r.status, 1, describe(r));
    assert.ok(/could not write the checkpoint of step 2 .*\(no space left on device\); the earlier checkpoints there are unchanged/.test(r.stderr), r.stderr);
    assert.equal(readdirSync(out).sort(), ['checkpoint-00000001', 'loss.svg', 'metrics.jsonl']);
    const state = JSON.parse(readFileSync(join(out, 'checkpoint-00000001', 'trainer_state.json'), 'utf8'));
    assert.equal(state.step, 1);
    for (const [f, info] of Object.entries(state.files as Record<string, { bytes: number }>)) {
      assert.equal(statSync(join(out, 'checkpoint-00000001', f)).size, info.bytes, f);
    }
  } finally { spawnSync('umount', [disk]); }
});
