// Fused scaled-dot-product attention (flash attention): softmax(Q·Kᵀ·scale + bias, masked) · V without
// materialising the Sq x Skv matrix. Forward saves O and the per-row logsumexp; backward recomputes P
// from them (FlashAttention-2): D = rowsum(dO ∘ O) and dQ in one kernel over KV tiles, dK/dV in another
// over query tiles (WGSL has no float atomics, so each gradient row has exactly one writer).
// Kernels: kernels/attention.ts. The choice of variant is made in planAttention, from the device and shapes.
import { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import type { Device } from '../device.js';
import { record, noGrad } from '../autograd.js';
import {
  attentionKernel, outDtype, SLOT, ATTN_PARAMS, NO_CAUSAL_SHIFT, NO_BIAS_OFFSET, type AttentionSpec, type AttentionMode, type Vec4Operand,
} from '../../kernels/attention.js';
import { kernelFor } from '../kernel-cache.js';
import { attentionBackwardKernel, PRE_W } from '../../kernels/attention-backward.js';
import { grid } from '../../kernels/kernel.js';
import { f32Bits, i32Bits, broadcastStrides } from './launch.js';
import { castAndDispose, contiguous } from './views.js';
import { sumToShape } from './reduce.js';
import { ShapeError } from '../errors.js';
import { full } from './creation.js';

export interface AttentionOptions {
  /** Query i attends keys j <= i + Skv - Sq (the query block aligned to the end of the keys). */
  causal?: boolean;
  /** [B, Skv] u8 / i32 / f32; nonzero = attend, zero = ignore that key. */
  keyPaddingMask?: Tensor | null;
  /** Additive bias broadcastable to [B, H, Sq, Skv] (e.g. relative-position terms); differentiable. */
  bias?: Tensor | null;
  /** Logit scale (default 1/sqrt(D)). */
  scale?: number;
  /** Force a kernel variant (tests, benchmarks); default: planAttention's choice. */
  impl?: AttentionImpl;
}

/** rows: one invocation per row, walked rows read straight from memory (CPU drivers: the backward);
 * tiled: the CPU forward, R query rows per invocation and keys T at a time, K/V as vec4 where aligned; staged: walked
 * rows staged in workgroup memory tile by tile (GPUs); split: split-KV forward for few query rows. */
export type AttentionImpl = 'rows' | 'tiled' | 'staged' | 'split';

export interface AttentionPlan { impl: AttentionImpl; W: number; T: number; R: number; nPart: number; keysPerPart: number; unroll: boolean }

/** The one place that picks the attention kernel variant and its geometry. */
export function planAttention(device: Device, Sq: number, Skv: number, D: number, force?: AttentionImpl): AttentionPlan {
  const software = device.isSoftwareAdapter;
  const maxShared = Math.min(16384, device.limits.maxComputeWorkgroupStorageSize);
  const decode = Sq <= 4 && Skv >= 128;
  const impl: AttentionImpl = force ?? (decode ? 'split' : software ? 'tiled' : 'staged');
  let T = impl === 'staged' ? Math.max(1, Math.min(16, Math.floor(maxShared / (8 * D)))) : 16;
  // On llvmpipe a workgroup is one thread's work item: 32 rows keep the SIMD chunks full while leaving
  // enough workgroups for every core.
  let W = impl === 'split' ? 64 : software ? 32 : 64;
  let R = 1;
  // tiled (CPU forward): 4 query rows x 4 keys per step (measured on lavapipe at 1024 x 8h x 64: W 8-32,
  // R 2-8, T 4-8 within noise of each other except R 2 (slower) and R 8 (30 s compile)).
  if (impl === 'tiled') { W = 16; R = 4; T = 4; }
  // Unrolling the head-dim loops (kernels/attention.ts `unroll`) would keep row vectors in registers on
  // llvmpipe, but its compile did not finish in 10 minutes for D = 64 there: off until measured.
  const keysPerPart = Math.max(16, Math.ceil(Skv / 256));
  return { impl, W, T, R, nPart: Math.ceil(Skv / keysPerPart), keysPerPart, unroll: false };
}

const kernel = (spec: AttentionSpec) => kernelFor(attentionKernel, spec);
const bwdKernel = (spec: AttentionSpec) => kernelFor(attentionBackwardKernel, spec);

interface Problem {
  B: number; H: number; Hkv: number; Sq: number; Skv: number; D: number; scale: number; causal: boolean;
  mask: Tensor | null; bias: Tensor | null;
}

function validate(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Problem {
  for (const t of [q, k, v]) t.assertAlive('scaledDotProductAttention');
  const shapes = `q [${q.shape}], k [${k.shape}], v [${v.shape}]`;
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw new ShapeError(`scaledDotProductAttention: q, k, v must be [B, H, S, D]; got ${shapes}`);
  for (const t of [q, k, v]) if (!isFloat(t.dtype)) throw new TypeError(`scaledDotProductAttention: needs floating q, k, v; got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  const [B, H, Sq, D] = q.shape;
  const [, Hkv, Skv] = k.shape;
  if (k.shape[0] !== B || v.shape[0] !== B || k.shape[3] !== D || v.shape[3] !== D || v.shape[1] !== Hkv || v.shape[2] !== Skv) {
    throw new ShapeError(`scaledDotProductAttention: expected k and v [${B}, Hkv, Skv, ${D}] alike; got ${shapes}`);
  }
  if (Hkv === 0 || H % Hkv !== 0) throw new ShapeError(`scaledDotProductAttention: query heads ${H} are not a multiple of key/value heads ${Hkv}; ${shapes}`);
  if (D > 256) throw new ShapeError(`scaledDotProductAttention: head dim ${D} > 256 is not supported`);
  const mask = o.keyPaddingMask ?? null;
  if (mask) {
    mask.assertAlive('scaledDotProductAttention');
    if (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== Skv) throw new ShapeError(`scaledDotProductAttention: keyPaddingMask must be [${B}, ${Skv}], got [${mask.shape}]`);
    if (!['u8', 'i32', 'u32', 'f32'].includes(mask.dtype)) throw new TypeError(`scaledDotProductAttention: keyPaddingMask must be u8/i32/u32/f32, got ${mask.dtype}`);
  }
  const bias = o.bias ?? null;
  if (bias) {
    bias.assertAlive('scaledDotProductAttention');
    if (!isFloat(bias.dtype)) throw new TypeError(`scaledDotProductAttention: bias must be floating, got ${bias.dtype}`);
    if (bias.rank > 4) throw new ShapeError(`scaledDotProductAttention: bias [${bias.shape}] has more than 4 axes`);
    broadcastStrides(bias, [B, H, Sq, Skv]);
  }
  return { B, H, Hkv, Sq, Skv, D, scale: o.scale ?? 1 / Math.sqrt(D), causal: !!o.causal, mask, bias };
}

function params(p: Problem, t: Partial<Record<keyof typeof SLOT, Tensor>>, extra: { nPart?: number; keysPerPart?: number; rows?: number } = {}): Uint32Array {
  const P = new Uint32Array(ATTN_PARAMS);
  P.set([p.B, p.H, p.Hkv, p.Sq, p.Skv, f32Bits(p.scale), i32Bits(p.causal ? p.Skv - p.Sq : NO_CAUSAL_SHIFT),
    extra.nPart ?? 0, extra.keysPerPart ?? 0, extra.rows ?? 0]);
  P[10 + 5 * SLOT.bias] = NO_BIAS_OFFSET;
  for (const [name, slot] of Object.entries(SLOT)) {
    const x = t[name as keyof typeof SLOT];
    if (!x) continue;
    const at = 10 + 5 * slot;
    if (name === 'mask') P.set([x.offset, x.strides[0], 0, x.strides[1], 0], at);
    else if (name === 'bias') P.set([x.offset, ...broadcastStrides(x, [p.B, p.H, p.Sq, p.Skv])], at);
    else P.set([x.offset, ...x.strides], at);
  }
  return P;
}

function specOf(mode: AttentionMode, p: Problem, q: Tensor, k: Tensor, v: Tensor, plan: AttentionPlan, more: Partial<AttentionSpec> = {}): AttentionSpec {
  return { mode, D: p.D, q: q.dtype, k: k.dtype, v: v.dtype, o: q.dtype, causal: p.causal, mask: p.mask?.dtype,
    bias: p.bias?.dtype, staged: plan.impl === 'staged', W: plan.W, T: plan.T, unroll: plan.unroll, ...more };
}

const buf = (t: Tensor) => ({ buffer: t.storage.buffer });

/** Forward without autograd: O [B,H,Sq,D] in q's dtype and the logsumexp [B,H,Sq] (f32, +inf for empty rows). */
function forward(q: Tensor, k: Tensor, v: Tensor, p: Problem, force?: AttentionImpl): { out: Tensor; lse: Tensor } {
  const device = q.device;
  const { B, H, Sq, Skv, D } = p;
  if (Skv === 0) {
    // No keys at all: every row is empty (output 0, logsumexp +inf), the rule for fully masked rows.
    return { out: fullLike(q, 0, q.dtype, [B, H, Sq, D]), lse: fullLike(q, Infinity, 'f32', [B, H, Sq]) };
  }
  let plan = planAttention(device, Sq, Skv, D, force);
  const rows = B * H * Sq;
  if (plan.impl === 'split' && rows > 65535 * 65535) plan = planAttention(device, Sq, Skv, D, device.isSoftwareAdapter ? 'rows' : 'staged');
  const out = Tensor.empty([B, H, Sq, D], outDtype(q.dtype, D), device);
  const lse = Tensor.empty([B, H, Sq], 'f32', device);
  if (rows * D === 0) return { out: castAndDispose(out, q.dtype), lse };
  // The forward kernels take the causal mask and the bias in their run-time forms (kernels/attention.ts
  // NO_CAUSAL_SHIFT, NO_BIAS_OFFSET): one pipeline for plain, causal and biased attention; q stands in
  // for an absent bias.
  const inputs = [buf(q), buf(k), buf(v), ...(p.mask ? [buf(p.mask)] : []), buf(p.bias ?? q)];
  const ops = { q, k, v, ...(p.bias ? { bias: p.bias } : {}), ...(p.mask ? { mask: p.mask } : {}) };
  const spec = (mode: AttentionMode, more: Partial<AttentionSpec> = {}) =>
    specOf(mode, p, q, k, v, plan, { causal: true, bias: p.bias?.dtype ?? q.dtype, ...more });
  if (plan.impl === 'split') {
    const part = Tensor.empty([rows, plan.nPart, D + 2], 'f32', device);
    const yz: [number, number] = rows <= 65535 ? [rows, 1] : [65535, Math.ceil(rows / 65535)];
    device.dispatch(kernel(spec('split')), params(p, ops, plan), [...inputs, buf(part)],
      [Math.ceil(plan.nPart / plan.W), yz[0], yz[1]]);
    device.dispatch(kernel(spec('combine')), params(p, {}, { nPart: plan.nPart, rows }),
      [buf(part), buf(out), buf(lse)], [Math.ceil(rows / plan.W), 1, 1]);
    part.dispose();
  } else if (plan.impl === 'tiled') {
    const more = { R: plan.R, vec4: vec4List({ k, v }, D) };
    device.dispatch(kernel(spec('fwd', more)), params(p, ops), [...inputs, buf(out), buf(lse)],
      [Math.ceil(Sq / (plan.W * plan.R)), B * H, 1]);
  } else {
    device.dispatch(kernel(spec('fwd')), params(p, ops), [...inputs, buf(out), buf(lse)],
      [Math.ceil(Sq / plan.W), B * H, 1]);
  }
  return { out: castAndDispose(out, q.dtype), lse };
}

/** Whether t's rows can be read as vec4<f32>: f32, d-stride 1, offset and other strides multiples of 4. */
function vec4Rows(t: Tensor, D: number): boolean {
  return t.dtype === 'f32' && D % 4 === 0 && t.strides[3] === 1 && t.offset % 4 === 0 && t.strides.slice(0, 3).every((x) => x % 4 === 0);
}
function vec4List(ts: Partial<Record<Vec4Operand, Tensor>>, D: number): Vec4Operand[] {
  return (Object.keys(ts) as Vec4Operand[]).filter((n) => vec4Rows(ts[n]!, D));
}

/**
 * softmax(q·kᵀ·scale + bias, masked) · v for q [B,H,Sq,D], k and v [B,Hkv,Skv,D] (H a multiple of Hkv:
 * grouped-query attention), any strides. Fully masked rows (no visible key) output 0 and get zero
 * gradients (PyTorch's math path gives NaN there). Output: [B,H,Sq,D] in q's dtype.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const p = validate(q, k, v, opts);
  const { out, lse } = noGrad(() => forward(q, k, v, p, opts.impl));
  const inputs = [q, k, v, ...(p.bias ? [p.bias] : [])];
  const save = [q, k, v, out, lse, ...(p.mask ? [p.mask] : []), ...(p.bias ? [p.bias] : [])];
  const r = record('scaledDotProductAttention', out, inputs, (g, saved) => {
    const [qs, ks, vs, os, ls] = saved;
    let i = 5;
    const mask = p.mask ? saved[i++] : null;
    const bias = p.bias ? saved[i++] : null;
    return attentionBackward(g, qs, ks, vs, os, ls, { ...p, mask, bias }, {
      needKV: k.requiresGrad || v.requiresGrad, biasGrad: !!p.bias?.requiresGrad, impl: opts.impl,
    });
  }, save);
  lse.dispose();
  return r;
}

/** Geometry of the backward kernels (kernels/attention-backward.ts): 'tiled' on CPU drivers (R owned rows per
 * invocation, walked rows T at a time), 'staged' on GPUs, 'rows' when forced. */
export function planAttentionBackward(device: Device, Sq: number, Skv: number, D: number, force?: AttentionImpl): AttentionPlan {
  const impl: AttentionImpl = force === 'staged' || force === 'rows' || force === 'tiled' ? force : device.isSoftwareAdapter ? 'tiled' : 'staged';
  if (impl !== 'tiled') return planAttention(device, Sq, Skv, D, impl);
  // Measured on lavapipe at the tiny u-LLaVA's shapes and at D 64 (bench/train-attention.ts).
  return { impl, W: BWD_TILED.W, T: BWD_TILED.T, R: BWD_TILED.R, nPart: 0, keysPerPart: 0, unroll: false };
}

/** The tiled backward's geometry (exported for the benchmark that chose it). */
export const BWD_TILED = { W: 16, R: 4, T: 4 };

function attentionBackward(g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, p: Problem,
  want: { needKV: boolean; biasGrad: boolean; impl?: AttentionImpl }): (Tensor | null)[] {
  const device = q.device;
  const { B, H, Hkv, Sq, Skv, D } = p;
  // 'split' is a forward-only variant: the backward takes the default there.
  const plan = planAttentionBackward(device, Sq, Skv, D, want.impl === 'split' ? undefined : want.impl);
  const rows = B * H * Sq;
  const nq = rows * D, nkv = B * Hkv * Skv * D;
  // One output buffer per kernel (dQ then the dense bias gradient; dK then dV) and one for the
  // per-row statistics and mask flags: the kernels bind at most 8 storage buffers (WebGPU's minimum).
  // One output buffer per kernel (the dense bias gradient dS, then dQ; dK then dV) and one for the
  // per-row statistics and mask flags: the kernels bind at most 8 storage buffers (WebGPU's minimum).
  const dbWords = want.biasGrad ? rows * Skv : 0;
  const gq = Tensor.empty([dbWords + nq], 'f32', device);
  const gkv = want.needKV ? Tensor.empty([2 * nkv], 'f32', device) : null;
  const dq = view(gq, [B, H, Sq, D], dbWords);
  const empty = nq === 0 || Skv === 0;
  if (empty) {
    const z = fullLike(gq, 0); gq.assign(z); z.dispose();
    if (gkv) { const zk = fullLike(gkv, 0); gkv.assign(zk); zk.dispose(); }
  } else {
    const stats = Tensor.empty([2 * rows + (p.mask ? B * Skv : 0)], 'f32', device);
    const ops = { q, k, v, o, do: g, ...(p.bias ? { bias: p.bias } : {}), ...(p.mask ? { mask: p.mask } : {}) };
    const P = params(p, ops);
    const spec = (mode: AttentionMode, more: Partial<AttentionSpec> = {}): AttentionSpec => ({
      ...specOf(mode, p, q, k, v, plan, { o: o.dtype, do: g.dtype, mask: p.mask ? 'f32' : undefined, ...more }),
      ...(plan.impl === 'tiled' ? { R: plan.R, vec4: vec4List({ q, k, v, do: g }, D) } : {}),
    });
    const preItems = rows + (p.mask ? B * Skv : 0);
    device.dispatch(bwdKernel({ ...spec('pre'), mask: p.mask?.dtype }), P,
      [buf(o), buf(g), buf(lse), ...(p.mask ? [buf(p.mask)] : []), buf(stats)], grid(Math.ceil(preItems / PRE_W)));
    const inputs = [buf(q), buf(k), buf(v), ...(p.bias ? [buf(p.bias)] : []), buf(g), buf(stats)];
    const rowsPerGroup = plan.W * (plan.impl === 'tiled' ? plan.R : 1);
    device.dispatch(bwdKernel(spec('dq', { biasGrad: want.biasGrad })), P, [...inputs, buf(gq)], [Math.ceil(Sq / rowsPerGroup), B * H, 1]);
    if (gkv) device.dispatch(bwdKernel(spec('dkv')), P, [...inputs, buf(gkv)], [Math.ceil(Skv / rowsPerGroup), B * Hkv, 1]);
    stats.dispose();
  }
  const as = castAndDispose;
  let gb: Tensor | null = null;
  let dqOut = dq;
  if (want.biasGrad && p.bias) {
    const dbias = view(gq, [B, H, Sq, Skv], 0);
    gb = as(sumToShape(dbias, p.bias.shape), p.bias.dtype);
    dbias.dispose();
    // dQ copied out (it sits at an offset), so a reduced bias gradient lets the dense dS go now.
    dqOut = contiguous(dq); dq.dispose();
  }
  gq.dispose();
  let dk: Tensor | null = null, dv: Tensor | null = null;
  if (gkv) { dk = as(view(gkv, [B, Hkv, Skv, D], 0), k.dtype); dv = as(view(gkv, [B, Hkv, Skv, D], nkv), v.dtype); gkv.dispose(); }
  return [as(dqOut, q.dtype), dk, dv, gb];
}

/** A contiguous view of `shape` into t's storage at element `offset` (shares and retains the storage). */
function view(t: Tensor, shape: number[], offset: number): Tensor {
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
  return new Tensor(t.storage.retain(), shape, 'f32', strides, t.offset + offset);
}

/** A new tensor of `shape` filled with `value` on t's device. */
function fullLike(t: Tensor, value: number, dtype: DType = t.dtype, shape: readonly number[] = t.shape): Tensor {
  return full(shape, value, dtype, t.device);
}
