// bench/gpu.ts part "copy": host <-> GPU and GPU -> GPU copy bandwidth through the engine (uploads and
// readbacks go through staging buffers in 64 MiB chunks, device.ts), against PyTorch's pageable and
// pinned copies of the same size.
import { Tensor, type Device } from '../engine/index.js';
import { eachRow, runPeer, timeBatched, type GpuArgs } from './gpu-run.js';

export async function copyPart(args: GpuArgs, device: Device, rec: Record<string, unknown>, deadline: number): Promise<'ok' | 'partial'> {
  const sizes = args.quick ? [4 << 20] : [64 << 20, 1 << 30];
  const rows: unknown[] = [];
  rec.ours = rows;
  rec.notes = ['GB/s = bytes / seconds (1e9); host->GPU: Tensor.fromHost + wait; GPU->host: toArray; GPU->GPU: copyBufferToBuffer in batches',
    'median of 3 (host transfers) / batched timing (GPU->GPU)'];
  const status = await eachRow(sizes, deadline, (b) => `${b} bytes`, async (bytes) => {
    const host = new Float32Array(bytes / 4);
    for (let i = 0; i < host.length; i += 1024) host[i] = i;
    const up: number[] = [], down: number[] = [];
    let t: Tensor | null = null;
    for (let i = 0; i < 3; i++) {
      t?.dispose();
      await device.sync();
      const t0 = performance.now();
      t = Tensor.fromHost(host, [host.length], 'f32', device);
      await device.sync();
      up.push(performance.now() - t0);
      const t1 = performance.now();
      await t.toArray();
      down.push(performance.now() - t1);
    }
    const other = Tensor.empty([host.length], 'f32', device);
    const d2d = await timeBatched(() => device.copy(t!.storage.buffer, 0, other.storage.buffer, 0, bytes), () => device.sync(), { seconds: 0.5 });
    t!.dispose(); other.dispose();
    const med = (x: number[]) => [...x].sort((a, b) => a - b)[1];
    const gbps = (ms: number) => bytes / ms / 1e6;
    return { label: `${bytes} bytes`, bytes, hostToGpuGBps: gbps(med(up)), gpuToHostGBps: gbps(med(down)),
      gpuToGpuGBps: gbps(d2d.msPerOp), gpuToGpuReadWriteGBps: 2 * gbps(d2d.msPerOp), hostToGpuMs: up, gpuToHostMs: down };
  }, rows);
  device.trimPool();
  rec.torch = await runPeer(args, 'copy', { sizes }, Math.max(0, (deadline - performance.now()) / 1000));
  return status;
}
