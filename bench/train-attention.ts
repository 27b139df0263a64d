// Attention forward + backward at the shapes the tiny u-LLaVA trains with (bench/train.ts), flash
// kernels (engine/ops/attention.ts) against the unfused composition (nn/attention.ts attentionUnfused),
// interleaved round by round in one process so both see the same machine load (the development
// machines are shared). Reports wall ms and process CPU ms per call (lavapipe's worker threads run in
// this process, so CPU time counts the driver's work too) and the load average when the run started.
import { loadavg } from 'node:os';
import { getDevice, randn, ones, scaledDotProductAttention, backward, type Tensor } from '../engine/index.js';
import { attentionUnfused } from '../nn/attention.js';
import { printTable, makeReport, writeJson, type BenchOptions } from './common.js';

export interface AttnCase { label: string; B: number; H: number; Sq: number; Skv: number; D: number; causal: boolean; padBias: boolean }

/** The tiny u-LLaVA's attention calls that need gradients: its LLaMA layers (B 2, 4 heads of 16, ~310 tokens,
 * causal, the padding bias [B,1,1,S]) and SAM's mask-decoder cross attention (tokens to image and back). */
export function tinyTrainAttentionCases(): AttnCase[] {
  return [
    { label: 'llama tiny: 2x4hx310x16 causal+pad', B: 2, H: 4, Sq: 310, Skv: 310, D: 16, causal: true, padBias: true },
    { label: 'llama tiny: 2x4hx310x16 causal', B: 2, H: 4, Sq: 310, Skv: 310, D: 16, causal: true, padBias: false },
    { label: 'llama 8x64 h: 1x8hx512x64 causal', B: 1, H: 8, Sq: 512, Skv: 512, D: 64, causal: true, padBias: false },
    { label: 'sam decoder: tokens->image 2x2hx7x16x8', B: 2, H: 2, Sq: 7, Skv: 16, D: 8, causal: false, padBias: false },
  ];
}

export interface AttnRow { case: string; impl: 'flash' | 'unfused'; fwdBwdMs: number; cpuMs: number; iterations: number }

export async function measureAttention(c: AttnCase, rounds: number): Promise<AttnRow[]> {
  const device = await getDevice();
  const q = randn([c.B, c.H, c.Sq, c.D], 0, 1, { seed: 1 }), k = randn([c.B, c.H, c.Skv, c.D], 0, 1, { seed: 2 });
  const v = randn([c.B, c.H, c.Skv, c.D], 0, 1, { seed: 3 }), g = randn([c.B, c.H, c.Sq, c.D], 0, 1, { seed: 4 });
  const bias = c.padBias ? ones([c.B, 1, 1, c.Skv]) : null;
  const step = (flash: boolean) => {
    for (const t of [q, k, v]) t.requireGrad();
    const o = { causal: c.causal, bias, scale: 1 / Math.sqrt(c.D) };
    const out = flash ? scaledDotProductAttention(q, k, v, o) : attentionUnfused(q, k, v, o);
    backward(out, { grad: g });
    out.dispose();
    for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; t.requireGrad(false); }
  };
  const acc = { flash: { ms: 0, cpu: 0 }, unfused: { ms: 0, cpu: 0 } };
  for (const f of [true, false]) { step(f); await device.sync(); }
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so a load change in the middle of a round is shared.
    for (const flash of r % 2 ? [false, true] : [true, false]) {
      const c0 = process.cpuUsage(); const t0 = performance.now();
      step(flash); await device.sync();
      const a = acc[flash ? 'flash' : 'unfused'];
      a.ms += performance.now() - t0;
      const cu = process.cpuUsage(c0); a.cpu += (cu.user + cu.system) / 1000;
    }
  }
  for (const t of [q, k, v, g, ...(bias ? [bias] : [])]) t.dispose();
  return (['flash', 'unfused'] as const).map((impl) => ({ case: c.label, impl, fwdBwdMs: acc[impl].ms / rounds, cpuMs: acc[impl].cpu / rounds, iterations: rounds }));
}

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const load = loadavg();
  const rows: AttnRow[] = [];
  for (const c of tinyTrainAttentionCases()) {
    if (o.filter && !c.label.includes(o.filter)) continue;
    rows.push(...await measureAttention(c, o.quick ? 3 : 10));
  }
  printTable(rows.map((r) => ({ ...r })));
  console.log(`load average at start: ${load.map((x) => x.toFixed(2)).join(' ')}`);
  if (o.json) writeJson(o.json, { ...makeReport('train-attention', device, rows, [
    'forward + backward (dq, dk, dv) of one attention call, f32, flash and unfused interleaved round by round',
    'cpuMs: process CPU time (user + system, all threads: lavapipe runs in-process) per call',
  ]), loadAverage: load });
}
