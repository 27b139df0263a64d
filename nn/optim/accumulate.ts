// Gradient accumulation. backward() adds into each leaf's .grad when one is already there (see
// engine/backward.ts accumulateLeaf), so accumulating over micro-batches is: zeroGrad() once, then for
// each micro-batch backward(loss / nMicro). This helper does exactly that and returns the mean loss,
// which equals the loss of the whole batch when the micro-batch losses are means over equal-sized parts.
import { Tensor, backward, div, noGrad, add } from '../../engine/index.js';

/**
 * Runs `lossOf` on each micro-batch, backpropagates loss / n (scaled by `scale` first, e.g. a
 * GradScaler's scale()), and returns the mean of the unscaled losses as a 0-d/1-element f32 tensor.
 * Each micro-batch's graph is freed before the next forward runs.
 */
export function accumulateGradients<B>(microBatches: readonly B[], lossOf: (batch: B) => Tensor,
  scale: (loss: Tensor) => Tensor = (l) => l): Tensor {
  const n = microBatches.length;
  if (n === 0) throw new RangeError('accumulateGradients: no micro-batches');
  let total: Tensor | null = null;
  for (const mb of microBatches) {
    const loss = lossOf(mb);
    if (loss.size !== 1) throw new TypeError(`accumulateGradients: the loss must have one element, got shape [${loss.shape}]`);
    const part = div(loss, n);
    const scaled = scale(part);
    backward(scaled);
    if (scaled !== part) scaled.dispose();
    const detached = noGrad(() => part.detach());
    part.dispose(); loss.dispose();
    if (total) { const t: Tensor = noGrad(() => add(total!, detached)); total.dispose(); detached.dispose(); total = t; } else total = detached;
  }
  return total!;
}
