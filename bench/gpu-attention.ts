// bench/gpu.ts part "attention": the fused attention kernels (engine/ops/attention.ts), forward and
// forward+backward, every variant, at LLaMA-7B's shapes (32 heads, head dim 128, causal, S 512 / 2048)
// in f16 and bf16, against torch's scaled_dot_product_attention on the same GPU in the same run.
import { randn, scopeAsync, cast, sub, abs, max, noGrad, backward, scaledDotProductAttention, planAttention,
  type Device, type DType, type Tensor } from '../engine/index.js';
import type { AttentionImpl } from '../engine/ops/attention.js';
import { eachRow, runPeer, timeBatched, errorText, type GpuArgs } from './gpu-run.js';

export interface AttentionCase { label: string; B: number; H: number; S: number; D: number; causal: boolean }

export function attentionCases(quick: boolean): AttentionCase[] {
  return (quick ? [32] : [512, 2048]).map((S) => ({ label: `7b causal S${S}`, B: 1, H: quick ? 2 : 32, S, D: quick ? 32 : 128, causal: true }));
}

const FWD_IMPLS: AttentionImpl[] = ['staged', 'tiled', 'rows'];
const BWD_IMPLS: AttentionImpl[] = ['staged', 'rows'];

export async function attentionPart(args: GpuArgs, device: Device, rec: Record<string, unknown>, deadline: number): Promise<'ok' | 'partial'> {
  const cases = attentionCases(args.quick);
  const dtypes: DType[] = device.has('shader-f16') ? ['f16', 'bf16'] : ['bf16'];
  const rows: unknown[] = [];
  rec.cases = cases;
  rec.dtypes = dtypes;
  rec.ours = rows;
  rec.notes = [
    'FLOPs: 4·B·H·S²·D forward, x3.5 forward+backward, halved when causal (FlashAttention accounting)',
    'time per call: calls repeated between waits (batched); fwd+bwd = forward with autograd then backward from a fixed dO',
    "maxAbsDiffVsRows: forward output against the 'rows' variant's (the simplest kernel)",
  ];
  const sync = () => device.sync();
  const items = cases.flatMap((c) => dtypes.map((dtype) => ({ c, dtype })));
  const oursDeadline = performance.now() + 0.65 * (deadline - performance.now());
  const status = await eachRow(items, oursDeadline, ({ c, dtype }) => `${c.label} ${dtype}`, async ({ c, dtype }) => {
    const { B, H, S, D } = c;
    const make = (seed: number) => randn([B, H, S, D], 0, 1, { seed, dtype });
    const q = make(1), k = make(2), v = make(3), g = make(4);
    const fwdFlops = (4 * B * H * S * S * D) / (c.causal ? 2 : 1);
    const row = { label: c.label, B, H, S, D, causal: c.causal, dtype, planned: planAttention(device, S, S, D).impl,
      fwd: [] as unknown[], fwdBwd: [] as unknown[] };
    try {
      const ref = noGrad(() => scaledDotProductAttention(q, k, v, { causal: c.causal, impl: 'rows' }));
      for (const impl of FWD_IMPLS) {
        if (performance.now() > oursDeadline) { row.fwd.push({ impl, skipped: 'part time limit reached' }); continue; }
        try {
          const o = noGrad(() => scaledDotProductAttention(q, k, v, { causal: c.causal, impl }));
          const diff = await scopeAsync(async () => max(abs(sub(cast(o, 'f32'), cast(ref, 'f32')))).item());
          o.dispose();
          const t = await timeBatched(() => noGrad(() => scaledDotProductAttention(q, k, v, { causal: c.causal, impl })).dispose(), sync,
            { seconds: args.quick ? 0.2 : 0.4, maxReps: 50 });
          row.fwd.push({ impl, ms: t.msPerOp, tflops: fwdFlops / t.msPerOp / 1e9, reps: t.reps, maxAbsDiffVsRows: diff });
        } catch (e) { row.fwd.push({ impl, error: errorText(e) }); }
      }
      ref.dispose();
      for (const impl of BWD_IMPLS) {
        if (performance.now() > oursDeadline) { row.fwdBwd.push({ impl, skipped: 'part time limit reached' }); continue; }
        const step = () => {
          for (const t of [q, k, v]) t.requireGrad();
          const o = scaledDotProductAttention(q, k, v, { causal: c.causal, impl });
          backward(o, { grad: g });
          o.dispose();
          for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; t.requireGrad(false); }
        };
        try {
          const t = await timeBatched(step, sync, { seconds: args.quick ? 0.2 : 0.5, maxReps: 30 });
          row.fwdBwd.push({ impl, ms: t.msPerOp, tflops: (3.5 * fwdFlops) / t.msPerOp / 1e9, reps: t.reps });
        } catch (e) { row.fwdBwd.push({ impl, error: errorText(e) }); }
      }
    } finally {
      for (const t of [q, k, v, g] as Tensor[]) t.dispose();
    }
    console.log(`[gpu]   attention ${c.label} ${dtype}: ${JSON.stringify(row.fwd.map((x) => (x as { tflops?: number }).tflops?.toFixed(3) ?? '-'))}`);
    return row;
  }, rows);
  device.trimPool();
  const left = (deadline - performance.now()) / 1000;
  rec.torch = await runPeer(args, 'attention', { cases, dtypes, seconds: args.quick ? 0.2 : 0.4 }, left);
  return status;
}
