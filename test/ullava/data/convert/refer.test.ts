// test/ullava/data/convert/refer.test.ts: RefCOCO / RefCOCO+ / RefCOCOg / RefCLEF (ullava/data/convert/refer.ts)
// on a small dataset written in REFER's layout: refs(<splitBy>).p pickled as Python 2's cPickle (protocol 2)
// and instances.json with polygon, RLE and list-of-RLE segmentations.
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { writeFile, readFile } from 'node:fs/promises';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import { convertRefer } from '../../../../ullava/data/convert/refer.js';
import { segmentationToRle } from '../../../../ullava/data/coco/polygon.js';
import { rleArea, rleCountsToString, encodeMask, rleToBbox } from '../../../../ullava/data/coco/rle.js';
import { tempDir, put, rgbPng, pickleProtocol0, pickleProtocol2, readJsonl } from './fixtures.js';

const TRIANGLE = [1.0, 1.0, 8.0, 2.0, 4.0, 9.0]; // pycocotools: ';193M3M01M2O1NX1', area 27, box [1, 1, 7, 7]

function refsFor(dataset: string) {
  const sent = (id: number, s: string) => ({ tokens: s.split(' '), raw: s, sent_id: id, sent: s });
  return [
    { sent_ids: [0, 1], file_name: 'COCO_train2014_000000000009_11.jpg', ann_id: 11, ref_id: 0, image_id: 9, split: 'train', sentences: [sent(0, 'man on the left'), sent(1, 'left guy')], category_id: 1 },
    { sent_ids: [2], file_name: 'COCO_train2014_000000000009_12.jpg', ann_id: 12, ref_id: 1, image_id: 9, split: 'train', sentences: [sent(2, 'the dog')], category_id: 18 },
    { sent_ids: [3], file_name: 'COCO_train2014_000000000025_13.jpg', ann_id: 13, ref_id: 2, image_id: 25, split: dataset === 'refcocog' ? 'val' : 'testA', sentences: [sent(3, 'woman in red')], category_id: 1 },
    { sent_ids: [4], file_name: 'COCO_train2014_000000000009_11.jpg', ann_id: 11, ref_id: 3, image_id: 9, split: dataset === 'refcocog' ? 'val' : 'testA', sentences: [sent(4, 'tall man')], category_id: 1 },
  ];
}

const compressedOfEmpty = rleCountsToString([12 * 10]);
function instances() {
  return {
    info: {}, licenses: [],
    images: [
      { id: 9, file_name: 'COCO_train2014_000000000009.jpg', height: 10, width: 12 },
      { id: 25, file_name: 'COCO_train2014_000000000025.jpg', height: 10, width: 12 },
    ],
    annotations: [
      { id: 11, image_id: 9, category_id: 1, segmentation: [TRIANGLE], area: 27, bbox: [1, 1, 7, 8], iscrowd: 0 },
      { id: 12, image_id: 9, category_id: 18, segmentation: { size: [10, 12], counts: [20, 5, 95] }, area: 5, bbox: [2, 0, 1, 5], iscrowd: 1 },
      { id: 13, image_id: 25, category_id: 1, segmentation: { size: [10, 12], counts: compressedOfEmpty }, area: 0, bbox: [0, 0, 0, 0], iscrowd: 0 },
    ],
    categories: [{ id: 1, name: 'person', supercategory: 'person' }, { id: 18, name: 'dog', supercategory: 'animal' }],
  };
}

async function referRoot(dataset: string, splitBy: string) {
  const root = await tempDir(dataset);
  await put(join(root, dataset, `refs(${splitBy}).p`), pickleProtocol2(refsFor(dataset)));
  await put(join(root, dataset, 'instances.json'), JSON.stringify(instances()));
  const imgDir = dataset === 'refclef' ? join(root, 'images/saiapr_tc-12') : join(root, 'images/mscoco/images/train2014');
  for (const im of instances().images) await put(join(imgDir, im.file_name), rgbPng(12, 10));
  return root;
}

