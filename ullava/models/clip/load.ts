// Loading the CLIP vision tower from a checkpoint: an HF CLIPVisionModel / CLIPModel checkpoint
// (`vision_model.*`; a CLIPModel's text tower is skipped), u-LLaVA's (`llm.vision_encoder.vision_model.*`)
// or LLaVA's (`model.vision_tower.vision_tower.vision_model.*`). Only the tower's tensors are read.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Tensor, DType } from '../../../engine/index.js';
import { loadModuleWeights, loadNewModule, readTensorInfos } from '../../../nn/io/load-module.js';
import type { TensorInfo } from '../../../nn/io/dtypes.js';
import { type ClipVisionConfig, CLIP_VISION_DEFAULTS, clipVisionConfigFromHF, validateClipVisionConfig } from './config.js';
import { ClipVisionModel } from './model.js';
import { StateDictError, type LoadResult } from '../../../nn/module.js';

/** Where the tower's `vision_model.*` keys sit in the checkpoints we know, most specific first. */
export const CLIP_KEY_PREFIXES = ['llm.vision_encoder.', 'model.vision_tower.vision_tower.', ''] as const;

/** A buffer older transformers versions saved (persistent) and newer ones do not; we never need it. */
const POSITION_IDS = 'vision_model.embeddings.position_ids';

/** The prefix in front of `vision_model.` in these tensor names, or null when there is no CLIP tower. */
export function detectClipPrefix(names: Iterable<string>): string | null {
  const all = [...names];
  for (const p of CLIP_KEY_PREFIXES) if (all.some((n) => n.startsWith(`${p}vision_model.`))) return p;
  return null;
}

/** name -> the model's key (prefix stripped), or undefined for tensors that are not the tower's. */
export function clipKeyRenamer(prefix: string): (name: string) => string | undefined {
  return (name) => {
    if (!name.startsWith(`${prefix}vision_model.`)) return undefined;
    const k = name.slice(prefix.length);
    return k === POSITION_IDS ? undefined : k;
  };
}

/**
 * The tower's state dict out of a whole model's tensors (same tensors, keys renamed; nothing is
 * copied or disposed). The prefix is detected unless given.
 */
export function clipVisionStateDict(tensors: ReadonlyMap<string, Tensor>, prefix?: string): Map<string, Tensor> {
  const p = prefix ?? detectClipPrefix(tensors.keys());
  if (p === null) throw new Error(`CLIP: no "vision_model." tensors among ${tensors.size} (prefixes tried: ${CLIP_KEY_PREFIXES.map((x) => `"${x}"`).join(', ')})`);
  const rename = clipKeyRenamer(p);
  const out = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    const r = rename(k);
    if (r !== undefined) out.set(r, t);
  }
  return out;
}

/**
 * The configuration implied by the tensors' shapes (keys without prefix). The number of heads is not
 * in the shapes: CLIP's towers use 64-dimensional heads except ViT-H/g, so pass `heads` for those.
 */
export function inferClipVisionConfig(infos: Iterable<Pick<TensorInfo, 'name' | 'shape'>>, heads?: number): ClipVisionConfig {
  const shapes = new Map<string, number[]>();
  for (const t of infos) shapes.set(t.name, t.shape);
  const need = (k: string) => {
    const s = shapes.get(`vision_model.${k}`);
    if (!s) throw new Error(`CLIP: cannot infer the configuration: no vision_model.${k}`);
    return s;
  };
  const [D, C, P] = need('embeddings.patch_embedding.weight');
  const positions = need('embeddings.position_embedding.weight')[0];
  const grid = Math.round(Math.sqrt(positions - 1));
  if (grid * grid !== positions - 1) throw new Error(`CLIP: ${positions} positions are not a square grid plus a class token`);
  let L = 0;
  while (shapes.has(`vision_model.encoder.layers.${L}.layer_norm1.weight`)) L++;
  const F = need('encoder.layers.0.mlp.fc1.weight')[0];
  return validateClipVisionConfig({
    ...CLIP_VISION_DEFAULTS, hiddenSize: D, numChannels: C, patchSize: P, imageSize: grid * P, numHiddenLayers: L,
    intermediateSize: F, numAttentionHeads: heads ?? (D % 64 === 0 ? D / 64 : 1),
  });
}

/**
 * Every key of ClipVisionModel's state dict with its shape, from the configuration alone (nothing is
 * allocated), in the order HF lists them.
 */
