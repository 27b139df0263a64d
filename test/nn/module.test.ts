import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import { assertClose } from '../harness/assert.js';
import * as E from '../../engine/index.js';
import { Module, Linear, Embedding, LayerNorm, RMSNorm, Conv2d, MLP, Dropout, LoRALinear, ModuleList, StateDictError } from '../../nn/index.js';

class Tiny extends Module {
  readonly embed = this.module('embed', new Embedding(10, 4, { seed: 1 }));
  readonly blocks = this.module('blocks', new ModuleList([new Linear(4, 4, { seed: 2 }), new Linear(4, 4, { seed: 3, bias: false })]));
  readonly norm = this.module('norm', new RMSNorm(4));
  readonly ids = this.buffer('position_ids', E.arange(0, 3, 1, 'i32'));
}

test('module: PyTorch key names, parameter counts, buffers in the state dict', async () => {
  await E.getDevice();
  const m = new Tiny();
  assert.equal([...m.stateDict().keys()], ['embed.weight', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'norm.weight', 'position_ids']);
  assert.equal(m.numParameters(), 40 + 16 + 4 + 16 + 4);
  assert.ok(m.parameters().every((p) => p.requiresGrad));
  m.dispose();
});

test('module: strict loading lists missing, unexpected and mis-shaped keys in one error and changes nothing', async () => {
  await E.getDevice();
  const m = new Tiny();
  const before = await m.blocks.at(0).weight.toArray();
  const sd = new Map([...m.stateDict()].map(([k, t]) => [k, E.add(t, 1)]));
  sd.delete('norm.weight');
  sd.set('extra.weight', E.zeros([2]));
  sd.set('blocks.1.weight', E.zeros([4, 5]));
  let err: unknown;
  try { m.loadStateDict(sd); } catch (e) { err = e; }
  assert.ok(err instanceof StateDictError, String(err));
  const msg = (err as Error).message;
  assert.ok(/missing 1: norm.weight/.test(msg) && /unexpected 1: extra.weight/.test(msg) && /wrong shape 1: blocks.1.weight \[4,5\] vs model \[4,4\]/.test(msg), msg);
  assertClose(await m.blocks.at(0).weight.toArray(), before, { atol: 0, rtol: 0 });
  const r = m.loadStateDict(sd, { strict: false });
  assert.equal(r.missing, ['norm.weight']);
  assertClose(await m.blocks.at(0).weight.toArray(), before.map((v) => v + 1), { atol: 1e-6 });
  m.dispose();
});

test('module: loading converts dtypes; to(bf16) converts parameters in place', async () => {
  await E.getDevice();
  const l = new Linear(3, 2, { seed: 5 });
  l.loadStateDict({ weight: E.Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], 'bf16'), bias: E.Tensor.from([0.5, -0.5]) });
  assert.equal(l.weight.dtype, 'f32');
  l.to('bf16');
  assert.equal(l.weight.dtype, 'bf16');
  assertClose(await l.forward(E.Tensor.from([1, 1, 1], [1, 3], 'bf16')).toArray(), [6.5, 14.5]);
  l.dispose();
});