test('RefCOCO (unc): one record per image and split, one target per ref; polygons, RLE and boxes carried over', async () => {
  const root = await referRoot('refcoco', 'unc');
  const out = join(root, 'out', 'refcoco.jsonl');
  const res = await convertRefer('refcoco', { root, out });
  assert.is(res.records, 3);
  const recs = await readJsonl(out);
  assert.equal(recs.map((r) => r.id), ['refcoco-unc-train-9', 'refcoco-unc-testA-25', 'refcoco-unc-testA-9']);
  const [train9, testA25, testA9] = recs;
  assert.is(train9.task, 'res'); assert.is(train9.source, 'refcoco'); assert.is(train9.split, 'train');
  assert.is(train9.image, '../images/mscoco/images/train2014/COCO_train2014_000000000009.jpg');
  assert.equal(train9.targets.map((t: any) => [t.sentences, t.category]), [[['man on the left', 'left guy'], 'person'], [['the dog'], 'dog']]);
  // the polygon as given, size = the image's; rasterised as pycocotools does
  assert.equal(train9.targets[0].mask, { size: [10, 12], polygons: [TRIANGLE] });
  const tri = segmentationToRle(train9.targets[0].mask.polygons, 10, 12);
  assert.is(rleCountsToString(tri.counts), ';193M3M01M2O1NX1');
  assert.is(rleArea(tri), 27);
  assert.equal(train9.targets[0].box, [1, 1, 8, 9], 'bbox xywh [1,1,7,8] -> xyxy');
  // uncompressed RLE kept as it is: 20 zeros fill columns 0-1, then 5 ones: column 2, rows 0..4
  assert.equal(train9.targets[1].mask, { size: [10, 12], counts: [20, 5, 95] });
  assert.equal(rleToBbox(train9.targets[1].mask), [2, 0, 1, 5]);
  assert.equal(testA25.targets[0].mask, { size: [10, 12], counts: compressedOfEmpty });
  assert.equal(testA9.targets.map((t: any) => t.sentences), [['tall man']]);
});

test('--split keeps one official split; an unknown split or splitBy is refused with the official list', async () => {
  const root = await referRoot('refcoco', 'unc');
  const out = join(root, 'testA.jsonl');
  await convertRefer('refcoco', { root, out, split: 'testA' });
  assert.equal((await readJsonl(out)).map((r) => r.split), ['testA', 'testA']);
  await assertRejects(() => convertRefer('refcoco', { root, out, split: 'test' }), /refcoco \(unc\) has no split "test"; its splits are train, val, testA, testB/);
  await assertRejects(() => convertRefer('refcoco+', { root, out, splitBy: 'google' }), /refcoco\+ has no splitBy "google" \(REFER publishes unc\)/);
});

test('RefCOCOg (umd) and (google): the splits of each', async () => {
  for (const splitBy of ['umd', 'google']) {
    const root = await referRoot('refcocog', splitBy);
    const out = join(root, 'g.jsonl');
    await convertRefer('refcocog', { root, out, splitBy });
    assert.equal((await readJsonl(out)).map((r) => r.id), [`refcocog-${splitBy}-train-9`, `refcocog-${splitBy}-val-25`, `refcocog-${splitBy}-val-9`]);
  }
});

test('RefCLEF: saiapr_tc-12 images; a list of RLEs (as RefCLEF stores them) is merged into one', async () => {
  const root = await referRoot('refclef', 'unc');
  const inst = instances();
  // two RLE parts of one object: a pixel block in column 0 and one in column 3
  const a = new Uint8Array(120), b = new Uint8Array(120);
  a[0 * 12 + 0] = a[1 * 12 + 0] = 1; b[5 * 12 + 3] = 1;
  const ra = { size: [10, 12], counts: rleCountsToString(encodeMask(a, 10, 12).counts) };
  const rb = { size: [10, 12], counts: rleCountsToString(encodeMask(b, 10, 12).counts) };
  (inst.annotations[0] as any).segmentation = [ra, rb];
  await writeFile(join(root, 'refclef', 'instances.json'), JSON.stringify(inst));
  const out = join(root, 'clef.jsonl');
  await convertRefer('refclef', { root, out });
  const rec = (await readJsonl(out))[0];
  assert.is(rec.image, 'images/saiapr_tc-12/COCO_train2014_000000000009.jpg');
  const m = rec.targets[0].mask;
  assert.is(typeof m.counts, 'string');
  assert.is(rleArea(m), 3);
  assert.equal(rleToBbox(m), [0, 0, 4, 6]);
});

