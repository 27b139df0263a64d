// Seeded random numbers in map kernels: a counter-based hash of (seed, element index), so values are
// reproducible across runs and independent of how the work is split. test/ref/random.ts has the same
// hash for checking. Scalars: 0 the seed, then the op's own.
import type { MapBody } from './map.js';

/** The hash: PCG-style mixing of (seed, counter) to 32 random bits. Kept in sync with test/ref/random.ts. */
const HASH_WGSL = /* wgsl */ `
fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn rand_u32(seed: u32, i: u32) -> u32 { return pcg(pcg(i ^ pcg(seed)) + seed); }
// uniform in (0, 1): 24 random bits, offset by half a step so log() never sees 0.
fn rand_f(seed: u32, i: u32) -> f32 { return (f32(rand_u32(seed, i) >> 8u) + 0.5) / 16777216.0; }
`;

/** The row-major element number of idx (the hash's counter). */
function linearIndex(rank: number): string {
  let e = 'idx[0]';
  for (let d = 1; d < rank; d++) e = `(${e}) * shape(${d}u) + idx[${d}]`;
  return e;
}

/** Uniform in [low, high) (scalars: seed, low, high). */
export function uniformBody(rank: number): MapBody {
  return { label: 'rand', helpers: HASH_WGSL,
    body: `let i = ${linearIndex(rank)}; return sc_f(1) + (sc_f(2) - sc_f(1)) * (rand_f(sc_u(0), i) - 0.5 / 16777216.0);` };
}

/** Normal (scalars: seed, mean, std), by Box-Muller on two hashed uniforms. */
export function normalBody(rank: number): MapBody {
  return { label: 'randn', helpers: HASH_WGSL, body: `let i = ${linearIndex(rank)};
  let u1 = rand_f(sc_u(0), 2u * i); let u2 = rand_f(sc_u(0), 2u * i + 1u);
  return sc_f(1) + sc_f(2) * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);` };
}

/** Dropout of input `x` (scalars: seed, 1 / (1 - p), p): the same mask for the forward and the backward. */
export function dropoutBody(rank: number): MapBody {
  return { label: 'dropout', helpers: HASH_WGSL,
    body: `let i = ${linearIndex(rank)}; return select(0.0, ld_x(idx) * sc_f(1), rand_f(sc_u(0), i) >= sc_f(2));` };
}
