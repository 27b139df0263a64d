// test/ullava/eval/evaluate.test.ts: the evaluation of a manifest (ullava/eval/evaluate.ts) on the small
// random u-LLaVA of the training tests: teacher-forced masks and boxes equal those of the model's own
// inference path, batching does not change them, the generative protocol counts a missing [SEG] as an
// empty mask, and the trainer's hook gives the same numbers.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../engine/index.js';
import { loadUllava, type LoadedUllava } from '../../../ullava/models/ullava/load.js';
import { prepareExample, type PreparedExample } from '../../../ullava/train/example.js';
import { masksToBoxes, denormalizeFromPaddedSquare, type Box } from '../../../ullava/media/index.js';
import { clampBox } from '../../../ullava/session.js';
import { readEvalRecords } from '../../../ullava/eval/records.js';
import { evaluateRecords, answerSpans } from '../../../ullava/eval/evaluate.js';
import { evaluationHook } from '../../../ullava/eval/hook.js';
import { smallTrainModelDir, writeTrainData } from '../train/fixture.js';

let loaded: Promise<LoadedUllava> | undefined;
const model = () => (loaded ??= (async () => { await E.getDevice(); return loadUllava(await smallTrainModelDir(), { dtype: 'f32' }); })());

/** Mask logits of the [SEG] in x by the inference path (as session.ts): CLIP -> splice -> LLM -> state before [SEG] -> SAM decoder. */
async function referenceMask(l: LoadedUllava, x: PreparedExample): Promise<Float32Array> {
  const m = l.model, size = m.config.vision.imageSize, S = m.config.sam.encoder.imageSize;
  const mask = E.noGrad(() => E.scope(() => {
    const feats = m.encodeImages(E.Tensor.fromHost(x.clipPixels!, [1, 3, size, size], 'f32'));
    const emb = m.embedWithMedia(E.Tensor.from(x.ids, [1, x.ids.length], 'i32'), [{ start: x.ids.indexOf(m.config.tokens.imageStart), features: E.reshape(feats, [feats.shape[1], feats.shape[2]]) }]);
    const out = m.lm.forward({ inputsEmbeds: emb });
    const p = x.segPositions[0];
    const h = E.reshape(E.slice(out.hidden, 1, p - 1, p), [1, out.hidden.shape[2]]);
    const sam = m.visualModel.encodeImage(E.Tensor.fromHost(x.sam!.pixels, [1, 3, S, S], 'f32'));
    return m.decodeMasks(h, sam, x.sam!.inputSize, x.sam!.originalSize);
  }));
  try { return (await mask.toArray()) as Float32Array; } finally { mask.dispose(); }
}

/** I, U counted here directly, and how many pixels are within 1e-3 of the threshold (where the two paths may round apart). */
function countIU(logits: Float32Array, gt: Uint8Array): { i: number; u: number; nearZero: number } {
  let i = 0, u = 0, nearZero = 0;
  for (let p = 0; p < gt.length; p++) {
    if (logits[p] > 0 && gt[p]) i++;
    if (logits[p] > 0 || gt[p]) u++;
    if (Math.abs(logits[p]) < 1e-3) nearZero++;
  }
  return { i, u, nearZero };
}

test('answerSpans: one [start, end) per supervised run', () => {
  assert.equal(answerSpans([-100, -100, 5, 6, -100, 7, -100, -100, 8, 9]), [[2, 4], [5, 6], [8, 10]]);
  assert.equal(answerSpans([-100]), []);
});

