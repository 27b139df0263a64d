// Attention throughput: the flash kernels (engine/ops/attention.ts) against the unfused composition
// softmax(QKᵀ·scale + bias)V made of the engine's own ops (nn/attention.ts), forward and backward, with
// the peak live bytes of each. GFLOP/s counts 4·B·H·Sq·Skv·D for the forward and 2.5x that for the
// backward, halved when causal (the usual FlashAttention accounting), whatever work a kernel really does.
import { getDevice, randn, cast, scaledDotProductAttention, backward, noGrad, planAttention, type Tensor, type DType } from '../engine/index.js';
import { attentionUnfused } from '../nn/attention.js';
import { parseBenchArgs, timeGpu, printTable, makeReport, writeJson, type BenchOptions } from './common.js';

interface Case { label: string; B: number; H: number; S: number; D: number; causal: boolean; bias: boolean }

export function attentionCases(quick: boolean): Case[] {
  const seqs = quick ? [256, 512, 1024] : [256, 512, 1024, 2048, 4096];
  const heads = quick ? 8 : 32;
  return [
    { label: 'target 1024 x 8h x 64', B: 1, H: 8, S: 1024, D: 64, causal: false, bias: false },
    { label: 'sam-h window', B: 1, H: 16, S: 196, D: 80, causal: false, bias: true },
    ...seqs.map((S) => ({ label: `causal ${S} x ${heads}h x 128`, B: 1, H: heads, S, D: 128, causal: true, bias: false })),
  ];
}

export interface AttentionRow {
  case: string; B: number; H: number; S: number; D: number; causal: boolean; bias: boolean; dtype: DType; pass: 'fwd' | 'fwd+bwd';
  impl: string; ms: number; gflops: number; unfusedMs: number | null; unfusedGflops: number | null; speedup: number | null;
  peakBytes: number; unfusedPeakBytes: number | null;
}

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const rows: AttentionRow[] = [];
  const sync = () => device.sync();
  const budgetMs = o.quick ? 20_000 : 60_000;
  const dtype: DType = 'f32';
  for (const c of attentionCases(o.quick)) {
    if (o.filter && !c.label.includes(o.filter)) continue;
    const { B, H, S, D } = c;
    const make = (shape: number[], seed: number) => { const t = randn(shape, 0, 1, { seed }); if (dtype === 'f32') return t; const r = cast(t, dtype); t.dispose(); return r; };
    const q = make([B, H, S, D], 1), k = make([B, H, S, D], 2), v = make([B, H, S, D], 3);
    const bias = c.bias ? make([1, H, S, S], 4) : null;
    const g = make([B, H, S, D], 5);
    const inputMem = device.memory().liveBytes;
    const fwdFlops = (4 * B * H * S * S * D) / (c.causal ? 2 : 1);
    const impl = planAttention(device, S, S, D).impl;
    for (const pass of ['fwd', 'fwd+bwd'] as const) {
      const flops = pass === 'fwd' ? fwdFlops : fwdFlops * 3.5;
      const step = (fused: boolean) => () => {
        const leaves = pass === 'fwd' ? [] : [q, k, v, ...(bias ? [bias] : [])];
        for (const t of leaves) t.requireGrad();
        const run = () => (fused ? scaledDotProductAttention(q, k, v, { causal: c.causal, bias })
          : attentionUnfused(q, k, v, { causal: c.causal, bias }));
        const out = pass === 'fwd' ? noGrad(run) : run();
        if (pass !== 'fwd') backward(out, { grad: g });
        out.dispose();
        for (const t of leaves) { t.grad?.dispose(); t.grad = null; t.requireGrad(false); }
      };
      const measurePeak = async (fn: () => void) => {
        await sync();
        device.pool.resetPeak();
        fn();
        await sync();
        return device.memory().peakLiveBytes - inputMem;
      };
      const ours = await timeGpu(step(true), sync, o.seconds, 10);
      const peak = await measurePeak(step(true));
      let un: { meanMs: number } | null = null, unPeak: number | null = null;
      // The unfused composition materialises B·H·S·S floats several times; skip where it would not fit or take too long.
      const scoreBytes = 4 * B * H * S * S;
      if (scoreBytes <= device.maxBindingBytes && ours.meanMs < budgetMs) {
        try {
          un = await timeGpu(step(false), sync, o.seconds, 10);
          unPeak = await measurePeak(step(false));
        } catch (e) {
          console.log(`${c.label}: unfused failed: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      const gflops = flops / ours.meanMs / 1e6;
      const row: AttentionRow = { case: c.label, B, H, S, D, causal: c.causal, bias: c.bias, dtype, pass, impl,
        ms: ours.meanMs, gflops, unfusedMs: un?.meanMs ?? null, unfusedGflops: un ? flops / un.meanMs / 1e6 : null,
        speedup: un ? un.meanMs / ours.meanMs : null, peakBytes: peak, unfusedPeakBytes: unPeak };
      rows.push(row);
      console.log(`${c.label.padEnd(24)} ${pass.padEnd(7)} ${ours.meanMs.toFixed(1).padStart(9)} ms ${gflops.toFixed(2).padStart(7)} GFLOP/s` +
        `${un ? `  unfused ${un.meanMs.toFixed(1)} ms (x${row.speedup!.toFixed(2)})` : ''}  peak ${(peak / 2 ** 20).toFixed(1)} MiB` +
        `${unPeak !== null ? ` vs ${(unPeak / 2 ** 20).toFixed(1)} MiB` : ''}`);
    }
    for (const t of [q, k, v, g, ...(bias ? [bias] : [])]) t.dispose();
  }
  console.log();
  const mib = (b: number | null) => (b === null ? '-' : (b / 2 ** 20).toFixed(2));
  printTable(rows.map((r) => ({ case: r.case, pass: r.pass, impl: r.impl, ms: r.ms, 'GFLOP/s': r.gflops,
    'unfused ms': r.unfusedMs ?? '-', 'x unfused': r.speedup ?? '-', 'peak MiB': mib(r.peakBytes), 'unfused peak MiB': mib(r.unfusedPeakBytes) })));
  if (o.json) {
    writeJson(o.json, makeReport('attention', device, rows, [
      'f32 storage; time per call includes waiting for the GPU (one submit per iteration)',
      'GFLOP/s: 4*B*H*Sq*Skv*D forward, x3.5 for forward+backward (bwd = 2.5x fwd), halved when causal',
      'peak bytes: device.pool peakLiveBytes during one call, minus the inputs (q, k, v, dO, bias)',
      'peer: the unfused composition of the engine ops (nn/attention.ts attentionUnfused); null where skipped (too slow or too large)',
    ]));
    console.log(`wrote ${o.json}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(parseBenchArgs(process.argv.slice(2)));
export type { Tensor };
