// The frame of bench/gpu.ts: its arguments, the global deadline, the part runner that turns any failure
// into a recorded error (the other parts go on), GPU timing in batches, and the PyTorch peer run as a child
// process with a time budget. Nothing here measures anything itself.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { writeJson, gitCommit } from './common.js';

export const PART_NAMES = ['device', 'copy', 'gemm', 'attention', 'decode', 'sam'] as const;
export type PartName = (typeof PART_NAMES)[number];

export interface GpuArgs {
  /** Folder for the JSON files: one per part and summary.json (at most 8 files come back from a lease). */
  out: string;
  /** Tiny shapes: runs on a software adapter and PyTorch on the CPU in a few minutes (the smoke test). */
  quick: boolean;
  parts: PartName[];
  /** Global deadline in seconds from the start (default 420: under 8 minutes with the start-up and the unpacking; 1800 with --quick, for software adapters' slow shader compiles). */
  budgetS: number;
  /** The Python with torch (default: the first of python3, /usr/bin/python3 that imports torch). */
  python?: string;
  /** Skip the PyTorch peer. */
  noTorch: boolean;
  /** Decoder layers of the 7B-shaped decode (default 32: the whole model; fewer = a slice, extrapolated). */
  decodeLayers: number;
}

const USAGE = 'usage: node dist/bench/gpu.js --out DIR [--quick] [--parts device,copy,gemm,attention,decode,sam] ' +
  '[--budget-s 420 (1800 with --quick)] [--python PATH] [--no-torch] [--decode-layers 32]';

export function parseGpuArgs(argv: string[]): GpuArgs {
  const a: GpuArgs = { out: '', quick: false, parts: [...PART_NAMES], budgetS: NaN, noTorch: false, decodeLayers: 32 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => { const v = argv[++i]; if (v === undefined || v.startsWith('--')) throw new Error(`${k} needs a value\n${USAGE}`); return v; };
    const num = (v: string, min: number) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < min) throw new Error(`${k}: "${v}" is not a number >= ${min}\n${USAGE}`);
      return n;
    };
    if (k === '--out') a.out = next();
    else if (k === '--quick') a.quick = true;
    else if (k === '--parts') {
      const names = next().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = names.filter((n) => !(PART_NAMES as readonly string[]).includes(n));
      if (bad.length || !names.length) throw new Error(`--parts: unknown part ${bad.join(', ') || '(none)'}; known: ${PART_NAMES.join(', ')}`);
      a.parts = PART_NAMES.filter((p) => names.includes(p)); // always in the planned order
    } else if (k === '--budget-s') a.budgetS = num(next(), 10);
    else if (k === '--python') a.python = next();
    else if (k === '--no-torch') a.noTorch = true;
    else if (k === '--decode-layers') a.decodeLayers = Math.floor(num(next(), 1));
    else if (k === '--help' || k === '-h') throw new Error(USAGE);
    else throw new Error(`unknown option ${k}\n${USAGE}`);
  }
  if (!a.out) throw new Error(`--out DIR is required\n${USAGE}`);
  if (Number.isNaN(a.budgetS)) a.budgetS = a.quick ? 1800 : 420;
  return a;
}

/** The commit: git if the checkout has .git, else the file pack.sh wrote (ULLAVA_COMMIT_FILE, .device/commit.json). */
export function commitInfo(): { commit: string; source: string; dirtyFiles?: number; packedAt?: string } {
  const g = gitCommit();
  if (g !== 'unknown') return { commit: g, source: 'git' };
  for (const f of [process.env.ULLAVA_COMMIT_FILE, '.device/commit.json']) {
    if (!f || !existsSync(f)) continue;
    try {
      const j = JSON.parse(readFileSync(f, 'utf8')) as { commit?: string; dirtyFiles?: number; packedAt?: string };
      if (j.commit) return { commit: j.commit, source: f, dirtyFiles: j.dirtyFiles, packedAt: j.packedAt };
    } catch { /* fall through */ }
  }
  return { commit: 'unknown', source: 'none: no .git and no .device/commit.json (pack with scripts/device/pack.sh)' };
}

export interface RunMeta { date: string; commit: ReturnType<typeof commitInfo>; host: string; node: string; quick: boolean; args: string[] }

export function runMeta(args: GpuArgs, argv: string[]): RunMeta {
  return { date: new Date().toISOString(), commit: commitInfo(), host: hostname(), node: process.version, quick: args.quick, args: argv };
}

/** The time left before the global deadline, and per-part slices of it. */
export class Clock {
  readonly start = performance.now();
  constructor(readonly budgetMs: number) {}
  elapsedS(): number { return (performance.now() - this.start) / 1000; }
  leftMs(): number { return this.budgetMs - (performance.now() - this.start); }
}