test('teacher-forced res: each mask\'s I and U are those of the model\'s inference path; batch 3 gives the same; cIoU / gIoU and intervals from them', async () => {
  const l = await model();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-res-'));
  const { records } = await readEvalRecords(await writeTrainData(dir, 3), 'res');
  const one = await evaluateRecords(l.model, l.tokenizer, records, { task: 'res', worst: 2 });
  const three = await evaluateRecords(l.model, l.tokenizer, records, { task: 'res', batch: 3 });
  assert.is(one.items, 3);
  assert.equal(one.samples.map((s) => s.id), ['1', '2', '3'], 'ids default to the line numbers');
  let sumI = 0, sumU = 0, sumIoU = 0;
  for (const [k, r] of records.entries()) {
    const x = await prepareExample(r.sample, { tokenizer: l.tokenizer, config: l.model.config, maxLength: 2048 });
    const ref = countIU(await referenceMask(l, x), x.masks[0]);
    for (const [name, got] of [['batch 1', one], ['batch 3', three]] as const) {
      const it = got.samples[k].items[0];
      assert.ok(Math.abs(it.intersection! - ref.i) <= ref.nearZero && Math.abs(it.union! - ref.u) <= ref.nearZero,
        `${name} record ${k}: I ${it.intersection} U ${it.union}, reference I ${ref.i} U ${ref.u} (${ref.nearZero} pixels near 0)`);
    }
    const it = one.samples[k].items[0];
    assert.equal([three.samples[k].items[0].intersection, three.samples[k].items[0].union], [it.intersection, it.union], `record ${k}: batch 3 = batch 1`);
    assert.is(it.round, 0);
    assert.is(it.iou, it.union ? it.intersection! / it.union! : 1);
    sumI += it.intersection!; sumU += it.union!; sumIoU += it.iou!;
  }
  assert.is(one.metrics.ciou.value, sumU ? sumI / sumU : 0);
  assert.ok(Math.abs(one.metrics.giou.value - sumIoU / 3) < 1e-12);
  for (const m of ['ciou', 'giou']) {
    const { value, ci95 } = one.metrics[m];
    assert.ok(ci95 && ci95[0] <= value + 1e-12 && value <= ci95[1] + 1e-12, `${m} ${value} in ${ci95}`);
  }
  assert.equal([one.protocol, one.primary, one.bootstrap?.resamples, one.bootstrap?.unit], ['teacher-forced', 'ciou', 1000, 'record']);
  assert.is(one.worst.length, 2);
  assert.ok(one.worst[0].score <= one.worst[1].score, 'worst first');
  assert.ok(one.worst[0].score <= Math.min(...one.samples.map((s) => s.items[0].iou!)), 'the worst is the lowest IoU');
  assert.is(one.worst[0].pred!.length, one.worst[0].width * one.worst[0].height);
});

test('teacher-forced rec without [LOC]: the box of each [SEG] mask (no ground-truth mask needed) against the "boxes" of the record', async () => {
  const l = await model();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-rec-'));
  const manifest = await writeTrainData(dir, 2);
  // rec records: the ground-truth box instead of the mask.
  const lines = (await readFile(manifest, 'utf8')).trim().split('\n').map((s) => JSON.parse(s));
  const rec = join(dir, 'rec.jsonl');
  await writeFile(rec, lines.map((j, i) => JSON.stringify({ task: 'rec', id: `ref-${i}`, image: j.image, conversations: j.conversations, boxes: [[0, 0, 15, 15]] })).join('\n') + '\n');
  const { records } = await readEvalRecords(rec, 'rec');
  const got = await evaluateRecords(l.model, l.tokenizer, records, { task: 'rec' });
  for (const [k, line] of lines.entries()) {
    // The reference mask comes from the sample with its mask (same conversation, same image).
    const x = await prepareExample({ ...records[k].sample, masks: [{ png: join(dir, line.masks[0]) }] }, { tokenizer: l.tokenizer, config: l.model.config, maxLength: 2048 });
    const logits = await referenceMask(l, x);
    const near = Array.from(logits).filter((v) => Math.abs(v) < 1e-3).length;
    const it = got.samples[k].items[0];
    if (near === 0) assert.equal(it.box, masksToBoxes(logits, 32, 32), `record ${k}: the mask's box`);
    assert.equal(it.gtBox, [0, 0, 15, 15]);
    assert.ok(it.iou! >= 0 && it.iou! <= 1);
  }
  assert.equal(got.samples.map((s) => s.id), ['ref-0', 'ref-1']);
  const hits = got.samples.filter((s) => s.items[0].iou! > 0.5).length;
  assert.is(got.metrics['prec@0.5'].value, hits / 2);
});

