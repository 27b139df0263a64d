// Shared benchmark plumbing: argument parsing, timing GPU work to completion, tables, and JSON results
// with the device description, date and commit, so runs on different machines can be compared.
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Device, DeviceDescription } from '../engine/index.js';

export interface BenchOptions {
  /** Write results as JSON here. */
  json?: string;
  /** Smaller shape lists and fewer iterations (CI smoke runs). */
  quick: boolean;
  /** Restrict to rows whose label contains this. */
  filter?: string;
  /** Skip the peers (TensorFlow.js). */
  noPeers: boolean;
  /** Minimum seconds of measurement per row. */
  seconds: number;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { quick: false, noPeers: false, seconds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--json') o.json = next();
    else if (a === '--quick') o.quick = true;
    else if (a === '--filter') o.filter = next();
    else if (a === '--no-peers') o.noPeers = true;
    else if (a === '--seconds') o.seconds = Number(next());
    else throw new Error(`unknown benchmark option ${a} (known: --json FILE, --quick, --filter S, --no-peers, --seconds N)`);
  }
  return o;
}

export interface Timing { meanMs: number; minMs: number; iterations: number }

/**
 * Times `fn` (which encodes GPU work) to completion: one warm-up, then repeats until `seconds` have
 * passed (at least 3 times). `sync` waits for the device; each sample includes it, as a user would.
 */
export async function timeGpu(fn: () => unknown, sync: () => Promise<unknown>, seconds = 1, maxIters = 50): Promise<Timing> {
  await fn(); await sync();
  const samples: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (samples.length < 3 || (performance.now() < deadline && samples.length < maxIters)) {
    const t0 = performance.now();
    await fn();
    await sync();
    samples.push(performance.now() - t0);
  }
  return { meanMs: samples.reduce((a, b) => a + b, 0) / samples.length, minMs: Math.min(...samples), iterations: samples.length };
}

export function gitCommit(): string {
  try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return 'unknown'; }
}

export interface BenchReport<Row> {
  benchmark: string;
  date: string;
  commit: string;
  device: DeviceDescription;
  node: string;
  notes?: string[];
  rows: Row[];
}

export function makeReport<Row>(benchmark: string, device: Device, rows: Row[], notes: string[] = []): BenchReport<Row> {
  return { benchmark, date: new Date().toISOString(), commit: gitCommit(), device: device.describe(), node: process.version, notes, rows };
}

/** Writes JSON atomically (temp file + rename), so an interrupted run never leaves half a file. */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Prints rows as an aligned table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (!rows.length) { console.log('(no rows)'); return; }
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  console.log(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(cols.map((c, i) => cell(r[c] ?? '').padStart(widths[i])).join('  '));
}

/** Peak f32 FLOP/s of known devices (for "% of peak"); undefined when unknown. */
export function peakGflops(d: DeviceDescription, dtype: 'f32' | 'f16'): number | undefined {
  const name = `${d.description} ${d.device}`.toLowerCase();
  if (/h100/.test(name)) return dtype === 'f16' ? 989_000 : 67_000; // SXM dense tensor-core f16 / f32 CUDA cores
  if (/h200/.test(name)) return dtype === 'f16' ? 989_000 : 67_000;
  if (/llvmpipe/.test(name)) return 157; // measured limit of this project's 2-core development machines (DESIGN.md)
  return undefined;
}
