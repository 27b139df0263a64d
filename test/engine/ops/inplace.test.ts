import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';

/** The expected contents after dst[..., start:start+len on axis, ...] = src, on the host. */
function writeRef(dst: number[], dshape: number[], src: number[], sshape: number[], axis: number, start: number): number[] {
  const out = [...dst];
  const R = dshape.length;
  for (let i = 0; i < src.length; i++) {
    let r = i; const idx = new Array<number>(R);
    for (let d = R - 1; d >= 0; d--) { idx[d] = r % sshape[d]; r = Math.floor(r / sshape[d]); }
    idx[axis] += start;
    let o = 0;
    for (let d = 0; d < R; d++) o = o * dshape[d] + idx[d];
    out[o] = src[i];
  }
  return out;
}

const vals = (n: number, k = 0) => Array.from({ length: n }, (_, i) => ((i * 7 + k * 13) % 23) - 11 + 0.5);

test('writeSlice: f32/bf16/f16/i32/u8 windows on every axis, partial 16-bit words kept, strided sources', async () => {
  await E.getDevice();
  const cases: { dtype: E.DType; dshape: number[]; sshape: number[]; axis: number; start: number }[] = [
    { dtype: 'f32', dshape: [2, 3, 7, 4], sshape: [2, 3, 2, 4], axis: 2, start: 5 },
    { dtype: 'bf16', dshape: [2, 3, 7, 4], sshape: [2, 3, 1, 4], axis: 2, start: 3 },
    { dtype: 'bf16', dshape: [3, 10], sshape: [3, 3], axis: 1, start: 3 }, // odd start and length: partial words
    { dtype: 'f16', dshape: [4, 6], sshape: [1, 6], axis: 0, start: 2 },
    { dtype: 'f16', dshape: [9], sshape: [4], axis: 0, start: 5 },
    { dtype: 'i32', dshape: [3, 5], sshape: [3, 2], axis: 1, start: 1 },
    { dtype: 'u8', dshape: [2, 8], sshape: [2, 3], axis: 1, start: 5 },
  ];
  for (const c of cases) {
    const n = c.dshape.reduce((a, b) => a * b, 1), m = c.sshape.reduce((a, b) => a * b, 1);
    const isInt = c.dtype === 'i32' || c.dtype === 'u8';
    const d0 = vals(n).map((v) => (isInt ? Math.abs(Math.round(v)) : v));
    const s0 = vals(m, 1).map((v) => (isInt ? Math.abs(Math.round(v)) + 100 : v * 3));
    const dst = E.Tensor.from(d0, c.dshape, c.dtype);
    const src = E.Tensor.from(s0, c.sshape, c.dtype);
    const ret = E.writeSlice(dst, src, c.axis, c.start);
    assert.ok(ret === dst);
    assertClose(await dst.toArray(), writeRef(d0, c.dshape, s0, c.sshape, c.axis, c.start), { atol: 0, rtol: 0, message: JSON.stringify(c) });
  }
  // A transposed (strided) f32 source written into a bf16 destination (converted, rounded on store).
  const st = E.Tensor.from(vals(12, 2), [4, 3]);
  const view = E.transpose(st); // [3, 4]
  const dst = E.zeros([3, 8], 'bf16');
  E.writeSlice(dst, view, 1, 2);
  const t = await E.transpose(st).toArray();
  assertClose(await dst.toArray(), writeRef(new Array(24).fill(0), [3, 8], [...t], [3, 4], 1, 2).map((x) => E.roundTo('bf16', x)), { atol: 0, rtol: 0 });
  // Into a view of a bigger tensor (the cache's live window).
  const big = E.zeros([2, 2, 6, 4]);
  E.writeSlice(E.slice(big, 1, 1, 2), E.ones([2, 1, 3, 4]), 2, 1);
  const bv = await big.toArray();
  assert.equal([...bv].reduce((a, b) => a + b, 0), 24);
  assert.equal(bv[(0 * 2 + 1) * 24 + 1 * 4], 1);
  assert.equal(bv[(0 * 2 + 0) * 24 + 1 * 4], 0);
});

test('writeSlice: shape, window, dtype and autograd errors before anything is encoded', async () => {
  await E.getDevice();
  const dst = E.zeros([2, 5]);
  await assertRejects(() => E.writeSlice(dst, E.zeros([2, 3]), 1, 3), /outside dst/);
  await assertRejects(() => E.writeSlice(dst, E.zeros([3, 2]), 1, 0), /does not fit/);
  await assertRejects(() => E.writeSlice(dst, E.zeros([2, 2], 'i32'), 1, 0), /cannot write i32 into f32/);
  await assertRejects(() => E.writeSlice(E.zeros([3, 5], 'bf16'), E.zeros([3, 1], 'bf16'), 1, 0), /32-bit words/);
  await assertRejects(() => E.writeSlice(dst, E.zeros([2, 2]).requireGrad(), 1, 0), /not differentiable/);
  E.noGrad(() => E.writeSlice(dst, E.ones([2, 2]).requireGrad(), 1, 0));
  assertClose(await dst.toArray(), [1, 1, 0, 0, 0, 1, 1, 0, 0, 0]);
});
