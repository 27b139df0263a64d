// Flash attention (FlashAttention-2 schedule) in WGSL: forward with online softmax, a split-KV decode
// forward plus its combine; the backward kernels (dQ over KV tiles; dK/dV over query tiles) are in
// kernels/attention-backward.ts and share the helpers exported here.
//
// Every kernel is "one invocation per row": an invocation owns one query row (forward, dQ) or one key
// row (dK/dV) and keeps that row's vectors and accumulators in registers (private arrays of D floats),
// while the whole workgroup walks the other side's rows in the same order. The walked rows are then
// uniform across the workgroup: on a CPU driver (llvmpipe: one workgroup per thread, lanes in SIMD
// chunks) their loads are scalar broadcasts and there are no barriers at all. On GPUs (`staged`) the
// walked rows are copied tile by tile into workgroup memory by all invocations together, so each element
// is read from global memory once per workgroup. The CPU forward (`R`, fwdTiledBody) owns R query rows
// per invocation and walks keys T at a time, so each K/V load (vec4 where aligned) feeds R rows. Nothing of size Sq x Skv is ever written, except the
// bias gradient (the caller's bias already has that size).
//
// Parameter block (u32 words):
//   0 B, 1 H, 2 Hkv, 3 Sq, 4 Skv, 5 scale (f32 bits), 6 shift = Skv - Sq (i32: causal query i sees keys
//   j <= i + shift), 7 nPart (split), 8 keys per part (split), 9 rows (combine),
//   then 5 words per strided operand (element offset, strides of b, h, s, d) in SLOT order.
import type { DType } from './dtype.js';
import { PARAMS_DECL, type KernelSource } from './kernel.js';
import { bufferDecl, computeType, loadExpr, loadF32, DTYPE_HELPERS } from './wgsl.js';

/** Forward modes are generated here; the backward's (pre, dq, dkv) in kernels/attention-backward.ts. */
export type AttentionMode = 'fwd' | 'split' | 'combine' | 'pre' | 'dq' | 'dkv';

/**
 * Run-time forms of the causal mask and the bias, so one forward kernel serves attention with and without
 * them (each compile costs seconds on a software driver): a kernel built with `causal` sees every key when
 * the shift parameter is NO_CAUSAL_SHIFT, and a kernel built with `bias` adds nothing when the bias offset
 * is NO_BIAS_OFFSET (any read-only buffer bound as the bias).
 */
export const NO_CAUSAL_SHIFT = 1 << 30;
export const NO_BIAS_OFFSET = 0xffffffff;

/** Operands read through strides, and their slot in the parameter block. Mask uses (offset, b, -, j, -). */
export const SLOT = { q: 0, k: 1, v: 2, o: 3, do: 4, bias: 5, mask: 6 } as const;
export const ATTN_PARAMS = 10 + 5 * 7;

export interface AttentionSpec {
  mode: AttentionMode;
  /** Head dim (static: registers are private arrays of D floats). */
  D: number;
  q: DType; k: DType; v: DType;
  /** Storage dtype of the output O (fwd/split-combine write it; dq reads it) and of dO (dq, dkv). */
  o: DType; do?: DType;
  causal: boolean;
  mask?: DType;
  bias?: DType;
  /** dq: also write dS into a dense f32 [B,H,Sq,Skv] buffer (the bias gradient before broadcasting). */
  biasGrad?: boolean;
  /** Stage the walked rows in workgroup memory (GPUs). */
  staged: boolean;
  /** Invocations per workgroup (= rows per workgroup). */
  W: number;
  /** Walked rows per tile (also the online-softmax block). */
  T: number;
  /** Unroll the loops over the head dim, so the row vectors live in registers (CPU drivers: their
   * compilers keep dynamically indexed private arrays in memory). */
  unroll?: boolean;
  /** fwd (and dq / dkv: kernels/attention-backward.ts) on CPU drivers: each invocation owns R query rows (rows lid + r*W of the workgroup's W*R) and
   * walks the keys T at a time, so each K/V load feeds R rows; scores of the T keys first, one rescale
   * per block. K/V are read as vec4 where `vecK`/`vecV` (f32, d-stride 1, offsets and strides multiples of 4). */
  R?: number;
  /** Operands read as vec4 by the R-row kernels (forward and backward). */
  vec4?: Vec4Operand[];
}

