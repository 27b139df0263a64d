// test/bench/gpu.test.ts: bench/gpu.ts end to end on whatever adapter is here, with the smallest part
// selection (the device part, no PyTorch): the JSON files are written and say what they should.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { test, HANG_GUARD_MS } from '../harness/test.js';
import * as E from '../../engine/index.js';
import { headlines, liveDevice } from '../../bench/gpu.js';

const script = new URL('../../bench/gpu.js', import.meta.url).pathname;

test('gpu.js --quick --parts device --no-torch writes device.json and summary.json with the toggle openings', async () => {
  const out = await mkdtemp(join(tmpdir(), 'gpu-e2e-'));
  try {
    const r = spawnSync(process.execPath, [script, '--out', out, '--quick', '--parts', 'device', '--no-torch'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
    const dev = JSON.parse(await readFile(join(out, 'device.json'), 'utf8'));
    assert.is(dev.status, 'ok', JSON.stringify(dev).slice(0, 2000));
    assert.equal(Object.keys(dev.openings), ['f16 toggle off', 'f16 toggle on']);
    const on = dev.openings['f16 toggle on'];
    assert.ok(on.description.toggles.enable.includes('vulkan_enable_f16_on_nvidia'));
    assert.ok(dev.openings['f16 toggle off'].description.toggles.disable.includes('vulkan_enable_f16_on_nvidia'));
    assert.ok(Array.isArray(on.subgroupMatrixConfigs) && typeof on.shaderF16 === 'boolean');
    assert.equal(dev.torch, { skipped: '--no-torch' });
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    assert.equal([summary.finished, summary.parts.length, summary.parts[0].part, summary.parts[0].status], [true, 1, 'device', 'ok']);
    assert.equal(summary.f16, { withToggle: on.shaderF16, withoutToggle: dev.openings['f16 toggle off'].shaderF16 });
    assert.ok(summary.meta.commit.commit.length > 0 && summary.meta.quick === true);
  } finally { await rm(out, { recursive: true, force: true }); }
});

test('gpu.js: a bad argument exits 2 with the usage', () => {
  const r = spawnSync(process.execPath, [script, '--parts', 'device'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
  assert.is(r.status, 2);
  assert.match(r.stderr, /--out DIR is required\nusage: node dist\/bench\/gpu.js --out DIR/);
});

test('headlines: read from whatever parts exist, null where a part is missing', () => {
  const h = headlines([]);
  assert.equal(h.decodeTokensPerS, { ours: null, torch: null, oursSpeedupVsTorch: null });
  assert.is(h.gemm, null);
});

test('liveDevice: the same device while it lives, a fresh one after a loss, the loss noted', async () => {
  const reopened: string[] = [];
  const open = liveDevice(reopened, () => E.openDevice({ makeDefault: false })); // not the test run's default device
  const d1 = await open();
  assert.is(await open(), d1);
  d1.gpu.destroy();
  await d1.gpu.lost;
  const d2 = await open();
  assert.ok(d2 !== d1 && !d2.isClosed);
  assert.is(reopened.length, 1);
  assert.match(reopened[0], /WebGPU device lost/);
  assert.equal(Array.from(await E.Tensor.from([1, 2], [2], 'f32', d2).toArray()), [1, 2]);
  await d2.close();
});
