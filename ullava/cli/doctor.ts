// `ullava doctor`: opens the device, says what it is, and checks a GEMM and a softmax against the CPU.
import { parseArgs } from 'node:util';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import {
  openDevice, Tensor, matmul, softmax, cast, randn, scopeAsync, type Device, type DeviceOptions, type DeviceDescription,
} from '../../engine/index.js';

interface CheckResult { name: string; maxError: number; tolerance: number; ok: boolean; ms: number }

const usage = `usage: ullava doctor [--backend NAME] [--adapter NAME] [--toggle T[,T...]] [--fast] [--json]

Opens the WebGPU device through Dawn, prints the adapter (vendor, architecture, driver, backend,
features, key limits), and runs a self-check: GEMMs in f32 and bf16 and a softmax against the CPU.
  --backend NAME   Dawn backend: vulkan, metal, d3d12, ... (default: Dawn's choice)
  --adapter NAME   exact adapter name (an unknown name lists the available ones)
  --toggle LIST    Dawn toggles to enable, comma separated (vulkan_enable_f16_on_nvidia is automatic on NVIDIA)
  --fast           the speed toggles skip_validation, disable_robustness, disable_workgroup_init
                   (as WEBGPU_ENGINE_FAST=1; off by default)
  --json           print one JSON object instead of text
Exit status: 0 when every check passes, 1 otherwise.`;

function cpuMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const av = a[i * k + p];
    for (let j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j];
  }
  return c;
}

function cpuSoftmax(x: Float32Array, rows: number, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - m);
    for (let c = 0; c < cols; c++) y[r * cols + c] = Math.exp(x[r * cols + c] - m) / s;
  }
  return y;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); e = Number.isNaN(d) ? Infinity : Math.max(e, d); }
  return e;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

/** Runs the self-checks on a device; shapes are deliberately not multiples of any tile size. */
async function selfCheck(device: Device): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const [m, k, n] = [67, 129, 45];
  for (const dtype of ['f32', 'bf16'] as const) {
    const [err, ms] = await timed(() => scopeAsync(async () => {
      const a = randn([m, k], 0, 1, { seed: 11, device }), b = randn([k, n], 0, 1, { seed: 12, device });
      const a16 = cast(a, dtype), b16 = cast(b, dtype);
      // The CPU sees exactly the (rounded) values the GPU sees.
      const [av, bv] = [await cast(a16, 'f32').toArray(), await cast(b16, 'f32').toArray()] as Float32Array[];
      const c = await matmul(a16, b16).toArray();
      const expected = cpuMatmul(av, bv, m, k, n);
      let scale = 1;
      for (const v of expected) scale = Math.max(scale, Math.abs(v));
      return maxAbsDiff(c, expected) / scale;
    }));
    const tolerance = dtype === 'f32' ? 1e-5 : 1e-2;
    results.push({ name: `gemm ${m}x${k}x${n} ${dtype} (max error / max |value|)`, maxError: err, tolerance, ok: err <= tolerance, ms });
  }
  const [rows, cols] = [33, 257];
  const [err, ms] = await timed(() => scopeAsync(async () => {
    const x = Tensor.from(Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37) * 8), [rows, cols], 'f32', device);
    const y = await softmax(x).toArray();
    return maxAbsDiff(y, cpuSoftmax((await x.toArray()) as Float32Array, rows, cols));
  }));
  results.push({ name: `softmax ${rows}x${cols} f32`, maxError: err, tolerance: 1e-6, ok: err <= 1e-6, ms });
  return results;
}

function formatDevice(d: DeviceDescription): string {
  const lines = [
    `adapter      ${d.description || d.device || '(unnamed)'}`,
    `vendor       ${d.vendor || '-'}    architecture ${d.architecture || '-'}    type ${d.adapterType || '-'}`,
    `driver       ${d.driver || '-'}`,
    `backend      ${d.backend || '-'}`,
    `features     ${d.features.join(' ')}`,
    `subgroups    ${d.subgroupMinSize ?? '?'}..${d.subgroupMaxSize ?? '?'}`,
    `subgroup-matrix configs ${d.subgroupMatrixConfigs.length ? '' : 'none (no tensor-core GEMM on this adapter)'}`,
    ...d.subgroupMatrixConfigs.map((c) => `  ${c.M}x${c.N}x${c.K} ${c.componentType} -> ${c.resultComponentType}`),
    `toggles enabled  ${d.toggles.enable.map((t) => `${t} (${d.toggles.reasons[t]})`).join(', ') || 'none'}`,
    `toggles disabled ${d.toggles.disable.map((t) => `${t} (${d.toggles.reasons[t]})`).join(', ') || 'none'}`,
    'limits',
    ...Object.entries(d.limits).map(([k, v]) => `  ${k.padEnd(36)} ${v.toLocaleString('en-US')}`),
  ];
  return lines.join('\n');
}

function formatCheck(c: CheckResult): string {
  return `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(52)} error ${c.maxError.toExponential(2)} (tolerance ${c.tolerance.toExponential(0)}) ${c.ms.toFixed(0)} ms`;
}

export const doctor: CliCommand = {
  name: 'doctor',
  summary: 'open the GPU device, describe it, and self-check a GEMM and a softmax against the CPU',
  usage,
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, options: {
        backend: { type: 'string' }, adapter: { type: 'string' }, toggle: { type: 'string' }, fast: { type: 'boolean' },
        json: { type: 'boolean' } } }));
    } catch (e) { throw new UsageError((e as Error).message); }
    const opts: DeviceOptions = {};
    if (values.backend) opts.backend = values.backend;
    if (values.adapter) opts.adapterName = values.adapter;
    if (values.toggle) opts.enableToggles = values.toggle.split(',').filter(Boolean);
    if (values.fast || process.env.WEBGPU_ENGINE_FAST === '1') opts.fast = true;
    const device = await openDevice(opts);
    try {
      const description = device.describe();
      if (!values.json) console.log(`${formatDevice(description)}\nself-check`);
      const checks = await selfCheck(device);
      if (values.json) console.log(JSON.stringify({ device: description, checks }, null, 2));
      else console.log(checks.map(formatCheck).join('\n'));
      const ok = checks.every((c) => c.ok);
      if (!values.json) console.log(ok ? 'all checks passed' : 'SOME CHECKS FAILED: results on this device are not trustworthy');
      return ok ? 0 : 1;
    } finally {
      await device.close();
    }
  },
};
