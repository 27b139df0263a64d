// kernels/attention.ts: the attention kernels at the geometry planAttention picks on a GPU ('staged': walked
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
      out.push({ ...base, mode: 'dq', causal, staged: true, do: dt, bias: 'f32', biasGrad: true, mask: 'i32' });
      out.push({ ...base, mode: 'dkv', causal, staged: true, do: dt });
      out.push({ ...base, mode: 'dkv', causal, staged: true, do: dt, bias: dt, mask: 'f32' });
    }
    out.push({ ...base, mode: 'combine', causal: false, staged: false });
  }
  return out;
}

test('attention at GPU geometry (staged, split, combine, dq, dkv): every variant compiles on the null backend', async () => {
  const dev = await nullDevice();
  if (dev instanceof Error) skip(`no null backend: ${dev.message}`);
  const all = specs();
  // The null adapter offers WebGPU's minimum of 8 storage buffers per stage (llvmpipe 16); backward
  // kernels (dq, dkv) that bind more still have their WGSL checked in full, and their pipeline must fail
  // for that limit and nothing else. Forward kernels must fit the minimum.
  const maxStorage = dev.limits.maxStorageBuffersPerShaderStage;
  let overLimit = 0;
  for (const s of all) {
    const k = attentionKernel(s);
    const r = await compileOnly(dev, k.code, k.label);
    assert.equal(r.messages.filter((m) => !m.startsWith('info')), [], `${k.label}: compiler messages`);
    const storage = (k.code.match(/var<storage/g) ?? []).length;
    if (storage > maxStorage && (s.mode === 'dq' || s.mode === 'dkv')) {
      overLimit++;
      assert.match(r.error ?? '', new RegExp(`number of storage buffers \\(${storage}\\).*exceeds`), `${k.label}: ${r.error}`);
    } else {
      assert.is(r.error, null, `${k.label}: ${r.error}\n${r.messages.join('\n')}`);
    }
  }
  assert.is(all.length, HEAD_DIMS.length * DTYPES.length * 15);
  assert.ok(overLimit < all.length, `all ${all.length} kernels exceed ${maxStorage} storage buffers: no pipeline was validated`);
});
