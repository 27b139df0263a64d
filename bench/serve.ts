// `npm run bench -- serve [--json FILE] [--quick]`: `ullava serve` on loopback under load from autocannon.
// Two servers in child processes, one after the other (they would share the GPU otherwise): continuous
// batching (--max-batch 16) and one request at a time (--max-batch 1). Each gets 1, 4 and 16 concurrent
// clients sending the same chat request (greedy, max_tokens fixed); per row: requests/s, generated
// tokens/s (from the server's own /metrics counters), p50 / p99 latency, and the batched/one-at-a-time
// ratio of the same row. Then a soak: a few hundred requests at 16 clients against the batching server,
// sampling its RSS and GPU live bytes, and checking that every request was answered in full (200s only,
// completion tokens = requests x max_tokens when nothing ended early).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg, cpus } from 'node:os';
import autocannon from 'autocannon';
import { writeJson, printTable, gitCommit, type BenchOptions } from './common.js';

const BODY = JSON.stringify({ max_tokens: 16, messages: [{ role: 'user', content: 'Describe a red square on a grey background.' }] });

interface Server { base: string; proc: ChildProcess }

async function startServer(maxBatch: number): Promise<Server> {
  const proc = spawn(process.execPath, ['dist/ullava/cli/main.js', 'serve', '--port', '0', '--quiet', '--max-batch', String(maxBatch), '--max-queue', '256', '--time-limit', '3600'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  const lines = createInterface({ input: proc.stdout! });
  const base = await new Promise<string>((resolve, reject) => {
    lines.on('line', (l) => { const m = /^listening (\S+)/.exec(l); if (m) resolve(m[1]); });
    proc.once('exit', (code) => reject(new Error(`ullava serve exited (${code}) before listening`)));
  });
  return { base, proc };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
}

/** The server's counters and gauges (Prometheus text) as name{labels} -> value. */
async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const ok200 = (m: Map<string, number>) => m.get('ullava_requests_total{route="/v1/chat/completions",status="200"}') ?? 0;
const tokens = (m: Map<string, number>) => m.get('ullava_completion_tokens_total') ?? 0;

interface LoadResult { requests: number; seconds: number; rps: number; tokensPerSec: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number; answered: number; tokens: number }

async function load(base: string, connections: number, amount: number): Promise<LoadResult> {
  const before = await scrape(base);
  const t0 = performance.now();
  const r = await autocannon({
    url: `${base}/v1/chat/completions`, method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY,
    connections, amount, timeout: 3600,
  });
  const seconds = (performance.now() - t0) / 1000;
  const after = await scrape(base);
  const n = r.requests.total;
  const gen = tokens(after) - tokens(before);
  return { requests: n, seconds, rps: n / seconds, tokensPerSec: gen / seconds, p50Ms: r.latency.p50, p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts, non2xx: r.non2xx, answered: ok200(after) - ok200(before), tokens: gen };
}

export async function run(o: BenchOptions): Promise<void> {
  const concurrency = [1, 4, 16];
  const amountFor = (c: number) => (o.quick ? Math.max(2, c) : Math.max(8, 2 * c));
  const results: Record<string, Record<number, LoadResult>> = {};
  for (const [mode, maxBatch] of [['batched', 16], ['one-at-a-time', 1]] as const) {
    const s = await startServer(maxBatch);
    try {
      await load(s.base, 1, 2); // warm-up: shader compiles, pipeline caches
      results[mode] = {};
      for (const c of concurrency) {
        // Warm-up at this concurrency first: batch sizes up to c compile their kernels once.
        await load(s.base, c, c);
        results[mode][c] = await load(s.base, c, amountFor(c));
        const r = results[mode][c];
        console.error(`${mode} c=${c}: ${r.rps.toFixed(2)} req/s, ${r.tokensPerSec.toFixed(1)} tok/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
      }
    } finally { await stopServer(s); }
  }
  const rows = concurrency.map((c) => {
    const b = results.batched[c], one = results['one-at-a-time'][c];
    return {
      clients: c, requests: b.requests,
      'batched req/s': b.rps, 'batched tok/s': b.tokensPerSec, 'batched p50 ms': b.p50Ms, 'batched p99 ms': b.p99Ms,
      'one req/s': one.rps, 'one tok/s': one.tokensPerSec, 'one p50 ms': one.p50Ms, 'one p99 ms': one.p99Ms,
      'ratio req/s': b.rps / one.rps,
    };
  });
  printTable(rows);

  // Soak: hundreds of requests against the batching server, memory sampled as they run.
  const soakN = o.quick ? 48 : 300;
  const s = await startServer(16);
  const samples: { t: number; rssMB: number; gpuLiveMB: number }[] = [];
  let soak: LoadResult;
  try {
    await load(s.base, 1, 2);
    const t0 = performance.now();
    const sample = async () => {
      const m = await scrape(s.base);
      samples.push({ t: (performance.now() - t0) / 1000, rssMB: (m.get('ullava_process_process_resident_memory_bytes') ?? 0) / 2 ** 20, gpuLiveMB: (m.get('ullava_gpu_live_bytes') ?? 0) / 2 ** 20 });
    };
    await sample();
    const timer = setInterval(() => { void sample(); }, 2000);
    soak = await load(s.base, 16, soakN);
    clearInterval(timer);
    await sample();
  } finally { await stopServer(s); }
  const q = (k: 'rssMB' | 'gpuLiveMB') => {
    const v = samples.map((x) => x[k]);
    const third = Math.max(1, Math.floor(v.length / 3));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    return { first: v[0], max: Math.max(...v), last: v[v.length - 1], meanFirstThird: mean(v.slice(0, third)), meanLastThird: mean(v.slice(-third)) };
  };
  const soakReport = { ...soak, rss: q('rssMB'), gpuLive: q('gpuLiveMB'), samples: samples.length,
    allAnswered: soak.errors === 0 && soak.non2xx === 0 && soak.answered === soakN };
  console.log(`\nsoak: ${soakN} requests at 16 clients in ${soak.seconds.toFixed(1)} s: ${soak.answered} answered 200, ${soak.non2xx} non-2xx, ${soak.errors} errors; ` +
    `${soak.tokens} tokens; RSS ${soakReport.rss.first.toFixed(0)} -> max ${soakReport.rss.max.toFixed(0)} -> ${soakReport.rss.last.toFixed(0)} MB; ` +
    `GPU live ${soakReport.gpuLive.first.toFixed(1)} -> max ${soakReport.gpuLive.max.toFixed(1)} -> ${soakReport.gpuLive.last.toFixed(1)} MB`);
  if (o.json) {
    writeJson(o.json, {
      benchmark: 'serve', date: new Date().toISOString(), commit: gitCommit(), node: process.version, cpus: cpus().length, loadavgAtEnd: loadavg(),
      notes: [
        'tiny random demo model (f32) on lavapipe (software Vulkan, 2 CPU cores), loopback, autocannon; the same chat request (max_tokens 16, greedy) from every client',
        'batched = --max-batch 16 (continuous batching), one = --max-batch 1 (one request at a time); the servers ran one after the other',
        'tok/s from the server\'s ullava_completion_tokens_total; the machine was shared with other jobs (loaded), so absolute numbers are noisy; the ratio is from the same run',
      ],
      body: JSON.parse(BODY), rows, soak: soakReport, soakSamples: samples,
    });
  }
}
