import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { sampleToken, makeRng, StopStrings, validateSampling } from '../../../ullava/chat/sampling.js';

const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);

test('sampling: greedy, repetition penalty, top-k 1, seeded draws', () => {
  const rng = makeRng(1);
  assert.equal(sampleToken(logits, {}, [], rng), 1);
  // Penalty 2 halves token 1's positive logit (3 -> 1.5): token 4 (2.9) wins.
  assert.equal(sampleToken(logits, { repetitionPenalty: 2 }, [1, 1], rng), 4);
  assert.equal(sampleToken(logits, { temperature: 1, topK: 1 }, [], rng), 1);
  const a = Array.from({ length: 20 }, () => sampleToken(logits, { temperature: 1 }, [], makeRng(7)));
  assert.ok(a.every((x) => x === a[0]), 'same seed, same draw');
});

test('sampling: frequencies follow softmax(logits / T); top-p keeps the nucleus only', () => {
  const rng = makeRng(3);
  const counts = new Array(5).fill(0);
  const N = 20000;
  for (let i = 0; i < N; i++) counts[sampleToken(logits, { temperature: 0.7 }, [], rng)]++;
  const e = [...logits].map((x) => Math.exp(x / 0.7));
  const z = e.reduce((p, c) => p + c, 0);
  e.forEach((v, i) => assert.ok(Math.abs(counts[i] / N - v / z) < 0.015, `token ${i}: ${counts[i] / N} vs ${v / z}`));
  // With top-p 0.5 at T=1: p(1)=0.39, p(4)=0.35 -> the nucleus is {1, 4}.
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.5 }, [], rng));
  assert.equal([...seen].sort(), [1, 4]);
});

test('sampling: bad options are refused with the value', () => {
  for (const [o, re] of [[{ temperature: -1 }, /temperature/], [{ topP: 0 }, /top-p/], [{ topK: 1.5 }, /top-k/], [{ repetitionPenalty: 0 }, /repetition/]] as const) {
    let msg = '';
    try { validateSampling(o); } catch (e) { msg = (e as Error).message; }
    assert.ok(re.test(msg), msg);
  }
});

test('stop strings: found across pieces; a partial match is held back', () => {
  const s = new StopStrings(['</s>', '###']);
  assert.equal(s.push('Sure. It is a '), -1);
  assert.equal(s.push('dog</'), -1);
  assert.equal(s.pendingPrefix(), 2);
  assert.equal(s.push('s> more'), 'Sure. It is a dog'.length);
});