export type Vec4Operand = 'q' | 'k' | 'v' | 'o' | 'do';

/** Rewrites every one-line `for (var d = 0u; d < Nu; d++) { ... }` as N statements with d constant. */
export function unrollD(code: string): string {
  return code.replace(/for \(var d = 0u; d < (\d+)u; d\+\+\) \{ ([^{}]*) \}/g, (_, n: string, body: string) =>
    Array.from({ length: Number(n) }, (_x, i) => body.replace(/\bd\b/g, `${i}u`)).join(' '));
}

export function operandFns(name: string, slot: number, dt: DType, vec: boolean): string {
  const b = 10 + 5 * slot;
  return `
fn base_${name}(b: u32, h: u32, s: u32) -> u32 { return P[${b}u] + b * P[${b + 1}u] + h * P[${b + 2}u] + s * P[${b + 3}u]; }
${vec ? '' : `fn ld_${name}(e: u32) -> f32 { return ${loadF32(`X_${name}`, dt, 'e')}; }`}`;
}

/** Statements storing private array `src` (D floats, already final) as row `row` of the contiguous O. */
function storeRow(dt: DType, D: number, row: string, src: string): string {
  if (dt === 'f32') return `for (var d = 0u; d < ${D}u; d++) { O[${row} * ${D}u + d] = ${src}[d]; }`;
  const cvt = dt === 'bf16' ? 'f32_to_bf16' : 'f32_to_f16';
  if (D % 2 !== 0) throw new Error('attention: 16-bit rows need an even head dim (the op writes f32 and casts otherwise)');
  return `for (var d = 0u; d < ${D / 2}u; d++) { O[${row} * ${D / 2}u + d] = ${cvt}(${src}[2u * d]) | (${cvt}(${src}[2u * d + 1u]) << 16u); }`;
}

/** The dtype the forward kernels write O in: the storage dtype, or f32 (cast afterwards) for odd 16-bit rows. */
export function outDtype(o: DType, D: number): DType { return o === 'f32' || D % 2 === 0 ? o : 'f32'; }

export function attentionKernel(s: AttentionSpec): KernelSource {
  const { D, W, T, mode } = s;
  const label = `attn_${mode}${s.R ? `_R${s.R}${s.vec4?.length ? `_v${s.vec4.join('')}` : ''}` : ''}_D${D}_${s.q}${s.k}${s.v}_o${s.o}${s.do ? `_do${s.do}` : ''}${s.causal ? '_causal' : ''}` +
    `${s.mask ? `_m${s.mask}` : ''}${s.bias ? `_b${s.bias}` : ''}${s.biasGrad ? '_dbias' : ''}${s.staged ? '_staged' : ''}_W${W}_T${T}`;
  const done = (code: string) => ({ label: s.unroll ? `${label}_unrolled` : label, code: s.unroll ? unrollD(code) : code });
  if (mode === 'combine') return done(combineCode(s));
  if (mode !== 'fwd' && mode !== 'split') throw new Error(`attentionKernel: ${mode} is a backward mode (kernels/attention-backward.ts)`);
  const decls: string[] = [];
  let binding = 1;
  const rw = (name: string, dt: DType) => decls.push(bufferDecl(binding++, name, dt, 'read_write'));
  const tiled = mode === 'fwd' && !!s.R;
  const isVec = (n: Vec4Operand) => tiled && !!s.vec4?.includes(n);
  const ro = (name: string, dt: DType) => decls.push(isVec(name.slice(2) as Vec4Operand)
    ? `@group(0) @binding(${binding++}) var<storage, read> ${name}: array<vec4<f32>>;` : bufferDecl(binding++, name, dt, 'read'));
  ro('X_q', s.q); ro('X_k', s.k); ro('X_v', s.v);
  if (s.mask) ro('X_mask', s.mask);
  if (s.bias) ro('X_bias', s.bias);
  const operand = (name: string, slot: number, dt: DType) => operandFns(name, slot, dt, isVec(name as Vec4Operand));
  const ops = [operand('q', SLOT.q, s.q), operand('k', SLOT.k, s.k), operand('v', SLOT.v, s.v)];
  if (s.bias) ops.push(operand('bias', SLOT.bias, s.bias));
  if (mode === 'fwd') { rw('O', outDtype(s.o, D)); rw('LSE', 'f32'); }
  if (mode === 'split') rw('PART', 'f32');
  const mb = 10 + 5 * SLOT.mask;
  const maskZero = s.mask ? (computeType(s.mask) === 'f32' ? '0.0' : computeType(s.mask) === 'i32' ? '0' : '0u') : '';
  const keep = s.mask ? `fn keep(b: u32, j: u32) -> bool { return ${loadExpr('X_mask', s.mask, `P[${mb}u] + b * P[${mb + 1}u] + j * P[${mb + 3}u]`)} != ${maskZero}; }` : '';
  const bb = 10 + 5 * SLOT.bias;
  const biasAt = s.bias ? `fn biasAt(b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (P[${bb}u] == ${NO_BIAS_OFFSET}u) { return 0.0; }
  return ld_bias(base_bias(b, h, i) + j * P[${bb + 4}u]);
}` : '';
  const header = `
${PARAMS_DECL}
${decls.join('\n')}
${DTYPE_HELPERS}
${ops.join('\n')}
${keep}
${biasAt}
fn scale() -> f32 { return bitcast<f32>(P[5]); }
fn shift() -> i32 { return bitcast<i32>(P[6]); }
`;
  const body = tiled ? fwdTiledBody(s) : mode === 'fwd' ? fwdBody(s) : splitBody(s);
  return done(header + body);
}

