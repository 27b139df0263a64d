// bench/gpu.ts part "gemm": f16 and bf16 GEMM on the LLaMA-7B shapes (x·Wᵀ, as linear runs them, at
// M = 1, 16, 512, 4096), 4096³ (A·B) and SAM ViT-H's shapes, with every matmul kernel variant the planner
// can run on the problem (each checked against the 'tiled' result), against torch.matmul / F.linear
// on the same GPU in the same run.
import { randn, transpose, scopeAsync, cast, sub, abs, max, planMatmul, type Device, type DType, type Tensor } from '../engine/index.js';
import { gemm } from '../engine/ops/gemm.js';
import type { MatmulVariant } from '../kernels/matmul.js';
import { eachRow, runPeer, timeBatched, errorText, type GpuArgs } from './gpu-run.js';

/** layout 'nt': B is the transpose view of a [N, K] weight (linear); 'nn': B is [K, N]. */
export interface GemmShape { label: string; M: number; N: number; K: number; layout: 'nn' | 'nt' }

export function gemmShapes(quick: boolean): GemmShape[] {
  const shapes: GemmShape[] = [];
  const sq = quick ? 64 : 4096;
  shapes.push({ label: `square ${sq}`, M: sq, N: sq, K: sq, layout: 'nn' });
  // LLaMA-7B: q/k/v/o 4096->4096, gate/up 4096->11008, down 11008->4096, lm_head 4096->32000 (K x N).
  const llm: [string, number, number][] = quick
    ? [['qkvo', 128, 128], ['gate/up', 128, 344], ['down', 344, 128], ['lm_head', 128, 1000]]
    : [['qkvo', 4096, 4096], ['gate/up', 4096, 11008], ['down', 11008, 4096], ['lm_head', 4096, 32000]];
  for (const M of quick ? [1, 16, 64] : [1, 16, 512, 4096]) {
    for (const [name, K, N] of llm) shapes.push({ label: `7b ${name} M${M}`, M, N, K, layout: 'nt' });
  }
  // SAM ViT-H, batch 1: 28 of 32 blocks run on 25 windows of 14x14 (M = 4900), 4 globally on 64x64 (M = 4096).
  const D = quick ? 64 : 1280, Mw = quick ? 100 : 4900, Mg = quick ? 64 : 4096;
  shapes.push({ label: 'sam-h qkv window', M: Mw, N: 3 * D, K: D, layout: 'nt' });
  shapes.push({ label: 'sam-h qkv global', M: Mg, N: 3 * D, K: D, layout: 'nt' });
  shapes.push({ label: 'sam-h proj', M: Mw, N: D, K: D, layout: 'nt' });
  shapes.push({ label: 'sam-h mlp1', M: Mw, N: 4 * D, K: D, layout: 'nt' });
  shapes.push({ label: 'sam-h mlp2', M: Mw, N: D, K: 4 * D, layout: 'nt' });
  return shapes;
}

const VARIANTS: MatmulVariant[] = ['tiled', 'sgmat', 'gemv_k', 'gemv_n', 'packed', 'naive'];
/** The naive kernel (one invocation per output) only where it ends in reasonable time. */
const NAIVE_MAX_FLOPS = 2e10;
/** Outputs compared with the reference variant on the GPU up to this many elements. */
const CHECK_MAX_ELEMENTS = 1 << 27;

interface OursRow {
  label: string; M: number; N: number; K: number; layout: string; dtype: DType; planned: string;
  variants: { variant: string; ms?: number; tflops?: number; reps?: number; maxRelDiffVsTiled?: number | null; skipped?: string; error?: string }[];
}

