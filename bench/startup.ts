// Start-up: the README's main job (`ullava segment --image docs/demo.png --prompt "the red square"` with the
// built-in shapes model) as a child process, once with a cold shader cache and then warm, reporting the
// wall time of each, the distinct compute pipelines it created and the time spent creating them.
// On a software driver most of a fresh machine's first run is shader compilation: Mesa compiles each
// pipeline to machine code with LLVM and caches the result on disk (MESA_SHADER_CACHE_DIR, pointed here at
// a fresh empty folder for "cold" and reused for "warm").
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDevice } from '../engine/index.js';
import { printTable, makeReport, writeJson, type BenchOptions } from './common.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const JOB_SCRIPT = fileURLToPath(new URL('./startup-job.js', import.meta.url));
export const MAIN_JOB = ['segment', '--image', 'docs/demo.png', '--prompt', 'the red square'];

interface JobStats { dispatches: number; submits: number; pipelines: number; pipelineMs: number; cpuMs: number }

export interface StartupRow {
  cache: 'cold' | 'warm';
  wallMs: number;
  /** CPU time of the job's process, all threads (the driver compiles on them): steadier than wall time on a shared machine. */
  cpuMs: number;
  pipelines: number;
  pipelineMs: number;
  dispatches: number;
  /** The CLI's own split of its time (from its JSON summary). */
  loadMs: number; imageMs: number; answerMs: number;
  /** Bytes in the Mesa shader cache after the run. */
  shaderCacheBytes: number;
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size;
  }
  return n;
}

/** Runs the main job once in a child process; resolves with its wall time and counters. */
export function runJob(env: NodeJS.ProcessEnv, out: string): Promise<{ wallMs: number; stats: JobStats; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [JOB_SCRIPT, ...MAIN_JOB, '--out', out], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      const line = /^startup-stats (.*)$/m.exec(stderr);
      if (code !== 0 || !line) {
        reject(new Error(`the main job failed (exit ${code}):\n${stdout}\n${stderr}`));
        return;
      }
      resolve({ wallMs, stats: JSON.parse(line[1]) as JobStats, stderr });
    });
  });
}

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const root = await mkdtemp(join(tmpdir(), 'ullava-startup-'));
  const cache = join(root, 'ullava-cache');
  const shaderCache = join(root, 'mesa-shader-cache');
  const out = join(root, 'out');
  const env: NodeJS.ProcessEnv = { ...process.env, ULLAVA_CACHE: cache, MESA_SHADER_CACHE_DIR: shaderCache };
  delete env.MESA_SHADER_CACHE_DISABLE;
  try {
    const warmRuns = o.quick ? 1 : 3;
    const rows: StartupRow[] = [];
    for (let i = 0; i <= warmRuns; i++) {
      const label = i === 0 ? 'cold' : 'warm';
      console.log(`running the main job, ${label} shader cache${i > 1 ? ` (${i})` : ''}...`);
      const r = await runJob(env, out);
      const summary = JSON.parse(await readFile(join(out, 'demo.json'), 'utf8')) as { timings: { loadMs: number; imageMs: number; answerMs: number } };
      rows.push({
        cache: label, wallMs: r.wallMs, cpuMs: r.stats.cpuMs, pipelines: r.stats.pipelines, pipelineMs: r.stats.pipelineMs, dispatches: r.stats.dispatches,
        loadMs: summary.timings.loadMs, imageMs: summary.timings.imageMs, answerMs: summary.timings.answerMs,
        shaderCacheBytes: await dirBytes(shaderCache),
      });
    }
    printTable(rows.map((r) => ({
      cache: r.cache, 'wall s': r.wallMs / 1000, 'cpu s': r.cpuMs / 1000, pipelines: r.pipelines, 'pipeline creation s': r.pipelineMs / 1000,
      dispatches: r.dispatches, 'load s': r.loadMs / 1000, 'image s': r.imageMs / 1000, 'answer s': r.answerMs / 1000,
      'shader cache MiB': r.shaderCacheBytes / 2 ** 20,
    })));
    if (o.json) {
      writeJson(o.json, makeReport('startup', device, rows, [
        `job: ullava ${MAIN_JOB.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')} --out DIR (the built-in shapes model, f32)`,
        'cold: MESA_SHADER_CACHE_DIR is a fresh empty folder; warm: the same folder again',
      ]));
      console.log(`wrote ${o.json}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
