import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { sampleFrameIndices } from '../../../ullava/media/frame-sampling.js';

// np.arange(0, total, total / n).astype(int) for the cases where it has exactly n values.
function numpyUniform(total: number, n: number): number[] {
  const step = total / n, out: number[] = [];
  for (let v = 0, i = 0; v < total; v = ++i * step) out.push(Math.floor(v));
  return out;
}

test('sampling: uniform matches the reference np.arange(0, total, total / n).astype(int)', () => {
  assert.equal(sampleFrameIndices(20, 8, 'uniform'), [0, 2, 5, 7, 10, 12, 15, 17]);
  assert.equal(sampleFrameIndices(8, 8, 'uniform'), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(sampleFrameIndices(100, 8, 'uniform'), [0, 12, 25, 37, 50, 62, 75, 87]);
  for (const total of [8, 9, 13, 20, 31, 64, 99, 100, 257, 1000]) {
    const ref = numpyUniform(total, 8);
    if (ref.length === 8) assert.equal(sampleFrameIndices(total, 8, 'uniform'), ref, `total ${total}`);
    assert.equal(sampleFrameIndices(total, 8, 'uniform').length, 8);
  }
});

test('sampling: shorter than asked repeats in order (pad) or returns every frame (pad false, the reference)', () => {
  assert.equal(sampleFrameIndices(3, 8, 'uniform'), [0, 0, 0, 1, 1, 1, 2, 2]);
  assert.equal(sampleFrameIndices(1, 8, 'uniform'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(sampleFrameIndices(3, 8, 'uniform', { pad: false }), [0, 1, 2]);
  assert.equal(sampleFrameIndices(5, 8, 'headtail', { random: () => 0 }), [0, 0, 1, 1, 2, 3, 3, 4], 'headtail falls back to uniform');
});

test('sampling: headtail draws sorted distinct frames, half from each half', () => {
  let s = 7;
  const random = () => { s = (s * 48271) % 2147483647; return s / 2147483647; };
  for (let trial = 0; trial < 50; trial++) {
    const idx = sampleFrameIndices(30, 8, 'headtail', { random });
    assert.equal(idx.length, 8);
    const head = idx.slice(0, 4), tail = idx.slice(4);
    assert.ok(head.every((i) => i >= 0 && i < 15) && tail.every((i) => i >= 15 && i < 30), String(idx));
    assert.ok(new Set(idx).size === 8 && idx.every((v, i) => i === 0 || v > idx[i - 1]), `sorted and distinct: ${idx}`);
  }
  assert.equal(sampleFrameIndices(7, 7, 'headtail', { random: () => 0.999 }).length, 7, 'odd counts give all frames asked');
});
