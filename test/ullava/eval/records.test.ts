// test/ullava/eval/records.test.ts: reading a manifest for evaluation (ullava/eval/records.ts) and the
// official validation conversations of "targets" records (ullava/eval/val-conversations.ts).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEvalRecords } from '../../../ullava/eval/records.js';
import { valSamples, VAL_MAX_SENTENCES } from '../../../ullava/eval/val-conversations.js';
import { assertRejects } from '../../harness/assert.js';

test('valSamples res: one round per expression (at most 10), the validation prompt, <image> in the first round only, the same mask each round', () => {
  const sentences = Array.from({ length: 12 }, (_, i) => `cat ${i}`);
  const [s] = valSamples('res', [{ sentences, category: 'Cat', mask: 'm.png', box: null }], 'published', 'x:1');
  assert.is(s.conversations.length, 2 * VAL_MAX_SENTENCES);
  assert.equal(s.conversations.slice(0, 4), [
    { from: 'human', value: '<image>\nOutput the segmentation mask of the cat 0 in the image.' },
    { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]cat[/tag].' },
    { from: 'human', value: '\nOutput the segmentation mask of the cat 1 in the image.' },
    { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]cat[/tag].' },
  ]);
  assert.equal(s.masks, Array(10).fill('m.png'));
  assert.equal(s.boxes, []);
  const [loc] = valSamples('rec', [{ sentences: ['the dog'], category: 'dog', mask: null, box: [1, 2, 3, 4] }], 'loc', 'x:1');
  assert.equal(loc.conversations[1].value, 'Sure. Mask: [SEG]; Location: [LOC]; [tag]dog[/tag].');
  assert.equal(loc.boxes, [[1, 2, 3, 4]]);
  const [sal] = valSamples('salient', [{ sentences: null, category: 'salient', mask: 'm.png', box: null }], 'published', 'x:1');
  assert.equal(sal.conversations.map((t) => t.value), ['<image>\nFind the salient object in the image.', 'Sure. Info: [SEG].']);
  assert.throws(() => valSamples('rec', [{ sentences: ['a'], category: 'a', mask: 'm.png', box: null }], 'published', 'f:3'), /f:3: "targets\[0\]\.box" is required for rec/);
  assert.throws(() => valSamples('res', [{ sentences: [], category: 'a', mask: 'm.png', box: null }], 'published', 'f:3'), /"targets\[0\]\.sentences" must hold at least one/);
  assert.throws(() => valSamples('vqa', [], 'published', 'f:3'), /no vqa answers/);
});

test('readEvalRecords: tasks filter, ids, one record per target, rec boxes per [SEG], and errors naming the line and the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-records-'));
  const path = join(dir, 'm.jsonl');
  const conv = (a: string) => [{ from: 'human', value: '<image>\nSegment it.' }, { from: 'gpt', value: a }];
  await writeFile(path, [
    JSON.stringify({ task: 'res', id: 'a', image: 'i.png', conversations: conv('Sure. Info: [SEG].'), masks: ['m.png'] }),
    JSON.stringify({ task: 'vqa', conversations: [{ from: 'human', value: 'Why?' }, { from: 'gpt', value: 'Because.' }] }),
    '',
    JSON.stringify({ task: 'res', id: 'r', image: 'i.png', targets: [
      { sentences: ['left cat', 'small cat'], category: 'cat', mask: 'm.png' },
      { sentences: ['the dog'], category: 'dog', mask: { size: [2, 2], counts: [1, 3] }, box: [0, 0, 1, 1] }] }),
    JSON.stringify({ image: 'i.png', conversations: conv('Sure. Info: [SEG].'), masks: ['m2.png'] }),
  ].join('\n') + '\n');
  const res = await readEvalRecords(path, 'res');
  assert.is(res.skipped, 1);
  assert.equal(res.records.map((r) => [r.id, r.line, r.answers.length, r.sample.masks.length]), [['a', 1, 1, 1], ['r#0', 4, 2, 2], ['r#1', 4, 1, 1], ['5', 5, 1, 1]]);
  assert.equal(res.records[1].sample.masks[0], { png: join(dir, 'm.png') }, 'paths relative to the manifest');
  assert.ok(res.records[1].questions[0].includes('left cat') && res.records[1].questions[1].includes('small cat'));

  const rec = join(dir, 'rec.jsonl');
  await writeFile(rec, JSON.stringify({ task: 'rec', id: 'b', image: 'i.png', targets: [{ sentences: ['x', 'y'], category: 'c', box: [0, 0, 4, 4] }] }) + '\n' +
    JSON.stringify({ task: 'rec', image: 'i.png', conversations: conv('Sure. Info: [SEG].'), boxes: [[1, 1, 2, 2]] }) + '\n');
  const r = await readEvalRecords(rec, 'rec');
  assert.equal(r.records.map((x) => [x.id, x.gtBoxes.length, x.sample.boxes.length]), [['b', 2, 0], ['2', 1, 0]], 'no [LOC]: the boxes are the [SEG]s\' ground truth');
  const withLoc = await readEvalRecords(rec, 'rec', 'loc');
  assert.equal(withLoc.records[0].answers[0], 'Sure. Mask: [SEG]; Location: [LOC]; [tag]c[/tag].');
  assert.equal([withLoc.records[0].gtBoxes.length, withLoc.records[0].sample.boxes.length], [2, 2]);

  const bad = join(dir, 'bad.jsonl');
  await writeFile(bad, JSON.stringify({ task: 'res', image: 'i.png', targets: [{ sentences: ['x'], category: 'c', mask: { size: [2, 2], polygons: [[0, 0, 1, 0, 1, 1]] } }] }) + '\n');
  const poly = await readEvalRecords(bad, 'res');
  assert.ok(poly.records.length === 1 && 'polygons' in poly.records[0].sample.masks[0], 'polygon masks are read through the manifest v1 reader');
  await writeFile(bad, '{"task": "res", "image": "i.png", "conversations": 3}\n');
  await assertRejects(() => readEvalRecords(bad, 'res'), /bad\.jsonl:1: "conversations" must be an array/);
  await writeFile(bad, JSON.stringify({ task: 'vqa', conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }) + '\n');
  await assertRejects(() => readEvalRecords(bad, 'res'), /no records to evaluate for task res \(1 records of other tasks skipped\)/);
  await assertRejects(() => readEvalRecords(join(dir, 'none.jsonl'), 'res'), /none\.jsonl: cannot read the data manifest \(ENOENT\)/);
});

test('kinds: "refs"[i].expression_type names each mask / box item, "questions"[k].type each round (null where absent)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-eval-kinds-'));
  const line = (o: object) => JSON.stringify({ image: 'a.png', ...o });
  const path = join(dir, 'm.jsonl');
  await writeFile(path, [
    line({ task: 'vqa', conversations: [{ from: 'human', value: '<image>\nWhat colour?' }, { from: 'gpt', value: 'Red.' }, { from: 'human', value: 'How many?' }, { from: 'gpt', value: 'Two.' }],
      questions: [{ type: 'colour' }, { answer: 'Two.' }] }),
  ].join('\n') + '\n');
  const { records } = await readEvalRecords(path, 'vqa');
  assert.equal(records[0].roundKinds, ['colour', null]);
  assert.equal(records[0].itemKinds, []);
});
