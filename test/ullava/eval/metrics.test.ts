// test/ullava/eval/metrics.test.ts: the evaluation metrics (ullava/eval/metrics.ts) on hand-computed cases
// and against a transcription of the official intersectionAndUnionGPU (histograms over K = 2 classes).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import {
  maskIntersectionUnion, maskIoU, cumulativeIoU, generalizedIoU, precisionAt, predictedBoxIoU, normaliseAnswer, exactMatch, tokenF1,
} from '../../../ullava/eval/metrics.js';
import { seededRandom } from '../../../ullava/eval/bootstrap.js';

const close = (a: number, b: number, m: string) => assert.ok(Math.abs(a - b) < 1e-12, `${m}: ${a} != ${b}`);

test('maskIntersectionUnion: logits > 0 against 0/1 ground truth, 255 left out of both I and U', () => {
  //            in both  gt only  pred only  ignored(pred in)  neither  in both
  const pred = [1,       -1,      2,         0.5,              -3,      1];
  const gt   = [1,       1,       0,         255,              0,       1];
  assert.equal(maskIntersectionUnion(pred, gt), { intersection: 2, union: 4 });
  // A logit of exactly 0 is outside (SAM thresholds > 0).
  assert.equal(maskIntersectionUnion([0, 0], [1, 0]), { intersection: 0, union: 1 });
  // Every ground-truth pixel ignored: nothing counts, whatever the prediction.
  assert.equal(maskIntersectionUnion([5, 5, -5], [255, 255, 255]), { intersection: 0, union: 0 });
  assert.throws(() => maskIntersectionUnion([1, 2], [1]), /prediction has 2 pixels, the ground truth 1/);
});

test('cIoU = sum I / sum U, gIoU = mean per-mask IoU with an empty union (empty ground truth and prediction) counting 1', () => {
  const masks = [
    { intersection: 2, union: 4 },   // 0.5
    { intersection: 0, union: 0 },   // empty ground truth, empty prediction: 1
    { intersection: 1, union: 10 },  // 0.1
    { intersection: 0, union: 3 },   // empty ground truth, a prediction of 3 pixels: 0
  ];
  close(cumulativeIoU(masks), 3 / 17, 'cIoU');
  close(generalizedIoU(masks), (0.5 + 1 + 0.1 + 0) / 4, 'gIoU');
  assert.is(maskIoU({ intersection: 0, union: 0 }), 1);
  assert.is(cumulativeIoU([{ intersection: 0, union: 0 }]), 0, 'cIoU of nothing is 0, as the official + 1e-10');
  assert.ok(Number.isNaN(generalizedIoU([])), 'gIoU of no masks is undefined');
});

/** The official metric, transcribed: output[target == 255] = 255; histograms of output == target, output and target over bins 0..1. */
function officialIntersectionAndUnion(output: number[], target: number[]): { i: number[]; u: number[] } {
  const out = output.map((v, p) => (target[p] === 255 ? 255 : v));
  const hist = (xs: number[]) => [xs.filter((v) => v === 0).length, xs.filter((v) => v === 1).length];
  const inter = hist(out.filter((v, p) => v === target[p]));
  const ao = hist(out), at = hist(target);
  return { i: inter, u: [ao[0] + at[0] - inter[0], ao[1] + at[1] - inter[1]] };
}

test('per-mask I and U and both IoUs equal the official computation (class 1 of intersectionAndUnionGPU) on 200 random masks', () => {
  const rand = seededRandom(7);
  const counts = [], official: { i: number; u: number; acc: number }[] = [];
  for (let m = 0; m < 200; m++) {
    const n = 1 + Math.floor(rand() * 60);
    const density = rand() < 0.15 ? 0 : rand();   // some empty ground truths
    const gt = Array.from({ length: n }, () => (rand() < 0.1 ? 255 : rand() < density ? 1 : 0));
    const logits = Array.from({ length: n }, () => (rand() < 0.2 ? -1 : rand() * 4 - 2));
    const c = maskIntersectionUnion(logits, gt);
    const o = officialIntersectionAndUnion(logits.map((v) => (v > 0 ? 1 : 0)), gt);
    assert.equal([c.intersection, c.union], [o.i[1], o.u[1]], `mask ${m}`);
    counts.push(c);
    official.push({ i: o.i[1], u: o.u[1], acc: o.i[1] / (o.u[1] + 1e-5) + (o.u[1] === 0 ? 1 : 0) });
  }
  const sumI = official.reduce((a, o) => a + o.i, 0), sumU = official.reduce((a, o) => a + o.u, 0);
  close(cumulativeIoU(counts), sumI / (sumU + 1e-10), 'cIoU');
  // The official gIoU divides by U + 1e-5; the exact ratio differs by less than 1e-5 relative.
  const giou = official.reduce((a, o) => a + o.acc, 0) / official.length;
  assert.ok(Math.abs(generalizedIoU(counts) - giou) < 1e-6, `gIoU ${generalizedIoU(counts)} vs official ${giou}`);
  assert.ok(official.some((o) => o.u === 0), 'the random set includes empty unions');
});

test('Prec@0.5 counts IoU strictly above 0.5; a missing box is a miss', () => {
  const gt: [number, number, number, number] = [0, 0, 10, 10];
  const half = predictedBoxIoU([0, 0, 10, 5], gt), more = predictedBoxIoU([0, 0, 10, 6], gt);
  close(half, 0.5, 'half box');
  close(more, 0.6, '0.6 box');
  assert.is(predictedBoxIoU(null, gt), 0);
  close(precisionAt([half, more, 0, 1], 0.5), 2 / 4, 'Prec@0.5');
  assert.ok(Number.isNaN(precisionAt([])));
});

test('exact match normalises case, whitespace and trailing periods only', () => {
  assert.is(normaliseAnswer('  Two   Dogs.. '), 'two dogs');
  assert.ok(exactMatch('Two dogs. ', 'two  dogs'));
  assert.ok(exactMatch('Yes', 'yes.'));
  assert.not.ok(exactMatch('two dogs!', 'two dogs'));
  assert.not.ok(exactMatch('2', 'two'));
});

test('token F1 of captions: multiset overlap, punctuation and case ignored', () => {
  // pred: a cat on a mat (5), truth: the cat sat on the mat (6); common: cat, on, mat -> P 3/5, R 1/2.
  close(tokenF1('A cat on a mat.', 'the cat sat on the mat'), (2 * 0.6 * 0.5) / 1.1, 'F1');
  // Repeated words count as often as they occur in both.
  close(tokenF1('dog dog dog', 'dog'), (2 * (1 / 3) * 1) / (1 / 3 + 1), 'repeats');
  assert.is(tokenF1('', ''), 1);
  assert.is(tokenF1('x', ''), 0);
  assert.is(tokenF1('red square', 'blue circle'), 0);
});
