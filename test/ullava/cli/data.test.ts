// test/ullava/cli/data.test.ts: `ullava data convert` as a user runs it (child process): a REFER dataset in
// the published layout to a manifest, progress on stderr, usage errors, and a damaged pickle named with its
// file and offset (exit 1, no manifest written).
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { test } from '../../harness/test.js';
import { run } from './helpers.js';
import { tempDir, put, rgbPng, pickleProtocol2 } from '../data/convert/fixtures.js';

async function tinyRefcoco(): Promise<string> {
  const root = await tempDir('cli-refcoco');
  const refs = [{ ref_id: 0, ann_id: 1, image_id: 1, split: 'val', category_id: 1, sentences: [{ sent: 'the cat', raw: 'The cat', tokens: ['the', 'cat'], sent_id: 0 }], sent_ids: [0], file_name: 'x_1.jpg' }];
  await put(join(root, 'refcoco/refs(unc).p'), pickleProtocol2(refs));
  await put(join(root, 'refcoco/instances.json'), JSON.stringify({
    images: [{ id: 1, file_name: 'COCO_train2014_000000000001.jpg', height: 3, width: 4 }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[0, 0, 3, 0, 3, 2]], bbox: [0, 0, 3, 2] }],
    categories: [{ id: 1, name: 'cat' }],
  }));
  await put(join(root, 'images/mscoco/images/train2014/COCO_train2014_000000000001.jpg'), rgbPng(4, 3));
  return root;
}

test('ullava data convert --from refcoco writes the manifest and reports progress and the count', async () => {
  const root = await tinyRefcoco();
  const out = join(root, 'manifests', 'refcoco_val.jsonl');
  const r = run(['data', 'convert', '--from', 'refcoco', '--root', root, '--split', 'val', '--out', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /refcoco_val\.jsonl: 1 records from refcoco/);
  assert.match(r.stderr, /refcoco: refcoco refs 1\/1/);
  const rec = JSON.parse(readFileSync(out, 'utf8').trim());
  assert.equal(rec, {
    id: 'refcoco-unc-val-1', source: 'refcoco', split: 'val', task: 'res', image: '../images/mscoco/images/train2014/COCO_train2014_000000000001.jpg',
    targets: [{ sentences: ['the cat'], category: 'cat', mask: { size: [3, 4], polygons: [[0, 0, 3, 0, 3, 2]] }, box: [0, 0, 3, 2] }],
  });
});

test('usage errors exit 2; a truncated pickle exits 1 naming the file and the offset, writing nothing', async () => {
  const root = await tinyRefcoco();
  assert.is(run(['data', 'convert', '--from', 'coco-nope', '--root', root, '--out', 'x']).status, 2);
  const u = run(['data', 'convert', '--from', 'refcoco', '--out', 'x']);
  assert.is(u.status, 2); assert.match(u.stderr, /--root DIR is required/);
  assert.is(run(['data', 'frobnicate']).status, 2);
  const p = join(root, 'refcoco/refs(unc).p');
  await writeFile(p, readFileSync(p).subarray(0, 50));
  const out = join(root, 'bad.jsonl');
  const r = run(['data', 'convert', '--from', 'refcoco', '--root', root, '--out', out, '--quiet']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /refs\(unc\)\.p: truncated pickle: .*\(byte offset \d+\)/);
  assert.ok(!existsSync(out), 'no manifest written');
});
