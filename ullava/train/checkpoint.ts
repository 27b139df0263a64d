// Training checkpoints: OUT/checkpoint-<step>/ holds
//   model.safetensors            every weight in the published key layout (a model directory every command loads:
//                                config.json and the tokenizer files are copied beside it)
//   adapter_model.safetensors    LoRA adapters (PEFT keys: <layer>.lora_A.weight / .lora_B.weight) + adapter_config.json
//   optimizer.safetensors        the optimizer's tensors (moments, f32 master weights)
//   trainer_state.json           step, data position, RNG, scheduler and optimizer scalars, the parameter list,
//                                and the size and SHA-256 of every file above (written last)
// A checkpoint is written into a temporary directory beside the others (each file flushed to disk), then
// renamed into place: a crash, a full disk or a kill leaves either the complete new checkpoint or none,
// and never touches the earlier ones. Only the last K are kept. Loading verifies the checksums and that the
// checkpoint belongs to this run (same parameters, same trainable set) and refuses it with the reason.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../../engine/index.js';
import { writeSafetensors, type TensorToWrite } from '../../nn/io/safetensors.js';
import { openCheckpoint } from '../../nn/io/checkpoint.js';
import type { SourceDType } from '../../nn/io/dtypes.js';
import { loadModuleWeights } from '../../nn/io/load-module.js';
import { writeFileAtomic } from '../media/atomic-write.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import { isLoraKey } from './stages.js';

export const CHECKPOINT_FORMAT = 'ullava-train-checkpoint/1';
const MODEL_FILES = ['config.json', 'tokenizer.model', 'added_tokens.json', 'special_tokens_map.json', 'tokenizer_config.json'];

export class CheckpointError extends Error {
  constructor(message: string) { super(message); this.name = 'CheckpointError'; }
}

export interface ParamRecord { name: string; shape: number[]; dtype: string; trainable: boolean }

export interface TrainerState {
  format: typeof CHECKPOINT_FORMAT;
  step: number;
  /** The next batch to train on. */
  data: { epoch: number; batch: number };
  rng: { seed: number; counter: number };
  /** The optimizer's and scheduler's scalars (step counts, loss scale, ...), as their stateDict gives them. */
  optimizer: unknown;
  stage: string;
  /** Digest of the config fields that must not change on resume. */
  configDigest: string;
  params: ParamRecord[];
  files: Record<string, { bytes: number; sha256: string }>;
  /** Free-form: the last logged metrics, the LoRA settings, ... */
  extra: Record<string, unknown>;
}

const DTYPE_TO_SOURCE: Record<string, SourceDType> = { f32: 'F32', bf16: 'BF16', f16: 'F16', i32: 'I32', u32: 'U32', u8: 'U8' };

export function tensorToWrite(name: string, t: Tensor): TensorToWrite {
  const dtype = DTYPE_TO_SOURCE[t.dtype];
  if (!dtype) throw new Error(`checkpoint: cannot store ${name} of dtype ${t.dtype}`);
  return {
    name, dtype, shape: [...t.shape],
    data: async () => { const h = await t.toHost(); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); },
  };
}

async function sha256File(path: string): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) { h.update(chunk as Buffer); bytes += (chunk as Buffer).length; }
  return { bytes, sha256: h.digest('hex') };
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } catch { /* some filesystems refuse fsync on directories; the rename still ordered the data */ } finally { await fh.close(); }
}

export function paramRecords(model: UllavaForCausalLM): ParamRecord[] {
  return [...model.namedParameters()].map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype, trainable: t.requiresGrad }));
}

export function checkpointName(step: number): string { return `checkpoint-${String(step).padStart(8, '0')}`; }

/** The complete checkpoints in `out`, oldest first (temporary directories of failed writes are not listed). */
export async function listCheckpoints(out: string): Promise<{ step: number; dir: string }[]> {
  let names: string[];
  try { names = await readdir(out); } catch { return []; }
  return names.flatMap((n) => { const m = /^checkpoint-(\d+)$/.exec(n); return m ? [{ step: Number(m[1]), dir: join(out, n) }] : []; })
    .sort((a, b) => a.step - b.step);
}