export function clipVisionParamShapes(c: ClipVisionConfig): Map<string, number[]> {
  const D = c.hiddenSize, F = c.intermediateSize, P = c.patchSize, n = (c.imageSize / P) ** 2 + 1;
  const m = new Map<string, number[]>([
    ['vision_model.embeddings.class_embedding', [D]],
    ['vision_model.embeddings.patch_embedding.weight', [D, c.numChannels, P, P]],
    ['vision_model.embeddings.position_embedding.weight', [n, D]],
    ['vision_model.pre_layrnorm.weight', [D]], ['vision_model.pre_layrnorm.bias', [D]],
  ]);
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = `vision_model.encoder.layers.${i}`;
    for (const p of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) { m.set(`${l}.self_attn.${p}.weight`, [D, D]); m.set(`${l}.self_attn.${p}.bias`, [D]); }
    m.set(`${l}.layer_norm1.weight`, [D]); m.set(`${l}.layer_norm1.bias`, [D]);
    m.set(`${l}.mlp.fc1.weight`, [F, D]); m.set(`${l}.mlp.fc1.bias`, [F]);
    m.set(`${l}.mlp.fc2.weight`, [D, F]); m.set(`${l}.mlp.fc2.bias`, [D]);
    m.set(`${l}.layer_norm2.weight`, [D]); m.set(`${l}.layer_norm2.bias`, [D]);
  }
  m.set('vision_model.post_layernorm.weight', [D]); m.set('vision_model.post_layernorm.bias', [D]);
  return m;
}

/** Missing, unexpected and mis-shaped keys of a checkpoint's (renamed) tensors against a configuration. */
export function checkClipTensors(c: ClipVisionConfig, infos: Iterable<Pick<TensorInfo, 'name' | 'shape'>>): LoadResult {
  const want = clipVisionParamShapes(c);
  const seen = new Set<string>();
  const r: LoadResult = { missing: [], unexpected: [], mismatched: [] };
  for (const t of infos) {
    seen.add(t.name);
    const s = want.get(t.name);
    if (!s) r.unexpected.push(t.name);
    else if (s.join() !== t.shape.join()) r.mismatched.push(`${t.name} [${t.shape}] vs model [${s}]`);
  }
  for (const k of want.keys()) if (!seen.has(k)) r.missing.push(k);
  return r;
}

/** A CLIP (vision) config.json beside the checkpoint, if there is one. */
async function readClipConfigNear(path: string): Promise<ClipVisionConfig | null> {
  const dir = await stat(path).then((s) => (s.isDirectory() ? path : dirname(path)));
  const file = join(dir, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  const json = JSON.parse(text) as Record<string, unknown>;
  const type = json.model_type;
  return type === 'clip_vision_model' || type === 'clip' ? clipVisionConfigFromHF(json) : null;
}

export interface LoadClipOptions {
  /** Default: a CLIP config.json beside the checkpoint, else inferred from the tensor shapes. */
  config?: ClipVisionConfig;
  /** The model's parameter dtype (default f32); the checkpoint's tensors are converted to it. */
  dtype?: DType;
  /** The key prefix before `vision_model.` (default: detected). */
  prefix?: string;
  /** Whether the parameters require gradients (default false: u-LLaVA and LLaVA keep the tower frozen). */
  trainable?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Builds the tower and loads it, strictly: every parameter must be there, with its shape, and nothing else. */
export async function loadClipVisionModel(path: string, o: LoadClipOptions = {}): Promise<{ model: ClipVisionModel; config: ClipVisionConfig; prefix: string }> {
  const tensors = await readTensorInfos(path);
  const prefix = o.prefix ?? detectClipPrefix(tensors.map((t) => t.name));
  if (prefix === null) throw new Error(`${path}: no CLIP vision tower ("vision_model." tensors) in this checkpoint`);
  const rename = clipKeyRenamer(prefix);
  const infos = tensors.flatMap((t) => { const n = rename(t.name); return n === undefined ? [] : [{ name: n, shape: t.shape }]; });
  const config = o.config ?? await readClipConfigNear(path) ?? inferClipVisionConfig(infos);
  // Checked from the headers before reading a byte or allocating the model (ViT-L is 1.2 GB in f32).
  const check = checkClipTensors(config, infos);
  if (check.missing.length + check.unexpected.length + check.mismatched.length) {
    throw new StateDictError(check, `CLIP vision tower from ${path}`);
  }
  // Each tensor streams straight into its parameter's buffer: memory stays at the model's own size.
  const model = await loadNewModule(new ClipVisionModel(config, { dtype: o.dtype ?? 'f32' }),
    (m) => loadModuleWeights(m, path, { rename, onProgress: o.onProgress, where: `CLIP vision tower from ${path}` }));
  model.requiresGrad(o.trainable ?? false);
  return { model: model.eval(), config, prefix };
}