export async function gemmPart(args: GpuArgs, device: Device, rec: Record<string, unknown>, deadline: number): Promise<'ok' | 'partial'> {
  const shapes = gemmShapes(args.quick);
  const dtypes: DType[] = device.has('shader-f16') ? ['f16', 'bf16'] : ['bf16'];
  const rows: unknown[] = [];
  rec.shapes = shapes;
  rec.dtypes = dtypes;
  rec.ours = rows;
  rec.notes = [
    'time per GEMM: calls repeated between waits until a batch takes ~25 ms (median of up to 5 batches); TFLOP/s = 2MNK / time',
    "16-bit inputs, 16-bit output written by the GEMM epilogue, f32 accumulation; 'nt' = x·Wᵀ with W [N, K] (linear), 'nn' = A·B",
    "planned = the variant planMatmul picks; maxRelDiffVsTiled = max|C - C_tiled| / max|C_tiled| (null: output too large to check)",
    `naive kernel only where 2MNK <= ${NAIVE_MAX_FLOPS}`,
  ];
  if (!dtypes.includes('f16')) rec.notes = [...(rec.notes as string[]), 'no shader-f16 on this device: f16 rows skipped (on NVIDIA: the vulkan_enable_f16_on_nvidia toggle)'];
  const sync = () => device.sync();
  const cases = shapes.flatMap((s) => dtypes.map((dtype) => ({ s, dtype })));
  // Our half gets 60% of the part's time, the peer the rest.
  const oursDeadline = performance.now() + 0.6 * (deadline - performance.now());
  const status = await eachRow(cases, oursDeadline, ({ s, dtype }) => `${s.label} ${dtype}`, async ({ s, dtype }) => {
    const nt = s.layout === 'nt';
    const a = randn([s.M, s.K], 0, 1, { seed: 1, dtype });
    const w = randn(nt ? [s.N, s.K] : [s.K, s.N], 0, 1, { seed: 2, dtype });
    const b = nt ? transpose(w) : w;
    const ops = { aDtype: dtype, bDtype: dtype, sAm: s.K, sAk: 1, sBk: b.strides[0], sBn: b.strides[1], offA: 0, offB: 0 };
    const row: OursRow = { label: s.label, M: s.M, N: s.N, K: s.K, layout: s.layout, dtype,
      planned: planMatmul(device, s.M, s.N, s.K, 1, undefined, ops).variant, variants: [] };
    const flops = 2 * s.M * s.N * s.K;
    let ref: Tensor | null = null;
    try {
      for (const v of VARIANTS) {
        if (performance.now() > oursDeadline) { row.variants.push({ variant: v, skipped: 'part time limit reached' }); continue; }
        try { planMatmul(device, s.M, s.N, s.K, 1, v, ops); } catch (e) {
          row.variants.push({ variant: v, skipped: errorText(e).replace(/^Error: /, '') }); continue;
        }
        if (v === 'naive' && flops > NAIVE_MAX_FLOPS) { row.variants.push({ variant: v, skipped: `2MNK > ${NAIVE_MAX_FLOPS}` }); continue; }
        try {
          const out = gemm(a, b, { outDtype: dtype }, v);
          let diff: number | null = null;
          if (v === 'tiled') ref = out;
          else {
            if (ref && out.size <= CHECK_MAX_ELEMENTS) {
              diff = await scopeAsync(async () => {
                const r32 = cast(ref!, 'f32');
                const d = await max(abs(sub(cast(out, 'f32'), r32))).item();
                const m = await max(abs(r32)).item();
                return m > 0 ? d / m : d;
              });
            }
            out.dispose();
          }
          const t = await timeBatched(() => gemm(a, b, { outDtype: dtype }, v).dispose(), sync, { seconds: args.quick ? 0.2 : 0.25 });
          row.variants.push({ variant: v, ms: t.msPerOp, tflops: flops / t.msPerOp / 1e9, reps: t.reps, maxRelDiffVsTiled: v === 'tiled' ? 0 : diff });
        } catch (e) {
          row.variants.push({ variant: v, error: errorText(e) });
        }
      }
    } finally {
      (ref as Tensor | null)?.dispose();
      a.dispose(); w.dispose(); if (b !== w) b.dispose();
    }
    const best = row.variants.filter((x) => x.tflops).sort((x, y) => y.tflops! - x.tflops!)[0];
    console.log(`[gpu]   gemm ${s.label.padEnd(22)} ${dtype.padEnd(4)} planned ${row.planned.padEnd(6)} best ${best ? `${best.variant} ${best.tflops!.toFixed(3)} TFLOP/s` : '-'}`);
    return row;
  }, rows);
  device.trimPool();
  const left = (deadline - performance.now()) / 1000;
  rec.torch = await runPeer(args, 'gemm', { shapes, dtypes, seconds: args.quick ? 0.2 : 0.3 }, left);
  rec.comparison = compare(rows as OursRow[], (rec.torch as { rows?: TorchRow[] }).rows ?? []);
  return status;
}

interface TorchRow { label: string; dtype: string; ms: number; tflops: number }

/** Per shape and dtype: the planned variant's and the best variant's TFLOP/s, torch's, and the ratios. */
function compare(ours: OursRow[], torch: TorchRow[]): unknown[] {
  return ours.filter((r) => r && Array.isArray(r.variants)).map((r) => {
    const timed = r.variants.filter((v) => v.tflops);
    const best = [...timed].sort((x, y) => y.tflops! - x.tflops!)[0];
    const planned = timed.find((v) => v.variant === r.planned);
    const t = torch.find((x) => x.label === r.label && x.dtype === r.dtype);
    return { label: r.label, dtype: r.dtype, planned: r.planned, plannedTflops: planned?.tflops ?? null, best: best?.variant ?? null,
      bestTflops: best?.tflops ?? null, torchTflops: t?.tflops ?? null,
      plannedVsTorch: planned && t ? planned.tflops! / t.tflops : null, bestVsTorch: best && t ? best.tflops! / t.tflops : null };
  });
}
