// One helper checks an op: forward against the CPU reference, backward against central finite
// differences of that reference, over several shapes and storage dtypes (tinygrad's helper_test_op).
import { Tensor, backward, noGrad, roundTo, type DType, manualSeed, getDevice } from '../../engine/index.js';
import { NDArray, size } from '../ref/ndarray.js';
import { fail } from './assert.js';

export interface InputSpec {
  /** 'normal' (default), 'uniform' in range, 'positive' (0.5..2), 'int' in range (non-differentiable). */
  init?: 'normal' | 'uniform' | 'positive' | 'int';
  range?: [number, number];
  /** Fixed values instead of random ones. */
  values?: number[];
  /** Storage dtype; default: the case's float dtype (ints default to i32). */
  dtype?: DType;
  /** Whether to check this input's gradient (default: true for float inputs). */
  grad?: boolean;
}

export interface Tolerance { atol: number; rtol: number }

export const DEFAULT_TOL: Record<string, Tolerance> = {
  f32: { atol: 1e-4, rtol: 1e-3 },
  f16: { atol: 2e-3, rtol: 1e-2 },
  bf16: { atol: 1e-2, rtol: 4e-2 },
};

export interface OpCase {
  name: string;
  /** One entry per run: the shapes of the inputs. */
  shapes: number[][][];
  inputs?: InputSpec[];
  gpu: (...xs: Tensor[]) => Tensor;
  ref: (...xs: NDArray[]) => NDArray;
  /** Float storage dtypes to run (default f32, f16, bf16). */
  dtypes?: DType[];
  /** Check gradients (default true); 'f32' checks them only in f32. */
  grad?: boolean | 'f32';
  tol?: Partial<Record<string, Partial<Tolerance>>>;
  /** Finite-difference step (default 1e-4, in float64 on the reference). */
  eps?: number;
}

/**
 * A case's random inputs depend on the case alone (op name, shapes, dtype), never on how many cases ran
 * before it: with a process-wide counter, a filtered run drew other values than the full run, and a
 * relu input within the finite-difference step of its kink failed only in some runs.
 */
function caseSeed(name: string, shapes: number[][], dtype: DType): number {
  let h = 0x811c9dc5; // FNV-1a
  for (const ch of `${name}|${JSON.stringify(shapes)}|${dtype}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h || 1;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

function makeValues(spec: InputSpec, n: number, rand: () => number): number[] {
  if (spec.values) return spec.values;
  const [lo, hi] = spec.range ?? (spec.init === 'int' ? [0, 4] : spec.init === 'positive' ? [0.5, 2] : [-1, 1]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (spec.init === 'int') out.push(lo + Math.floor(rand() * (hi - lo)));
    else if (spec.init === 'uniform' || spec.init === 'positive') out.push(lo + rand() * (hi - lo));
    else { const u = rand() || 1e-12, v = rand(); out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)); }
  }
  return out;
}

function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what: string): void {
  if (actual.length !== expected.length) fail(`${what}: ${actual.length} values, expected ${expected.length}`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e)) { if (a !== e) fail(`${what}: element ${i} is ${a}, expected ${e}`); continue; }
    if (!(Math.abs(a - e) <= tol.atol * scale + tol.rtol * Math.abs(e))) {
      fail(`${what}: element ${i} is ${a}, expected ${e} (atol ${tol.atol}x${scale.toFixed(3)}, rtol ${tol.rtol})`);
    }
  }
}

/** Checks the op over every shape set and float dtype; throws with the first mismatch. */
export async function checkOp(c: OpCase): Promise<void> {
  await getDevice();
  const dtypes = c.dtypes ?? ['f32', 'f16', 'bf16'];
  for (const shapes of c.shapes) {
    for (const dtype of dtypes) {
      const seed = caseSeed(c.name, shapes, dtype);
      const rand = rng(seed);
      manualSeed(seed);
      const specs = shapes.map((_, i) => c.inputs?.[i] ?? {});
      const isFloatIn = specs.map((s) => s.init !== 'int' && (s.dtype === undefined || ['f32', 'f16', 'bf16'].includes(s.dtype)));
      const dts = specs.map((s, i) => s.dtype ?? (isFloatIn[i] ? dtype : 'i32'));
      // Values rounded to the storage dtype, so the reference sees exactly what the GPU sees.
      const vals = shapes.map((sh, i) => makeValues(specs[i], size(sh), rand).map((v) => roundTo(dts[i], v)));
      const what = `${c.name} shapes ${JSON.stringify(shapes)} ${dtype}`;
      const tol = { ...DEFAULT_TOL[dtype] ?? DEFAULT_TOL.f32, ...(c.tol?.[dtype] ?? {}) };
      const wantGrad = (c.grad ?? true) === true || (c.grad === 'f32' && dtype === 'f32');
      const gradIdx = specs.map((s, i) => wantGrad && isFloatIn[i] && s.grad !== false);
      const tensors = shapes.map((sh, i) => {
        const t = Tensor.from(vals[i], sh, dts[i]);
        return gradIdx[i] ? t.requireGrad() : t;
      });
      const refIn = shapes.map((sh, i) => NDArray.from(sh, vals[i]));
      const expected = c.ref(...refIn);
      const out = c.gpu(...tensors);
      try {
        if (out.shape.join() !== expected.shape.join()) {
          fail(`${what}: output shape [${out.shape}], expected [${expected.shape}]`);
        }
        compare(await out.toArray(), expected.data, tol, `${what} forward`);
        if (!gradIdx.some(Boolean) || !out.requiresGrad) {
          if (gradIdx.some(Boolean)) fail(`${what}: output does not require grad`);
          continue;
        }
        const w = makeValues({}, out.size, rand).map((v) => roundTo(out.dtype, v));
        const wt = Tensor.from(w, out.shape, out.dtype);
        backward(out, { grad: wt });
        wt.dispose();
        const h = c.eps ?? 1e-4;
        for (let i = 0; i < tensors.length; i++) {
          if (!gradIdx[i]) continue;
          const g = tensors[i].grad;
          if (!g) fail(`${what}: input ${i} got no gradient`);
          const numeric = new Float64Array(refIn[i].size);
          for (let k = 0; k < numeric.length; k++) {
            const x0 = refIn[i].data[k];
            refIn[i].data[k] = x0 + h; const lp = dot(c.ref(...refIn).data, w);
            refIn[i].data[k] = x0 - h; const lm = dot(c.ref(...refIn).data, w);
            refIn[i].data[k] = x0;
            numeric[k] = (lp - lm) / (2 * h);
          }
          const gtol = { atol: tol.atol * 2, rtol: tol.rtol * 2 };
          compare(await g.toArray(), numeric, gtol, `${what} grad of input ${i}`);
        }
      } finally {
        noGrad(() => { out.dispose(); for (const t of tensors) t.dispose(); });
      }
    }
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
