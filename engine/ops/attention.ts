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
import { f32Bits, i32Bits, broadcastStrides } from './launch.js';
import { castAndDispose } from './views.js';
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

function attentionBackward(g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, p: Problem,
  want: { needKV: boolean; biasGrad: boolean; impl?: AttentionImpl }): (Tensor | null)[] {
  const device = q.device;
  const { B, H, Hkv, Sq, Skv, D } = p;
  // The backward has no R-row variant: 'tiled' (a forward variant) runs the rows kernels.
  const force = want.impl === 'split' ? undefined : want.impl === 'tiled' ? 'rows' : want.impl;
  let plan = planAttention(device, Sq, Skv, D, force);
  if (plan.impl === 'split' || plan.impl === 'tiled') plan = planAttention(device, Sq, Skv, D, device.isSoftwareAdapter ? 'rows' : 'staged');
  const dq = Tensor.empty([B, H, Sq, D], 'f32', device);
  const dvec = Tensor.empty([B, H, Sq], 'f32', device);
  const dbias = want.biasGrad ? Tensor.empty([B, H, Sq, Skv], 'f32', device) : null;
  const dk = Tensor.empty([B, Hkv, Skv, D], 'f32', device);
  const dv = Tensor.empty([B, Hkv, Skv, D], 'f32', device);
  const inputs = [buf(q), buf(k), buf(v), ...(p.mask ? [buf(p.mask)] : []), ...(p.bias ? [buf(p.bias)] : [])];
  const ops = { q, k, v, o, do: g, ...(p.bias ? { bias: p.bias } : {}), ...(p.mask ? { mask: p.mask } : {}) };
  const P = params(p, ops);
  const empty = B * H * Sq * D === 0 || Skv === 0;
  if (empty) {
    for (const t of [dq, dk, dv, ...(dbias ? [dbias] : [])]) { const z = fullLike(t, 0); t.assign(z); z.dispose(); }
  } else {
    device.dispatch(kernel(specOf('dq', p, q, k, v, plan, { o: o.dtype, do: g.dtype, biasGrad: want.biasGrad })), P,
      [...inputs, buf(o), buf(g), buf(lse), buf(dq), buf(dvec), ...(dbias ? [buf(dbias)] : [])], [Math.ceil(Sq / plan.W), B * H, 1]);
    if (want.needKV) {
      device.dispatch(kernel(specOf('dkv', p, q, k, v, plan, { o: o.dtype, do: g.dtype })), P,
        [...inputs, buf(g), buf(lse), buf(dvec), buf(dk), buf(dv)], [Math.ceil(Skv / plan.W), B * Hkv, 1]);
    }
  }
  dvec.dispose();
  const as = castAndDispose;
  let gb: Tensor | null = null;
  if (dbias && p.bias) {
    const s = sumToShape(dbias, p.bias.shape);
    dbias.dispose();
    gb = as(s, p.bias.dtype);
  }
  if (!want.needKV) { dk.dispose(); dv.dispose(); }
  return [as(dq, q.dtype), want.needKV ? as(dk, k.dtype) : null, want.needKV ? as(dv, v.dtype) : null, gb];
}

/** A new tensor of `shape` filled with `value` on t's device. */
function fullLike(t: Tensor, value: number, dtype: DType = t.dtype, shape: readonly number[] = t.shape): Tensor {
  return full(shape, value, dtype, t.device);
}
