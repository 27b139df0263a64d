// GEMM throughput: the project's matmul against its naive kernel and TensorFlow.js's WebGPU backend on
// the same adapter, in the same run. GFLOP/s = 2·M·N·K / time; time includes waiting for completion.
import { getDevice, randn, matmul, matmulF32, scope, transpose, planMatmul, type Tensor, type DType } from '../engine/index.js';
import { parseBenchArgs, timeGpu, printTable, makeReport, writeJson, peakGflops, type BenchOptions } from './common.js';
import { loadTfjs } from './peers/tfjs.js';

/** layout 'nt': B is read transposed from a [N, K] matrix (linear's weight), as in decoding. */
interface Shape { label: string; M: number; N: number; K: number; layout?: 'nn' | 'nt' }

export function gemmShapes(quick: boolean): Shape[] {
  const squares = (quick ? [256, 512, 1024] : [256, 512, 1024, 2048, 4096]).map((n) => ({ label: `square ${n}`, M: n, N: n, K: n }));
  const model: Shape[] = [
    { label: 'llama7b decode qkv/o', M: 1, N: 4096, K: 4096 },
    { label: 'llama7b decode mlp up', M: 1, N: 11008, K: 4096 },
    { label: 'llama7b decode qkv W^T', M: 1, N: 4096, K: 4096, layout: 'nt' },
    { label: 'llama7b decode up W^T', M: 1, N: 11008, K: 4096, layout: 'nt' },
    { label: 'llama7b prefill 512', M: 512, N: 4096, K: 4096 },
    { label: 'clip-l mlp', M: 257, N: 4096, K: 1024 },
    { label: 'sam-h qkv', M: 4096, N: 3840, K: 1280 },
  ];
  return [...squares, ...(quick ? model.slice(0, 4) : model)];
}

export interface GemmRow {
  shape: string; M: number; N: number; K: number; dtype: DType; layout: 'nn' | 'nt'; variant: string;
  ms: number; gflops: number; naiveGflops: number | null; tfjsGflops: number | null;
  vsNaive: number | null; vsTfjs: number | null; pctPeak: number | null;
}

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const desc = device.describe();
  const tf = o.noPeers ? null : await loadTfjs();
  const rows: GemmRow[] = [];
  const dtypes: DType[] = ['f32', 'f16', 'bf16'];
  const sync = () => device.sync();
  const budgetMs = o.quick ? 5_000 : 30_000;
  for (const s of gemmShapes(o.quick)) {
    if (o.filter && !s.label.includes(o.filter)) continue;
    const flops = 2 * s.M * s.N * s.K;
    for (const dtype of dtypes) {
      const bytes = (dtype === 'f32' ? 4 : 2) * Math.max(s.M * s.K, s.K * s.N);
      const limit = device.maxBindingBytes;
      if (bytes > limit) {
        console.log(`${s.label.padEnd(24)} ${dtype.padEnd(5)} skipped: an operand of ${bytes} bytes exceeds this device's binding limit (${limit})`);
        continue;
      }
      const nt = s.layout === 'nt';
      const [a, w] = scope(() => {
        // Generated in the benchmark dtype directly: an f32 copy of a 16-bit weight may exceed the binding limit.
        return [randn([s.M, s.K], 0, 1, { seed: 1, dtype }), randn(nt ? [s.N, s.K] : [s.K, s.N], 0, 1, { seed: 2, dtype })];
      });
      const b = nt ? transpose(w) : w;
      const variant = planMatmul(device, s.M, s.N, s.K, 1, undefined, { aDtype: dtype, bDtype: dtype, sAm: s.K, sAk: 1,
        sBk: b.strides[0], sBn: b.strides[1], offA: 0, offB: 0 }).variant;
      const once = (f: () => Tensor) => () => { f().dispose(); };
      const ours = await timeGpu(once(() => matmul(a, b)), sync, o.seconds);
      const gflops = flops / ours.meanMs / 1e6;
      // Peers are skipped where they would take too long (they are 5-50x slower): noted as null.
      const peerAffordable = ours.meanMs * 20 < budgetMs;
      let naive: number | null = null, tfjs: number | null = null;
      if (!o.noPeers && peerAffordable) {
        const t = await timeGpu(once(() => matmulF32(a, b, 'naive')), sync, o.seconds, 5);
        naive = flops / t.meanMs / 1e6;
      }
      if (tf && dtype === 'f32' && peerAffordable) {
        const ta = tf.randomNormal([s.M, s.K]), tb = tf.randomNormal(nt ? [s.N, s.K] : [s.K, s.N]);
        let last: import('@tensorflow/tfjs-core').Tensor | null = null;
        const t = await timeGpu(() => { last?.dispose(); last = tf.matMul(ta, tb, false, nt); }, async () => { await last!.data(); }, o.seconds, 10);
        (last as import('@tensorflow/tfjs-core').Tensor | null)?.dispose();
        ta.dispose(); tb.dispose();
        tfjs = flops / t.meanMs / 1e6;
      }
      a.dispose(); w.dispose(); if (b !== w) b.dispose();
      const peak = peakGflops(desc, dtype === 'f32' ? 'f32' : 'f16');
      const row: GemmRow = { shape: s.label, M: s.M, N: s.N, K: s.K, dtype, layout: nt ? 'nt' : 'nn', variant, ms: ours.meanMs, gflops,
        naiveGflops: naive, tfjsGflops: tfjs, vsNaive: naive ? gflops / naive : null, vsTfjs: tfjs ? gflops / tfjs : null,
        pctPeak: peak ? (100 * gflops) / peak : null };
      rows.push(row);
      console.log(`${s.label.padEnd(24)} ${dtype.padEnd(5)} ${variant.padEnd(7)} ${gflops.toFixed(1).padStart(8)} GFLOP/s` +
        `${naive ? `  naive ${naive.toFixed(1)}` : ''}${tfjs ? `  tfjs ${tfjs.toFixed(1)}` : ''}`);
    }
  }
  console.log();
  printTable(rows.map((r) => ({ shape: r.shape, dtype: r.dtype, kernel: r.variant, 'M x N x K': `${r.M}x${r.N}x${r.K}`, ms: r.ms, 'GFLOP/s': r.gflops,
    'naive GFLOP/s': r.naiveGflops ?? '-', 'tfjs GFLOP/s': r.tfjsGflops ?? '-', 'x naive': r.vsNaive ?? '-', 'x tfjs': r.vsTfjs ?? '-',
    '% peak': r.pctPeak ?? '-' })));
  if (o.json) {
    writeJson(o.json, makeReport('gemm', device, rows, [
      'time per GEMM includes waiting for the GPU (one submit per iteration)',
      'ours = matmul() with the kernel planMatmul picks (column kernel); 16-bit inputs give 16-bit outputs written by the GEMM epilogue',
      "layout nt: B is the transpose view of a [N, K] matrix (linear's weight); TF.js gets transposeB there",
      'peers: the project naive kernel (one invocation per output) and TensorFlow.js 4.22 webgpu backend on the same adapter',
      'peers skipped (null) where one run would exceed the time budget',
    ]));
    console.log(`wrote ${o.json}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(parseBenchArgs(process.argv.slice(2)));