/** Tile staging of two walked operands (A, B) into workgroup memory, and their element accessors. */
export function tiles(s: AttentionSpec, a: string, b: string) {
  const { D, T, W } = s;
  const decl = s.staged ? `var<workgroup> tA: array<f32, ${T * D}>;\nvar<workgroup> tB: array<f32, ${T * D}>;` : '';
  // c0: first walked row of the tile, n: walked rows in all, bb/hh: the walked operand's batch and head.
  const stage = (c0: string, n: string, bb: string, hh: string) => s.staged ? `
    for (var e = lid; e < ${T * D}u; e += ${W}u) {
      let c = min(${c0} + e / ${D}u, ${n} - 1u); let d = e % ${D}u;
      tA[e] = ld_${a}(base_${a}(${bb}, ${hh}, c) + d * sd_${a});
      tB[e] = ld_${b}(base_${b}(${bb}, ${hh}, c) + d * sd_${b});
    }
    workgroupBarrier();` : '';
  const after = s.staged ? 'workgroupBarrier();' : '';
  const colBase = (c: string, bb: string, hh: string) => s.staged ? '' : `let cbA = base_${a}(${bb}, ${hh}, ${c}); let cbB = base_${b}(${bb}, ${hh}, ${c});`;
  const A = (d: string) => (s.staged ? `tA[t * ${D}u + ${d}]` : `ld_${a}(cbA + ${d} * sd_${a})`);
  const B = (d: string) => (s.staged ? `tB[t * ${D}u + ${d}]` : `ld_${b}(cbB + ${d} * sd_${b})`);
  return { decl, stage, after, colBase, A, B };
}

export const strideD = (name: string) => `let sd_${name} = P[${10 + 5 * SLOT[name as keyof typeof SLOT] + 4}u];`;

/**
 * The start of the kernels where an invocation owns query row i (clamped to iq) of head h (KV head hk)
 * and walks K and V: the tiles, the score's bias term and visibility test of key j, and main's opening.
 */
export function queryRowKernel(s: AttentionSpec) {
  const tl = tiles(s, 'k', 'v');
  const bias = s.bias ? ' + biasAt(b, h, iq, j)' : '';
  const ok = [s.mask ? 'keep(b, j)' : '', s.causal ? 'i32(j) <= i32(iq) + shift()' : ''].filter(Boolean).join(' && ') || 'true';
  const open = `
${tl.decl}
@compute @workgroup_size(${s.W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Sq = P[3]; let Skv = P[4];
  let b = wid.y / H; let h = wid.y % H; let hk = h / (H / P[2]);
  let i = wid.x * ${s.W}u + lid;
  let iq = min(i, Sq - 1u);`;
  return { tl, bias, ok, open };
}

