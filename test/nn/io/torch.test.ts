import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { TorchReader } from '../../../nn/io/torch.js';
import { MemorySource } from '../../../nn/io/source.js';
import { openCheckpoint } from '../../../nn/io/checkpoint.js';
import { convertCheckpoint } from '../../../nn/io/convert.js';
import { unpickle, PyGlobal } from '../../../nn/io/pickle.js';
import { toHostArray } from '../../../nn/io/hostconv.js';
import { bytesOf, makeZip, PickleWriter, statePickle, torchSave, type FixtureStorage, type FixtureTensor } from './fixtures.js';

const open = (b: Uint8Array) => TorchReader.open(new MemorySource(b, 'pytorch_model.bin'));

const f32 = Float32Array.from({ length: 6 }, (_, i) => i + 0.5);
const STORAGES: FixtureStorage[] = [
  { key: '0', dtype: 'F32', bytes: bytesOf(f32) },
  { key: '1', dtype: 'BF16', bytes: bytesOf(new Uint16Array([0x3f80, 0xc000, 0x4040])) },
  { key: '2', dtype: 'F16', bytes: bytesOf(new Uint16Array([0x3c00, 0x4000])) },
  { key: '3', dtype: 'I64', bytes: bytesOf(new BigInt64Array([1n, -2n, 3n])) },
  { key: '4', dtype: 'BOOL', bytes: Uint8Array.from([1, 0, 1, 1]) },
  { key: '5', dtype: 'F64', bytes: bytesOf(new Float64Array([0.25])) },
  { key: '6', dtype: 'I32', bytes: bytesOf(new Int32Array([7, 8])) },
  { key: '7', dtype: 'U8', bytes: Uint8Array.from([9]) },
  { key: '8', dtype: 'I8', bytes: Uint8Array.from([0xff]) },
  { key: '9', dtype: 'I16', bytes: bytesOf(new Int16Array([-300])) },
];
const TENSORS: FixtureTensor[] = [
  { name: 'w', storage: '0', shape: [2, 3], parameter: true },
  { name: 'wt', storage: '0', shape: [3, 2], stride: [1, 3] },            // transposed view of the same storage
  { name: 'row1', storage: '0', offset: 3, shape: [3] },                 // storage offset
  { name: 'bf', storage: '1', shape: [3] },
  { name: 'half', storage: '2', shape: [1, 2] },
  { name: 'ids', storage: '3', shape: [3] },
  { name: 'mask', storage: '4', shape: [2, 2] },
  { name: 'dbl', storage: '5', shape: [] },
  { name: 'i32', storage: '6', shape: [2] },
  { name: 'u8', storage: '7', shape: [1] },
  { name: 'i8', storage: '8', shape: [1] },
  { name: 'i16', storage: '9', shape: [1] },
  { name: 'empty', storage: '0', shape: [0, 3] },
];

async function checkAll(r: TorchReader | Awaited<ReturnType<typeof openCheckpoint>>, prefix = ''): Promise<void> {
  const names = r.tensors.map((t) => t.name);
  assert.equal(names, TENSORS.map((t) => prefix + t.name));
  const get = async (n: string) => r.read(prefix + n);
  const dt = Object.fromEntries(r.tensors.map((t) => [t.name.slice(prefix.length), [t.dtype, t.shape]]));
  assert.equal(dt.w, ['F32', [2, 3]]); assert.equal(dt.bf, ['BF16', [3]]); assert.equal(dt.half, ['F16', [1, 2]]);
  assert.equal(dt.ids, ['I64', [3]]); assert.equal(dt.mask, ['BOOL', [2, 2]]); assert.equal(dt.dbl, ['F64', []]);
  assert.equal([...new Float32Array((await get('w')).slice().buffer)], [...f32]);
  assert.equal([...new Float32Array((await get('wt')).slice().buffer)], [0.5, 3.5, 1.5, 4.5, 2.5, 5.5]);
  assert.equal([...new Float32Array((await get('row1')).slice().buffer)], [3.5, 4.5, 5.5]);
  assert.equal([...toHostArray('BF16', await get('bf'), 'f32')], [1, -2, 3]);
  assert.equal([...toHostArray('F16', await get('half'), 'f32')], [1, 2]);
  assert.equal([...toHostArray('I64', await get('ids'), 'i32')], [1, -2, 3]);
  assert.equal([...toHostArray('BOOL', await get('mask'), 'u8')], [1, 0, 1, 1]);
  assert.equal([...toHostArray('F64', await get('dbl'), 'f32')], [0.25]);
  assert.equal([...toHostArray('I8', await get('i8'), 'i32')], [-1]);
  assert.equal([...toHostArray('I16', await get('i16'), 'i32')], [-300]);
  assert.equal((await get('empty')).length, 0);
}

