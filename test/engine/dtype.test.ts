import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { assertClose } from '../harness/assert.js';
import * as E from '../../engine/index.js';

// bf16 rounding cases: exact, ties to even (down and up), above/below half, subnormals, max, overflow, inf, nan.
const BF16_CASES: [number, number][] = [
  [1, 0x3f80], [-2, 0xc000],
  [1 + 2 ** -8, 0x3f80], // tie, even stays
  [1 + 3 * 2 ** -8, 0x3f82], // tie, rounds up to even
  [1 + 2 ** -8 + 2 ** -20, 0x3f81], // above the tie
  [2 ** -130, 0x0008], // subnormal: 8 units of 2^-133, bf16's smallest step
  [2 ** -133 * 1.5, 0x0002], // subnormal tie: 1.5 units rounds to even (2)
  [3.3895313892515355e38, 0x7f7f], // largest bf16
  [3.4028234663852886e38, 0x7f80], // f32 max rounds to inf
  [Infinity, 0x7f80], [-Infinity, 0xff80], [0, 0], [-0, 0x8000],
];

test('bf16 rounding on the host: round to nearest even, subnormals, inf, nan', () => {
  for (const [x, bits] of BF16_CASES) assert.equal(E.f32ToBf16Bits(x).toString(16), bits.toString(16), `bf16(${x})`);
  const nan = E.f32ToBf16Bits(NaN);
  assert.equal(Number.isNaN(E.bf16BitsToF32(nan)), true, 'NaN stays NaN');
});

test('bf16 cast on the GPU matches the host rounding bit for bit', async () => {
  await E.getDevice();
  const xs = [...BF16_CASES.map(([x]) => x), NaN, 1.00390625, 65504.5, -1e-40];
  const t = E.cast(E.Tensor.from(xs), 'bf16');
  const bits = await t.toHost();
  xs.forEach((x, i) => {
    const want = E.f32ToBf16Bits(Math.fround(x));
    if (Number.isNaN(x)) assert.equal(Number.isNaN(E.bf16BitsToF32(bits[i])), true);
    else assert.equal(bits[i].toString(16), want.toString(16), `GPU bf16(${x})`);
  });
});

test('f16 cast on the GPU: nearest even, subnormals, overflow to inf', async () => {
  await E.getDevice();
  const xs = [1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 1e6, 2 ** -24, 2 ** -25, 3 * 2 ** -26, -0, -Infinity, 0.1];
  const bits = await E.cast(E.Tensor.from(xs), 'f16').toHost();
  xs.forEach((x, i) => assert.equal(bits[i].toString(16), E.f32ToF16Bits(Math.fround(x)).toString(16), `f16(${x})`));
  assert.equal(E.f32ToF16Bits(1 + 2 ** -11), 0x3c00);
  assert.equal(E.f32ToF16Bits(65520), 0x7c00);
  assert.equal(E.f32ToF16Bits(2 ** -24), 0x0001);
});

test('casts between every dtype pair round-trip small integers; odd lengths and offsets of 16-bit views', async () => {
  await E.getDevice();
  const vals = [0, 1, 2, 3, 7, 100, 255];
  for (const a of E.DTYPES) {
    for (const b of E.DTYPES) {
      const t = E.Tensor.from(vals, [vals.length], a);
      const c = E.cast(t, b);
      assert.equal([...(await c.toArray())], vals, `${a} -> ${b}`);
      t.dispose(); c.dispose();
    }
  }
  const h = E.Tensor.from([1, 2, 3, 4, 5], [5], 'bf16');
  assertClose(await E.slice(h, 0, 1, 4).toArray(), [2, 3, 4]);
  assertClose(await E.slice(h, 0, 3).toArray(), [4, 5]);
  const u = E.Tensor.from([250, 1, 2, 3, 4, 5, 6], [7], 'u8');
  assert.equal([...(await E.slice(u, 0, 3, 6).toArray())], [3, 4, 5]);
  assert.equal([...(await E.cast(E.Tensor.from([-3.7, 2.9]), 'i32').toArray())], [-3, 2]);
});

test('fromHost validates the array type and length', async () => {
  await E.getDevice();
  let msg = '';
  try { E.Tensor.fromHost(new Float32Array(3), [2, 2], 'f32'); } catch (e) { msg = (e as Error).message; }
  assert.equal(/3 values do not fill shape \[2,2\]/.test(msg), true, msg);
  try { E.Tensor.fromHost(new Float32Array(4), [4], 'bf16'); } catch (e) { msg = (e as Error).message; }
  assert.equal(/bf16 takes a Uint16Array/.test(msg), true, msg);
});

test('fill, arange and seeded random are reproducible', async () => {
  await E.getDevice();
  assertClose(await E.arange(2, 9, 3).toArray(), [2, 5, 8]);
  assert.equal([...(await E.arange(4, undefined, 1, 'i32').toArray())], [0, 1, 2, 3]);
  assertClose(await E.full([2, 2], 1.5, 'bf16').toArray(), [1.5, 1.5, 1.5, 1.5]);
  const a = await E.randn([4096], 0, 1, { seed: 42 }).toArray();
  const b = await E.randn([4096], 0, 1, { seed: 42 }).toArray();
  const c = await E.randn([4096], 0, 1, { seed: 43 }).toArray();
  assertClose(a, b, { atol: 0, rtol: 0 });
  let same = 0; for (let i = 0; i < a.length; i++) if (a[i] === c[i]) same++;
  assert.equal(same < 10, true, 'different seeds differ');
  let m = 0, v = 0; for (const x of a) m += x / a.length; for (const x of a) v += (x - m) ** 2 / a.length;
  assert.equal(Math.abs(m) < 0.06 && Math.abs(v - 1) < 0.08, true, `randn mean ${m} var ${v}`);
  const u = await E.rand([4096], -2, 3, { seed: 7 }).toArray();
  let lo = Infinity, hi = -Infinity, um = 0; for (const x of u) { lo = Math.min(lo, x); hi = Math.max(hi, x); um += x / u.length; }
  assert.equal(lo >= -2 && hi < 3 && Math.abs(um - 0.5) < 0.1, true, `rand range [${lo}, ${hi}] mean ${um}`);
  E.manualSeed(5); const s1 = await E.rand([8]).toArray();
  E.manualSeed(5); const s2 = await E.rand([8]).toArray();
  assertClose(s1, s2, { atol: 0, rtol: 0 });
});
