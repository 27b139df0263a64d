// End to end on u-LLaVA: time to first token, decode tokens/s and segmentation latency through the same
// session the CLI uses. The tiny published-layout model here (random weights: the numbers measure the
// pipeline, not a model); `--model DIR` for real weights on a GPU.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDevice } from '../engine/index.js';
import { writeTinyUllava } from '../ullava/models/ullava/tiny.js';
import { loadUllava } from '../ullava/models/ullava/load.js';
import { UllavaSession } from '../ullava/session.js';
import { printTable, makeReport, writeJson, type BenchOptions } from './common.js';

export async function run(o: BenchOptions & { model?: string }): Promise<void> {
  const device = await getDevice();
  const dir = o.model ?? await writeTinyUllava(await mkdtemp(join(tmpdir(), 'ullava-bench-')));
  const t0 = performance.now();
  const loaded = await loadUllava(dir, { dtype: o.model ? 'bf16' : 'f32' });
  const loadMs = performance.now() - t0;
  const image = { width: 640, height: 480, data: Uint8Array.from({ length: 640 * 480 * 3 }, (_, i) => (i * 2654435761) >>> 24) };
  const rows: Record<string, string | number>[] = [];
  const reps = o.quick ? 2 : 5;
  for (let r = 0; r < reps; r++) {
    const s = new UllavaSession(loaded);
    const t1 = performance.now();
    s.setImage(image);
    const encodeMs = performance.now() - t1;
    const chat = await s.ask('Describe the image.', { maxNewTokens: 32, stop: [] });
    const decodeTps = (chat.tokens - 1) / ((chat.totalMs - chat.timeToFirstTokenMs) / 1000);
    const seg = await s.ask(UllavaSession.segmentationPrompt('object'), { answerPrefix: 'Sure. Info: [SEG]', maxNewTokens: 1 });
    rows.push({ run: r, 'image encode ms': encodeMs, 'first token ms': chat.timeToFirstTokenMs, 'decode tokens/s': decodeTps,
      'segment ms (incl. SAM encode)': seg.totalMs, masks: seg.masks.length });
    s.dispose();
  }
  printTable(rows);
  if (o.json) {
    writeJson(o.json, makeReport('e2e', device, rows, [`model: ${o.model ?? 'tiny random u-LLaVA (published layout, f32)'}`,
      `load ms: ${loadMs.toFixed(0)}`, 'run 0 includes kernel compilation; the first-token time includes prefill of ~300 tokens (256 image tokens)']));
    console.log(`wrote ${o.json}`);
  }
  loaded.model.dispose();
}