test('malformed inputs: truncated pickle, wrong RLE, missing image, dangling ann_id -- each names the file and the record', async () => {
  const root = await referRoot('refcoco', 'unc');
  const out = join(root, 'x.jsonl');
  const refs = join(root, 'refcoco', 'refs(unc).p');
  const good = await readFile(refs);
  await writeFile(refs, good.subarray(0, 300));
  await assertRejects(() => convertRefer('refcoco', { root, out }), /refs\(unc\)\.p: truncated pickle.*byte offset \d+.*download REFER's refcoco again/);
  await writeFile(refs, good);

  const inst = instances();
  (inst.annotations[1] as any).segmentation = { size: [10, 12], counts: [20, 5, 94] };
  await writeFile(join(root, 'refcoco', 'instances.json'), JSON.stringify(inst));
  await assertRejects(() => convertRefer('refcoco', { root, out }), /instances\.json: annotation 12 \(ref 1\): segmentation: RLE counts cover 119 pixels, the size says 10 x 12 = 120/);
  (inst.annotations[1] as any).segmentation = { size: [10, 12], counts: '0`' };
  await writeFile(join(root, 'refcoco', 'instances.json'), JSON.stringify(inst));
  await assertRejects(() => convertRefer('refcoco', { root, out }), /annotation 12 \(ref 1\): segmentation: RLE string ends inside a number/);
  (inst.annotations[1] as any).segmentation = [[1, 2, 3]];
  await writeFile(join(root, 'refcoco', 'instances.json'), JSON.stringify(inst));
  await assertRejects(() => convertRefer('refcoco', { root, out }), /annotation 12 \(ref 1\): segmentation\[0\]: a polygon must be/);

  await writeFile(join(root, 'refcoco', 'instances.json'), JSON.stringify({ ...instances(), annotations: instances().annotations.slice(1) }));
  await assertRejects(() => convertRefer('refcoco', { root, out }), /refs\(unc\)\.p: ref 0: ann_id 11 is not in .*instances\.json/);
  await writeFile(join(root, 'refcoco', 'instances.json'), '{"images": [');
  await assertRejects(() => convertRefer('refcoco', { root, out }), /instances\.json: the COCO instances JSON is not valid JSON/);

  await writeFile(join(root, 'refcoco', 'instances.json'), JSON.stringify(instances()));
  const { rm } = await import('node:fs/promises');
  await rm(join(root, 'images/mscoco/images/train2014/COCO_train2014_000000000025.jpg'));
  await assertRejects(() => convertRefer('refcoco', { root, out }), /refs\(unc\)\.p: ref 2 \(image 25\): "image" file .*COCO_train2014_000000000025\.jpg does not exist/);
  // nothing half-written
  await assertRejects(() => readFile(out), /ENOENT/);
});

test('a protocol 0 pickle (Python 2\'s default) with UTF-8 text in str literals converts the same', async () => {
  const root = await referRoot('refcoco', 'unc');
  const refs = refsFor('refcoco');
  refs[1].sentences[0].sent = 'the dog on the café chair';
  await writeFile(join(root, 'refcoco', 'refs(unc).p'), pickleProtocol0(refs));
  const out = join(root, 'p0.jsonl');
  await convertRefer('refcoco', { root, out });
  const recs = await readJsonl(out);
  assert.equal(recs.map((r) => r.id), ['refcoco-unc-train-9', 'refcoco-unc-testA-25', 'refcoco-unc-testA-9']);
  assert.equal(recs[0].targets[1].sentences, ['the dog on the café chair']);
});