/**
 * Removes what a killed run's unfinished checkpoint write left behind (`.tmp-checkpoint-*`, partial copies
 * no reader uses) and restores a checkpoint that was moved aside for a same-step rewrite that never
 * finished. Called when a run starts in `out`.
 */
export async function removeUnfinishedCheckpoints(out: string): Promise<string[]> {
  let names: string[];
  try { names = await readdir(out); } catch { return []; }
  const stale: string[] = [];
  for (const n of names) {
    const old = /^(checkpoint-\d+)\.old-\d+$/.exec(n);
    if (old && !names.includes(old[1])) {
      // Killed between moving the previous copy aside and moving the new one in: the previous copy is the checkpoint.
      await rename(join(out, n), join(out, old[1]));
    } else if (old || n.startsWith('.tmp-checkpoint-')) {
      await rm(join(out, n), { recursive: true, force: true });
      stale.push(n);
    }
  }
  return stale;
}

export interface SaveInput {
  model: UllavaForCausalLM;
  /** The model directory the run started from (config.json and tokenizer files are copied from it). */
  modelDir: string;
  optimizerTensors: Map<string, Tensor>;
  state: Omit<TrainerState, 'format' | 'files' | 'params'>;
  /** adapter_config.json's content when the model has LoRA layers. */
  adapterConfig: Record<string, unknown> | null;
  keep: number;
}

/** Writes OUT/checkpoint-<step> atomically and prunes to the last `keep`. Returns its directory. */
export async function saveCheckpoint(out: string, s: SaveInput): Promise<string> {
  await mkdir(out, { recursive: true });
  const final = join(out, checkpointName(s.state.step));
  const tmp = join(out, `.tmp-${checkpointName(s.state.step)}-${process.pid}-${Date.now()}`);
  try {
    await mkdir(tmp);
    const sd = [...s.model.stateDict()];
    await writeSafetensors(join(tmp, 'model.safetensors'), sd.filter(([k]) => !isLoraKey(k)).map(([k, t]) => tensorToWrite(k, t)),
      { metadata: { format: 'pt' } });
    const adapters = sd.filter(([k]) => isLoraKey(k));
    if (adapters.length) {
      await writeSafetensors(join(tmp, 'adapter_model.safetensors'), adapters.map(([k, t]) => tensorToWrite(k, t)), { metadata: { format: 'pt' } });
      await writeFileAtomic(join(tmp, 'adapter_config.json'), new TextEncoder().encode(JSON.stringify(s.adapterConfig ?? {}, null, 2) + '\n'));
    }
    await writeSafetensors(join(tmp, 'optimizer.safetensors'), [...s.optimizerTensors].map(([k, t]) => tensorToWrite(k, t)));
    for (const f of MODEL_FILES) {
      if (await stat(join(s.modelDir, f)).then(() => true, () => false)) await copyFile(join(s.modelDir, f), join(tmp, f));
    }
    const files: TrainerState['files'] = {};
    for (const f of (await readdir(tmp)).sort()) files[f] = await sha256File(join(tmp, f));
    const state: TrainerState = { format: CHECKPOINT_FORMAT, ...s.state, params: paramRecords(s.model), files };
    await writeFileAtomic(join(tmp, 'trainer_state.json'), new TextEncoder().encode(JSON.stringify(state, null, 1) + '\n'));
    await fsyncDir(tmp);
    // A checkpoint of the same step already there (a resumed run saving again): swap it out, then drop it.
    const old = `${final}.old-${process.pid}`;
    const existed = await stat(final).then(() => true, () => false);
    if (existed) await rename(final, old);
    await rename(tmp, final);
    await fsyncDir(out);
    if (existed) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'no space left on device' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CheckpointError(`could not write the checkpoint of step ${s.state.step} in ${out} (${why}); the earlier checkpoints there are unchanged`);
  }
  const all = await listCheckpoints(out);
  for (const c of all.slice(0, Math.max(0, all.length - s.keep))) await rm(c.dir, { recursive: true, force: true });
  return final;
}

