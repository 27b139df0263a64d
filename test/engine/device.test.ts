import * as assert from 'uvu/assert';
import { test, HANG_GUARD_MS } from '../harness/test.js';
import { assertClose, assertRejects } from '../harness/assert.js';
import { spawnSync } from 'node:child_process';
import * as E from '../../engine/index.js';

const engineUrl = new URL('../../engine/index.js', import.meta.url).href;

function runNode(code: string, env: Record<string, string> = {}): { out: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code],
    { env: { ...process.env, ...env }, encoding: 'utf8', timeout: HANG_GUARD_MS });
  return { out: `${r.stdout}${r.stderr}`, status: r.status };
}

test('describe() names the adapter, backend, features and key limits', async () => {
  const d = await E.getDevice();
  const info = d.describe();
  assert.ok(info.backend.length > 0 || info.description.length > 0, JSON.stringify(info));
  assert.ok(info.limits.maxStorageBufferBindingSize >= 128 << 20, 'full adapter limits are requested');
  assert.ok(Array.isArray(info.features) && Array.isArray(info.subgroupMatrixConfigs));
  JSON.stringify(info); // serialisable
});

test('no Vulkan driver: a clear error that says what to install', () => {
  const r = runNode(`import('${engineUrl}').then(async (E) => { try { await E.getDevice(); console.log('OPENED'); }
    catch (e) { console.log(e.name + ': ' + e.message); } })`, { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
  assert.ok(/NoAdapterError: no WebGPU adapter found.*lavapipe/s.test(r.out), r.out);
});

test('an unknown adapter name lists the adapters that exist', () => {
  const r = runNode(`import('${engineUrl}').then(async (E) => { try { await E.openDevice({ adapterName: 'no-such-gpu' }); }
    catch (e) { console.log(e.name + ': ' + e.message); } })`);
  assert.ok(/NoAdapterError: no adapter matches .*no-such-gpu.*available adapters/s.test(r.out), r.out);
});

test('the process exits by itself when the work is done', () => {
  const r = runNode(`import('${engineUrl}').then(async (E) => { await E.getDevice();
    console.log('sum=' + (await E.sum(E.Tensor.from([1, 2, 3])).item())); })`);
  assert.ok(/sum=6/.test(r.out) && r.status === 0, `status ${r.status}: ${r.out}`);
});

test('an uncaptured validation error surfaces as a typed error at the next readback', async () => {
  const d = await E.openDevice();
  try {
    d.gpu.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE }); // invalid usage mix
    const t = E.Tensor.from([1], [1], 'f32', d);
    await assertRejects(() => t.toArray(), /WebGPU validation error/);
    assertClose(await E.Tensor.from([2], [1], 'f32', d).toArray(), [2]); // the device stays usable
  } finally { await d.close(); }
});

test('device loss surfaces as DeviceLostError', async () => {
  const d = await E.openDevice();
  d.gpu.destroy();
  await d.gpu.lost; // the device's own handler (registered first) has recorded the loss when this resolves
  let name = '';
  try { const t = E.Tensor.from([1], [1], 'f32', d); await t.toArray(); } catch (e) { name = (e as Error).name; }
  assert.equal(name, 'DeviceLostError');
});

test('deferred submission: ops encode without submitting until readback', async () => {
  const d = await E.getDevice();
  await d.sync();
  const before = d.submitCount;
  let x = E.Tensor.from([1, 2, 3]);
  for (let i = 0; i < 20; i++) x = E.add(x, 1);
  assert.equal(d.submitCount, before, 'no submit while encoding');
  assertClose(await x.toArray(), [21, 22, 23]);
  assert.ok(d.submitCount > before);
});

test('pooled memory: dispose returns buffers, reuse keeps live bytes flat, trim empties the pool', async () => {
  const d = await E.getDevice();
  const base = d.memory().liveBytes;
  const a = E.zeros([1000]);
  assert.ok(d.memory().liveBytes > base);
  a.dispose();
  assert.equal(d.memory().liveBytes, base);
  const pooled = d.memory().pooledBuffers;
  const b = E.zeros([1000]);
  assert.equal(d.memory().pooledBuffers, pooled - 1, 'the freed buffer is reused');
  b.dispose();
  d.trimPool();
  assert.equal(d.memory().pooledBytes, 0);
});

