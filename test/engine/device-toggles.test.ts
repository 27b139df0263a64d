// engine/device-toggles.ts: the Dawn toggles chosen for NVIDIA and other adapters, the fast and timing
// options, and explicit toggles; plus the choice a real device reports (describe().toggles).
import * as assert from 'uvu/assert';
import { test } from '../harness/test.js';
import * as E from '../../engine/index.js';
import { openDevice } from '../../engine/device.js';
import { selectToggles, toggleFlags, sameToggles, isNvidia, NVIDIA_F16_TOGGLE, FAST_TOGGLES } from '../../engine/device-toggles.js';

const H200 = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' };
const H100_PCI = { vendor: '0x10de', architecture: '', device: '0x2330', description: '' };
const LLVMPIPE = { vendor: 'mesa', architecture: 'software', device: '', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' };
const INTEL = { vendor: 'intel', architecture: 'xe-lpg', device: '', description: 'Intel(R) Arc(tm) Graphics' };
const APPLE = { vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M3 Max' };

test('NVIDIA adapters get vulkan_enable_f16_on_nvidia; others and an unknown adapter do not', () => {
  assert.ok(isNvidia(H200) && isNvidia(H100_PCI), 'vendor name or PCI id 0x10de');
  for (const a of [H200, H100_PCI]) assert.ok(selectToggles(a).enable.includes(NVIDIA_F16_TOGGLE), a.vendor);
  for (const a of [LLVMPIPE, INTEL, APPLE, null]) {
    assert.ok(!isNvidia(a), `${a?.vendor} is not NVIDIA`);
    assert.equal(selectToggles(a), { enable: ['allow_unsafe_apis'], disable: [], reasons: { allow_unsafe_apis: 'subgroup matrices need it' } });
  }
});

test('fast option: the three speed toggles, off by default', () => {
  for (const a of [H200, LLVMPIPE]) {
    for (const t of FAST_TOGGLES) assert.ok(!selectToggles(a).enable.includes(t), `${t} off by default`);
    const fast = selectToggles(a, { fast: true });
    for (const t of FAST_TOGGLES) assert.ok(fast.enable.includes(t) && /fast/.test(fast.reasons[t]), `${t} with fast`);
    assert.is(fast.enable.includes(NVIDIA_F16_TOGGLE), a === H200, 'f16 toggle only on NVIDIA');
  }
});

test('timing option disables timestamp_quantization', () => {
  assert.equal(selectToggles(LLVMPIPE, { timing: true }).disable, ['timestamp_quantization']);
  assert.equal(selectToggles(LLVMPIPE).disable, []);
});

test('explicit toggles win over the automatic ones, and the flags Dawn receives', () => {
  const c = selectToggles(H200, { fast: true, disableToggles: [NVIDIA_F16_TOGGLE, 'skip_validation'], enableToggles: ['dump_shaders'] });
  assert.ok(!c.enable.includes(NVIDIA_F16_TOGGLE) && !c.enable.includes('skip_validation'), 'explicit disable removes enables');
  assert.equal(c.disable, [NVIDIA_F16_TOGGLE, 'skip_validation']);
  assert.ok(c.enable.includes('dump_shaders') && c.enable.includes('disable_robustness'));
  const t = selectToggles(LLVMPIPE, { timing: true, enableToggles: ['timestamp_quantization'] });
  assert.equal(t.disable, [], 'explicit enable removes the timing disable');
  assert.equal(toggleFlags(selectToggles(H200, { timing: true })),
    [`enable-dawn-features=allow_unsafe_apis,${NVIDIA_F16_TOGGLE}`, 'disable-dawn-features=timestamp_quantization']);
  assert.ok(sameToggles(selectToggles(null), selectToggles(LLVMPIPE)) && !sameToggles(selectToggles(null), selectToggles(H200)));
});

test('the opened device reports the toggles chosen for its adapter', async () => {
  const d = await E.getDevice();
  const info = d.adapter.info;
  const expected = selectToggles({ vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }, d.options);
  assert.equal(d.describe().toggles.enable, expected.enable);
  const fast = await openDevice({ fast: true, makeDefault: false });
  try {
    for (const t of FAST_TOGGLES) assert.ok(fast.describe().toggles.enable.includes(t), t);
  } finally { await fast.close(); }
  if (d.has('timestamp-query')) {
    const timing = await openDevice({ timing: true, makeDefault: false });
    try { assert.ok(timing.describe().toggles.disable.includes('timestamp_quantization')); } finally { await timing.close(); }
  }
});
