import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { mkdtemp, readFile, writeFile, readdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { readManifest } from '../../../ullava/train/sample.js';
import { prepareExample, IGNORE_INDEX } from '../../../ullava/train/example.js';
import { trainingForward } from '../../../ullava/train/forward.js';
import { smallTrainModelDir, writeTrainData } from './fixture.js';

async function setup(segPrompt: 'projected' | 'pointer' = 'projected') {
  await E.getDevice();
  let dir = await smallTrainModelDir();
  if (segPrompt === 'pointer') {
    // The same weights, read as a pointer model (config.json "seg_prompt": "pointer").
    const copy = await mkdtemp(join(tmpdir(), 'ullava-pointer-model-'));
    for (const f of await readdir(dir)) await copyFile(join(dir, f), join(copy, f));
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(copy, 'config.json'), JSON.stringify({ ...json, seg_prompt: 'pointer' }));
    dir = copy;
  }
  const l = await loadUllava(dir, { dtype: 'f32' });
  const samples = await readManifest(await writeTrainData(await mkdtemp(join(tmpdir(), 'ullava-fwd-')), 2));
  // Different lengths, so the batch is padded.
  samples[1].conversations![1].value = 'Sure, here it is. Info: [SEG].';
  const ex = await Promise.all(samples.map((s) => prepareExample(s, { tokenizer: l.tokenizer, config: l.model.config, maxLength: 64 })));
  return { l, ex };
}

for (const segPrompt of ['projected', 'pointer'] as const) {
  test(`the training forward matches the inference path (${segPrompt} [SEG] prompt): logits at supervised rows, and the mask of the state before [SEG], also for the shorter, padded row`, async () => {
    const { l, ex } = await setup(segPrompt);
    const m = l.model.eval();
    assert.equal(m.config.segPrompt, segPrompt);
    assert.ok(ex[0].ids.length !== ex[1].ids.length, 'two lengths');
    const e = ex[0];
    assert.equal(e.ids[e.segPositions[0]], m.config.segTokenId);
    assert.ok(e.labels.slice(0, e.mediaStart + 5).every((x) => x === IGNORE_INDEX), 'the prompt and the image span are not supervised');
    const batched = E.noGrad(() => trainingForward(m, ex, { gradientCheckpointing: false }));
    assert.equal(batched.pointerLoss != null, segPrompt === 'pointer', 'a pointer model returns its pointer loss');
    const S = batched.hidden.shape[1];
    for (const [b, x] of ex.entries()) {
      // Reference: one sample through encodeImages -> embedWithMedia -> lm.forward -> decodeMasks, as session.ts does.
      const ref = E.noGrad(() => E.scope(() => {
        const px = E.Tensor.fromHost(x.clipPixels!, [1, 3, 28, 28], 'f32');
        const feats = m.encodeImages(px);
        const ids = E.Tensor.from(x.ids, [1, x.ids.length], 'i32');
        const span = { start: x.mediaStart, features: E.reshape(feats, [feats.shape[1], feats.shape[2]]) };
        const emb = m.embedWithMedia(ids, [span]);
        const out = m.lm.forward({ inputsEmbeds: emb });
        const p = x.segPositions[0];
        const h = E.reshape(E.slice(out.hidden, 1, p - 1, p), [1, out.hidden.shape[2]]);
        const sam = m.visualModel.encodeImage(E.Tensor.fromHost(x.sam!.pixels, [1, 3, 64, 64], 'f32'));
        // As session.ts: the pointer reads the prompt that was asked (the ids before the first supervised one).
        const image = segPrompt === 'pointer' ? { features: span.features, prompts: [x.ids.slice(0, x.labels.findIndex((l) => l !== IGNORE_INDEX))] } : null;
        return { logits: out.logits, mask: m.decodeMasks(h, sam, x.sam!.inputSize, x.sam!.originalSize, image), sam, features: span.features };
      }));
      const rows = x.ids.slice(0, -1).flatMap((_, t) => (x.labels[t + 1] !== IGNORE_INDEX ? [t] : []));
      const got = E.noGrad(() => E.scope(() => batched.lmHead(E.indexSelect(E.reshape(batched.hidden, [ex.length * S, batched.hidden.shape[2]]), 0,
        E.Tensor.from(rows.map((t) => b * S + t), [rows.length], 'i32')))));
      const all = await ref.logits.toArray(), V = ref.logits.shape[2];
      const want = rows.flatMap((t) => Array.from(all.slice(t * V, (t + 1) * V)));
      assertClose(await got.toArray(), want, { atol: 2e-4, rtol: 1e-3, message: `row ${b}: logits at supervised positions` });
      const wantMask = await ref.mask.toArray();
      assertClose(await batched.maskLogits[b].toArray(), wantMask, { atol: 2e-4, rtol: 1e-3, message: `row ${b}: mask logits` });
      if (segPrompt === 'pointer') {
        assert.throws(() => m.decodeMasks(E.slice(batched.hidden, 0, 0, 1), ref.sam, x.sam!.inputSize, x.sam!.originalSize), /seg_prompt "pointer"/);
      }
      for (const t of [got, ref.logits, ref.mask, ref.sam, ref.features]) t.dispose();
    }
    l.model.dispose();
  });
}

