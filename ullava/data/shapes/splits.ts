// Splits by seed. Every sample is generated from its own seed alone; the splits own disjoint seed ranges,
// so the held-out test split is made of scenes that training never sees (a scene is a pure function of
// its seed) and anyone can draw new test scenes from seeds that are not in the repository.
//   train  seeds [0, 1_000_000_000)
//   val    seeds [1_000_000_000, 1_100_000_000)
//   test   seeds [1_100_000_000, 1_200_000_000)
export const SPLITS = {
  train: [0, 1_000_000_000],
  val: [1_000_000_000, 1_100_000_000],
  test: [1_100_000_000, 1_200_000_000],
} as const satisfies Record<string, readonly [number, number]>;
export type SplitName = keyof typeof SPLITS;

/** The split's first seed: the default --seed. */
export function defaultSeed(split: SplitName): number { return SPLITS[split][0]; }

/** Throws unless seeds [seed, seed + n) lie inside the split's range. */
export function checkSeedRange(split: SplitName, seed: number, n: number): void {
  const [lo, hi] = SPLITS[split];
  if (!Number.isInteger(seed) || seed < lo || seed + n > hi) {
    throw new RangeError(`seeds ${seed}..${seed + n - 1} are not inside the ${split} split's range [${lo}, ${hi}): ` +
      `give --seed between ${lo} and ${hi - n} (the splits own disjoint seed ranges, so test scenes never appear in training)`);
  }
}