/** Query row `row` in registers (qr), the output accumulator o and the online softmax's max m and sum l. */
function onlineSoftmaxStart(D: number, row: string): string {
  return `var qr: array<f32, ${D}>;
  var o: array<f32, ${D}>;
  let qb = base_q(b, h, ${row});
  let sc0 = scale();
  for (var d = 0u; d < ${D}u; d++) { qr[d] = ld_q(qb + d * sd_q); o[d] = 0.0; }
  var m = -inf_();
  var l = 0.0;`;
}

function fwdBody(s: AttentionSpec): string {
  const { D, W, T } = s;
  const { tl, bias, ok, open } = queryRowKernel(s);
  return `${open}
  ${strideD('q')} ${strideD('k')} ${strideD('v')}
  // Keys the workgroup's last row may see (causal), so the loop bound stays uniform.
  var jEnd = Skv;
  if (${s.causal}) { jEnd = u32(clamp(i32(min(wid.x * ${W}u + ${W - 1}u, Sq - 1u)) + shift() + 1, 0, i32(Skv))); }
  ${onlineSoftmaxStart(D, 'iq')}
  var sc: array<f32, ${T}>;
  for (var j0 = 0u; j0 < jEnd; j0 += ${T}u) {
    ${tl.stage('j0', 'Skv', 'b', 'hk')}
    var bm = -inf_();
    for (var t = 0u; t < ${T}u; t++) {
      let j = j0 + t;
      var x = -inf_();
      if (j < jEnd) {
        ${tl.colBase('j', 'b', 'hk')}
        if (${ok}) {
          var a = 0.0;
          for (var d = 0u; d < ${D}u; d++) { a += qr[d] * ${tl.A('d')}; }
          x = a * sc0${bias};
        }
      }
      sc[t] = x;
      bm = max(bm, x);
    }
    let mn = max(m, bm);
    if (mn != -inf_()) {
      let alpha = exp(m - mn);
      l *= alpha;
      for (var d = 0u; d < ${D}u; d++) { o[d] *= alpha; }
      for (var t = 0u; t < ${T}u; t++) {
        let j = j0 + t;
        if (j < jEnd) {
          let p = exp(sc[t] - mn);
          l += p;
          ${tl.colBase('j', 'b', 'hk')}
          for (var d = 0u; d < ${D}u; d++) { o[d] += p * ${tl.B('d')}; }
        }
      }
      m = mn;
    }
    ${tl.after}
  }
  if (i >= Sq) { return; }
  // A row with no visible key (all masked) outputs 0; its logsumexp is +inf so the backward's P is 0.
  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var d = 0u; d < ${D}u; d++) { o[d] *= inv; }
  let row = wid.y * Sq + i;
  ${storeRow(outDtype(s.o, D), D, 'row', 'o')}
  LSE[row] = select(inf_(), m + log(l), l > 0.0);
}`;
}

/** A vec4 of the row at element `base`, components 4d..4d+3 (past D: 0 if `zero`, else any finite value of the row). */
export function load4(s: AttentionSpec, name: Vec4Operand, base: string, zero: boolean): string {
  const D = s.D;
  if (s.vec4?.includes(name)) return `X_${name}[${base} / 4u + d]`;
  return `vec4<f32>(${[0, 1, 2, 3].map((c) => {
    if (D % 4 === 0) return `ld_${name}(${base} + (4u * d + ${c}u) * sd_${name})`;
    const e = `ld_${name}(${base} + min(4u * d + ${c}u, ${D - 1}u) * sd_${name})`;
    return zero ? `select(0.0, ${e}, 4u * d + ${c}u < ${D}u)` : e;
  }).join(', ')})`;
}

export const listOf = (n: number) => [...Array(n).keys()];
export const each = <X>(xs: number[], fn: (x: number) => X) => xs.map(fn).join('\n    ');

