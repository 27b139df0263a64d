// Flash attention backward (FlashAttention-2's schedule) in WGSL: a preprocessing pass, then dQ over KV
// tiles and dK/dV over query tiles (WGSL has no float atomics, so each gradient row has one writer).
//
//   pre  one invocation per query row: STATS[2 row] = logsumexp (from the forward), STATS[2 row + 1] =
//        D = rowsum(dO ∘ O); then, when there is a key padding mask, its B x Skv flags as f32 (1 = keep)
//        after the 2·rows words. Packing these into one buffer keeps dq and dkv within WebGPU's minimum
//        of 8 storage buffers per stage (the parameter block counts as one): P, q, k, v, bias, dO, STATS
//        and one output buffer (the dense bias gradient dS, then dQ; dK, then dV).
//   dq   an invocation owns query row(s) and walks the keys; dkv: owns key row(s) and walks the queries of
//        every head sharing its KV head (grouped-query attention).
//
// Variants (engine/ops/attention.ts planAttentionBackward): 'rows' (one row per invocation, walked rows
// read from memory), 'staged' (GPUs: walked rows staged in workgroup memory), and 'tiled' (CPU drivers:
// R owned rows per invocation and walked rows T at a time, as vec4 where aligned, so each walked load
// feeds R rows and the row vectors are vec4 arrays; the measured win on llvmpipe is in
// bench/results/train-attention-*.json).
import type { DType } from './dtype.js';
import { PARAMS_DECL, LINEAR_WG, type KernelSource } from './kernel.js';
import { bufferDecl, computeType, loadExpr, DTYPE_HELPERS } from './wgsl.js';
import {
  SLOT, NO_BIAS_OFFSET, operandFns, tiles, strideD, queryRowKernel, load4, listOf, each, unrollD,
  type AttentionSpec, type Vec4Operand,
} from './attention.js';

/** Invocations per workgroup of the pre pass. */
export const PRE_W = 64;

export function attentionBackwardKernel(s: AttentionSpec): KernelSource {
  const { D, W, T, mode } = s;
  if (mode !== 'pre' && mode !== 'dq' && mode !== 'dkv') throw new Error(`attentionBackwardKernel: mode ${mode} is a forward mode`);
  const tiled = mode !== 'pre' && !!s.R;
  const vecs = tiled ? s.vec4 ?? [] : [];
  const label = `attn_${mode}${tiled ? `_R${s.R}${vecs.length ? `_v${vecs.join('')}` : ''}` : ''}_D${D}_${s.q}${s.k}${s.v}_o${s.o}_do${s.do}` +
    `${s.causal ? '_causal' : ''}${s.mask ? `_m${mode === 'pre' ? s.mask : ''}` : ''}${s.bias ? `_b${s.bias}` : ''}${s.biasGrad ? '_dbias' : ''}` +
    `${s.staged ? '_staged' : ''}${mode === 'pre' ? '' : `_W${W}_T${T}`}`;
  const done = (code: string) => ({ label: s.unroll ? `${label}_unrolled` : label, code: s.unroll ? unrollD(code) : code });
  if (mode === 'pre') return done(preCode(s));
  const decls: string[] = [];
  let binding = 1;
  const ro = (name: string, dt: DType) => decls.push(vecs.includes(name.slice(2) as Vec4Operand)
    ? `@group(0) @binding(${binding++}) var<storage, read> ${name}: array<vec4<f32>>;` : bufferDecl(binding++, name, dt, 'read'));
  ro('X_q', s.q); ro('X_k', s.k); ro('X_v', s.v);
  if (s.bias) ro('X_bias', s.bias);
  ro('X_do', s.do!);
  decls.push(bufferDecl(binding++, 'STATS', 'f32', 'read'));
  decls.push(bufferDecl(binding++, 'G', 'f32', 'read_write'));
  const operand = (name: Vec4Operand | 'bias', dt: DType) => operandFns(name, SLOT[name], dt, vecs.includes(name as Vec4Operand));
  const ops = [operand('q', s.q), operand('k', s.k), operand('v', s.v), operand('do', s.do!)];
  if (s.bias) ops.push(operand('bias', s.bias));
  const bb = 10 + 5 * SLOT.bias;
  const header = `
${PARAMS_DECL}
${decls.join('\n')}
${DTYPE_HELPERS}
${ops.join('\n')}
// Rows of q (B·H·Sq): where the mask flags start in STATS.
fn nRows() -> u32 { return P[0] * P[1] * P[3]; }
${s.mask ? `fn keep(b: u32, j: u32) -> bool { return STATS[2u * nRows() + b * P[4] + j] != 0.0; }` : ''}
${s.bias ? `fn biasAt(b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (P[${bb}u] == ${NO_BIAS_OFFSET}u) { return 0.0; }
  return ld_bias(base_bias(b, h, i) + j * P[${bb + 4}u]);
}` : ''}
fn scale() -> f32 { return bitcast<f32>(P[5]); }
fn shift() -> i32 { return bitcast<i32>(P[6]); }
`;
  const body = mode === 'dq' ? (tiled ? dqTiledBody(s) : dqBody(s)) : (tiled ? dkvTiledBody(s) : dkvBody(s));
  return done(header + body);
}

