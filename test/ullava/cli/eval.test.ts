// test/ullava/cli/eval.test.ts: `ullava eval` (ullava/cli/eval.ts) end to end on the small random model and
// a manifest written here: the report's structure and counts, the CSV's rows agreeing with the report, the
// worst-case pictures, the progress bar, other tasks' records skipped, bad input refused with the reason,
// and `ullava train --eval-data` logging the evaluation.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { readFileSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, root, describe } from './helpers.js';
import { smallTrainModelDir, writeTrainData } from '../train/fixture.js';
import { decodePng } from '../../../ullava/media/index.js';

/** 3 res records (the training fixture's, with "task": "res") plus a text-only vqa record. */
async function mixedManifest(name: string): Promise<string> {
  const dir = join(root, name);
  const train = await writeTrainData(dir, 3);
  const vqa = JSON.stringify({ task: 'vqa', id: 'sky', conversations: [{ from: 'human', value: 'What colour is the sky?' }, { from: 'gpt', value: 'Blue.' }] });
  const path = join(dir, 'mixed.jsonl');
  const res = readFileSync(train, 'utf8').trim().split('\n').map((l) => JSON.stringify({ task: 'res', ...JSON.parse(l) }));
  writeFileSync(path, [...res, vqa].join('\n') + '\n');
  return path;
}