/** Forward for CPU drivers, register-tiled: see AttentionSpec.R. */
function fwdTiledBody(s: AttentionSpec): string {
  const { D, W, T } = s;
  const R = s.R!;
  const D4 = Math.ceil(D / 4);
  const rs = listOf(R), ts = listOf(T);
  const rt = (fn: (r: number, t: number) => string) => rs.flatMap((r) => ts.map((t) => fn(r, t))).join(' ');
  const ld4 = (name: Vec4Operand, base: string, zero: boolean) => load4(s, name, base, zero);
  const ok = (r: number, t: number) => [`j${t} < jEnd`, s.mask ? `keep(b, j${t})` : '', s.causal ? `i32(j${t}) <= i32(iq${r}) + shift()` : ''].filter(Boolean).join(' && ');
  const bias = (r: number, t: number) => (s.bias ? ` + biasAt(b, h, iq${r}, j${t})` : '');
  const oType = outDtype(s.o, D);
  return `
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Sq = P[3]; let Skv = P[4];
  let b = wid.y / H; let h = wid.y % H; let hk = h / (H / P[2]);
  let i0 = wid.x * ${W * R}u + lid;
  ${strideD('q')} ${strideD('k')} ${strideD('v')}
  var jEnd = Skv;
  if (${s.causal}) { jEnd = u32(clamp(i32(min(wid.x * ${W * R}u + ${W * R - 1}u, Sq - 1u)) + shift() + 1, 0, i32(Skv))); }
  var qr: array<vec4<f32>, ${R * D4}>;
  var o: array<vec4<f32>, ${R * D4}>;
  let sc0 = scale();
  ${each(rs, (r) => `let iq${r} = min(i0 + ${r * W}u, Sq - 1u); let qb${r} = base_q(b, h, iq${r});
    for (var d = 0u; d < ${D4}u; d++) { qr[${r * D4}u + d] = ${ld4('q', `qb${r}`, true)} * sc0; o[${r * D4}u + d] = vec4<f32>(0.0); }
    var m${r} = -inf_(); var l${r} = 0.0;`)}
  for (var j0 = 0u; j0 < jEnd; j0 += ${T}u) {
    ${each(ts, (t) => `let j${t} = j0 + ${t}u; let jc${t} = min(j${t}, Skv - 1u); let kb${t} = base_k(b, hk, jc${t}); let vb${t} = base_v(b, hk, jc${t});`)}
    ${rt((r, t) => `var s${r}_${t} = 0.0;`)}
    for (var d = 0u; d < ${D4}u; d++) {
      ${each(ts, (t) => `let k${t} = ${ld4('k', `kb${t}`, false)};`)}
      ${each(rs, (r) => `let q${r} = qr[${r * D4}u + d]; ${ts.map((t) => `s${r}_${t} += dot(q${r}, k${t});`).join(' ')}`)}
    }
    ${each(rs, (r) => `${ts.map((t) => `let x${r}_${t} = select(-inf_(), s${r}_${t}${bias(r, t)}, ${ok(r, t)});`).join(' ')}
    let mn${r} = max(m${r}, ${ts.map((t) => `x${r}_${t}`).reduce((a, x) => `max(${a}, ${x})`)});
    let sf${r} = select(mn${r}, 0.0, mn${r} == -inf_());
    let al${r} = exp(m${r} - sf${r});
    ${ts.map((t) => `let p${r}_${t} = exp(x${r}_${t} - sf${r});`).join(' ')}
    l${r} = l${r} * al${r} + ${ts.map((t) => `p${r}_${t}`).join(' + ')};
    m${r} = mn${r};`)}
    for (var d = 0u; d < ${D4}u; d++) {
      ${each(ts, (t) => `let v${t} = ${ld4('v', `vb${t}`, false)};`)}
      ${each(rs, (r) => `o[${r * D4}u + d] = o[${r * D4}u + d] * al${r} + ${ts.map((t) => `p${r}_${t} * v${t}`).join(' + ')};`)}
    }
  }
  var orow: array<f32, ${D}>;
  ${each(rs, (r) => `if (i0 + ${r * W}u < Sq) {
    let inv = select(0.0, 1.0 / l${r}, l${r} > 0.0);
    for (var d = 0u; d < ${D}u; d++) { orow[d] = o[${r * D4}u + d / 4u][d % 4u] * inv; }
    let row${r} = wid.y * Sq + i0 + ${r * W}u;
    ${storeRow(oType, D, `row${r}`, 'orow')}
    LSE[row${r}] = select(inf_(), m${r} + log(l${r}), l${r} > 0.0);
  }`)}
}`;
}