/** The pre pass: logsumexp and D per row into STATS, then the mask flags. */
function preCode(s: AttentionSpec): string {
  const { D } = s;
  let binding = 1;
  const decls = [bufferDecl(binding++, 'X_o', s.o, 'read'), bufferDecl(binding++, 'X_do', s.do!, 'read'), bufferDecl(binding++, 'LSE', 'f32', 'read')];
  if (s.mask) decls.push(bufferDecl(binding++, 'X_mask', s.mask, 'read'));
  decls.push(bufferDecl(binding++, 'STATS', 'f32', 'read_write'));
  const mb = 10 + 5 * SLOT.mask;
  const zero = s.mask ? (computeType(s.mask) === 'f32' ? '0.0' : computeType(s.mask) === 'i32' ? '0' : '0u') : '';
  return `
${PARAMS_DECL}
${decls.join('\n')}
${DTYPE_HELPERS}
${LINEAR_WG}
${operandFns('o', SLOT.o, s.o, false)}
${operandFns('do', SLOT.do, s.do!, false)}
@compute @workgroup_size(${PRE_W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Sq = P[3]; let Skv = P[4];
  let rows = P[0] * H * Sq;
  let e = linearWorkgroup(wid, nwg) * ${PRE_W}u + lid;
  if (e < rows) {
    let i = e % Sq; let bh = e / Sq; let h = bh % H; let b = bh / H;
    ${strideD('o')} ${strideD('do')}
    let ob = base_o(b, h, i); let gb = base_do(b, h, i);
    var acc = 0.0;
    for (var d = 0u; d < ${D}u; d++) { acc += ld_do(gb + d * sd_do) * ld_o(ob + d * sd_o); }
    STATS[2u * e] = LSE[e];
    STATS[2u * e + 1u] = acc;
    return;
  }
  ${s.mask ? `let m = e - rows;
  if (m < P[0] * Skv) {
    let b = m / Skv; let j = m % Skv;
    STATS[2u * rows + m] = select(0.0, 1.0, ${loadExpr('X_mask', s.mask, `P[${mb}u] + b * P[${mb + 1}u] + j * P[${mb + 3}u]`)} != ${zero});
  }` : ''}
}`;
}

/** dQ, one query row per invocation (rows, staged). G: the dense bias gradient dS (if asked for), then dQ. */
function dqBody(s: AttentionSpec): string {
  const { D, W, T } = s;
  const { tl, bias, ok, open } = queryRowKernel(s);
  return `${open}
  let row = wid.y * Sq + iq;
  ${strideD('q')} ${strideD('k')} ${strideD('v')} ${strideD('do')}
  var jEnd = Skv;
  if (${s.causal && !s.biasGrad}) { jEnd = u32(clamp(i32(min(wid.x * ${W}u + ${W - 1}u, Sq - 1u)) + shift() + 1, 0, i32(Skv))); }
  var qr: array<f32, ${D}>;
  var dor: array<f32, ${D}>;
  var dq: array<f32, ${D}>;
  let qb = base_q(b, h, iq); let gb = base_do(b, h, iq);
  for (var d = 0u; d < ${D}u; d++) { qr[d] = ld_q(qb + d * sd_q); dor[d] = ld_do(gb + d * sd_do); dq[d] = 0.0; }
  let lse = STATS[2u * row];
  let Di = STATS[2u * row + 1u];
  let dqAt = ${s.biasGrad ? 'nRows() * Skv' : '0u'};
  let sc0 = scale();
  for (var j0 = 0u; j0 < jEnd; j0 += ${T}u) {
    ${tl.stage('j0', 'Skv', 'b', 'hk')}
    for (var t = 0u; t < ${T}u; t++) {
      let j = j0 + t;
      if (j < jEnd) {
        ${tl.colBase('j', 'b', 'hk')}
        var ds = 0.0;
        if (${ok}) {
          var a = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < ${D}u; d++) { a += qr[d] * ${tl.A('d')}; dp += dor[d] * ${tl.B('d')}; }
          let pr = exp(a * sc0${bias} - lse);
          ds = pr * (dp - Di);
          for (var d = 0u; d < ${D}u; d++) { dq[d] += ds * ${tl.A('d')}; }
        }
        ${s.biasGrad ? 'if (i < Sq) { G[row * Skv + j] = ds; }' : ''}
      }
    }
    ${tl.after}
  }
  if (i >= Sq) { return; }
  for (var d = 0u; d < ${D}u; d++) { G[dqAt + row * ${D}u + d] = dq[d] * sc0; }
}`;
}