/** A minimal RFC 4180 reader (quoted fields with doubled quotes, CRLF rows) for checking the CSV. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  return rows;
}

test('ullava eval --task res: report.json (metric, count, 95% interval, model, data, date), one CSV row per mask, the worst pictures, a progress bar', async () => {
  const model = await smallTrainModelDir();
  const data = await mixedManifest('eval-res');
  const out = join(root, 'eval-res-out');
  const r = run(['eval', '--model', model, '--dtype', 'f32', '--data', data, '--task', 'res', '--out', out, '--worst', '2']);
  assert.equal(r.status, 0, describe(r));
  assert.ok(/evaluating \[#+\] 100\.0% 3\/3/.test(r.stderr), r.stderr);
  assert.ok(/1 of other tasks skipped/.test(r.stderr), r.stderr);
  assert.ok(/^ciou [\d.]+ \(95% CI [\d.]+ \.\. [\d.]+\)$/m.test(r.stdout) && /^3 masks in 3 records$/m.test(r.stdout), r.stdout);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(Object.keys(report), ['task', 'protocol', 'metric', 'value', 'ci95', 'count', 'metrics', 'bootstrap', 'model', 'data', 'date']);
  assert.equal([report.task, report.protocol, report.metric], ['res', 'teacher-forced', 'ciou']);
  assert.equal(report.count, { records: 3, items: 3, skipped: 1 });
  assert.equal(Object.keys(report.metrics), ['ciou', 'giou']);
  assert.is(report.value, report.metrics.ciou.value);
  assert.ok(report.ci95[0] <= report.value && report.value <= report.ci95[1], JSON.stringify(report.ci95));
  assert.equal(report.bootstrap, { resamples: 1000, seed: 0, level: 0.95, unit: 'record' });
  assert.equal([report.model, report.data], [resolve(model), resolve(data)]);
  assert.ok(Math.abs(Date.parse(report.date) - Date.now()) < 3_600_000, report.date);

  const rows = parseCsv(readFileSync(join(out, 'samples.csv'), 'utf8'));
  assert.equal(rows[0], ['id', 'line', 'round', 'index', 'intersection', 'union', 'iou', 'answer']);
  assert.is(rows.length, 4);
  assert.equal(rows.slice(1).map((x) => [x[0], x[1]]), [['1', '1'], ['2', '2'], ['3', '3']]);
  const I = rows.slice(1).reduce((a, x) => a + Number(x[4]), 0), U = rows.slice(1).reduce((a, x) => a + Number(x[5]), 0);
  assert.ok(Math.abs(report.value - (U ? I / U : 0)) < 1e-12, 'cIoU = sum I / sum U of the CSV');
  const giou = rows.slice(1).reduce((a, x) => a + Number(x[6]), 0) / 3;
  assert.ok(Math.abs(report.metrics.giou.value - giou) < 1e-9, 'gIoU = mean IoU of the CSV');

  const worst = readdirSync(join(out, 'worst')).sort();
  assert.is(worst.length, 2, worst.join(' '));
  assert.ok(/^001_\d_0\.png$/.test(worst[0]) && /^002_\d_0\.png$/.test(worst[1]), worst.join(' '));
  const pic = decodePng(readFileSync(join(out, 'worst', worst[0])), worst[0], 1e6);
  assert.equal([pic.width, pic.height], [32, 32]);
  // Every ground-truth pixel is tinted (the record with id k is the fixture's image_<k-1>, mask_<k-1>).
  const k = Number(worst[0].split('_')[1]) - 1;
  const dir = join(root, 'eval-res');
  const orig = decodePng(readFileSync(join(dir, `image_${k}.png`)), 'image', 1e6), mask = decodePng(readFileSync(join(dir, `mask_${k}.png`)), 'mask', 1e6);
  let inside = 0, tinted = 0;
  for (let p = 0; p < 32 * 32; p++) {
    if (!mask.data[3 * p]) continue;
    inside++;
    if ([0, 1, 2].some((c) => pic.data[3 * p + c] !== orig.data[3 * p + c])) tinted++;
  }
  assert.ok(inside > 0 && tinted === inside, `${tinted} of ${inside} ground-truth pixels tinted`);
  // The worst first: its IoU is the smallest in the CSV.
  const idOf = (f: string) => f.split('_')[1];
  const iouOf = (id: string) => Number(rows.find((x) => x[0] === id)![6]);
  assert.ok(iouOf(idOf(worst[0])) <= Math.min(...rows.slice(1).map((x) => Number(x[6]))), 'worst first');
});

test('ullava eval --task vqa: teacher-forced and --generate, the answer and the truth in the CSV', async () => {
  const model = await smallTrainModelDir();
  const data = await mixedManifest('eval-vqa');
  for (const gen of [false, true]) {
    const out = join(root, `eval-vqa-out-${gen}`);
    const r = run(['eval', '--model', model, '--dtype', 'f32', '--data', data, '--task', 'vqa', '--out', out, '--quiet',
      ...(gen ? ['--generate', '--max-new-tokens', '2'] : [])]);
    assert.equal(r.status, 0, describe(r));
    assert.not.ok(/evaluating/.test(r.stderr), '--quiet: no progress');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal([report.metric, report.protocol, report.count], ['accuracy', gen ? 'generative' : 'teacher-forced', { records: 1, items: 1, skipped: 3 }]);
    const rows = parseCsv(readFileSync(join(out, 'samples.csv'), 'utf8'));
    assert.equal(rows[0], ['id', 'line', 'round', 'index', 'correct', 'answer', 'truth']);
    assert.equal([rows[1][0], rows[1][1], rows[1][6]], ['sky', '4', 'Blue.']);
    assert.is(report.value, Number(rows[1][4]));
    assert.equal(readdirSync(out).sort(), ['report.json', 'samples.csv'], 'no pictures for text answers');
  }
});

test('ullava eval refuses bad input with the reason: unknown task, missing manifest, a res record without masks', async () => {
  const a = run(['eval', '--data', 'x.jsonl', '--task', 'segment']);
  assert.equal(a.status, 2, describe(a));
  assert.ok(/--task must be one of res, rec, salient, caption, vqa, got "segment"/.test(a.stderr), a.stderr);
  const b = run(['eval', '--data', join(root, 'nope.jsonl'), '--task', 'res']);
  assert.equal(b.status, 1, describe(b));
  assert.ok(/nope\.jsonl: cannot read the data manifest \(ENOENT\)/.test(b.stderr), b.stderr);
  const dir = join(root, 'eval-bad');
  mkdirSync(dir, { recursive: true });
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '\n' + JSON.stringify({ image: 'x.png', conversations: [{ from: 'human', value: '<image>\nSegment it.' }, { from: 'gpt', value: 'Sure. Info: [SEG].' }] }) + '\n');
  const c = run(['eval', '--data', bad, '--task', 'res']);
  assert.equal(c.status, 1, describe(c));
  assert.ok(/bad\.jsonl:2: "masks" are required for res: one ground-truth mask per \[SEG\] \(1\)/.test(c.stderr), c.stderr);
  const d = run(['eval', '--data', bad, '--task', 'rec']);
  assert.equal(d.status, 1, describe(d));
  assert.ok(/bad\.jsonl:2: "boxes" must hold one ground-truth box per \[SEG\] of the answers \(1\), got 0/.test(d.stderr), d.stderr);
});

test('ullava train --eval-data: the evaluation runs at the end and its numbers go to metrics.jsonl', async () => {
  const model = await smallTrainModelDir();
  const data = await writeTrainData(join(root, 'eval-train-data'), 2);
  const cfg = join(root, 'eval-train.json');
  writeFileSync(cfg, JSON.stringify({ stage: 'stage2', trainable: ['llm.*', 'text_hidden_fcs.*', 'visual_model.mask_decoder.*'],
    frozen: ['visual_model.mask_decoder.iou_prediction_head.*', 'llm.vision_encoder.*'],
    training: { learning_rate: 1e-3, per_device_train_batch_size: 2, model_max_length: 64, max_steps: 1, dtype: 'f32', save_steps: 100 } }));
  const out = join(root, 'eval-train-out');
  const r = run(['train', '--config', cfg, '--model', model, '--data', data, '--out', out, '--eval-data', data]);
  assert.equal(r.status, 0, describe(r));
  assert.ok(/eval res at step 1: ciou [\d.]+, giou [\d.]+, count 2\.0000/.test(r.stderr), r.stderr);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const ev = lines.find((l) => l.eval === 'res');
  assert.ok(ev && ev.step === 1 && Number.isFinite(ev.metrics.ciou) && ev.metrics.count === 2, JSON.stringify(lines));
  const bad = run(['train', '--config', cfg, '--model', model, '--data', data, '--out', join(root, 'eval-train-out2'), '--eval-data', data, '--eval-task', 'seg']);
  assert.equal(bad.status, 2, describe(bad));
});
