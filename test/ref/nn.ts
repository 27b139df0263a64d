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

// ---- indexing ----

export function gather(src: NDArray, axis: number, index: NDArray): NDArray {
  const ax = normAx(axis, src.rank);
  return NDArray.fill(index.shape, (idx) => {
    const t = index.at(idx);
    if (t < 0 || t >= src.shape[ax]) return 0;
    const j = [...idx]; j[ax] = t;
    return src.at(j);
  });
}

export function indexSelect(src: NDArray, axis: number, index: NDArray): NDArray {
  const ax = normAx(axis, src.rank);
  const shape = [...src.shape]; shape[ax] = index.size;
  return NDArray.fill(shape, (idx) => {
    const t = index.data[idx[ax]];
    if (t < 0 || t >= src.shape[ax]) return 0;
    const j = [...idx]; j[ax] = t;
    return src.at(j);
  });
}

export function embedding(weight: NDArray, ids: NDArray): NDArray {
  const D = weight.shape[1];
  return NDArray.fill([...ids.shape, D], (idx) => {
    const t = ids.at(idx.slice(0, -1));
    return t < 0 || t >= weight.shape[0] ? 0 : weight.at([t, idx[idx.length - 1]]);
  });
}

export function scatterAdd(base: NDArray, axis: number, index: NDArray, src: NDArray): NDArray {
  const ax = normAx(axis, base.rank);
  const out = base.clone();
  for (let i = 0; i < index.size; i++) {
    const idx = unravel(i, index.shape);
    const t = index.data[i];
    if (t < 0 || t >= base.shape[ax]) continue;
    const j = [...idx]; j[ax] = t;
    out.data[ravel(j, base.shape)] += src.at(idx);
  }
  return out;
}

// ---- shape ----

export function concat(arrays: NDArray[], axis: number): NDArray {
  const ax = normAx(axis, arrays[0].rank);
  const shape = [...arrays[0].shape];
  shape[ax] = arrays.reduce((p, a) => p + a.shape[ax], 0);
  return NDArray.fill(shape, (idx) => {
    let i = idx[ax];
    for (const a of arrays) {
      if (i < a.shape[ax]) { const j = [...idx]; j[ax] = i; return a.at(j); }
      i -= a.shape[ax];
    }
    throw new Error('ref concat: out of range');
  });
}

export function stack(arrays: NDArray[], axis: number): NDArray {
  const ax = normAx(axis, arrays[0].rank + 1);
  const shape = [...arrays[0].shape]; shape.splice(ax, 0, arrays.length);
  return NDArray.fill(shape, (idx) => { const j = [...idx]; const [k] = j.splice(ax, 1); return arrays[k].at(j); });
}

/** torch F.pad, constant mode: pads = [before, after] of the last axis, then the previous one, ... */
export function pad(a: NDArray, pads: number[], value = 0): NDArray {
  const shape = [...a.shape];
  for (let k = 0; k < pads.length / 2; k++) shape[a.rank - 1 - k] += pads[2 * k] + pads[2 * k + 1];
  return NDArray.fill(shape, (idx) => {
    const j = [...idx];
    for (let k = 0; k < pads.length / 2; k++) {
      const d = a.rank - 1 - k;
      j[d] = idx[d] - pads[2 * k];
      if (j[d] < 0 || j[d] >= a.shape[d]) return value;
    }
    return a.at(j);
  });
}

export { size };

// ---- normalisation ----

/** Layer norm over the last `k` axes (biased variance), then weight and bias (flattened over those axes). */
export function layerNorm(x: NDArray, k: number, weight: NDArray | null, bias: NDArray | null, eps: number): NDArray {
  const D = size(x.shape.slice(x.rank - k));
  const out = NDArray.zeros(x.shape);
  for (let r = 0; r < x.size / D; r++) {
    const row = Array.from(x.data.subarray(r * D, (r + 1) * D));
    const mu = row.reduce((p, c) => p + c, 0) / D;
    const v = row.reduce((p, c) => p + (c - mu) ** 2, 0) / D;
    row.forEach((c, i) => {
      out.data[r * D + i] = ((c - mu) / Math.sqrt(v + eps)) * (weight ? weight.data[i] : 1) + (bias ? bias.data[i] : 0);
    });
  }
  return out;
}

export function rmsNorm(x: NDArray, weight: NDArray | null, eps: number): NDArray {
  const D = x.shape[x.rank - 1];
  const out = NDArray.zeros(x.shape);
  for (let r = 0; r < x.size / D; r++) {
    const row = x.data.subarray(r * D, (r + 1) * D);
    const ms = row.reduce((p, c) => p + c * c, 0) / D;
    row.forEach((c, i) => { out.data[r * D + i] = (c / Math.sqrt(ms + eps)) * (weight ? weight.data[i] : 1); });
  }
  return out;
}

// ---- losses ----

export function crossEntropy(logits: NDArray, targets: NDArray, ignoreIndex: number, reduction: 'mean' | 'sum' | 'none'): NDArray {
  const lsm = logSoftmax(logits, -1);
  const C = logits.shape[logits.rank - 1];
  const losses = NDArray.zeros(targets.shape);
  let count = 0;
  for (let i = 0; i < targets.size; i++) {
    const t = targets.data[i];
    if (t === ignoreIndex) continue;
    count++;
    losses.data[i] = -lsm.data[i * C + t];
  }
  if (reduction === 'none') return losses;
  const s = losses.data.reduce((p, c) => p + c, 0);
  return NDArray.from([], [reduction === 'sum' ? s : s / count]);
}

export function bceWithLogits(x: NDArray, y: NDArray, reduction: 'mean' | 'sum' | 'none'): NDArray {
  // The plain definition: -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))).
  const l = NDArray.fill(x.shape, (idx) => {
    const v = x.at(idx), t = y.at(idx.slice(idx.length - y.rank));
    const p = 1 / (1 + Math.exp(-v));
    return -(t * Math.log(p) + (1 - t) * Math.log(1 - p));
  });
  if (reduction === 'none') return l;
  const s = l.data.reduce((p, c) => p + c, 0);
  return NDArray.from([], [reduction === 'sum' ? s : s / l.size]);
}
