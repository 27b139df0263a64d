import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';

// The fused kernels against the composed reference on model-sized rows (SAM-H 1280, LLaMA 4096),
// forward and every gradient, in f32 and bf16 storage.
for (const dtype of ['f32', 'bf16'] as const) {
  for (const kind of ['layer', 'rms'] as const) {
    test(`fused ${kind} norm equals the composed ops on wide rows (${dtype})`, async () => {
      await E.getDevice();
      for (const D of [1280, 4096]) {
        const run = async (fused: boolean) => E.scopeAsync(async () => {
          const x = E.randn([3, D], 0.5, 2, { seed: D, dtype }).requireGrad();
          const w = E.randn([D], 1, 0.1, { seed: D + 1, dtype }).requireGrad();
          const b = E.randn([D], 0, 0.1, { seed: D + 2, dtype }).requireGrad();
          const g = E.randn([3, D], 0, 1, { seed: D + 3, dtype });
          const y = kind === 'layer'
            ? (fused ? E.layerNorm(x, null, w, b) : E.layerNormComposed(x, null, w, b))
            : (fused ? E.rmsNorm(x, w) : E.rmsNormComposed(x, w));
          E.backward(y, { grad: g });
          return [await y.toArray(), await x.grad!.toArray(), await w.grad!.toArray(), ...(kind === 'layer' ? [await b.grad!.toArray()] : [])];
        });
        const [a, c] = [await run(true), await run(false)];
        const tol = dtype === 'f32' ? { atol: 2e-4, rtol: 1e-3 } : { atol: 3e-2, rtol: 2e-2 };
        a.forEach((v, i) => assertClose(v, c[i], { ...tol, message: `${kind} D=${D} output ${i}` }));
      }
    });
  }
}
