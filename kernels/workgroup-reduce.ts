// Workgroup-wide sum and max for row kernels (one workgroup per row): each invocation contributes a
// partial, a shared-memory tree combines them, and every invocation gets the result as a uniform value
// (so the caller may branch on it or hit further barriers).

export function workgroupReduceWGSL(W: number): string {
  if (W & (W - 1)) throw new Error(`workgroup size ${W} must be a power of two`);
  const fn = (name: string, combine: string) => `
fn ${name}(v: f32, lid: u32) -> f32 {
  workgroupBarrier(); // earlier readers of sv are done
  sv[lid] = v;
  for (var s = ${W / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { sv[lid] = ${combine}; }
  }
  return workgroupUniformLoad(&sv[0]);
}`;
  return `var<workgroup> sv: array<f32, ${W}>;${fn('wgSum', 'sv[lid] + sv[lid + s]')}${fn('wgMax', 'max(sv[lid], sv[lid + s])')}`;
}
