// test/ullava/data/convert/salient.test.ts: MSRA-10K / MSRA-B folders and u-LLaVA's salient file
// (ullava/data/convert/salient.ts).
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import { convertSalient } from '../../../../ullava/data/convert/salient.js';
import { tempDir, put, rgbPng, labelPng, readJsonl } from './fixtures.js';

test('MSRA folder: X.jpg + X.png pairs, one salient target each; non-binary masks counted', async () => {
  const root = await tempDir('msra');
  await put(join(root, 'Imgs/0_1_1339.jpg'), rgbPng(2, 2));
  await put(join(root, 'Imgs/0_1_1339.png'), labelPng([0, 255, 255, 0], 2, 2));
  await put(join(root, 'Imgs/10_1.jpg'), rgbPng(2, 2));
  await put(join(root, 'Imgs/10_1.png'), labelPng([0, 128, 255, 0], 2, 2));
  const out = join(root, 'msra.jsonl');
  const res = await convertSalient({ root: join(root, 'Imgs'), out });
  assert.equal(res.skipped, [{ reason: 'masks with values other than 0 and 255 (kept; non-zero counts as inside)', count: 1 }]);
  assert.equal(await readJsonl(out), [
    { id: 'msra-0_1_1339', source: 'msra', task: 'salient', image: 'Imgs/0_1_1339.jpg', targets: [{ category: 'salient object', mask: 'Imgs/0_1_1339.png' }] },
    { id: 'msra-10_1', source: 'msra', task: 'salient', image: 'Imgs/10_1.jpg', targets: [{ category: 'salient object', mask: 'Imgs/10_1.png' }] },
  ]);
});

test('u-LLaVA salient file: caption or gpt {tag, reason}; the reason goes with the target', async () => {
  const root = await tempDir('msra-ullava');
  await put(join(root, 'MSRA-10K/a.jpg'), rgbPng());
  await put(join(root, 'MSRA-10K/a.png'), labelPng(new Array(12).fill(255), 4, 3));
  const ann = join(root, 'salient.json');
  await put(ann, JSON.stringify([
    { image_path: 'MSRA-10K/a.jpg', label_path: 'MSRA-10K/a.png', caption: 'A red apple' },
    { image_path: 'MSRA-10K/a.jpg', label_path: 'MSRA-10K/a.png', gpt: { tag: 'apple', reason: 'it is the only object in focus' } },
  ]));
  const out = join(root, 'out.jsonl');
  await convertSalient({ root, out, annotations: ann });
  const recs = await readJsonl(out);
  assert.equal(recs.map((r) => r.targets[0]), [
    { category: 'A red apple', mask: 'MSRA-10K/a.png' },
    { category: 'apple', mask: 'MSRA-10K/a.png', reason: 'it is the only object in focus' },
  ]);
});

test('a missing mask, a damaged mask and a missing image are named with their record', async () => {
  const root = await tempDir('msra-bad');
  await put(join(root, 'a.jpg'), rgbPng());
  const out = join(root, 'o.jsonl');
  await assertRejects(() => convertSalient({ root, out }), /salient image a: its mask .*a\.png does not exist/);
  await put(join(root, 'a.png'), new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13]));
  await assertRejects(() => convertSalient({ root, out }), /salient image a: .*a\.png: damaged PNG/);
  const ann = join(root, 's.jsonl');
  await put(ann, JSON.stringify({ image_path: 'b.jpg', label_path: 'a.png', caption: 'x' }) + '\n');
  await assertRejects(() => convertSalient({ root, out, annotations: ann }), /s\.jsonl: item 0: "image_path" file .*b\.jpg does not exist/);
});
