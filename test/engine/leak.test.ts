import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { assertStepsLeakNothing } from '../harness/leak.js';
import * as E from '../../engine/index.js';

// A two-layer MLP trained with plain SGD: 100 steps of forward + backward + update must leave the live
// GPU memory exactly where it was after the first step (every activation, gradient and temporary freed).
test('100 training steps leave live GPU memory flat', async () => {
  const dev = await E.getDevice();
  const params = [
    E.randn([16, 8], 0, 0.3, { seed: 1 }), E.zeros([16]),
    E.randn([4, 16], 0, 0.3, { seed: 2 }), E.zeros([4]),
  ].map((p) => p.requireGrad());
  const x = E.randn([32, 8], 0, 1, { seed: 3 });
  const target = E.randn([32, 4], 0, 1, { seed: 4 });
  const step = () => E.scope(() => {
    const [w1, b1, w2, b2] = params;
    const h = E.gelu(E.linear(x, w1, b1));
    const y = E.linear(h, w2, b2);
    const loss = E.mean(E.pow(E.sub(y, target), 2));
    E.backward(loss);
    E.noGrad(() => {
      for (const p of params) {
        p.assign(E.sub(p, E.mul(p.grad!, 0.1)));
        p.grad!.dispose(); p.grad = null;
      }
    });
    return loss;
  });
  const { first: firstLoss, last } = await assertStepsLeakNothing(dev, step, 100);
  assert.ok(last < firstLoss, `the loss should go down: ${firstLoss} -> ${last}`);
});
