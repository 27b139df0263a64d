// The two launch shapes most kernels share, so each kernel file writes only its own lines:
//  - rowKernel: one workgroup per row (`r`), rows past P[0] exit; the workgroup reductions wgSum / wgMax
//    combine the invocations' partials (norm, softmax, cross-entropy).
//  - threadKernel: one invocation per item (`t`), items past `count` exit (packs, scatters, copies).
// Both declare the parameter block P, the dtype helpers and `linearWorkgroup` (a 2-D launch grid).
import { PARAMS_DECL, LINEAR_WG } from './kernel.js';
import { DTYPE_HELPERS } from './wgsl.js';
import { workgroupReduceWGSL } from './workgroup-reduce.js';

export interface SkeletonParts {
  /** Workgroup size. */
  W: number;
  /** Storage declarations (bindings from 1). */
  decls: string[];
  /** Extra module-scope WGSL (functions, workgroup or private variables). */
  helpers?: string;
  /** Statements of main after the item / row is bound. */
  body: string;
  /** `enable` directives and the like, before everything. */
  preamble?: string;
}

const MAIN = `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32)`;

function module(p: SkeletonParts, extra: string): string {
  return `${p.preamble ?? ''}
${PARAMS_DECL}
${p.decls.join('\n')}
${DTYPE_HELPERS}
${LINEAR_WG}
${extra}
${p.helpers ?? ''}
@compute @workgroup_size(${p.W})
${MAIN} {`;
}

/** One workgroup per row `r` (< P[0]); `lid` is the invocation's index within the row. */
export function rowKernel(p: SkeletonParts): string {
  return `${module(p, workgroupReduceWGSL(p.W))}
  let r = linearWorkgroup(wid, nwg);
  if (r >= P[0]) { return; }
${p.body}
}`;
}

/** One invocation per item `t` (< the u32 expression `count`, e.g. 'P[0]'). */
export function threadKernel(p: SkeletonParts & { count: string }): string {
  return `${module(p, '')}
  let t = linearWorkgroup(wid, nwg) * ${p.W}u + lid;
  if (t >= ${p.count}) { return; }
${p.body}
}`;
}
