// Convolution throughput on the CLIP / SAM shapes: the implicit-GEMM path planConv picks against the
// unfold + matmul path (the previous implementation, this benchmark's "naive" peer) and TensorFlow.js's
// WebGPU conv2d / conv2dTranspose (NHWC; layouts are converted outside the timed region) on the same
// adapter, in the same run. GFLOP/s counts 2·MACs of the forward, and 2 (one gradient) or 3 (dx and dw)
// times that for forward+backward, whatever work a kernel really does. f32 throughout.
import { getDevice, randn, conv2d, convTranspose2d, backward, noGrad, planConv, type Tensor, type ConvImpl } from '../engine/index.js';
import { parseBenchArgs, timeGpu, printTable, makeReport, writeJson, type BenchOptions } from './common.js';
import { loadTfjs } from './peers/tfjs.js';

interface Case {
  label: string; kind: 'conv' | 'convT';
  N: number; C: number; H: number; W: number; O: number; k: number; stride: number; pad: number; bias: boolean;
  /** Gradients taken in forward+backward: the weight only (patch embeds: the image needs none) or both. */
  grads: 'w' | 'xw';
}

export function convCases(quick: boolean): Case[] {
  const sam = quick ? 512 : 1024;
  return [
    { label: 'clip-l patch embed', kind: 'conv', N: 1, C: 3, H: 224, W: 224, O: 1024, k: 14, stride: 14, pad: 0, bias: false, grads: 'w' },
    { label: `sam-h patch embed ${sam}`, kind: 'conv', N: 1, C: 3, H: sam, W: sam, O: 1280, k: 16, stride: 16, pad: 0, bias: true, grads: 'w' },
    { label: 'sam neck 3x3', kind: 'conv', N: 1, C: 256, H: 64, W: 64, O: 256, k: 3, stride: 1, pad: 1, bias: false, grads: 'xw' },
    { label: 'sam upscale 256->64', kind: 'convT', N: 1, C: 256, H: 64, W: 64, O: 64, k: 2, stride: 2, pad: 0, bias: true, grads: 'xw' },
    { label: 'sam upscale 64->32', kind: 'convT', N: 1, C: 64, H: 128, W: 128, O: 32, k: 2, stride: 2, pad: 0, bias: true, grads: 'xw' },
  ];
}

