// Dawn's null backend: Tint parses and validates WGSL and Dawn validates pipelines, but nothing runs.
// It lets a machine without a GPU catch WGSL errors in kernels that the development adapter cannot
// compile (subgroup matrices). npm webgpu 0.6.2's null adapter offers chromium-experimental-subgroup-matrix
// and shader-f16 but reports NO subgroup-matrix configs (so the engine's planner never picks 'sgmat'
// there), and its subgroup size range is 4..128 (a subgroup-matrix workgroup must be 128 wide).
import { openDevice, type Device } from '../../engine/device.js';

let opened: Promise<Device | Error> | null = null;

/** The null-backend device, opened once per process and never made the default device; an Error if this build of Dawn has no null backend. */
export function nullDevice(): Promise<Device | Error> {
  opened ??= openDevice({ backend: 'null', makeDefault: false }).catch((e: unknown) => e instanceof Error ? e : new Error(String(e)));
  return opened;
}

/** Compiles `code` and creates its compute pipeline; returns the compiler's messages and any validation error. */
export async function compileOnly(dev: Device, code: string, label: string): Promise<{ messages: string[]; error: string | null }> {
  dev.gpu.pushErrorScope('validation');
  const module = dev.gpu.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  dev.gpu.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
  const err = await dev.gpu.popErrorScope();
  return {
    messages: info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`),
    error: err ? err.message : null,
  };
}
