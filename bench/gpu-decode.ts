// bench/gpu.ts part "decode": greedy decoding tokens/s of a LLaMA-7B-shaped model with random bf16 weights
// and a bf16 KV cache (prefill a prompt, then one token per step, reading back the chosen id each step as
// generation does), against HF transformers' LlamaForCausalLM.generate (KV cache) from the same config with
// random weights on the same GPU. With --decode-layers L < 32, both sides run 1 and L layers and the
// per-token time is extrapolated linearly to 32 layers (noted in the JSON).
import { Tensor, noGrad, scope, argmax, type Device, type DType } from '../engine/index.js';
import { LlamaForCausalLM } from '../ullava/models/llama/model.js';
import { KVCache } from '../ullava/models/llama/kv-cache.js';
import { LLAMA_7B, tinyLlamaConfig, type LlamaConfig } from '../ullava/models/llama/config.js';
import { runPeer, type GpuArgs } from './gpu-run.js';

export interface DecodeSpec { config: LlamaConfig; prompt: number; newTokens: number; dtype: DType; layerCounts: number[]; fullLayers: number }

export function decodeSpec(args: GpuArgs): DecodeSpec {
  const base = args.quick
    ? tinyLlamaConfig({ vocabSize: 1000, hiddenSize: 128, intermediateSize: 344, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 4, maxPositionEmbeddings: 256 })
    : { ...LLAMA_7B };
  const full = base.numHiddenLayers;
  const L = Math.min(full, args.decodeLayers);
  return { config: base, prompt: args.quick ? 16 : 128, newTokens: args.quick ? 8 : 64, dtype: 'bf16', layerCounts: L < full ? [1, L] : [full], fullLayers: full };
}

interface DecodeRun { layers: number; prefillMs: number; msPerToken: number; tokensPerS: number; timedSteps: number; tokens: number[] }

async function decodeOnce(device: Device, spec: DecodeSpec, layers: number, deadline: number): Promise<DecodeRun> {
  const cfg = { ...spec.config, numHiddenLayers: layers };
  const lm = new LlamaForCausalLM(cfg, { dtype: spec.dtype, seed: 3 });
  const cache = new KVCache(cfg, { batch: 1, maxLength: spec.prompt + spec.newTokens + 2, dtype: spec.dtype, device });
  try {
    const promptIds = Array.from({ length: spec.prompt }, (_, i) => 1 + ((i * 7919) % (cfg.vocabSize - 1)));
    const step = async (ids: number[]) => {
      const x = Tensor.from(ids, [1, ids.length], 'i32', device);
      const next = noGrad(() => scope(() => argmax(lm.forward({ inputIds: x, kvCache: cache, lastLogitsOnly: true }).logits, -1)));
      const id = (await next.toArray())[0];
      next.dispose(); x.dispose();
      return id;
    };
    await device.sync();
    const t0 = performance.now();
    let id = await step(promptIds);
    const prefillMs = performance.now() - t0;
    const tokens = [id];
    // Two warm-up steps (the decode kernels' first compile), then the timed ones.
    for (let i = 0; i < 2; i++) tokens.push(id = await step([id]));
    const t1 = performance.now();
    let n = 0;
    for (; n < spec.newTokens - 3 && performance.now() < deadline; n++) tokens.push(id = await step([id]));
    if (n === 0) throw new Error(`no time was left for timed decode steps at ${layers} layers (prefill ${prefillMs.toFixed(0)} ms)`);
    const msPerToken = (performance.now() - t1) / n;
    return { layers, prefillMs, msPerToken, tokensPerS: 1000 / msPerToken, timedSteps: n, tokens };
  } finally { cache.dispose(); lm.dispose(); device.trimPool(); }
}

/** Per-token time at `full` layers from runs at two layer counts (linear in the layer count). */
export function extrapolate(runs: { layers: number; msPerToken: number }[], full: number): number | null {
  if (runs.length === 1 && runs[0].layers === full) return runs[0].msPerToken;
  if (runs.length < 2) return null;
  const [a, b] = runs;
  const perLayer = (b.msPerToken - a.msPerToken) / (b.layers - a.layers);
  return a.msPerToken + perLayer * (full - a.layers);
}

export async function decodePart(args: GpuArgs, device: Device, rec: Record<string, unknown>, deadline: number): Promise<'ok' | 'partial'> {
  const spec = decodeSpec(args);
  rec.spec = spec;
  rec.notes = [
    'greedy decode, batch 1, random weights in bf16, bf16 KV cache; ours: argmax on the GPU, the id read back each step',
    `prompt ${spec.prompt} tokens, then ${spec.newTokens} new tokens (the first 3 untimed)`,
    spec.layerCounts.length > 1 ? `a slice: runs at ${spec.layerCounts.join(' and ')} layers, per-token time extrapolated linearly to ${spec.fullLayers}`
      : `the whole ${spec.fullLayers}-layer model`,
    'peer: transformers LlamaForCausalLM(config) with random weights, generate(do_sample=False, use_cache=True); decode tokens/s from generate of N and of 1 new tokens',
  ];
  const runs: DecodeRun[] = [];
  rec.ours = runs;
  const oursDeadline = performance.now() + 0.55 * (deadline - performance.now());
  for (const layers of spec.layerCounts) runs.push(await decodeOnce(device, spec, layers, oursDeadline));
  const ms = extrapolate(runs, spec.fullLayers);
  rec.oursTokensPerS = ms ? 1000 / ms : null;
  const left = (deadline - performance.now()) / 1000;
  const torch = await runPeer(args, 'decode', spec, left) as { error?: string; tokensPerS?: number; runs?: { layers: number; msPerToken: number }[] };
  rec.torch = torch;
  const tms = torch.runs ? extrapolate(torch.runs, spec.fullLayers) : null;
  rec.torchTokensPerS = tms ? 1000 / tms : null;
  rec.oursSpeedupVsTorch = ms && tms ? tms / ms : null; // torch's time per token / ours: above 1, ours is faster
  console.log(`[gpu]   decode: ours ${rec.oursTokensPerS ? (rec.oursTokensPerS as number).toFixed(1) : '-'} tokens/s, torch ${rec.torchTokensPerS ? (rec.torchTokensPerS as number).toFixed(1) : '-'}`);
  return torch.error ? 'partial' : 'ok';
}
