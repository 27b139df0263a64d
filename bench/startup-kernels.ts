// Which kernels make start-up slow: runs the main job once (bench/startup.ts) to list the distinct kernels
// it dispatches, then compiles each one alone with the driver's shader cache disabled and times its first
// dispatch (a one-workgroup launch on dummy buffers: on lavapipe the LLVM compile happens there, not at
// pipeline creation). Prints them costliest first.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDevice } from '../engine/index.js';
import { runJob } from './startup.js';
import { printTable, makeReport, writeJson, type BenchOptions } from './common.js';

interface DumpedKernel { label: string; code: string; dispatches: number }
export interface KernelCompileRow { label: string; chars: number; dispatches: number; createMs: number; firstDispatchMs: number }

export async function run(o: BenchOptions): Promise<void> {
  // Read by Mesa when the device opens: every compile below is cold.
  const childEnv = { ...process.env };
  process.env.MESA_SHADER_CACHE_DISABLE = 'true';
  const device = await getDevice();
  const gpu = device.gpu;
  const root = await mkdtemp(join(tmpdir(), 'ullava-startup-kernels-'));
  try {
    const cache = join(root, 'ullava-cache');
    const dump = join(root, 'kernels.json');
    console.log('running the main job to list its kernels...');
    await runJob({ ...childEnv, ULLAVA_CACHE: cache, STARTUP_KERNEL_DUMP: dump }, join(root, 'out'));
    const kernels = JSON.parse(await readFile(dump, 'utf8')) as DumpedKernel[];
    const rows: KernelCompileRow[] = [];
    for (const k of kernels.filter((x) => !o.filter || x.label.includes(o.filter))) {
      const t0 = performance.now();
      const module = gpu.createShaderModule({ code: k.code, label: k.label });
      const pipeline = gpu.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: k.label });
      const t1 = performance.now();
      // Parameters of 1 keep every loop short; robust buffer access keeps the reads in bounds.
      const buffers = [...k.code.matchAll(/@binding\((\d+)\)/g)].map((m) => {
        const buffer = gpu.createBuffer({ size: 1 << 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        gpu.queue.writeBuffer(buffer, 0, new Uint32Array(1 << 14).fill(1));
        return { binding: Number(m[1]), resource: { buffer } };
      });
      const bindGroup = gpu.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers });
      const enc = gpu.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bindGroup); pass.dispatchWorkgroups(1, 1, 1); pass.end();
      gpu.queue.submit([enc.finish()]);
      await gpu.queue.onSubmittedWorkDone();
      rows.push({ label: k.label, chars: k.code.length, dispatches: k.dispatches, createMs: t1 - t0, firstDispatchMs: performance.now() - t1 });
      for (const b of buffers) b.resource.buffer.destroy();
    }
    rows.sort((a, b) => (b.createMs + b.firstDispatchMs) - (a.createMs + a.firstDispatchMs));
    printTable(rows.map((r) => ({ kernel: r.label, 'WGSL chars': r.chars, 'dispatches in the job': r.dispatches,
      'create ms': r.createMs, 'first dispatch ms': r.firstDispatchMs })));
    const total = rows.reduce((a, r) => a + r.createMs + r.firstDispatchMs, 0);
    const cpu = process.cpuUsage();
    console.log(`${rows.length} kernels, ${(total / 1000).toFixed(1)} s to compile one by one (process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)`);
    if (o.json) {
      writeJson(o.json, makeReport('startup-kernels', device, rows, [
        'each kernel of the main job compiled alone, MESA_SHADER_CACHE_DISABLE=true; first dispatch = LLVM compile + a one-workgroup launch',
      ]));
      console.log(`wrote ${o.json}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