/** dK/dV, one key row per invocation (rows, staged). G: dK rows, then dV rows. */
function dkvBody(s: AttentionSpec): string {
  const { D, W, T } = s;
  const tl = tiles(s, 'q', 'do');
  const bias = s.bias ? ' + biasAt(b, h, ic, jk)' : '';
  const ok = ['kok', s.causal ? 'i32(jk) <= i32(ic) + shift()' : ''].filter(Boolean).join(' && ');
  return `
${tl.decl}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Hkv = P[2]; let Sq = P[3]; let Skv = P[4];
  let G_ = H / Hkv;
  let b = wid.y / Hkv; let hk = wid.y % Hkv;
  let j = wid.x * ${W}u + lid;
  let jk = min(j, Skv - 1u);
  ${strideD('q')} ${strideD('k')} ${strideD('v')} ${strideD('do')}
  let kok = j < Skv${s.mask ? ' && keep(b, jk)' : ''};
  // Queries that may see the workgroup's first key (causal): i >= j - shift.
  var iStart = 0u;
  if (${s.causal}) { iStart = u32(clamp(i32(wid.x * ${W}u) - shift(), 0, i32(Sq))); }
  var kr: array<f32, ${D}>;
  var vr: array<f32, ${D}>;
  var dk: array<f32, ${D}>;
  var dv: array<f32, ${D}>;
  let kb = base_k(b, hk, jk); let vb = base_v(b, hk, jk);
  for (var d = 0u; d < ${D}u; d++) { kr[d] = ld_k(kb + d * sd_k); vr[d] = ld_v(vb + d * sd_v); dk[d] = 0.0; dv[d] = 0.0; }
  let sc0 = scale();
  for (var hh = 0u; hh < G_; hh++) {
    let h = hk * G_ + hh;
    let rb = (b * H + h) * Sq;
    for (var i0 = iStart; i0 < Sq; i0 += ${T}u) {
      ${tl.stage('i0', 'Sq', 'b', 'h')}
      for (var t = 0u; t < ${T}u; t++) {
        let ic = i0 + t;
        if (ic < Sq) {
          ${tl.colBase('ic', 'b', 'h')}
          if (${ok}) {
            var a = 0.0;
            var dp = 0.0;
            for (var d = 0u; d < ${D}u; d++) { a += kr[d] * ${tl.A('d')}; dp += vr[d] * ${tl.B('d')}; }
            let pr = exp(a * sc0${bias} - STATS[2u * (rb + ic)]);
            let ds = pr * (dp - STATS[2u * (rb + ic) + 1u]);
            for (var d = 0u; d < ${D}u; d++) { dv[d] += pr * ${tl.B('d')}; dk[d] += ds * ${tl.A('d')}; }
          }
        }
      }
      ${tl.after}
    }
  }
  if (j >= Skv) { return; }
  let row = wid.y * Skv + j;
  let dvAt = P[0] * Hkv * Skv * ${D}u;
  for (var d = 0u; d < ${D}u; d++) { G[row * ${D}u + d] = dk[d] * sc0; G[dvAt + row * ${D}u + d] = dv[d]; }
}`;
}

/**
 * dQ for CPU drivers: an invocation owns R query rows (lid + r·W of the workgroup's W·R) and walks the keys
 * T at a time: the T scores and dP of each row first (K and V loaded once for all R rows), then dQ += dS·K.
 */