test('teacher-forced rec with the [LOC] decoder: the box of the state before [LOC] by the inference path, in pixels, clamped to the image', async () => {
  await E.getDevice();
  const l = await loadUllava(await smallTrainModelDir('head'), { dtype: 'f32' });
  try {
    const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-loc-'));
    const { records } = await readEvalRecords(await writeTrainData(dir, 2, { boxes: true }), 'rec');
    const got = await evaluateRecords(l.model, l.tokenizer, records, { task: 'rec', batch: 2 });
    const m = l.model, size = m.config.vision.imageSize;
    for (const [k, r] of records.entries()) {
      const x = await prepareExample(r.sample, { tokenizer: l.tokenizer, config: m.config, maxLength: 2048 });
      const p = x.locPositions[0];
      const box = E.noGrad(() => E.scope(() => {
        const feats = m.encodeImages(E.Tensor.fromHost(x.clipPixels!, [1, 3, size, size], 'f32'));
        const emb = m.embedWithMedia(E.Tensor.from(x.ids, [1, x.ids.length], 'i32'), [{ start: x.ids.indexOf(m.config.tokens.imageStart), features: E.reshape(feats, [feats.shape[1], feats.shape[2]]) }]);
        const h = m.lm.forward({ inputsEmbeds: emb }).hidden;
        return m.decodeBoxes(E.reshape(E.slice(h, 1, p - 1, p), [1, h.shape[2]]));
      }));
      const v = Array.from(await box.toArray()); box.dispose();
      const want = clampBox(denormalizeFromPaddedSquare(v as Box, 32, 32), 32, 32);
      const it = got.samples[k].items[0];
      assert.ok(it.box && it.box.every((c, i) => Math.abs(c - want[i]) < 1e-3), `record ${k}: ${it.box} vs ${want}`);
      assert.equal(it.gtBox, r.sample.boxes[0]);
    }
  } finally { l.model.dispose(); }
});

test('generative res: an answer without [SEG] scores an empty mask (I = 0, U = the ground truth\'s area); the hook gives evaluateRecords\' numbers', async () => {
  const l = await model();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-gen-'));
  const { records } = await readEvalRecords(await writeTrainData(dir, 2), 'res');
  const got = await evaluateRecords(l.model, l.tokenizer, records, { task: 'res', generate: true, maxNewTokens: 3 });
  assert.is(got.protocol, 'generative');
  assert.is(got.items, 2);
  for (const [k, s] of got.samples.entries()) {
    const it = s.items[0];
    const area = (await prepareExample(records[k].sample, { tokenizer: l.tokenizer, config: l.model.config, maxLength: 2048 })).masks[0].reduce((a, v) => a + v, 0);
    if (!it.answer.includes('[SEG]')) assert.equal([it.intersection, it.union], [0, area], `record ${k} answered "${it.answer}"`);
  }
  const hook = evaluationHook({ records, task: 'res' });
  const tf = await evaluateRecords(l.model, l.tokenizer, records, { task: 'res', bootstrap: false });
  assert.is(tf.metrics.ciou.ci95, null);
  assert.equal(await hook.run({ model: l.model, tokenizer: l.tokenizer, step: 1 }), { ciou: tf.metrics.ciou.value, giou: tf.metrics.giou.value, count: 2 });
  assert.is(hook.name, 'res');
});

test('metrics by kind: items the records name a kind of ("refs"[i].expression_type) are also scored apart, as "ciou/<kind>"', async () => {
  const l = await model();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-kinds-'));
  const { records } = await readEvalRecords(await writeTrainData(dir, 3), 'res');
  records.forEach((r, k) => { r.itemKinds = [k === 0 ? 'simple' : 'relational']; });
  const got = await evaluateRecords(l.model, l.tokenizer, records, { task: 'res', bootstrap: false });
  const items = got.samples.map((s) => s.items[0]);
  assert.equal(items.map((i) => i.kind), ['simple', 'relational', 'relational']);
  const ciou = (xs: typeof items) => { const u = xs.reduce((a, i) => a + i.union!, 0); return u ? xs.reduce((a, i) => a + i.intersection!, 0) / u : 0; };
  assert.is(got.metrics['ciou/simple'].value, ciou(items.slice(0, 1)));
  assert.is(got.metrics['ciou/relational'].value, ciou(items.slice(1)));
  assert.is(got.metrics.ciou.value, ciou(items));
  assert.ok(!('ciou/attribute' in got.metrics), 'no metric for a kind no record names');
});