test('torch: protocol-2 state dict (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, views, every dtype)', async () => {
  await checkAll(await open(torchSave(STORAGES, TENSORS)));
});

test('torch: protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE), ZIP64 and nested dicts', async () => {
  await checkAll(await open(torchSave(STORAGES, TENSORS, { protocol: 4 })));
  await checkAll(await open(torchSave(STORAGES, TENSORS, { zip64: true, archive: 'pytorch_model' })));
  await checkAll(await open(torchSave(STORAGES, TENSORS, { nest: ['model', 'sub'], protocol: 5 })), 'model.sub.');
});

test('torch: forbidden globals are refused by name and nothing runs', async () => {
  for (const [mod, name] of [['os', 'system'], ['builtins', 'eval'], ['numpy.core.multiarray', '_reconstruct'], ['torch', 'load'], ['subprocess', 'Popen']]) {
    const p = new PickleWriter(2);
    p.global(mod, name); p.str('echo pwned'); p.tuple(1); p.reduce();
    await assertRejects(() => open(torchSave([], [], { pickle: p.stop() })), new RegExp(`refusing global ${mod.replace('.', '\\.')}\\.${name}`));
  }
  // an allowed name used as a value cannot be called
  const p = new PickleWriter(2);
  p.global('torch', 'FloatStorage'); p.tuple(0); p.reduce();
  await assertRejects(() => open(torchSave([], [], { pickle: p.stop() })), /refusing to call torch\.FloatStorage/);
  // classic code-execution opcodes
  for (const op of [0x69 /* INST */, 0x6f /* OBJ */, 0x92 /* NEWOBJ_EX */, 0x82 /* EXT1 */, 0x50 /* PERSID */]) {
    const b = Uint8Array.from([0x80, 2, op, 0x2e]);
    await assertRejects(() => open(torchSave([], [], { pickle: b })), /unsupported pickle opcode/);
  }
});

test('torch: bad containers and storages give clear errors', async () => {
  await assertRejects(() => open(Uint8Array.from([0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])), /legacy/);
  await assertRejects(() => open(makeZip([{ name: 'a/data.pkl', data: Uint8Array.from([0x80, 2, 0x7d, 0x2e]), method: 8 }])), /compressed/);
  await assertRejects(() => open(makeZip([{ name: 'x.txt', data: new Uint8Array(1) }])), /data\.pkl/);
  const full = torchSave(STORAGES, TENSORS);
  await assertRejects(() => open(full.subarray(0, full.length - 30)), /zip|truncated/);
  // a tensor reaching past its storage
  const big: FixtureTensor[] = [{ name: 'w', storage: '0', shape: [4, 3] }];
  await assertRejects(() => open(torchSave(STORAGES.slice(0, 1), big)), /reaches element/);
  const bcast: FixtureTensor[] = [{ name: 'w', storage: '0', shape: [1000, 6], stride: [0, 1] }];
  await assertRejects(() => open(torchSave(STORAGES.slice(0, 1), bcast)), /broadcast/);
  // storage entry shorter than its declared numel
  const short = torchSave([{ key: '0', dtype: 'F32', bytes: new Uint8Array(8) }], [{ name: 'w', storage: '0', shape: [2] }], {
    pickle: statePickle([{ key: '0', dtype: 'F32', bytes: new Uint8Array(400) }], [{ name: 'w', storage: '0', shape: [2] }]),
  });
  await assertRejects(() => open(short), /declares 100 F32 elements but its entry holds 8 bytes/);
  // missing storage entry
  const missing = torchSave([], [], { pickle: statePickle([{ key: '0', dtype: 'F32', bytes: new Uint8Array(8) }], [{ name: 'w', storage: '0', shape: [2] }]) });
  await assertRejects(() => open(missing), /no data entry/);
});

