// test/ullava/data/convert/semantic.test.ts: ADE20K and COCO-Stuff label maps (ullava/data/convert/semantic.ts)
// on small datasets in the published layouts (8-bit grayscale class-index PNGs), and u-LLaVA's annotation file.
import * as assert from 'uvu/assert';
import { join, dirname } from 'node:path';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import { convertLabelMaps, classOfValue } from '../../../../ullava/data/convert/semantic.js';
import { readLabelPng } from '../../../../ullava/data/convert/label-png.js';
import { tempDir, put, rgbPng, labelPng, readJsonl } from './fixtures.js';

test('class tables as LISA reads them: ADE20K 1-based (0 ignored), COCO-Stuff 0-based with "-" classes ignored', () => {
  assert.is(classOfValue('ade20k', 0), null);
  assert.is(classOfValue('ade20k', 1), 'wall');
  assert.is(classOfValue('ade20k', 13), 'person');
  assert.is(classOfValue('ade20k', 150), 'flag');
  assert.is(classOfValue('ade20k', 255), null);
  assert.throws(() => classOfValue('ade20k', 151), /pixel value 151 is not a ade20k class/);
  // cocostuff_classes.txt: line "1: person" is value 0, "96: building-other" value 95, "157: sky" value 156, "183: wood" value 181
  assert.is(classOfValue('cocostuff', 0), 'person');
  assert.is(classOfValue('cocostuff', 95), null, 'building-other is ignored');
  assert.is(classOfValue('cocostuff', 156), 'sky');
  assert.is(classOfValue('cocostuff', 181), 'wood');
  assert.is(classOfValue('cocostuff', 144), 'playingfield', 'no dash: kept');
  assert.throws(() => classOfValue('cocostuff', 182), /not a cocostuff class/);
});

test('ADE20K layout: one target per class present, mask = {label_png, class_id = pixel value}; unlabelled images skipped', async () => {
  const root = await tempDir('ade');
  const w = 4, h = 3;
  const a = [0, 1, 1, 13, 13, 13, 150, 255, 0, 1, 0, 0];
  await put(join(root, 'images/training/ADE_train_00000001.jpg'), rgbPng(w, h));
  await put(join(root, 'annotations/training/ADE_train_00000001.png'), labelPng(a, w, h));
  await put(join(root, 'images/training/ADE_train_00000002.jpg'), rgbPng(w, h));
  await put(join(root, 'annotations/training/ADE_train_00000002.png'), labelPng(new Array(12).fill(0), w, h));
  const out = join(root, 'ade.jsonl');
  const stages: string[] = [];
  const res = await convertLabelMaps('ade20k', { root, out, onProgress: (s, d, t) => stages.push(`${s} ${d}/${t}`) });
  assert.is(res.records, 1);
  assert.equal(res.skipped, [{ reason: 'no labelled class in the label map', count: 1 }]);
  assert.equal(stages[stages.length - 1], 'ade20k label maps 2/2');
  const [rec] = await readJsonl(out);
  assert.equal(rec, {
    id: 'ade20k-training-ADE_train_00000001', source: 'ade20k', split: 'training', task: 'semantic',
    image: 'images/training/ADE_train_00000001.jpg',
    targets: [
      { category: 'wall', mask: { label_png: 'annotations/training/ADE_train_00000001.png', class_id: 1 } },
      { category: 'person', mask: { label_png: 'annotations/training/ADE_train_00000001.png', class_id: 13 } },
      { category: 'flag', mask: { label_png: 'annotations/training/ADE_train_00000001.png', class_id: 150 } },
    ],
  });
  // the mask the collator builds (png == class_id) is LISA's (label - 1 == class index) for every class
  const map = await readLabelPng(join(dirname(out), rec.targets[1].mask.label_png), 'test');
  assert.equal(Array.from(map.values, (v) => (v === 13 ? 1 : 0)), a.map((v) => (v !== 0 && v !== 255 && v - 1 === 12 ? 1 : 0)));
});

test('COCO-Stuff layout: "-" classes and 255 ignored', async () => {
  const root = await tempDir('stuff');
  await put(join(root, 'images/train2017/000000000009.jpg'), rgbPng(3, 2));
  await put(join(root, 'annotations/train2017/000000000009.png'), labelPng([0, 95, 156, 255, 0, 173], 3, 2));
  const out = join(root, 'o', 'stuff.jsonl');
  await convertLabelMaps('cocostuff', { root, out });
  const [rec] = await readJsonl(out);
  assert.equal(rec.targets.map((t: any) => [t.category, t.mask.class_id]), [['person', 0], ['sky', 156]]);
  assert.is(rec.image, '../images/train2017/000000000009.jpg');
});

test('u-LLaVA annotation file (JSONL): ADE20K class_id is LISA\'s shifted index, mapped back to the pixel value', async () => {
  const root = await tempDir('ade-ullava');
  await put(join(root, 'ade20k/images/training/a.jpg'), rgbPng());
  await put(join(root, 'ade20k/annotations/training/a.png'), labelPng(new Array(12).fill(13), 4, 3));
  const ann = join(root, 'ade20k_train.jsonl');
  await put(ann, JSON.stringify({ image_path: 'ade20k/images/training/a.jpg', label_path: 'ade20k/annotations/training/a.png', classes: [{ class: 'person', class_id: 12 }] }) + '\n');
  const out = join(root, 'm.jsonl');
  await convertLabelMaps('ade20k', { root, out, annotations: ann });
  const [rec] = await readJsonl(out);
  assert.equal(rec.targets, [{ category: 'person', mask: { label_png: 'ade20k/annotations/training/a.png', class_id: 13 } }]);
});

test('bad label maps and missing files name the image and the file', async () => {
  const root = await tempDir('ade-bad');
  await put(join(root, 'images/training/x.jpg'), rgbPng());
  const out = join(root, 'o.jsonl');
  await assertRejects(() => convertLabelMaps('ade20k', { root, out }), /ade20k image x: "label map" file .*annotations\/training\/x\.png does not exist/);
  await put(join(root, 'annotations/training/x.png'), rgbPng());
  await assertRejects(() => convertLabelMaps('ade20k', { root, out }), /ade20k image x: label map .*x\.png: a label map must be a single-channel PNG .*this one is RGB/);
  await put(join(root, 'annotations/training/x.png'), labelPng([1, 2, 200, 3, 4, 5, 6, 7, 8, 9, 10, 11], 4, 3));
  await assertRejects(() => convertLabelMaps('ade20k', { root, out }), /ade20k image x: .*x\.png: pixel value 200 is not a ade20k class/);
  await put(join(root, 'annotations/training/x.png'), new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2]));
  await assertRejects(() => convertLabelMaps('ade20k', { root, out }), /ade20k image x: label map .*x\.png: damaged PNG/);
  await assertRejects(() => convertLabelMaps('ade20k', { root: join(root, 'nope'), out }), /cannot list the ade20k images/);
});
