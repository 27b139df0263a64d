// What a kernel generator returns: WGSL source plus the geometry the engine needs to launch it.
// Generators are pure functions of static parameters; the engine caches pipelines by source text.

export interface KernelSource {
  /** Human-readable name, shown in errors and profiles. */
  label: string;
  code: string;
}

/**
 * Binding convention of every kernel: @group(0) @binding(0) is the per-dispatch parameter block
 * `P: array<u32>` (read-only storage), then the tensors in the order the op passes them.
 * Workgroups are launched on a 2-D grid (x <= 65535) and kernels linearise it with `linearWorkgroup`.
 */
export const PARAMS_DECL = '@group(0) @binding(0) var<storage, read> P: array<u32>;';

/** WGSL helper: flat workgroup id for a 2-D launch grid. */
export const LINEAR_WG = `fn linearWorkgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }`;

/** Largest workgroup count per grid dimension WebGPU guarantees. */
const MAX_GRID = 65535;

/** Splits a number of workgroups over a 2-D grid. */
export function grid(workgroups: number): [number, number, number] {
  if (workgroups <= MAX_GRID) return [Math.max(1, workgroups), 1, 1];
  const y = Math.ceil(workgroups / MAX_GRID);
  return [Math.ceil(workgroups / y), y, 1];
}
