import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertStepsLeakNothing } from '../../harness/leak.js';
import * as E from '../../../engine/index.js';
import { AdamW, GradScaler, LambdaLR, cosineWithWarmup } from '../../../nn/optim/index.js';
import { maskLoss, boxLoss, combineLosses } from '../../../ullava/train/losses.js';

// A bf16 model trained with AdamW (master weights), loss scaling, clipping, a schedule and the mask and
// box losses: after the first step (which creates the optimizer state) live GPU memory stays flat.
test('AdamW + GradScaler + clipping + u-LLaVA losses: 10 steps leak nothing and the loss falls', async () => {
  const dev = await E.getDevice();
  const w = E.randn([16, 8], 0, 0.3, { seed: 1, dtype: 'bf16' }).requireGrad();
  const b = E.zeros([16], 'bf16').requireGrad();
  const x = E.randn([2, 8], 0, 1, { seed: 3 });
  const gt = E.Tensor.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1], [2, 4, 4]);
  const gtBox = E.Tensor.from([0.1, 0.1, 0.6, 0.7, 0.2, 0.3, 0.9, 0.8], [2, 4]);
  const opt = new AdamW([w, b], { lr: 0.05, weightDecay: 0.01 });
  const sched = new LambdaLR(opt, cosineWithWarmup(2, 40));
  const scaler = new GradScaler({ initScale: 256 });
  const step = () => E.scope(() => {
    const out = E.cast(E.linear(x, w, b), 'f32');
    const m = maskLoss([E.reshape(out, [2, 4, 4])], [gt]);
    const bx = boxLoss(E.sigmoid(E.slice(out, 1, 0, 4)), gtBox);
    const { total } = combineLosses({ mask: m, box: bx });
    E.backward(scaler.scale(total));
    opt.step({ scaler, maxGradNorm: 1 });
    sched.step();
    opt.zeroGrad();
    return total;
  });
  const { first: firstLoss, last } = await assertStepsLeakNothing(dev, step, 10);
  assert.ok(last < firstLoss * 0.9, `the loss falls (${firstLoss} -> ${last})`);
  assert.ok(!(await opt.lastStep()).skipped, 'steps are not skipped at scale 256');
  [w, b, x, gt, gtBox].forEach((t) => t.dispose());
  opt.dispose(); scaler.dispose();
});
