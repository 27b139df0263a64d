// test/ullava/eval/report.test.ts: the evaluation's output files (ullava/eval/report.ts) from a hand-built
// result: RFC 4180 quoting, the CSV columns of each task, the report's fields, a rec worst-case picture.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvField, samplesCsv, buildReport, writeEvalOutputs } from '../../../ullava/eval/report.js';
import type { EvalResult } from '../../../ullava/eval/evaluate.js';
import { writePng, decodePng } from '../../../ullava/media/index.js';

test('csvField quotes commas, quotes, line breaks and edge spaces (quotes doubled); numbers as they are, NaN empty', () => {
  assert.is(csvField('plain'), 'plain');
  assert.is(csvField('a, b'), '"a, b"');
  assert.is(csvField('say "hi"'), '"say ""hi"""');
  assert.is(csvField('two\nlines'), '"two\nlines"');
  assert.is(csvField(' padded'), '" padded"');
  assert.is(csvField(0.25), '0.25');
  assert.is(csvField(NaN), '');
  assert.is(csvField(undefined), '');
});

test('rec outputs: CSV columns and rows, report fields, and the worst picture with both boxes drawn', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-report-'));
  const image = join(dir, 'img.png');
  await writePng(image, { width: 20, height: 10, data: new Uint8Array(20 * 10 * 3).fill(128) });
  const sample = { id: 'r,1', line: 3, where: 'm.jsonl:3', image, items: [
    { round: 0, index: 0, answer: 'Sure. Info: [SEG].', box: [2, 2, 8, 6] as [number, number, number, number], gtBox: [10, 1, 18, 8] as [number, number, number, number], iou: 0 },
  ] };
  const result: EvalResult = {
    task: 'rec', protocol: 'teacher-forced', primary: 'prec@0.5', metrics: { 'prec@0.5': { value: 0, ci95: [0, 0] }, miou: { value: 0, ci95: [0, 0] } },
    samples: [sample], items: 1, bootstrap: { resamples: 10, seed: 0, level: 0.95, unit: 'record' },
    worst: [{ sample, item: sample.items[0], score: 0, width: 20, height: 10 }],
  };
  assert.is(samplesCsv(result), 'id,line,round,index,iou,hit,pred_box,gt_box,answer\r\n"r,1",3,0,0,0,0,2 2 8 6,10 1 18 8,Sure. Info: [SEG].\r\n');
  const report = buildReport(result, { model: '/m', data: '/d.jsonl', skipped: 2, date: new Date('2026-12-01T00:00:00Z') });
  assert.equal(report, { task: 'rec', protocol: 'teacher-forced', metric: 'prec@0.5', value: 0, ci95: [0, 0], count: { records: 1, items: 1, skipped: 2 },
    metrics: result.metrics, bootstrap: result.bootstrap, model: '/m', data: '/d.jsonl', date: '2026-12-01T00:00:00.000Z' });
  const out = join(dir, 'out');
  const files = await writeEvalOutputs(out, result, report);
  assert.equal((await readdir(out)).sort(), ['report.json', 'samples.csv', 'worst']);
  assert.equal(JSON.parse(await readFile(files.report, 'utf8')), report);
  assert.equal(files.pictures.map((f) => f.slice(out.length + 1)), ['worst/001_r_1_0.png']);
  const pic = decodePng(await readFile(files.pictures[0]), 'pic', 1e6);
  const px = (x: number, y: number) => Array.from(pic.data.subarray(3 * (y * 20 + x), 3 * (y * 20 + x) + 3));
  assert.equal(px(10, 1), [60, 180, 75], 'ground-truth box corner in green');
  assert.equal(px(2, 2), [230, 25, 75], 'predicted box corner in red');
  assert.equal(px(14, 5), [128, 128, 128], 'inside the boxes: untouched');
});
