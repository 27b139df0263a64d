// test/ullava/data/convert/parts.test.ts: PACO-LVIS and PASCAL-Part (ullava/data/convert/parts.ts) on COCO-style
// JSON in LISA's layout, and u-LLaVA's preprocessed file.
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import { convertParts, partCategoryName } from '../../../../ullava/data/convert/parts.js';
import { tempDir, put, rgbPng, readJsonl } from './fixtures.js';

test('category names as LISA builds them ("_(" senses cut, parts as "object part")', () => {
  assert.is(partCategoryName('paco-lvis', 'mug_(drinking_vessel)'), 'mug');
  assert.is(partCategoryName('paco-lvis', 'mug_(drinking_vessel):handle'), 'mug handle');
  assert.is(partCategoryName('paco-lvis', 'bowl:inner_side'), 'bowl inner_side');
  assert.is(partCategoryName('pascal-part', 'person:hair'), 'person hair');
  assert.throws(() => partCategoryName('pascal-part', 'person'), /not "object:part"/);
});

test('PACO-LVIS: one record per annotated image, a target per annotation; images under ROOT/coco', async () => {
  const root = await tempDir('paco');
  const json = {
    images: [{ id: 139, file_name: 'train2017/000000000139.jpg', height: 6, width: 8 }, { id: 140, file_name: 'train2017/000000000140.jpg', height: 6, width: 8 }],
    annotations: [
      { id: 1, image_id: 139, category_id: 7, segmentation: [[1, 1, 5, 1, 5, 4]], bbox: [1, 1, 4, 3], area: 6 },
      { id: 2, image_id: 139, category_id: 9, segmentation: { size: [6, 8], counts: [6, 3, 39] }, bbox: [1, 0, 1, 3], area: 3 },
    ],
    categories: [{ id: 7, name: 'mug_(drinking_vessel)' }, { id: 9, name: 'mug_(drinking_vessel):handle' }],
  };
  await put(join(root, 'vlpart/paco/annotations/paco_lvis_v1_train.json'), JSON.stringify(json));
  await put(join(root, 'coco/train2017/000000000139.jpg'), rgbPng(8, 6));
  const out = join(root, 'paco.jsonl');
  const res = await convertParts('paco-lvis', { root, out });
  assert.equal(res.skipped, [{ reason: 'image without annotations', count: 1 }]);
  const recs = await readJsonl(out);
  assert.equal(recs, [{
    id: 'paco-lvis-train-139', source: 'paco-lvis', split: 'train', task: 'semantic', image: 'coco/train2017/000000000139.jpg',
    targets: [
      { category: 'mug', mask: { size: [6, 8], polygons: [[1, 1, 5, 1, 5, 4]] }, box: [1, 1, 5, 4] },
      { category: 'mug handle', mask: { size: [6, 8], counts: [6, 3, 39] }, box: [1, 0, 2, 3] },
    ],
  }]);
  // a missing image names the image and the file
  json.annotations.push({ id: 3, image_id: 140, category_id: 7, segmentation: [[0, 0, 2, 0, 2, 2]], bbox: [0, 0, 2, 2], area: 2 });
  await put(join(root, 'vlpart/paco/annotations/paco_lvis_v1_train.json'), JSON.stringify(json));
  await assertRejects(() => convertParts('paco-lvis', { root, out }), /paco_lvis_v1_train\.json: image 140: "image" file .*000000000140\.jpg does not exist/);
});

test('PASCAL-Part: VOC2010 JPEGImages; a part category without ":" is refused naming the category', async () => {
  const root = await tempDir('ppart');
  const json = {
    images: [{ id: 1, file_name: '2008_000002.jpg', height: 4, width: 4 }],
    annotations: [{ id: 5, image_id: 1, category_id: 3, segmentation: [[0, 0, 3, 0, 3, 3, 0, 3]], bbox: [0, 0, 3, 3] }],
    categories: [{ id: 3, name: 'person:hair' }],
  };
  await put(join(root, 'vlpart/pascal_part/train.json'), JSON.stringify(json));
  await put(join(root, 'vlpart/pascal_part/VOCdevkit/VOC2010/JPEGImages/2008_000002.jpg'), rgbPng(4, 4));
  const out = join(root, 'pp.jsonl');
  await convertParts('pascal-part', { root, out });
  const [rec] = await readJsonl(out);
  assert.is(rec.image, 'vlpart/pascal_part/VOCdevkit/VOC2010/JPEGImages/2008_000002.jpg');
  assert.equal(rec.targets, [{ category: 'person hair', mask: { size: [4, 4], polygons: [[0, 0, 3, 0, 3, 3, 0, 3]] }, box: [0, 0, 3, 3] }]);
  json.categories[0].name = 'person';
  await put(join(root, 'vlpart/pascal_part/train.json'), JSON.stringify(json));
  await assertRejects(() => convertParts('pascal-part', { root, out }), /train\.json: category 3: category "person" is not "object:part"/);
});

test('u-LLaVA preprocessed PACO file (JSONL): classes and annotations carried over; a wrong RLE names item and field', async () => {
  const root = await tempDir('paco-ullava');
  await put(join(root, 'coco/train2017/a.jpg'), rgbPng(4, 3));
  const item = { image_path: 'coco/train2017/a.jpg', classes: ['the rim of the bowl'], annotations: [{ segmentation: { size: [3, 4], counts: [2, 2, 8] }, bbox: [0, 2, 1, 2], height: 3, width: 4 }] };
  const ann = join(root, 'paco.jsonl');
  await put(ann, JSON.stringify(item) + '\n' + JSON.stringify(item) + '\n');
  const out = join(root, 'm.jsonl');
  await convertParts('paco-lvis', { root, out, annotations: ann });
  const recs = await readJsonl(out);
  assert.is(recs.length, 2);
  assert.equal(recs[0].targets, [{ category: 'the rim of the bowl', mask: { size: [3, 4], counts: [2, 2, 8] }, box: [0, 2, 1, 4] }]);
  item.annotations[0].segmentation.counts = [2, 2, 9];
  await put(ann, JSON.stringify(item) + '\n');
  await assertRejects(() => convertParts('paco-lvis', { root, out, annotations: ann }), /paco\.jsonl: item 0: annotations\[0\]\.segmentation: RLE counts cover more than 3 x 4 pixels/);
});
