import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import { LambdaLR, cosineWithWarmup, linearWithWarmup, constantWithWarmup, warmupStepsFromRatio } from '../../../nn/optim/index.js';

// Values of Hugging Face's schedules written out by hand (warmup 3, total 10).
test('schedules: HF cosine / linear / constant with warmup, LambdaLR semantics (lr = base * f(epoch))', () => {
  const cos = cosineWithWarmup(3, 10);
  const expectCos = [0, 1 / 3, 2 / 3, 1, ...[1, 2, 3, 4, 5, 6, 7].map((k) => 0.5 * (1 + Math.cos(Math.PI * k / 7)))];
  assertClose(Array.from({ length: 12 }, (_, s) => cos(s)), [...expectCos, 0.5 * (1 + Math.cos(Math.PI * 8 / 7))]);
  const lin = linearWithWarmup(3, 10);
  assertClose(Array.from({ length: 12 }, (_, s) => lin(s)), [0, 1 / 3, 2 / 3, 1, 6 / 7, 5 / 7, 4 / 7, 3 / 7, 2 / 7, 1 / 7, 0, 0]);
  assertClose([0, 1, 2, 5].map(constantWithWarmup(2)), [0, 0.5, 1, 1]);
  assertClose([0, 7].map(constantWithWarmup()), [1, 1]);
  assert.equal(warmupStepsFromRatio(0.03, 1000), 30);
  assert.equal(warmupStepsFromRatio(0.03, 10), 1);
  const groups = { paramGroups: [{ lr: 0.1 }, { lr: 1 }] };
  const sched = new LambdaLR(groups, linearWithWarmup(2, 4));
  assert.equal(sched.getLastLr(), [0, 0]);
  sched.step();
  assertClose(sched.getLastLr(), [0.05, 0.5]);
  const saved = sched.stateDict();
  sched.step(); sched.step();
  const again = new LambdaLR({ paramGroups: [{ lr: 9 }, { lr: 9 }] }, linearWithWarmup(2, 4));
  again.loadStateDict(saved);
  assertClose(again.getLastLr(), [0.05, 0.5]);
  again.step();
  assertClose(again.getLastLr(), [0.1, 1]);
});
