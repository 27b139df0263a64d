// Which frames of a video the model sees: u-LLaVA's VideoBaseProcessor.load_video / load_gif, with its
// two corner cases made definite.
//
// 'uniform' (evaluation): index_i = floor(i * (total / count)), i = 0 .. count-1. That is the reference's
//   np.arange(0, total, total / count).astype(int), computed the same way in float64 (numpy's arange
//   fills start + i * step), so a 20-frame video gives 0 2 5 7 10 12 15 17. Two differences:
//   - exactly `count` indices: np.arange can return count+1 values when total / (total / count) rounds
//     above count, which would break the T + 256 video token count;
//   - fewer frames than asked: the reference uses n = min(count, total) frames (all of them), so the
//     prompt's temporal tokens change with the clip; we keep the same formula with count, which repeats
//     frames in order (3 frames for 8: 0 0 0 1 1 1 2 2) and always yields `count` frames. `pad: false`
//     gives the reference's behaviour (0 1 2).
// 'headtail' (training): floor(count/2) distinct sorted indices drawn from the first half [0, total//2)
//   and the rest from the second half [total//2, total), as the reference's rnd.sample. The reference
//   draws count//2 in both halves (7 frames for 7); we draw count - count//2 in the second half. When a
//   half is too short to draw from without repetition (the reference raises and its dataset retries
//   another sample), we fall back to 'uniform'.
export type FrameSampling = 'uniform' | 'headtail';

export interface SamplingOptions {
  /** Repeat frames to return `count` indices when the video is shorter (default true). */
  pad?: boolean;
  /** Uniform [0, 1) numbers for 'headtail' (default Math.random); pass a seeded one for reproducibility. */
  random?: () => number;
}

export function sampleFrameIndices(total: number, count: number, mode: FrameSampling, opts: SamplingOptions = {}): number[] {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`sampleFrameIndices: total ${total} must be a positive integer`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`sampleFrameIndices: count ${count} must be a positive integer`);
  const { pad = true, random = Math.random } = opts;
  if (mode === 'headtail') {
    const half = Math.floor(total / 2), nHead = Math.floor(count / 2), nTail = count - nHead;
    if (half >= nHead && total - half >= nTail) {
      return [...drawSorted(0, half, nHead, random), ...drawSorted(half, total, nTail, random)];
    }
  } else if (mode !== 'uniform') {
    throw new RangeError(`sampleFrameIndices: unknown sampling "${mode as string}" (uniform or headtail)`);
  }
  const n = pad ? count : Math.min(count, total);
  const step = total / n;
  return Array.from({ length: n }, (_, i) => Math.min(total - 1, Math.floor(i * step)));
}

/** `k` distinct integers from [lo, hi), sorted: a partial Fisher-Yates shuffle. */
function drawSorted(lo: number, hi: number, k: number, random: () => number): number[] {
  const pool = Array.from({ length: hi - lo }, (_, i) => lo + i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}