export type PartStatus = 'ok' | 'partial' | 'failed' | 'skipped';

export interface PartResult {
  part: PartName;
  status: PartStatus;
  /** Why it failed (the first error) or was skipped. */
  error?: string;
  reason?: string;
  seconds: number;
  meta: RunMeta;
  /** The part's own content (rows of ours and the peer's, notes), even when it failed halfway. */
  [k: string]: unknown;
}

/** What a part body fills in; whatever it set before a throw is kept in the JSON. */
export type PartBody = (rec: Record<string, unknown>, partDeadline: number) => Promise<PartStatus | void>;

export interface PartPlan { name: PartName; /** Seconds it needs at least; skipped (recorded) when less is left. */ minS: number; /** Most seconds it may take. */ capS: number; body: PartBody }

/**
 * Runs the parts in order; each failure is recorded in that part's JSON (error message and the rows done so
 * far) and the rest go on; a part that does not fit the time left is skipped with the reason. Writes
 * <out>/<part>.json after each part and <out>/summary.json at the end (and after each part, so a killed run
 * still leaves one).
 */
export async function runParts(args: GpuArgs, meta: RunMeta, clock: Clock, plans: PartPlan[],
  summarize: (results: PartResult[]) => Record<string, unknown> = () => ({})): Promise<PartResult[]> {
  const results: PartResult[] = [];
  const writeSummary = (final: boolean) => writeJson(join(args.out, 'summary.json'), {
    meta, finished: final, seconds: clock.elapsedS(), budgetS: args.budgetS,
    parts: results.map((r) => ({ part: r.part, status: r.status, seconds: r.seconds, error: r.error, reason: r.reason })),
    notRun: args.parts.filter((p) => !results.some((r) => r.part === p)),
    ...safe(() => summarize(results)),
  });
  for (const plan of plans) {
    if (!args.parts.includes(plan.name)) continue;
    const t0 = performance.now();
    const rec: Record<string, unknown> = {};
    let status: PartStatus, error: string | undefined, reason: string | undefined;
    const left = clock.leftMs() / 1000;
    if (left < plan.minS) {
      status = 'skipped';
      reason = `global deadline: ${left.toFixed(0)} s left, the part needs at least ${plan.minS} s`;
    } else {
      const partDeadline = performance.now() + Math.min(plan.capS, left) * 1000;
      try {
        status = (await plan.body(rec, partDeadline)) ?? 'ok';
      } catch (e) {
        status = 'failed';
        error = errorText(e);
      }
    }
    const r: PartResult = { part: plan.name, status, ...(error ? { error } : {}), ...(reason ? { reason } : {}),
      seconds: (performance.now() - t0) / 1000, meta, ...rec };
    results.push(r);
    writeJson(join(args.out, `${plan.name}.json`), r);
    console.log(`[gpu] ${plan.name}: ${status}${error ? `: ${error.split('\n')[0]}` : ''}${reason ? `: ${reason}` : ''} (${r.seconds.toFixed(1)} s)`);
    writeSummary(false);
  }
  writeSummary(true);
  return results;
}

function safe(f: () => Record<string, unknown>): Record<string, unknown> {
  try { return f(); } catch (e) { return { summaryError: errorText(e) }; }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 4000);
  return String(e).slice(0, 4000);
}

/**
 * Runs `fn` for each item while time is left before `deadline`; an item that throws is recorded with its
 * error and the next one goes on; items not reached are recorded as skipped. Returns 'partial' when any
 * item failed or was skipped.
 */
export async function eachRow<T, R>(items: T[], deadline: number, label: (t: T) => string,
  fn: (t: T) => Promise<R>, rows: (R | { label: string; error?: string; skipped?: string })[]): Promise<'ok' | 'partial'> {
  let clean = true;
  for (const it of items) {
    if (performance.now() > deadline) { rows.push({ label: label(it), skipped: 'part time limit reached' }); clean = false; continue; }
    try {
      rows.push(await fn(it));
    } catch (e) {
      clean = false;
      rows.push({ label: label(it), error: errorText(e) });
      console.log(`[gpu]   ${label(it)}: ${errorText(e).split('\n')[0]}`);
    }
  }
  return clean ? 'ok' : 'partial';
}

export interface BatchTiming { msPerOp: number; reps: number; batches: number; batchMs: number[] }

/**
 * Times `op` (which encodes GPU work) per call: after one warm-up, calls are repeated `reps` times between
 * waits, reps grown until a batch takes about `targetMs`, so the submit-and-wait cost is spread over many
 * calls (as it is inside a model); the median batch gives the time per call. `seconds` bounds the total.
 */