export interface Expectations {
  stage: string;
  configDigest: string;
  params: ParamRecord[];
}

/** Reads and verifies a checkpoint's state (checksums, format, that it belongs to this run). */
export async function readCheckpointState(dir: string, expect: Expectations): Promise<TrainerState> {
  let state: TrainerState;
  try { state = JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState; } catch (e) {
    throw new CheckpointError(`${dir}: not a usable checkpoint: trainer_state.json is missing or not JSON (${(e as Error).message})`);
  }
  if (state.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${dir}: unknown checkpoint format ${JSON.stringify(state.format)} (expected ${CHECKPOINT_FORMAT})`);
  for (const [f, want] of Object.entries(state.files ?? {})) {
    const got = await sha256File(join(dir, f)).catch(() => null);
    if (!got) throw new CheckpointError(`${dir}: corrupt checkpoint: ${f} is missing`);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw new CheckpointError(`${dir}: corrupt checkpoint: ${f} has ${got.bytes} bytes / sha256 ${got.sha256.slice(0, 12)}..., trainer_state.json recorded ${want.bytes} / ${want.sha256.slice(0, 12)}... (damaged or changed after writing)`);
    }
  }
  if (state.stage !== expect.stage) throw new CheckpointError(`${dir}: this checkpoint is from stage "${state.stage}", the config says "${expect.stage}"`);
  if (state.configDigest !== expect.configDigest) {
    throw new CheckpointError(`${dir}: the training config changed since this checkpoint was written (trainable set, LoRA, optimizer or data settings differ); resume with the same config or start a new --out`);
  }
  const mine = new Map(expect.params.map((p) => [p.name, p]));
  const diffs: string[] = [];
  for (const p of state.params) {
    const m = mine.get(p.name);
    if (!m) diffs.push(`${p.name} is not in the model`);
    else if (m.shape.join() !== p.shape.join()) diffs.push(`${p.name} is [${p.shape}] in the checkpoint, [${m.shape}] in the model`);
    else if (m.trainable !== p.trainable) diffs.push(`${p.name} is ${p.trainable ? '' : 'not '}trainable in the checkpoint`);
    else if (m.dtype !== p.dtype) diffs.push(`${p.name} is ${p.dtype} in the checkpoint, ${m.dtype} in the model`);
    mine.delete(p.name);
  }
  for (const k of mine.keys()) diffs.push(`${k} is missing from the checkpoint`);
  if (diffs.length) throw new CheckpointError(`${dir}: the checkpoint does not match the model (${diffs.length} differences: ${diffs.slice(0, 4).join('; ')}${diffs.length > 4 ? '; ...' : ''})`);
  return state;
}

/** Loads the weights (and adapters) of a verified checkpoint into the model. */
export async function loadCheckpointWeights(dir: string, model: UllavaForCausalLM): Promise<void> {
  await loadModuleWeights(model, join(dir, 'model.safetensors'), { optional: isLoraKey, where: `${dir}/model.safetensors` });
  if (await stat(join(dir, 'adapter_model.safetensors')).then(() => true, () => false)) {
    await loadModuleWeights(model, join(dir, 'adapter_model.safetensors'), { optional: (k) => !isLoraKey(k), where: `${dir}/adapter_model.safetensors` });
  }
}

/** The optimizer's tensors of a checkpoint, as host bytes with their shapes (the optimizer uploads them). */
export async function readOptimizerTensors(dir: string): Promise<Map<string, { dtype: SourceDType; shape: number[]; bytes: Uint8Array }>> {
  const r = await openCheckpoint(join(dir, 'optimizer.safetensors'));
  try {
    const out = new Map<string, { dtype: SourceDType; shape: number[]; bytes: Uint8Array }>();
    for (const t of r.tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape, bytes: await r.read(t.name) });
    return out;
  } finally { await r.close(); }
}
