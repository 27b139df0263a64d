// The CPU reference: a minimal float64 n-d array and the math of every op, written plainly so it is
// easy to trust. Engine ops are checked against these functions (forward) and their finite differences
// (backward).

export class NDArray {
  constructor(readonly shape: number[], readonly data: Float64Array) {
    if (data.length !== size(shape)) throw new Error(`NDArray: ${data.length} values for shape [${shape}]`);
  }
  get size(): number { return this.data.length; }
  get rank(): number { return this.shape.length; }
  static from(shape: number[], values: ArrayLike<number>): NDArray { return new NDArray([...shape], Float64Array.from(values)); }
  static zeros(shape: number[]): NDArray { return new NDArray([...shape], new Float64Array(size(shape))); }
  static fill(shape: number[], f: (idx: number[]) => number): NDArray {
    const out = NDArray.zeros(shape);
    for (let i = 0; i < out.size; i++) out.data[i] = f(unravel(i, shape));
    return out;
  }
  at(idx: number[]): number { return this.data[ravel(idx, this.shape)]; }
  clone(): NDArray { return new NDArray([...this.shape], this.data.slice()); }
}

export function size(shape: readonly number[]): number { return shape.reduce((a, b) => a * b, 1); }

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

export function broadcastShape(...shapes: number[][]): number[] {
  const R = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(R).fill(1);
  for (const s of shapes) s.forEach((d, i) => { const j = R - s.length + i; if (d !== 1) out[j] = d; });
  return out;
}

/** Reads `a` at an index of a broadcast shape. */
export function atBroadcast(a: NDArray, idx: number[]): number {
  const off = idx.length - a.rank;
  let i = 0;
  for (let d = 0; d < a.rank; d++) i = i * a.shape[d] + (a.shape[d] === 1 ? 0 : idx[off + d]);
  return a.data[i];
}

export function map(a: NDArray, f: (x: number) => number): NDArray {
  return new NDArray([...a.shape], a.data.map(f));
}

export function zip(f: (...xs: number[]) => number, ...arrays: NDArray[]): NDArray {
  const shape = broadcastShape(...arrays.map((a) => a.shape));
  return NDArray.fill(shape, (idx) => f(...arrays.map((a) => atBroadcast(a, idx))));
}

/** Reduces over `axes` with f(values along the reduced axes) -> number. */
export function reduce(a: NDArray, axes: number[], f: (xs: number[]) => number, keepDims = false): NDArray {
  const ax = axes.map((x) => (x < 0 ? x + a.rank : x));
  const kept = a.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  for (let i = 0; i < a.size; i++) {
    const idx = unravel(i, a.shape).map((v, d) => (ax.includes(d) ? 0 : v));
    const k = ravel(idx, kept);
    let g = groups.get(k);
    if (!g) { g = []; groups.set(k, g); }
    g.push(a.data[i]);
  }
  const out = NDArray.zeros(kept);
  for (let k = 0; k < out.size; k++) out.data[k] = f(groups.get(k) ?? []);
  return keepDims ? out : new NDArray(a.shape.filter((_, i) => !ax.includes(i)), out.data);
}

export function permute(a: NDArray, axes: number[]): NDArray {
  const shape = axes.map((x) => a.shape[x]);
  return NDArray.fill(shape, (idx) => {
    const src = new Array<number>(a.rank);
    axes.forEach((x, i) => { src[x] = idx[i]; });
    return a.at(src);
  });
}

export function reshape(a: NDArray, shape: number[]): NDArray { return new NDArray([...shape], a.data.slice()); }

/** Batched matmul with broadcast batch dims: [..., m, k] x [..., k, n]. */
export function matmul(a: NDArray, b: NDArray): NDArray {
  const m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1];
  if (b.shape[b.rank - 2] !== k) throw new Error(`ref matmul: [${a.shape}] x [${b.shape}]`);
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return NDArray.fill([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2), i = idx[idx.length - 2], j = idx[idx.length - 1];
    let s = 0;
    for (let p = 0; p < k; p++) {
      s += atBroadcast(a, [...bi, i, p]) * atBroadcast(b, [...bi, p, j]);
    }
    return s;
  });
}

export const sum = (xs: number[]) => xs.reduce((p, c) => p + c, 0);
export const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse for a reference; use a series/continued fraction in f64.
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    let term = z, s = z;
    for (let n = 1; n < 100; n++) { term *= -z * z / n; s += term / (2 * n + 1); if (Math.abs(term) < 1e-17) break; }
    r = (2 / Math.sqrt(Math.PI)) * s;
  } else {
    // erfc continued fraction (Lentz)
    let f = z, C = z, D = 0;
    for (let n = 1; n < 200; n++) {
      const an = n / 2;
      D = z + an * D; D = 1 / D; C = z + an / C;
      const delta = C * D; f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
};