/** Split-KV forward: rows = (b, h, i) on grid y; invocation p of the row handles keys [p*kpl, (p+1)*kpl). */
function splitBody(s: AttentionSpec): string {
  const { D, W } = s;
  const bias = s.bias ? ' + biasAt(b, h, i, j)' : '';
  const ok = s.mask ? 'keep(b, j)' : 'true';
  return `
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = P[1]; let Sq = P[3]; let Skv = P[4]; let nPart = P[7]; let kpl = P[8];
  let row = wid.y + wid.z * 65535u;
  let i = row % Sq; let bh = row / Sq; let b = bh / H; let h = bh % H; let hk = h / (H / P[2]);
  let p = wid.x * ${W}u + lid;
  if (p >= nPart) { return; }
  ${strideD('q')} ${strideD('k')} ${strideD('v')}
  var jEnd = min(Skv, (p + 1u) * kpl);
  if (${s.causal}) { jEnd = u32(clamp(i32(i) + shift() + 1, 0, i32(jEnd))); }
  ${onlineSoftmaxStart(D, 'i')}
  for (var j = p * kpl; j < jEnd; j++) {
    if (!(${ok})) { continue; }
    let kb = base_k(b, hk, j);
    var a = 0.0;
    for (var d = 0u; d < ${D}u; d++) { a += qr[d] * ld_k(kb + d * sd_k); }
    let x = a * sc0${bias};
    if (x == -inf_()) { continue; }
    let mn = max(m, x);
    let alpha = exp(m - mn);
    let pj = exp(x - mn);
    l = l * alpha + pj;
    let vb = base_v(b, hk, j);
    for (var d = 0u; d < ${D}u; d++) { o[d] = o[d] * alpha + pj * ld_v(vb + d * sd_v); }
    m = mn;
  }
  let at = (row * nPart + p) * ${D + 2}u;
  PART[at] = m;
  PART[at + 1u] = l;
  for (var d = 0u; d < ${D}u; d++) { PART[at + 2u + d] = o[d]; }
}`;
}

/** Merges the split-KV partials of each row: one invocation per row. */
function combineCode(s: AttentionSpec): string {
  const { D, W } = s;
  const oType = outDtype(s.o, D);
  return `
${PARAMS_DECL}
${bufferDecl(1, 'PART', 'f32', 'read')}
${bufferDecl(2, 'O', oType, 'read_write')}
${bufferDecl(3, 'LSE', 'f32', 'read_write')}
${DTYPE_HELPERS}
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x * ${W}u + lid;
  if (row >= P[9]) { return; }
  let nPart = P[7];
  var M = -inf_();
  for (var p = 0u; p < nPart; p++) { M = max(M, PART[(row * nPart + p) * ${D + 2}u]); }
  var o: array<f32, ${D}>;
  for (var d = 0u; d < ${D}u; d++) { o[d] = 0.0; }
  var L = 0.0;
  if (M != -inf_()) {
    for (var p = 0u; p < nPart; p++) {
      let at = (row * nPart + p) * ${D + 2}u;
      let w = exp(PART[at] - M);
      L += w * PART[at + 1u];
      for (var d = 0u; d < ${D}u; d++) { o[d] += w * PART[at + 2u + d]; }
    }
  }
  let inv = select(0.0, 1.0 / L, L > 0.0);
  for (var d = 0u; d < ${D}u; d++) { o[d] *= inv; }
  ${storeRow(oType, D, 'row', 'o')}
  LSE[row] = select(inf_(), M + log(L), L > 0.0);
}`;
}

