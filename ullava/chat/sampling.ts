// Choosing the next token from the last position's logits, on the host (one row of vocab floats per
// step), in HF transformers' order: repetition penalty, temperature, top-k, top-p, then a draw.

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep the smallest set of tokens whose probability reaches topP (default 1 = off). */
  topP?: number;
  /** Keep the k most likely tokens (default 0 = off). */
  topK?: number;
  /** > 1 discourages tokens already in the sequence (CTRL's rule, as HF). Default 1 = off. */
  repetitionPenalty?: number;
  /** Seed of the draw (reproducible generations). */
  seed?: number;
}

/** A small seeded generator (mulberry32). */
export function makeRng(seed = 0x9e3779b9): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 0, p = o.topP ?? 1, k = o.topK ?? 0, r = o.repetitionPenalty ?? 1;
  if (!(t >= 0)) throw new RangeError(`temperature must be >= 0, got ${t}`);
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
  if (!(Number.isInteger(k) && k >= 0)) throw new RangeError(`top-k must be a non-negative integer, got ${k}`);
  if (!(r > 0)) throw new RangeError(`repetition penalty must be > 0, got ${r}`);
}

/**
 * Picks the next token. `logits` is one row (it is not modified); `previous` are the ids generated and
 * prompted so far (for the repetition penalty); `allowed` optionally limits the candidates.
 */
export function sampleToken(logits: Float32Array, o: SamplingOptions, previous: readonly number[], rng: () => number): number {
  const scores = Float64Array.from(logits);
  const r = o.repetitionPenalty ?? 1;
  if (r !== 1) {
    for (const id of new Set(previous)) {
      if (id < 0 || id >= scores.length) continue;
      scores[id] = scores[id] < 0 ? scores[id] * r : scores[id] / r;
    }
  }
  const t = o.temperature ?? 0;
  if (t === 0) return argmax(scores);
  for (let i = 0; i < scores.length; i++) scores[i] /= t;
  let order = [...scores.keys()].sort((a, b) => scores[b] - scores[a]);
  const k = o.topK ?? 0;
  if (k > 0) order = order.slice(0, k);
  const m = scores[order[0]];
  const probs = order.map((i) => Math.exp(scores[i] - m));
  const total = probs.reduce((a, b) => a + b, 0);
  for (let i = 0; i < probs.length; i++) probs[i] /= total;
  const p = o.topP ?? 1;
  let keep = probs.length;
  if (p < 1) {
    // HF keeps tokens while the cumulative probability *before* them is below top-p (at least one).
    let cum = 0;
    keep = 0;
    while (keep < probs.length && (keep === 0 || cum < p)) { cum += probs[keep]; keep++; }
  }
  const mass = probs.slice(0, keep).reduce((a, b) => a + b, 0);
  let u = rng() * mass;
  for (let i = 0; i < keep; i++) { u -= probs[i]; if (u <= 0) return order[i]; }
  return order[keep - 1];
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Watches the decoded text for stop strings; reports where the visible text must be cut. */
export class StopStrings {
  private text = '';
  constructor(private readonly stops: readonly string[]) {}
  /** Appends text; returns the index in the full text where a stop string begins, or -1. */
  push(piece: string): number {
    this.text += piece;
    let at = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = this.text.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    return at;
  }
  /** How many trailing characters might still become a stop string (to hold back from a stream). */
  pendingPrefix(): number {
    let n = 0;
    for (const s of this.stops) {
      for (let l = Math.min(s.length - 1, this.text.length); l > n; l--) {
        if (this.text.endsWith(s.slice(0, l))) { n = l; break; }
      }
    }
    return n;
  }
  get all(): string { return this.text; }
}
