// CPU references of the nn-level ops (softmax, norms, indexing, shape ops, losses), written plainly
// from their definitions in float64.
import { NDArray, size, unravel, ravel } from './ndarray.js';

const normAx = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** Calls f on every 1-D line of `a` along `axis`; f returns the new line. */
function alongAxis(a: NDArray, axis: number, f: (line: number[]) => number[]): NDArray {
  const ax = normAx(axis, a.rank);
  const out = NDArray.zeros(a.shape);
  const C = a.shape[ax];
  for (let i = 0; i < a.size; i++) {
    const idx = unravel(i, a.shape);
    if (idx[ax] !== 0) continue;
    const line: number[] = [];
    for (let c = 0; c < C; c++) { idx[ax] = c; line.push(a.at(idx)); }
    const r = f(line);
    for (let c = 0; c < C; c++) { idx[ax] = c; out.data[ravel(idx, a.shape)] = r[c]; }
  }
  return out;
}

export function softmax(a: NDArray, axis = -1): NDArray {
  return alongAxis(a, axis, (l) => {
    const m = Math.max(...l);
    const e = l.map((v) => Math.exp(v - m));
    const s = e.reduce((p, c) => p + c, 0);
    return e.map((v) => v / s);
  });
}

export function logSoftmax(a: NDArray, axis = -1): NDArray {
  return alongAxis(a, axis, (l) => {
    const m = Math.max(...l);
    const lse = m + Math.log(l.reduce((p, c) => p + Math.exp(c - m), 0));
    return l.map((v) => v - lse);
  });
}
