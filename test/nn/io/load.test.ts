import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test, skip } from '../../harness/test.js';
import { assertClose, assertRejects } from '../../harness/assert.js';
import { getDevice } from '../../../engine/device.js';
import { writeSafetensors } from '../../../nn/io/safetensors.js';
import { loadCheckpoint } from '../../../nn/io/load.js';
import { bytesOf } from './fixtures.js';

async function device(): Promise<void> {
  try { await getDevice(); } catch (e) { skip(`no WebGPU device: ${(e as Error).message.split('\n')[0]}`); }
}

test('load: checkpoint tensors onto the device with dtype conversion (F32->bf16, I64->i32, BOOL->u8)', async () => {
  await device();
  const dir = await mkdtemp(join(tmpdir(), 'ullava-load-'));
  try {
    const path = join(dir, 'm.safetensors');
    await writeSafetensors(path, [
      { name: 'llm.w', dtype: 'F32', shape: [2, 2], data: bytesOf(new Float32Array([1, -2, 0.5, 3.25])) },
      { name: 'llm.h', dtype: 'F16', shape: [3], data: bytesOf(new Uint16Array([0x3c00, 0x4000, 0xc200])) },
      { name: 'llm.ids', dtype: 'I64', shape: [3], data: bytesOf(new BigInt64Array([0n, -5n, 31999n])) },
      { name: 'llm.mask', dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
      { name: 'other', dtype: 'F32', shape: [1], data: bytesOf(new Float32Array([7])) },
    ]);
    const m = await loadCheckpoint(path, { dtype: 'bf16', rename: (n) => (n.startsWith('llm.') ? n.slice(4) : undefined) });
    try {
      assert.equal([...m.keys()], ['w', 'h', 'ids', 'mask']);
      assert.equal([m.get('w')!.dtype, m.get('h')!.dtype, m.get('ids')!.dtype, m.get('mask')!.dtype], ['bf16', 'bf16', 'i32', 'u8']);
      assert.equal([...m.get('w')!.shape], [2, 2]);
      assertClose(await m.get('w')!.toArray(), [1, -2, 0.5, 3.25]);
      assertClose(await m.get('h')!.toArray(), [1, 2, -3]);
      assert.equal([...await m.get('ids')!.toArray()], [0, -5, 31999]);
      assert.equal([...await m.get('mask')!.toArray()], [1, 0, 1]);
    } finally { for (const t of m.values()) t.dispose(); }
    await writeSafetensors(path, [{ name: 'big', dtype: 'I64', shape: [1], data: bytesOf(new BigInt64Array([1n << 40n])) }]);
    await assertRejects(() => loadCheckpoint(path), /does not fit in i32/);
  } finally { await rm(dir, { recursive: true }); }
});