test('layers: Linear, Embedding, LayerNorm, Conv2d, MLP against direct formulas', async () => {
  await E.getDevice();
  const lin = new Linear(3, 2);
  lin.loadStateDict({ weight: E.Tensor.from([1, 0, -1, 2, 1, 0], [2, 3]), bias: E.Tensor.from([0.5, 1]) });
  assertClose(await lin.forward(E.Tensor.from([1, 2, 3, 0, 1, 0], [2, 3])).toArray(), [-1.5, 5, 0.5, 2]);
  const emb = new Embedding(4, 2);
  emb.loadStateDict({ weight: E.Tensor.from([0, 1, 2, 3, 4, 5, 6, 7], [4, 2]) });
  assertClose(await emb.forward(E.Tensor.from([3, 0, 3], [3], 'i32')).toArray(), [6, 7, 0, 1, 6, 7]);
  const ln = new LayerNorm(4);
  const y = await ln.forward(E.Tensor.from([1, 2, 3, 4], [1, 4])).toArray();
  const sd = Math.sqrt(1.25 + 1e-5);
  assertClose(y, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], { atol: 1e-5 });
  const conv = new Conv2d(1, 1, 2, { bias: false });
  conv.loadStateDict({ weight: E.Tensor.from([1, 1, 1, 1], [1, 1, 2, 2]) });
  assertClose(await conv.forward(E.Tensor.from([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3])).toArray(), [12, 16, 24, 28]);
  const mlp = new MLP([2, 3, 1], 'relu', { seed: 9 });
  assert.equal([...mlp.stateDict().keys()], ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
  mlp.loadStateDict({ 'layers.0.weight': E.Tensor.from([1, 0, 0, 1, -1, -1], [3, 2]), 'layers.0.bias': E.zeros([3]),
    'layers.1.weight': E.Tensor.from([1, 1, 1], [1, 3]), 'layers.1.bias': E.Tensor.from([0.25]) });
  assertClose(await mlp.forward(E.Tensor.from([2, -3], [1, 2])).toArray(), [2 + 0 + 1 + 0.25]);
  // nn.Sequential naming (Linear, activation, Linear): the Linears at 0, 2; same computation.
  const seq = new MLP([2, 3, 1], 'relu', { keys: 'sequential' });
  assert.equal([...seq.stateDict().keys()], ['0.weight', '0.bias', '2.weight', '2.bias']);
  seq.loadStateDict(new Map([...mlp.stateDict()].map(([k, t]) => [k.replace(/^layers\.(\d+)/, (_, i: string) => String(2 * Number(i))), t])));
  assertClose(await seq.forward(E.Tensor.from([2, -3], [1, 2])).toArray(), [2 + 0 + 1 + 0.25]);
});

test('dropout: train drops about p and rescales, eval is the identity, gradient uses the same mask', async () => {
  await E.getDevice();
  const d = new Dropout(0.25);
  const x = E.ones([4000]).requireGrad();
  const y = d.forward(x);
  const v = await y.toArray();
  const zeros = v.filter((a) => a === 0).length;
  assert.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `dropped ${zeros}`);
  assert.ok(v.every((a) => a === 0 || Math.abs(a - 4 / 3) < 1e-6));
  E.backward(E.sum(y));
  assertClose(await x.grad!.toArray(), v, { atol: 1e-6 });
  d.eval();
  assertClose(await d.forward(x).toArray(), await x.toArray());
});

test('LoRA: B starts at zero (output = base), trains only A and B, merge/unmerge keep the function', async () => {
  await E.getDevice();
  const base = new Linear(6, 5, { seed: 21 });
  const x = E.randn([3, 6], 0, 1, { seed: 22 });
  const y0 = await base.forward(x).toArray();
  const lora = new LoRALinear(base, { r: 2, alpha: 4, seed: 23 });
  assert.equal([...lora.stateDict().keys()], ['weight', 'bias', 'lora_A.weight', 'lora_B.weight']);
  assertClose(await lora.forward(x).toArray(), y0, { atol: 1e-6 });
  assert.equal(lora.trainableParameters().length, 2);
  lora.loraB.weight.assign(E.randn([5, 2], 0, 1, { seed: 24 }));
  lora.eval();
  const y1 = await lora.forward(x).toArray();
  lora.merge();
  assertClose(await lora.forward(x).toArray(), y1, { atol: 1e-5 });
  lora.unmerge();
  assertClose(await base.forward(x).toArray(), y0, { atol: 1e-5 });
  const loss = E.sum(lora.forward(x));
  E.backward(loss);
  assert.ok(lora.loraA.weight.grad !== null && lora.loraB.weight.grad !== null && base.weight.grad === null);
});
