// kernels/attention.ts and kernels/attention-backward.ts: the attention kernels at the geometry planAttention picks on a GPU ('staged': walked
// rows staged in workgroup memory, W = 64 rows per workgroup, T = min(16, 16 KiB / (8 D)) rows per tile;
// 'split' decode forward and its combine) over head dims, q/k/v/o dtypes, causal, mask, bias and bias
// gradient, compiled by Tint on Dawn's null backend (validates WGSL and pipelines, runs nothing). The
// development adapter (llvmpipe) runs the staged kernels in f32 only (test/engine/ops/attention.test.ts);
// this catches a WGSL error in the 16-bit and GPU-only combinations without a GPU. No attention kernel
// uses subgroup matrices yet.
import * as assert from 'uvu/assert';
import { test, skip } from '../harness/test.js';
import type { DType } from '../../kernels/dtype.js';
import { attentionKernel, type AttentionSpec } from '../../kernels/attention.js';
import { attentionBackwardKernel } from '../../kernels/attention-backward.js';
import { nullDevice, compileOnly } from './null-backend.js';

const DTYPES: DType[] = ['f32', 'f16', 'bf16'];
const HEAD_DIMS = [64, 80, 128];
const gpuTile = (D: number) => Math.max(1, Math.min(16, Math.floor(16384 / (8 * D))));

function specs(): AttentionSpec[] {
  const out: AttentionSpec[] = [];
  for (const D of HEAD_DIMS) for (const dt of DTYPES) {
    const base = { D, q: dt, k: dt, v: dt, o: dt, W: 64, T: gpuTile(D), unroll: false };
    for (const causal of [false, true]) {
      out.push({ ...base, mode: 'fwd', causal, staged: true });
      out.push({ ...base, mode: 'fwd', causal, staged: true, mask: 'u8', bias: dt });
      out.push({ ...base, mode: 'split', causal, staged: false, mask: 'u8' });
      out.push({ ...base, mode: 'dq', causal, staged: true, do: dt });
      // dq / dkv read the mask as f32 flags the pre pass wrote (any mask dtype: 'f32' in the spec).
      out.push({ ...base, mode: 'dq', causal, staged: true, do: dt, bias: 'f32', biasGrad: true, mask: 'f32' });
      out.push({ ...base, mode: 'dkv', causal, staged: true, do: dt });
      out.push({ ...base, mode: 'dkv', causal, staged: true, do: dt, bias: dt, mask: 'f32' });
      // The CPU drivers' register-tiled backward (R rows per invocation, T walked rows a step).
      out.push({ ...base, mode: 'dq', causal, staged: false, W: 16, T: 4, R: 4, do: dt, bias: dt, biasGrad: true, mask: 'f32' });
      out.push({ ...base, mode: 'dkv', causal, staged: false, W: 16, T: 4, R: 4, do: dt, bias: dt, mask: 'f32' });
    }
    out.push({ ...base, mode: 'combine', causal: false, staged: false });
    out.push({ ...base, mode: 'pre', causal: false, staged: false, do: dt, mask: 'u8' });
  }
  return out;
}

test('attention at GPU geometry (staged, split, combine, pre, dq, dkv) and the CPU tiled backward: every variant compiles on the null backend within 8 storage buffers', async () => {
  const dev = await nullDevice();
  if (dev instanceof Error) skip(`no null backend: ${dev.message}`);
  const all = specs();
  // The null adapter offers WebGPU's minimum of 8 storage buffers per stage (llvmpipe 16): every kernel,
  // the backward's included (they pack their statistics and outputs), must fit it.
  for (const s of all) {
    const k = s.mode === 'pre' || s.mode === 'dq' || s.mode === 'dkv' ? attentionBackwardKernel(s) : attentionKernel(s);
    const r = await compileOnly(dev, k.code, k.label);
    assert.equal(r.messages.filter((m) => !m.startsWith('info')), [], `${k.label}: compiler messages`);
    assert.ok((k.code.match(/var<storage/g) ?? []).length <= 8, `${k.label}: more than 8 storage buffers`);
    assert.is(r.error, null, `${k.label}: ${r.error}\n${r.messages.join('\n')}`);
  }
  assert.is(all.length, HEAD_DIMS.length * DTYPES.length * 20);
});