function dqTiledBody(s: AttentionSpec): string {
  const { D, W, T } = s;
  const R = s.R!;
  const D4 = Math.ceil(D / 4);
  const rs = listOf(R), ts = listOf(T);
  const ld4 = (name: Vec4Operand, base: string) => load4(s, name, base, true);
  const ok = (r: number, t: number) => [`j${t} < jEnd`, s.mask ? `keep(b, j${t})` : '', s.causal ? `i32(j${t}) <= i32(iq${r}) + shift()` : ''].filter(Boolean).join(' && ');
  const bias = (r: number, t: number) => (s.bias ? ` + biasAt(b, h, iq${r}, j${t})` : '');
  return `
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Sq = P[3]; let Skv = P[4];
  let b = wid.y / H; let h = wid.y % H; let hk = h / (H / P[2]);
  let i0 = wid.x * ${W * R}u + lid;
  ${strideD('q')} ${strideD('k')} ${strideD('v')} ${strideD('do')}
  var jEnd = Skv;
  if (${s.causal && !s.biasGrad}) { jEnd = u32(clamp(i32(min(wid.x * ${W * R}u + ${W * R - 1}u, Sq - 1u)) + shift() + 1, 0, i32(Skv))); }
  var qr: array<vec4<f32>, ${R * D4}>;
  var dor: array<vec4<f32>, ${R * D4}>;
  var dq: array<vec4<f32>, ${R * D4}>;
  let sc0 = scale();
  let dqAt = ${s.biasGrad ? 'nRows() * Skv' : '0u'};
  ${each(rs, (r) => `let iq${r} = min(i0 + ${r * W}u, Sq - 1u); let row${r} = wid.y * Sq + iq${r};
    let qb${r} = base_q(b, h, iq${r}); let gb${r} = base_do(b, h, iq${r});
    for (var d = 0u; d < ${D4}u; d++) { qr[${r * D4}u + d] = ${ld4('q', `qb${r}`)} * sc0; dor[${r * D4}u + d] = ${ld4('do', `gb${r}`)}; dq[${r * D4}u + d] = vec4<f32>(0.0); }
    let lse${r} = STATS[2u * row${r}]; let di${r} = STATS[2u * row${r} + 1u];`)}
  for (var j0 = 0u; j0 < jEnd; j0 += ${T}u) {
    ${each(ts, (t) => `let j${t} = j0 + ${t}u; let jc${t} = min(j${t}, Skv - 1u); let kb${t} = base_k(b, hk, jc${t}); let vb${t} = base_v(b, hk, jc${t});`)}
    ${rs.flatMap((r) => ts.map((t) => `var s${r}_${t} = 0.0; var dp${r}_${t} = 0.0;`)).join(' ')}
    for (var d = 0u; d < ${D4}u; d++) {
      ${each(ts, (t) => `let k${t} = ${ld4('k', `kb${t}`)}; let v${t} = ${ld4('v', `vb${t}`)};`)}
      ${each(rs, (r) => `let q${r} = qr[${r * D4}u + d]; let g${r} = dor[${r * D4}u + d]; ${ts.map((t) => `s${r}_${t} += dot(q${r}, k${t}); dp${r}_${t} += dot(g${r}, v${t});`).join(' ')}`)}
    }
    ${each(rs, (r) => ts.map((t) => `let ds${r}_${t} = select(0.0, exp(s${r}_${t}${bias(r, t)} - lse${r}) * (dp${r}_${t} - di${r}), ${ok(r, t)});` +
      (s.biasGrad ? ` if (i0 + ${r * W}u < Sq && j${t} < Skv) { G[row${r} * Skv + j${t}] = ds${r}_${t}; }` : '')).join(' '))}
    for (var d = 0u; d < ${D4}u; d++) {
      ${each(ts, (t) => `let k${t} = ${ld4('k', `kb${t}`)};`)}
      ${each(rs, (r) => `dq[${r * D4}u + d] += ${ts.map((t) => `ds${r}_${t} * k${t}`).join(' + ')};`)}
    }
  }
  ${each(rs, (r) => `if (i0 + ${r * W}u < Sq) {
    for (var d = 0u; d < ${D}u; d++) { G[dqAt + row${r} * ${D}u + d] = dq[${r * D4}u + d / 4u][d % 4u] * sc0; }
  }`)}
}`;
}

/**
 * dK/dV for CPU drivers: an invocation owns R key rows and walks the query rows of every head sharing its
 * KV head T at a time: P and dS of the R x T pairs first (Q and dO loaded once for all R rows), then
 * dV += P·dO and dK += dS·Q.
 */