export interface ConvRow {
  case: string; kind: 'conv' | 'convT'; input: number[]; weight: number[]; stride: number; padding: number; pass: 'fwd' | 'fwd+bwd';
  impl: string; ms: number; gflops: number; unfoldMs: number | null; tfjsMs: number | null; vsUnfold: number | null; vsTfjs: number | null;
}

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const tf = o.noPeers ? null : await loadTfjs();
  const sync = () => device.sync();
  const budgetMs = o.quick ? 20_000 : 60_000;
  const rows: ConvRow[] = [];
  for (const c of convCases(o.quick)) {
    if (o.filter && !c.label.includes(o.filter)) continue;
    const out = (s: number) => c.kind === 'conv' ? Math.floor((s + 2 * c.pad - c.k) / c.stride) + 1 : (s - 1) * c.stride - 2 * c.pad + c.k;
    const Ho = out(c.H), Wo = out(c.W);
    // conv: w [O, C, k, k]; convT: w [C, O, k, k] (PyTorch layouts).
    const wShape = c.kind === 'conv' ? [c.O, c.C, c.k, c.k] : [c.C, c.O, c.k, c.k];
    const macs = c.kind === 'conv' ? c.N * c.O * Ho * Wo * c.C * c.k * c.k : c.N * c.C * c.H * c.W * c.O * c.k * c.k;
    const x = randn([c.N, c.C, c.H, c.W], 0, 1, { seed: 1 });
    const w = randn(wShape, 0, 0.05, { seed: 2 });
    const b = c.bias ? randn([c.O], 0, 1, { seed: 3 }) : null;
    const dy = randn([c.N, c.O, Ho, Wo], 0, 1, { seed: 4 });
    const opts = { stride: c.stride, padding: c.pad };
    // The implementation planConv picks for the forward's GEMM (conv) / the input gradient's (convT).
    const impl = c.kind === 'conv' ? planConv(device, c.O, Ho * Wo, c.C * c.k * c.k, c.N) : planConv(device, c.C, c.H * c.W, c.O * c.k * c.k, c.N);
    // TF.js inputs in NHWC, filters HWIO (conv2d) / HW-out-in (conv2dTranspose), made once, untimed.
    type TT = import('@tensorflow/tfjs-core').Tensor;
    let tfx: TT | null = null, tfw: TT | null = null, tfdy: TT | null = null;
    if (tf) {
      tfx = tf.transpose(tf.tensor(await x.toArray(), [c.N, c.C, c.H, c.W]), [0, 2, 3, 1]);
      tfw = tf.transpose(tf.tensor(await w.toArray(), wShape), c.kind === 'conv' ? [2, 3, 1, 0] : [2, 3, 1, 0]);
      tfdy = tf.transpose(tf.tensor(await dy.toArray(), [c.N, c.O, Ho, Wo]), [0, 2, 3, 1]);
    }
    for (const pass of ['fwd', 'fwd+bwd'] as const) {
      const flops = 2 * macs * (pass === 'fwd' ? 1 : c.grads === 'w' ? 2 : 3);
      const step = (which: ConvImpl | undefined) => () => {
        const leaves = pass === 'fwd' ? [] : c.grads === 'w' ? [w] : [x, w];
        for (const t of leaves) t.requireGrad();
        const f = () => c.kind === 'conv' ? conv2d(x, w, b, { ...opts, impl: which }) : convTranspose2d(x, w, b, { ...opts, impl: which });
        const y = pass === 'fwd' ? noGrad(f) : f();
        if (pass !== 'fwd') backward(y, { grad: dy });
        y.dispose();
        for (const t of leaves) { t.grad?.dispose(); t.grad = null; t.requireGrad(false); }
      };
      const ours = await timeGpu(step(undefined), sync, o.seconds, 20);
      const affordable = ours.meanMs * 20 < budgetMs;
      let unfoldMs: number | null = null, tfjsMs: number | null = null;
      if (!o.noPeers && affordable) unfoldMs = (await timeGpu(step('unfold'), sync, o.seconds, 10)).meanMs;
      if (tf && tfx && tfw && tfdy && affordable) {
        type T4 = import('@tensorflow/tfjs-core').Tensor4D;
        const kernel = (name: string, inputs: Record<string, TT>, attrs: Record<string, unknown>) =>
          tf.engine().runKernel(name, inputs as never, attrs as never) as TT;
        const base = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
        const X = tfx as T4, Wt = tfw as T4, DY = tfdy as T4;
        // The backward as TF.js's own gradient functions compute it (tfjs-core's gradient registrations are
        // not loadable from Node's ESM here): Conv2DBackpropFilter / Conv2DBackpropInput, roles swapped for
        // conv2dTranspose (which is Conv2DBackpropInput itself).
        let last: TT[] = [];
        const t = await timeGpu(() => {
          for (const r of last) r.dispose();
          if (c.kind === 'conv') {
            last = [tf.conv2d(X, Wt, c.stride, c.pad)];
            if (pass !== 'fwd') {
              last.push(kernel('Conv2DBackpropFilter', { x: X, dy: DY }, { ...base, filterShape: Wt.shape }));
              if (c.grads === 'xw') last.push(kernel('Conv2DBackpropInput', { dy: DY, filter: Wt }, { ...base, inputShape: X.shape }));
            }
          } else {
            last = [tf.conv2dTranspose(X, Wt, [c.N, Ho, Wo, c.O], c.stride, c.pad)];
            if (pass !== 'fwd') {
              last.push(kernel('Conv2DBackpropFilter', { x: DY, dy: X }, { ...base, filterShape: Wt.shape }));
              if (c.grads === 'xw') last.push(tf.conv2d(DY, Wt, c.stride, c.pad));
            }
          }
        }, async () => { for (const r of last) await r.data(); }, o.seconds, 10);
        for (const r of last) r.dispose();
        tfjsMs = t.meanMs;
      }
      const row: ConvRow = { case: c.label, kind: c.kind, input: [c.N, c.C, c.H, c.W], weight: wShape, stride: c.stride, padding: c.pad, pass,
        impl, ms: ours.meanMs, gflops: flops / ours.meanMs / 1e6, unfoldMs, tfjsMs,
        vsUnfold: unfoldMs ? unfoldMs / ours.meanMs : null, vsTfjs: tfjsMs ? tfjsMs / ours.meanMs : null };
      rows.push(row);
      console.log(`${c.label.padEnd(24)} ${pass.padEnd(8)} ${impl.padEnd(7)} ${row.ms.toFixed(1).padStart(8)} ms ${row.gflops.toFixed(1).padStart(7)} GFLOP/s` +
        `${unfoldMs ? `  unfold ${unfoldMs.toFixed(1)} ms` : ''}${tfjsMs ? `  tfjs ${tfjsMs.toFixed(1)} ms` : ''}`);
    }
    noGrad(() => { for (const t of [x, w, b, dy]) t?.dispose(); });
    for (const t of [tfx, tfw, tfdy]) t?.dispose();
  }
  console.log();
  const gf = (ms: number | null, r: ConvRow) => ms ? (r.gflops * r.ms) / ms : '-';
  printTable(rows.map((r) => ({ case: r.case, pass: r.pass, impl: r.impl, ms: r.ms, 'GFLOP/s': r.gflops,
    'unfold ms': r.unfoldMs ?? '-', 'unfold GFLOP/s': gf(r.unfoldMs, r), 'tfjs ms': r.tfjsMs ?? '-', 'tfjs GFLOP/s': gf(r.tfjsMs, r),
    'x unfold': r.vsUnfold ?? '-', 'x tfjs': r.vsTfjs ?? '-' })));
  if (o.json) {
    writeJson(o.json, makeReport('conv', device, rows, [
      'f32; time per call includes waiting for the GPU (one submit per iteration)',
      'ours = conv2d / convTranspose2d with the implementation planConv picks (implicit GEMM: packed on CPU-like adapters, tiled on GPUs)',
      'unfold = the previous implementation (unfold/fold + matmul with the GEMM planner\'s kernel), forced through impl: "unfold"',
      'tfjs = TensorFlow.js 4.22 webgpu backend tf.conv2d / tf.conv2dTranspose in NHWC on the same adapter (layout conversion untimed); fwd+bwd = forward + the Conv2DBackpropFilter / Conv2DBackpropInput kernels its gradients run',
      'GFLOP/s = 2·MACs of the forward (x2 with the weight gradient only, x3 with input and weight gradients); x unfold / x tfjs = their time / ours',
      'fwd+bwd: patch embeds take the weight gradient only (the image needs none), the others input and weight gradients',
      'peers skipped (null) where one run would exceed the time budget',
    ]));
    console.log(`wrote ${o.json}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(parseBenchArgs(process.argv.slice(2)));
