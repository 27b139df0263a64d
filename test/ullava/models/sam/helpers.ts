// Shared set-up for the SAM tests: a tiny SAM with every parameter randomised (so zero-initialised
// tables like rel_pos and pos_embed are exercised), and the same values as float64 arrays for test/ref/sam.
import * as E from '../../../../engine/index.js';
import { NDArray } from '../../../ref/ndarray.js';
import { Sam } from '../../../../ullava/models/sam/model.js';
import { samTiny, type SamConfig } from '../../../../ullava/models/sam/config.js';
import type { Params } from '../../../ref/sam.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

export function normals(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { const u = r() || 1e-12, v = r(); out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); }
  return out;
}

/** Values for one parameter: norms near (1, 0), weights ~ N(0, 1/fan_in), tables and tokens ~ N(0, 0.5²). */
function valuesFor(key: string, shape: readonly number[], r: () => number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const z = normals(n, r);
  const isNorm = /(norm\d?|norm_final_attn|neck\.[13]|mask_downscaling\.[14]|output_upscaling\.1)\.(weight|bias)$/.test(key);
  if (isNorm) return z.map((v) => (key.endsWith('weight') ? 1 + 0.2 * v : 0.2 * v));
  if (key.endsWith('.bias')) return z.map((v) => 0.2 * v);
  if (/positional_encoding_gaussian_matrix$/.test(key)) return z;
  if (/(pos_embed|rel_pos_[hw]|_token\.weight|mask_tokens\.weight|embed\.weight|point_embeddings\.\d\.weight)$/.test(key)) return z.map((v) => 0.5 * v);
  const fanIn = key.includes('output_upscaling') ? shape[0] : n / shape[0];
  return z.map((v) => v / Math.sqrt(fanIn));
}

export interface TinySam { model: Sam; cfg: SamConfig; P: Params; host: Map<string, Float32Array> }

/** A tiny SAM with random parameters, and those parameters on the host (as float64 arrays for the reference). */
export async function tinySam(seed = 1, cfg: SamConfig = samTiny()): Promise<TinySam> {
  await E.getDevice();
  const model = new Sam(cfg, seed);
  const r = rng(seed * 7919 + 17);
  const host = new Map<string, Float32Array>();
  const sd = new Map<string, E.Tensor>();
  for (const [k, t] of model.stateDict()) {
    const v = valuesFor(k, t.shape, r);
    host.set(k, v);
    sd.set(k, E.Tensor.fromHost(v, t.shape, 'f32'));
  }
  model.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
  const P: Params = new Map([...host].map(([k, v]) => [k, NDArray.from([...model.stateDict().get(k)!.shape], v)]));
  return { model, cfg, P, host };
}

export const nd = async (t: E.Tensor) => NDArray.from([...t.shape], await t.toArray());
export const f32 = (a: NDArray) => Float32Array.from(a.data);
