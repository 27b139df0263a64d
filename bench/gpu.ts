// One prepared script for a short GPU lease (issue 15): in under 8 minutes on an H100/H200 it writes, under
// --out, one JSON per part and summary.json:
//   device.json     the adapter with the NVIDIA f16 toggle off and on (features, subgroup-matrix configs,
//                   limits, toggles) and what PyTorch reports of the GPU
//   copy.json       host<->GPU and GPU->GPU GB/s, ours and torch's (pageable and pinned)
//   gemm.json       f16/bf16 GEMM per kernel variant (checked against 'tiled') vs torch, 7B / 4096³ / SAM-H shapes
//   attention.json  fused attention fwd and fwd+bwd per variant vs torch SDPA, 32 heads, d 128, S 512 / 2048
//   decode.json     7B-shaped greedy decode tokens/s (random bf16 weights, KV cache) vs transformers generate
//   sam.json        SAM ViT-H image encoder ms/image vs a torch-ops encoder of the same structure
//   summary.json    date, commit, device, each part's status/error/seconds, headline numbers
// Every part is wrapped: a failure is recorded (its message in the JSON) and the rest goes on; a global
// deadline (--budget-s, default 420 s) skips parts when time is short (recorded), and a watchdog writes the
// summary and exits if the run overruns it. The PyTorch side is bench/peers/torch_gpu.py, run per part as
// a child process with its share of the part's time. `--quick` runs tiny shapes (a software adapter,
// PyTorch on the CPU): the smoke test. How to run it on a GPU lease: docs/gpu.md.
import { getDevice, closeDefaultDevice, DeviceLostError, type Device } from '../engine/index.js';
import { writeJson } from './common.js';
import { parseGpuArgs, runMeta, runParts, Clock, errorText, type PartPlan, type PartResult, type GpuArgs } from './gpu-run.js';
import { devicePart } from './gpu-device.js';
import { copyPart } from './gpu-copy.js';
import { gemmPart } from './gpu-gemm.js';
import { attentionPart } from './gpu-attention.js';
import { decodePart } from './gpu-decode.js';
import { samPart } from './gpu-sam.js';
import { join } from 'node:path';

/** Seconds each part needs at least / may take at most, on an H100/H200 (full) and on lavapipe (quick). */
const TIMES: Record<string, { min: number; cap: number; quickCap: number }> = {
  device: { min: 10, cap: 45, quickCap: 90 },
  copy: { min: 10, cap: 30, quickCap: 90 },
  gemm: { min: 40, cap: 150, quickCap: 500 },
  attention: { min: 30, cap: 80, quickCap: 500 },
  decode: { min: 40, cap: 100, quickCap: 400 },
  sam: { min: 30, cap: 70, quickCap: 300 },
};

export function partPlans(args: GpuArgs, device: () => Promise<Device>): PartPlan[] {
  const t = (n: string) => ({ minS: args.quick ? 1 : TIMES[n].min, capS: args.quick ? TIMES[n].quickCap : TIMES[n].cap });
  return [
    { name: 'device', ...t('device'), body: (rec) => devicePart(args, rec) },
    { name: 'copy', ...t('copy'), body: async (rec, dl) => copyPart(args, await device(), rec, dl) },
    { name: 'gemm', ...t('gemm'), body: async (rec, dl) => gemmPart(args, await device(), rec, dl) },
    { name: 'attention', ...t('attention'), body: async (rec, dl) => attentionPart(args, await device(), rec, dl) },
    { name: 'decode', ...t('decode'), body: async (rec, dl) => decodePart(args, await device(), rec, dl) },
    { name: 'sam', ...t('sam'), body: async (rec, dl) => samPart(args, await device(), rec, dl) },
  ];
}

/** Headline numbers for summary.json, read from the parts' records. */
export function headlines(results: PartResult[]): Record<string, unknown> {
  const get = (p: string) => results.find((r) => r.part === p) as Record<string, unknown> | undefined;
  const dev = get('device') as { openings?: Record<string, { description?: unknown; subgroupMatrixConfigs?: unknown; shaderF16?: boolean }> } | undefined;
  const on = dev?.openings?.['f16 toggle on'], off = dev?.openings?.['f16 toggle off'];
  return {
    device: on?.description ?? off?.description ?? null,
    f16: { withToggle: on?.shaderF16 ?? null, withoutToggle: off?.shaderF16 ?? null },
    subgroupMatrixConfigs: { withToggle: on?.subgroupMatrixConfigs ?? null, withoutToggle: off?.subgroupMatrixConfigs ?? null },
    gemm: (get('gemm') as { comparison?: unknown } | undefined)?.comparison ?? null,
    decodeTokensPerS: { ours: get('decode')?.oursTokensPerS ?? null, torch: get('decode')?.torchTokensPerS ?? null, oursSpeedupVsTorch: get('decode')?.oursSpeedupVsTorch ?? null },
    samMsPerImage: { ours: (get('sam')?.ours as { msPerImage?: number } | undefined)?.msPerImage ?? null, oursSpeedupVsTorchBest: get('sam')?.oursSpeedupVsTorchBest ?? null },
  };
}

/**
 * The device for each part: the default device, or a fresh one when the previous was lost (a kernel that
 * crashes the driver must not take the later parts with it). Each loss is noted in `reopened`.
 */
export function liveDevice(reopened: string[], openNew: () => Promise<Device> = getDevice): () => Promise<Device> {
  let device: Device | null = null;
  return async () => {
    if (device) {
      try { device.checkErrors(); } catch (e) {
        if (e instanceof DeviceLostError) {
          reopened.push(`${new Date().toISOString()}: ${e.message}`);
          console.log(`[gpu] the device was lost (${e.message}); opening a new one`);
          try { await device.close(); } catch { /* already lost */ }
          device = null;
        }
      }
    }
    return (device ??= await openNew());
  };
}

async function main(argv: string[]): Promise<number> {
  let args: GpuArgs;
  try { args = parseGpuArgs(argv); } catch (e) { console.error((e as Error).message); return 2; }
  const meta = runMeta(args, argv);
  const clock = new Clock(args.budgetS * 1000);
  // The watchdog: a part stuck past the deadline (a hung GPU wait) still leaves a summary behind.
  const watchdog = setTimeout(() => {
    writeJson(join(args.out, 'summary.json'), { meta, finished: false, seconds: clock.elapsedS(), budgetS: args.budgetS,
      error: `watchdog: the run passed its ${args.budgetS} s budget by 30 s and was stopped; the part JSON files written so far stand` });
    console.error('[gpu] watchdog: over budget, exiting');
    process.exit(3);
  }, (args.budgetS + 30) * 1000);
  watchdog.unref();
  const reopened: string[] = [];
  const open = liveDevice(reopened);
  console.log(`[gpu] ${meta.date} commit ${meta.commit.commit} (${meta.commit.source}); budget ${args.budgetS} s; parts ${args.parts.join(', ')}${args.quick ? ' (quick)' : ''}`);
  const results = await runParts(args, meta, clock, partPlans(args, open), (rs) => ({ ...headlines(rs), deviceReopened: reopened }));
  try { await closeDefaultDevice(); } catch (e) { console.error(`[gpu] closing the device: ${errorText(e)}`); }
  clearTimeout(watchdog);
  console.log(`[gpu] done in ${clock.elapsedS().toFixed(0)} s: ${results.map((r) => `${r.part} ${r.status}`).join(', ')}; JSON in ${args.out}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await main(process.argv.slice(2));
  // Dawn's instance can keep the event loop alive on some drivers: exit once everything is written.
  process.exit(code);
}
