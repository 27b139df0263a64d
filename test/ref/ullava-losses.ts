// Float64 references of u-LLaVA's losses, written from the official definitions (models/ullava.py,
// models/loss.py of OPPOMKLab/u-LLaVA; HF LlamaForCausalLM's shifted cross-entropy).
import { NDArray } from './ndarray.js';

/** Mean over supervised tokens of -log softmax(W h_i)[labels[i + 1]], per sequence of length S. */
export function tokenCrossEntropyRef(hidden: NDArray, weight: NDArray, labels: ArrayLike<number>, ignore = -100): number {
  const [B, S, D] = hidden.shape;
  const V = weight.shape[0];
  let total = 0, count = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i + 1 < S; i++) {
      const t = labels[b * S + i + 1];
      if (t === ignore) continue;
      const logits = new Float64Array(V);
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += weight.data[v * D + d] * hidden.data[(b * S + i) * D + d];
        logits[v] = s;
      }
      const m = Math.max(...logits);
      let z = 0;
      for (const l of logits) z += Math.exp(l - m);
      total += m + Math.log(z) - logits[t];
      count++;
    }
  }
  return total / count;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const bce = (x: number, y: number) => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));

/** { bce, dice, total } weighted, with the official normalisation (see ullava/train/losses/mask.ts). */
/** valid[k] (optional): 0/1 per pixel; ignored pixels leave the BCE mean and the Dice sums. */
export function maskLossRef(preds: NDArray[], gts: NDArray[], w = { bce: 2, dice: 0.5 }, valid: (NDArray | null)[] = []): { bce: number; dice: number; total: number } {
  let bceSum = 0, diceSum = 0, N = 0;
  preds.forEach((p, k) => {
    const [n, H, W] = p.shape;
    const hw = H * W;
    let bi = 0, di = 0;
    for (let m = 0; m < n; m++) {
      let s = 0, num = 0, sx = 0, sy = 0, count = 0;
      for (let j = 0; j < hw; j++) {
        const v = valid[k] ? valid[k]!.data[m * hw + j] : 1;
        if (!v) continue;
        const x = p.data[m * hw + j], y = gts[k].data[m * hw + j];
        s += bce(x, y); count++;
        const sg = sigmoid(x) / 1000;
        num += sg * y; sx += sg; sy += y / 1000;
      }
      bi += valid[k] ? s / count : s / hw;
      di += 1 - (2 * num + 1e-6) / (sx + sy + 1e-6);
    }
    bceSum += bi / (n + 1e-8) * n;
    diceSum += di / (n + 1e-8) * n;
    N += n;
  });
  const b = w.bce * bceSum / (N + 1e-8), d = w.dice * diceSum / (N + 1e-8);
  return { bce: b, dice: d, total: b + d };
}

/** GIoU of two xyxy boxes. */
export function giouRef(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const area = (x: ArrayLike<number>) => (x[2] - x[0]) * (x[3] - x[1]);
  const iw = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]), 0), ih = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]), 0);
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  const hw = Math.max(Math.max(a[2], b[2]) - Math.min(a[0], b[0]), 0), hh = Math.max(Math.max(a[3], b[3]) - Math.min(a[1], b[1]), 0);
  const hull = hw * hh;
  return inter / union - (hull - union) / hull;
}

/** { l1, giou, total }: L1 summed / (n + 1e-8); 1 - GIoU over valid predictions / (n + 1e-8). */
export function boxLossRef(pred: NDArray, gt: NDArray, w = { l1: 1, giou: 1 }): { l1: number; giou: number; total: number } {
  const n = pred.shape[0];
  let l1 = 0, g = 0;
  for (let i = 0; i < n; i++) {
    const p = pred.data.subarray(i * 4, i * 4 + 4), t = gt.data.subarray(i * 4, i * 4 + 4);
    for (let k = 0; k < 4; k++) l1 += Math.abs(p[k] - t[k]);
    if (p[2] >= p[0] && p[3] >= p[1]) g += 1 - giouRef(p, t);
  }
  const a = w.l1 * l1 / (n + 1e-8), b = w.giou * g / (n + 1e-8);
  return { l1: a, giou: b, total: a + b };
}