test('gradient checkpointing gives the same loss and the same gradients (recompute in backward)', async () => {
  const { l, ex } = await setup();
  const m = l.model.train();
  const probe = ['llm.model.layers.0.self_attn.q_proj.weight', 'llm.model.layers.1.mlp.down_proj.weight', 'llm.vision_projector.weight', 'text_hidden_fcs.0.weight'];
  const sd = m.stateDict();
  const grads: Float32Array[][] = [], losses: number[] = [];
  for (const gc of [false, true]) {
    const loss = E.scope(() => {
      const out = trainingForward(m, ex, { gradientCheckpointing: gc });
      const l2 = E.add(E.binaryCrossEntropyWithLogits(out.maskLogits[0], out.maskTargets[0]), E.mean(out.hidden));
      E.backward(l2);
      return l2.detach();
    });
    losses.push(await loss.item()); loss.dispose();
    grads.push(await Promise.all(probe.map(async (k) => (await sd.get(k)!.grad!.toArray()) as Float32Array)));
    m.zeroGrad();
  }
  assertClose([losses[1]], [losses[0]], { atol: 0, rtol: 1e-6, message: 'loss' });
  // Not bit-identical: the no-grad forward may pick another attention kernel than the recompute.
  probe.forEach((k, i) => assertClose(grads[1][i], grads[0][i], { atol: 1e-6, rtol: 1e-4, message: k }));
  l.model.dispose();
});

test('a video sample in a batch with an image one: its frames go through encodeVideo into the <vid_beg> block, as the inference path', async () => {
  await E.getDevice();
  const l = await loadUllava(await smallTrainModelDir(), { dtype: 'f32' });
  const m = l.model.eval();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-fwd-video-'));
  const manifest = await writeTrainData(dir, 3);
  const frames = ['image_0.png', 'image_1.png', 'image_2.png'];
  await writeFile(manifest, (await readFile(manifest, 'utf8')) + JSON.stringify({ task: 'video', video: { frames },
    conversations: [{ from: 'human', value: '<video>\nWhat changes?' }, { from: 'gpt', value: 'The box moves and changes colour.' }] }) + '\n');
  const samples = await readManifest(manifest);
  const o = { tokenizer: l.tokenizer, config: m.config, maxLength: 96, videoFrames: 4 };
  const ex = [await prepareExample(samples[0], o), await prepareExample(samples[3], { ...o, seed: 5 })];
  const v = ex[1];
  assert.equal([v.media, v.frames, v.ids[v.mediaStart]], ['video', 4, m.config.tokens.videoStart]);
  const batched = E.noGrad(() => trainingForward(m, ex, { gradientCheckpointing: false }));
  const S = batched.hidden.shape[1];
  const ref = E.noGrad(() => E.scope(() => {
    const feats = m.encodeVideo(E.Tensor.fromHost(v.clipPixels!, [4, 3, 28, 28], 'f32'));
    assert.equal(feats.shape[0], 4 + 4, 'T temporal + 4 spatial tokens');
    const emb = m.embedWithMedia(E.Tensor.from(v.ids, [1, v.ids.length], 'i32'), [{ start: v.mediaStart, features: feats }]);
    return m.lm.forward({ inputsEmbeds: emb }).logits;
  }));
  const rows = v.ids.slice(0, -1).flatMap((_, t) => (v.labels[t + 1] !== IGNORE_INDEX ? [t] : []));
  const got = E.noGrad(() => E.scope(() => batched.lmHead(E.indexSelect(E.reshape(batched.hidden, [2 * S, batched.hidden.shape[2]]), 0,
    E.Tensor.from(rows.map((t) => S + t), [rows.length], 'i32')))));
  const all = await ref.toArray(), V = ref.shape[2];
  assertClose(await got.toArray(), rows.flatMap((t) => Array.from(all.slice(t * V, (t + 1) * V))), { atol: 2e-4, rtol: 1e-3, message: 'video row logits' });
  assert.is(batched.maskLogits.length, 1, 'the image sample still has its mask');
  for (const t of [got, ref]) t.dispose();
  l.model.dispose();
});
