// The map launcher's fast paths (engine/ops/launch.ts): dimensions coalesced for index-free bodies, and the
// vec4 kernel for f32 maps aligned to 4. Each case is checked against the host, through every layout that
// decides between the vec4 and the scalar kernel.
import { test } from '../../harness/test.js';
import * as assert from 'uvu/assert';
import * as E from '../../../engine/index.js';
import { coalesceDims, isIndexFree } from '../../../engine/ops/launch.js';

test('coalesceDims drops size-1 dimensions and merges the ones every input walks as one', () => {
  // Contiguous [2, 3, 4] and a bias broadcast over the rows: the rows merge, the bias dimension stays.
  assert.equal(coalesceDims([2, 3, 4], [[12, 4, 1], [0, 0, 1]]), { shape: [6, 4], strides: [[4, 1], [0, 1]] });
  assert.equal(coalesceDims([2, 1, 4], [[4, 4, 1]]), { shape: [8], strides: [[1]] });
  // A transposed view never merges.
  assert.equal(coalesceDims([3, 4], [[1, 3]]), { shape: [3, 4], strides: [[1, 3]] });
  assert.equal(coalesceDims([1, 1], [[0, 0]]), { shape: [1], strides: [[0]] });
});

test('isIndexFree: only bodies reading their inputs at the output index may be coalesced', () => {
  assert.ok(isIndexFree('let a = ld_a(idx); let b = ld_b(idx); return a + b;'));
  assert.not.ok(isIndexFree('return f32(idx[0]);'));
  assert.not.ok(isIndexFree('var j = idx; j[1] = 0u; return at_x(off_x(j));'));
  assert.not.ok(isIndexFree('return f32(shape(0u));'));
});

const host = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 + seed) * 3);

test('f32 maps agree with the host on the vec4 and scalar kernels: broadcasts, offsets, odd widths, transposes', async () => {
  const d = await E.getDevice();
  // bi: the element of b that output element i (row r of the last dimension, column col) reads.
  const cases: { a: number[]; b: number[]; bi: (i: number, r: number, col: number) => number; aOff?: number; transpose?: boolean }[] = [
    { a: [3, 8], b: [3, 8], bi: (i) => i }, { a: [3, 8], b: [8], bi: (_, __, col) => col },
    { a: [3, 8], b: [3, 1], bi: (_, r) => r }, { a: [2, 3, 8], b: [1, 3, 8], bi: (i) => i % 24 },
    { a: [5, 6], b: [6], bi: (_, __, col) => col }, { a: [3, 8], b: [8], aOff: 1, bi: (_, __, col) => col },
    { a: [4, 8], b: [8, 4], transpose: true, bi: (_, r, col) => col * 4 + r }, { a: [7], b: [1], bi: () => 0 },
  ];
  for (const c of cases) {
    const na = c.a.reduce((x, y) => x * y, 1), nb = c.b.reduce((x, y) => x * y, 1), off = c.aOff ?? 0;
    const ha = host(na + off, 1), hb = host(nb, 2);
    let a = E.Tensor.fromHost(ha, [na + off], 'f32', d);
    a = E.reshape(E.slice(a, 0, off, off + na), c.a);
    let b = E.Tensor.fromHost(hb, c.b, 'f32', d);
    if (c.transpose) b = E.transpose(b, 0, 1);
    // Which kernel ran: the vec4 one exactly where its conditions hold (aligned f32, width a multiple of 4).
    const labels: string[] = [];
    const dispatch = d.dispatch.bind(d);
    d.dispatch = (k, p, bufs, wg) => { labels.push(k.label); dispatch(k, p, bufs, wg); };
    let sum: E.Tensor;
    try { sum = E.add(a, b); } finally { d.dispatch = dispatch; }
    const wantVec4 = !c.transpose && !c.aOff && c.a[c.a.length - 1] % 4 === 0;
    assert.is(labels.filter((l) => l.startsWith('binary:add')).every((l) => l.endsWith(':v4') === wantVec4), true, `a [${c.a}], b [${c.b}]: kernels ${labels}`);
    const y = (await E.mul(sum, b).toArray()) as Float32Array;
    const C = c.a[c.a.length - 1];
    for (let i = 0; i < na; i++) {
      const bi = c.bi(i, Math.floor(i / C), i % C);
      const want = (ha[off + i] + hb[bi]) * hb[bi];
      assert.ok(Math.abs(y[i] - want) <= 1e-5 * (1 + Math.abs(want)), `a [${c.a}] off ${off}, b [${c.b}]${c.transpose ? 'ᵀ' : ''}: element ${i} ${y[i]} vs ${want}`);
    }
  }
});
