import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';

// The fused cross-entropy kernel against the composed reference at LLM-like widths, with ignored
// targets, for every reduction, including the gradient.
for (const dtype of ['f32', 'bf16'] as const) {
  test(`fused cross-entropy equals the composed ops (vocab 32010, ${dtype})`, async () => {
    await E.getDevice();
    const V = 32010, N = 5;
    const targets = E.Tensor.from([3, -100, 32009, 0, 17], [N], 'i32');
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const run = async (fused: boolean) => E.scopeAsync(async () => {
        const x = E.randn([N, V], 0, 3, { seed: 7, dtype }).requireGrad();
        const f = fused ? E.crossEntropy : E.crossEntropyComposed;
        const loss = f(x, targets, { reduction });
        const g = reduction === 'none' ? E.randn([N], 0, 1, { seed: 8, dtype }) : undefined;
        E.backward(loss, { grad: g });
        return [await loss.toArray(), await x.grad!.toArray()];
      });
      const [a, b] = [await run(true), await run(false)];
      const tol = dtype === 'f32' ? { atol: 1e-5, rtol: 1e-4 } : { atol: 2e-2, rtol: 1e-2 };
      assertClose(a[0], b[0], { ...tol, message: `${reduction} loss` });
      assertClose(a[1], b[1], { ...tol, message: `${reduction} grad` });
    }
    // The gradient row of an ignored target is exactly zero.
    const x = E.randn([N, V], 0, 1, { seed: 9 }).requireGrad();
    E.backward(E.crossEntropy(x, targets));
    const gr = await E.slice(x.grad!, 0, 1, 2).toArray();
    assert.ok(gr.every((v) => v === 0));
  });
}
