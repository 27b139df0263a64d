// The child process of bench/startup: runs the CLI exactly as `node dist/ullava/cli/main.js <args>` does
// (same argv, same default device), then prints the device's start-up counters and the process's CPU time
// on stderr as one line `startup-stats {json}` for the parent to read. The device is opened here first
// only to keep a handle on it: the CLI then uses that same default device.
// With STARTUP_KERNEL_DUMP=FILE it also writes every distinct kernel (label, source, dispatches) as JSON.
import { writeFileSync } from 'node:fs';
import { getDevice } from '../engine/index.js';
import type { KernelSource } from '../kernels/kernel.js';

const device = await getDevice();
const dump = process.env.STARTUP_KERNEL_DUMP;
const kernels = new Map<string, { label: string; code: string; dispatches: number }>();
if (dump) {
  // Wraps this one instance's dispatch to see which kernels the job runs, in first-use order.
  const dispatch = device.dispatch.bind(device);
  device.dispatch = (kernel: KernelSource, ...rest) => {
    const k = kernels.get(kernel.code) ?? { label: kernel.label, code: kernel.code, dispatches: 0 };
    k.dispatches++;
    kernels.set(kernel.code, k);
    dispatch(kernel, ...rest);
  };
}
await import('../ullava/cli/main.js');
if (dump) writeFileSync(dump, JSON.stringify([...kernels.values()], null, 1));
const cpu = process.cpuUsage();
process.stderr.write(`\nstartup-stats ${JSON.stringify({ ...device.stats(), cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
