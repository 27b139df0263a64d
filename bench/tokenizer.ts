// Encode throughput of our SentencePiece BPE vs the real SentencePiece library (wasm, same model, same
// strings, same process): strings/s and MB/s of UTF-8 input. `node dist/bench/tokenizer.js [--json FILE]`.
import { writeFile } from 'node:fs/promises';
import { execSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SentencePieceProcessor } from '../ullava/tokenizer/sentencepiece.js';
import { loadReference } from '../test/ullava/tokenizer/reference.js';
import { plainCorpus } from '../test/ullava/tokenizer/corpus.js';

interface Row { name: string; strings_per_s: number; mb_per_s: number; ms_per_pass: number; ratio_vs_sentencepiece: number }

function timeIt(fn: () => void, minMs: number): number {
  for (let i = 0; i < 2; i++) fn(); // warmup (JIT, caches)
  let n = 0; const t0 = performance.now();
  do { fn(); n++; } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / n;
}

export async function run(opts: { json?: string; strings?: number; minMs?: number } = {}): Promise<Row[]> {
  const { model, ref } = await loadReference();
  const corpus = plainCorpus(opts.strings ?? 10_000, 1);
  const bytes = corpus.reduce((a, s) => a + Buffer.byteLength(s), 0);
  const minMs = opts.minMs ?? 2000;
  const cold = () => SentencePieceProcessor.fromBytes(model);
  const warm = cold();
  const rows: Row[] = [];
  const refMs = timeIt(() => { for (const s of corpus) ref.encodeIds(s); }, minMs);
  // "ours, cold cache": a fresh processor per pass, so the per-word cache starts empty each time
  const oursColdMs = timeIt(() => { const sp = cold(); for (const s of corpus) sp.encode(s); }, minMs) - timeIt(() => cold(), 500);
  const oursWarmMs = timeIt(() => { for (const s of corpus) warm.encode(s); }, minMs);
  const row = (name: string, ms: number): Row => ({ name, strings_per_s: corpus.length / (ms / 1000), mb_per_s: bytes / 1e6 / (ms / 1000), ms_per_pass: ms, ratio_vs_sentencepiece: refMs / ms });
  rows.push(row('sentencepiece (wasm, @sctg/sentencepiece-js)', refMs), row('ours, cold word cache', oursColdMs), row('ours, warm word cache', oursWarmMs));
  console.log(`encode throughput, ${corpus.length} strings, ${(bytes / 1e6).toFixed(2)} MB UTF-8, LLaMA tokenizer.model`);
  console.log(`${'peer'.padEnd(46)} ${'strings/s'.padStart(10)} ${'MB/s'.padStart(7)} ${'ratio'.padStart(6)}`);
  for (const r of rows) console.log(`${r.name.padEnd(46)} ${r.strings_per_s.toFixed(0).padStart(10)} ${r.mb_per_s.toFixed(2).padStart(7)} ${r.ratio_vs_sentencepiece.toFixed(2).padStart(6)}`);
  if (opts.json) {
    let commit = 'unknown';
    try { commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
    await writeFile(opts.json, JSON.stringify({
      benchmark: 'tokenizer-encode', date: new Date().toISOString(), commit,
      device: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      corpus: { strings: corpus.length, utf8_bytes: bytes, generator: 'test/ullava/tokenizer/corpus.ts plainCorpus(seed 1)' },
      results: rows,
    }, null, 2) + '\n');
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--json');
  await run({ json: i > 0 ? process.argv[i + 1] : undefined });
}