export async function timeBatched(op: () => void, sync: () => Promise<unknown>, o: { targetMs?: number; seconds?: number; maxReps?: number } = {}): Promise<BatchTiming> {
  const targetMs = o.targetMs ?? 25, budget = performance.now() + (o.seconds ?? 0.5) * 1000, maxReps = o.maxReps ?? 200;
  op(); await sync();
  let reps = 1;
  const batchMs: number[] = [];
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) op();
    await sync();
    const ms = performance.now() - t0;
    if (ms < targetMs && reps < maxReps && performance.now() < budget) { reps = Math.min(maxReps, reps * Math.max(2, Math.ceil(targetMs / Math.max(ms, 0.01)))); continue; }
    batchMs.push(ms);
    if (batchMs.length >= 5 || (batchMs.length >= 2 && performance.now() > budget)) break;
  }
  const sorted = [...batchMs].sort((x, y) => x - y);
  return { msPerOp: sorted[Math.floor(sorted.length / 2)] / reps, reps, batches: batchMs.length, batchMs };
}

// ---- the PyTorch peer ----

let pythonFound: string | null | undefined;

/** The Python that imports torch: --python, ULLAVA_PYTHON, python3, /usr/bin/python3 (the first that works). */
export async function findPython(explicit?: string): Promise<string | null> {
  if (explicit) return explicit;
  if (pythonFound !== undefined) return pythonFound;
  for (const p of [process.env.ULLAVA_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!p) continue;
    const r = await runChild(p, ['-c', 'import torch'], 60_000);
    if (r.code === 0) return (pythonFound = p);
  }
  return (pythonFound = null);
}

export interface ChildResult { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean; ms: number }

export function runChild(cmd: string, argv: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let stdout = '', stderr = '', timedOut = false;
    let child;
    try {
      child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: null, signal: null, stdout: '', stderr: errorText(e), timedOut: false, ms: 0 });
      return;
    }
    const cap = (s: string, d: Buffer) => (s + d.toString()).slice(-20_000);
    child.stdout.on('data', (d: Buffer) => { stdout = cap(stdout, d); });
    child.stderr.on('data', (d: Buffer) => { stderr = cap(stderr, d); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, Math.max(1000, timeoutMs));
    let done = false;
    const finish = (code: number | null, signal: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - t0 });
    };
    // A command that cannot start (ENOENT) reports 'error' and may never report 'close'.
    child.on('error', (e) => { stderr += errorText(e); finish(null, null); });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

const PEER_SCRIPT = new URL('../../bench/peers/torch_gpu.py', import.meta.url).pathname;
let peerDir: string | null = null;

/**
 * Runs one part of bench/peers/torch_gpu.py with `spec` and a time budget; returns its JSON, or
 * { error } with the reason (no torch, timed out, crashed: the tail of its stderr).
 */
export async function runPeer(args: GpuArgs, part: PartName, spec: unknown, budgetS: number): Promise<Record<string, unknown>> {
  if (args.noTorch) return { skipped: '--no-torch' };
  const python = await findPython(args.python);
  if (!python) return { error: 'no Python with torch found (tried ULLAVA_PYTHON, python3, /usr/bin/python3; or pass --python)' };
  if (budgetS < 5) return { skipped: `only ${budgetS.toFixed(0)} s left for the peer` };
  peerDir ??= mkdtempSync(join(tmpdir(), 'gpu-peer-'));
  const specFile = join(peerDir, `${part}.spec.json`), outFile = join(peerDir, `${part}.out.json`);
  writeJson(specFile, spec);
  const r = await runChild(python, [PEER_SCRIPT, '--part', part, '--spec', specFile, '--out', outFile, '--budget-s', String(Math.floor(budgetS))],
    (budgetS + 30) * 1000, { ...process.env, PYTHONUNBUFFERED: '1' });
  const tail = (s: string) => s.trim().split('\n').slice(-8).join('\n');
  let result: Record<string, unknown> | null = null;
  if (existsSync(outFile)) {
    try { result = JSON.parse(readFileSync(outFile, 'utf8')) as Record<string, unknown>; } catch (e) { result = { error: `unreadable peer output: ${errorText(e)}` }; }
  }
  const base = { python, seconds: r.ms / 1000 };
  if (r.timedOut) return { ...base, ...(result ?? {}), error: `the peer ran past its ${budgetS.toFixed(0)} s budget and was killed${result ? ' (rows so far kept)' : ''}`, stderrTail: tail(r.stderr) };
  if (r.code !== 0) return { ...base, ...(result ?? {}), error: `the peer ${r.code === null && !r.signal ? 'could not start' : `exited with ${r.code ?? r.signal}`}: ${tail(r.stderr) || tail(r.stdout)}` };
  return { ...base, ...(result ?? { error: 'the peer wrote no output' }) };
}
