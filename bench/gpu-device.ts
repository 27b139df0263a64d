// bench/gpu.ts part "device": the adapter as the engine opens it, with the NVIDIA f16 toggle off and on
// (without it, drivers older than 615.71 expose no shader-f16 and so no f16 subgroup-matrix config), and
// what PyTorch reports of the same GPU. Opens its own short-lived devices before the run's main device.
import { openDevice, type DeviceOptions } from '../engine/index.js';
import { NVIDIA_F16_TOGGLE } from '../engine/device-toggles.js';
import { errorText, runPeer, type GpuArgs } from './gpu-run.js';

const OPENINGS: [string, DeviceOptions][] = [
  ['f16 toggle off', { disableToggles: [NVIDIA_F16_TOGGLE] }],
  ['f16 toggle on', { enableToggles: [NVIDIA_F16_TOGGLE] }],
];

export async function devicePart(args: GpuArgs, rec: Record<string, unknown>): Promise<'ok' | 'partial'> {
  const openings: Record<string, unknown> = {};
  rec.openings = openings;
  let clean = true;
  for (const [label, o] of OPENINGS) {
    try {
      const d = await openDevice({ ...o, makeDefault: false });
      try {
        const desc = d.describe();
        openings[label] = { shaderF16: d.has('shader-f16'), subgroupMatrix: d.has('chromium-experimental-subgroup-matrix'),
          subgroupMatrixConfigs: desc.subgroupMatrixConfigs, description: desc };
      } finally { await d.close(); }
    } catch (e) {
      clean = false;
      openings[label] = { error: errorText(e) };
    }
  }
  rec.torch = await runPeer(args, 'device', {}, 60);
  if ((rec.torch as { error?: string }).error) clean = false;
  return clean ? 'ok' : 'partial';
}
