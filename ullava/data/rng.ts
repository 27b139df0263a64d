// The data pipeline's seeded random streams: the epoch's shuffle and each sample's draws (prompt
// templates, expressions, video frames) are pure functions of (run seed, epoch, sample index), so a run,
// its resumption and a worker-thread loader all see the same samples.

/** splitmix32: a small, well-mixed PRNG; the whole state is one 32-bit word. Uniform [0, 1). */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** The 32-bit seed of sample `index` in epoch `epoch` of a run seeded `seed`. */
export function sampleSeed(seed: number, epoch: number, index: number): number {
  const r = splitmix32((Math.imul(seed >>> 0, 0x27d4eb2d) ^ Math.imul(epoch + 1, 0x165667b1) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  return Math.floor(r() * 4294967296) >>> 0;
}