function dkvTiledBody(s: AttentionSpec): string {
  const { D, W, T } = s;
  const R = s.R!;
  const D4 = Math.ceil(D / 4);
  const rs = listOf(R), ts = listOf(T);
  const ld4 = (name: Vec4Operand, base: string) => load4(s, name, base, true);
  const ok = (r: number, t: number) => [`i${t} < Sq`, `kok${r}`, s.causal ? `i32(jk${r}) <= i32(ic${t}) + shift()` : ''].filter(Boolean).join(' && ');
  const bias = (r: number, t: number) => (s.bias ? ` + biasAt(b, h, ic${t}, jk${r})` : '');
  return `
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Hkv = P[2]; let Sq = P[3]; let Skv = P[4];
  let G_ = H / Hkv;
  let b = wid.y / Hkv; let hk = wid.y % Hkv;
  let j0 = wid.x * ${W * R}u + lid;
  ${strideD('q')} ${strideD('k')} ${strideD('v')} ${strideD('do')}
  // Queries that may see the workgroup's first key (causal): i >= j - shift.
  var iStart = 0u;
  if (${s.causal}) { iStart = u32(clamp(i32(wid.x * ${W * R}u) - shift(), 0, i32(Sq))); }
  var kr: array<vec4<f32>, ${R * D4}>;
  var vr: array<vec4<f32>, ${R * D4}>;
  var dk: array<vec4<f32>, ${R * D4}>;
  var dv: array<vec4<f32>, ${R * D4}>;
  let sc0 = scale();
  ${each(rs, (r) => `let jk${r} = min(j0 + ${r * W}u, Skv - 1u); let kok${r} = j0 + ${r * W}u < Skv${s.mask ? ` && keep(b, jk${r})` : ''};
    let kb${r} = base_k(b, hk, jk${r}); let vb${r} = base_v(b, hk, jk${r});
    for (var d = 0u; d < ${D4}u; d++) { kr[${r * D4}u + d] = ${ld4('k', `kb${r}`)} * sc0; vr[${r * D4}u + d] = ${ld4('v', `vb${r}`)}; dk[${r * D4}u + d] = vec4<f32>(0.0); dv[${r * D4}u + d] = vec4<f32>(0.0); }`)}
  for (var hh = 0u; hh < G_; hh++) {
    let h = hk * G_ + hh;
    let rb = (b * H + h) * Sq;
    for (var ii = iStart; ii < Sq; ii += ${T}u) {
      ${each(ts, (t) => `let i${t} = ii + ${t}u; let ic${t} = min(i${t}, Sq - 1u); let qb${t} = base_q(b, h, ic${t}); let gb${t} = base_do(b, h, ic${t});
      let lse${t} = STATS[2u * (rb + ic${t})]; let di${t} = STATS[2u * (rb + ic${t}) + 1u];`)}
      ${rs.flatMap((r) => ts.map((t) => `var s${r}_${t} = 0.0; var dp${r}_${t} = 0.0;`)).join(' ')}
      for (var d = 0u; d < ${D4}u; d++) {
        ${each(ts, (t) => `let q${t} = ${ld4('q', `qb${t}`)}; let g${t} = ${ld4('do', `gb${t}`)};`)}
        ${each(rs, (r) => `let k${r} = kr[${r * D4}u + d]; let v${r} = vr[${r * D4}u + d]; ${ts.map((t) => `s${r}_${t} += dot(k${r}, q${t}); dp${r}_${t} += dot(v${r}, g${t});`).join(' ')}`)}
      }
      ${each(rs, (r) => ts.map((t) => `let p${r}_${t} = select(0.0, exp(s${r}_${t}${bias(r, t)} - lse${t}), ${ok(r, t)}); let ds${r}_${t} = p${r}_${t} * (dp${r}_${t} - di${t});`).join(' '))}
      for (var d = 0u; d < ${D4}u; d++) {
        ${each(ts, (t) => `let q${t} = ${ld4('q', `qb${t}`)}; let g${t} = ${ld4('do', `gb${t}`)};`)}
        ${each(rs, (r) => `dv[${r * D4}u + d] += ${ts.map((t) => `p${r}_${t} * g${t}`).join(' + ')}; dk[${r * D4}u + d] += ${ts.map((t) => `ds${r}_${t} * q${t}`).join(' + ')};`)}
      }
    }
  }
  let dvAt = P[0] * Hkv * Skv * ${D}u;
  ${each(rs, (r) => `if (j0 + ${r * W}u < Skv) {
    let row = wid.y * Skv + j0 + ${r * W}u;
    for (var d = 0u; d < ${D}u; d++) { G[row * ${D}u + d] = dk[${r * D4}u + d / 4u][d % 4u] * sc0; G[dvAt + row * ${D}u + d] = dv[${r * D4}u + d / 4u][d % 4u]; }
  }`)}
}`;
}