test('pickle: truncated and absurd lengths are refused before allocating', () => {
  const resolveGlobal = (m: string, n: string) => (m === 'x' ? new PyGlobal(m, n) : undefined);
  const cases: [number[], RegExp][] = [
    [[0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f], /truncated/],               // BINUNICODE 2 GB
    [[0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10], /exceeds the pickle's size/], // BINBYTES8 2^60
    [[0x80, 2, 0x8b, 0, 0, 0, 0x10], /LONG4/],
    [[0x80, 2, 0x30, 0x2e], /underflow/],
    [[0x80, 2, 0x68, 5, 0x2e], /memo key 5/],
    [[0x80, 2, 0x28, 0x2e], /MARK/],
    [[0x80, 9, 0x2e], /protocol 9/],
    [[0x80, 2, 0x4e], /truncated/],
  ];
  for (const [bytes, re] of cases) {
    let msg = '';
    try { unpickle(Uint8Array.from(bytes), { resolveGlobal }); } catch (e) { msg = (e as Error).message; }
    assert.ok(re.test(msg), `${bytes.map((b) => b.toString(16)).join(' ')}: "${msg}" !~ ${re}`);
  }
});

test('torch: HF pytorch_model.bin.index.json with two shards, converted to sharded safetensors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-pt-'));
  try {
    const a = torchSave([STORAGES[0]], [{ name: 'llm.model.embed_tokens.weight', storage: '0', shape: [2, 3], parameter: true }]);
    const b = torchSave([STORAGES[1], STORAGES[3]], [{ name: 'llm.lm_head.weight', storage: '1', shape: [3] }, { name: 'ids', storage: '3', shape: [3] }]);
    await writeFile(join(dir, 'pytorch_model-00001-of-00002.bin'), a);
    await writeFile(join(dir, 'pytorch_model-00002-of-00002.bin'), b);
    await writeFile(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({
      metadata: { total_size: 42 },
      weight_map: { 'llm.model.embed_tokens.weight': 'pytorch_model-00001-of-00002.bin', 'llm.lm_head.weight': 'pytorch_model-00002-of-00002.bin', ids: 'pytorch_model-00002-of-00002.bin' },
    }));
    const r = await openCheckpoint(dir);
    assert.equal(r.format, 'pytorch');
    assert.equal(r.tensors.map((t) => t.name), ['llm.model.embed_tokens.weight', 'llm.lm_head.weight', 'ids']);
    await r.close();
    const progress: number[] = [];
    const res = await convertCheckpoint(join(dir, 'pytorch_model.bin.index.json'), join(dir, 'out'), { maxShardBytes: 24, dtype: 'BF16', onProgress: (d) => progress.push(d) });
    assert.equal(res.files.length, 2);
    assert.equal(progress[progress.length - 1], res.bytes);
    const s = await openCheckpoint(join(dir, 'out'));
    try {
      assert.equal(s.tensors.map((t) => [t.name, t.dtype, t.shape]), [['llm.model.embed_tokens.weight', 'BF16', [2, 3]], ['llm.lm_head.weight', 'BF16', [3]], ['ids', 'I64', [3]]]);
      assert.equal([...toHostArray('BF16', await s.read('llm.model.embed_tokens.weight'), 'f32')], [...f32]);
      assert.equal([...toHostArray('I64', await s.read('ids'), 'i32')], [1, -2, 3]);
    } finally { await s.close(); }
  } finally { await rm(dir, { recursive: true }); }
});

test('hostconv: I64 overflow is an error, not a silent wrap', async () => {
  await assertRejects(() => toHostArray('I64', bytesOf(new BigInt64Array([2n ** 40n])), 'i32', 'pos'), /pos: element 0 = 1099511627776 does not fit in i32/);
});
