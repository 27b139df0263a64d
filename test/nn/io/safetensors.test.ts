import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { SafetensorsReader, writeSafetensors, encodeSafetensorsHeader } from '../../../nn/io/safetensors.js';
import { MemorySource } from '../../../nn/io/source.js';
import { openCheckpoint } from '../../../nn/io/checkpoint.js';
import { writeShardedSafetensors } from '../../../nn/io/convert.js';
import { bytesOf } from './fixtures.js';

async function tmp(): Promise<string> { return mkdtemp(join(tmpdir(), 'ullava-st-')); }

function stBytes(header: object | string, data: Uint8Array, lenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.length), true);
  out.set(json, 8); out.set(data, 8 + json.length);
  return out;
}
const open = (b: Uint8Array) => SafetensorsReader.open(new MemorySource(b, 'x.safetensors'));

test('safetensors: write then read every dtype, atomically, with metadata and 8-byte aligned header', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'm.safetensors');
    const f32 = new Float32Array([1, -2.5, 3, 4, 5, 6]);
    const tensors = [
      { name: 'a.f32', dtype: 'F32' as const, shape: [2, 3], data: bytesOf(f32) },
      { name: 'b.f16', dtype: 'F16' as const, shape: [3], data: bytesOf(new Uint16Array([0x3c00, 0xc000, 0x7c00])) },
      { name: 'c.bf16', dtype: 'BF16' as const, shape: [2], data: bytesOf(new Uint16Array([0x3f80, 0x4000])) },
      { name: 'd.i64', dtype: 'I64' as const, shape: [2], data: bytesOf(new BigInt64Array([-1n, 5n])) },
      { name: 'e.i32', dtype: 'I32' as const, shape: [1, 1], data: bytesOf(new Int32Array([-7])) },
      { name: 'f.u8', dtype: 'U8' as const, shape: [3], data: Uint8Array.from([1, 2, 255]) },
      { name: 'g.bool', dtype: 'BOOL' as const, shape: [2], data: Uint8Array.from([1, 0]) },
      { name: 'h.scalar', dtype: 'F32' as const, shape: [], data: bytesOf(new Float32Array([9])) },
      { name: 'i.empty', dtype: 'F32' as const, shape: [0, 4], data: new Uint8Array(0) },
    ];
    await writeSafetensors(path, tensors, { metadata: { format: 'pt' } });
    assert.equal(await readdir(dir), ['m.safetensors'], 'no temp file left');
    const raw = await readFile(path);
    const n = Number(raw.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'header padded to 8 bytes');
    const r = await SafetensorsReader.openFile(path);
    try {
      assert.equal(r.metadata, { format: 'pt' });
      assert.equal(r.tensors.map((t) => [t.name, t.dtype, t.shape]), tensors.map((t) => [t.name, t.dtype, t.shape]));
      for (const t of tensors) assert.equal([...await r.read(t.name)], [...t.data], t.name);
    } finally { await r.close(); }
  } finally { await rm(dir, { recursive: true }); }
});

test('safetensors: a failed write leaves neither the target nor a temp file', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'bad.safetensors');
    await assertRejects(() => writeSafetensors(path, [
      { name: 'ok', dtype: 'F32', shape: [1], data: new Uint8Array(4) },
      { name: 'short', dtype: 'F32', shape: [2], data: async () => new Uint8Array(4) },
    ]), /needs 8 bytes/);
    assert.equal(await readdir(dir), []);
  } finally { await rm(dir, { recursive: true }); }
});

test('safetensors: malformed headers and offsets give clear errors', async () => {
  const d8 = new Uint8Array(8);
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  await open(stBytes(good, d8)); // sanity
  await assertRejects(() => open(new Uint8Array(5)), /too short/);
  await assertRejects(() => open(stBytes(good, d8, 10n ** 12n)), /exceeds the 100000000-byte limit/);
  await assertRejects(() => open(stBytes(good, d8, 2000n)), /truncated/);
  await assertRejects(() => open(stBytes('{"a": {"dtype": "F32",', d8)), /not valid JSON/);
  await assertRejects(() => open(stBytes('[1,2]', d8)), /does not start with|not a JSON object/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, d8)), /unknown dtype "Q7"/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d8)), /needs 12 bytes/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, d8)), /bad dimension/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, d8)), /too many elements/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, d8)), /past the end/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(12))), /overlap/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d8)), /gap/);
  await assertRejects(() => open(stBytes(good, new Uint8Array(12))), /trailing/);
  await assertRejects(() => open(stBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, d8)), /end before/);
  await assertRejects(() => open(stBytes({ __metadata__: { x: 1 } }, new Uint8Array(0))), /not a string/);
  const badUtf8 = stBytes(good, d8); badUtf8[9] = 0xff;
  await assertRejects(() => open(badUtf8), /UTF-8/);
});

test('safetensors: sharded write with model.safetensors.index.json, read back through the index', async () => {
  const dir = await tmp();
  try {
    const mk = (i: number) => ({ name: `layer.${i}.weight`, dtype: 'F32' as const, shape: [4, 4], data: bytesOf(new Float32Array(16).fill(i)) });
    const tensors = [0, 1, 2, 3, 4].map(mk);
    const files = await writeShardedSafetensors(dir, 'model', tensors, { maxShardBytes: 130 });
    assert.ok(files.length > 1, `expected several shards, got ${files.join(',')}`);
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(index.metadata.total_size, 5 * 64);
    const r = await openCheckpoint(dir);
    try {
      assert.equal(r.tensors.map((t) => t.name), tensors.map((t) => t.name));
      for (const t of tensors) assert.equal([...await r.read(t.name)], [...t.data]);
    } finally { await r.close(); }
    // an index that points at a missing tensor is refused
    await writeFile(join(dir, 'bad.index.json'), JSON.stringify({ weight_map: { nope: files[0] } }));
    await assertRejects(() => openCheckpoint(join(dir, 'bad.index.json')), /has no such tensor/);
    await writeFile(join(dir, 'bad2.index.json'), JSON.stringify({ weight_map: { x: '../../etc/passwd' } }));
    await assertRejects(() => openCheckpoint(join(dir, 'bad2.index.json')), /outside/);
  } finally { await rm(dir, { recursive: true }); }
});

test('safetensors: header encoder rejects duplicate names', () => {
  let threw = false;
  try { encodeSafetensorsHeader([{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'a', dtype: 'F32', shape: [1] }]); } catch { threw = true; }
  assert.ok(threw);
});
