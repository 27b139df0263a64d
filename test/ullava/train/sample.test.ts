import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, decodeRle, rleCountsFromString } from '../../../ullava/train/sample.js';
import { epochOrder } from '../../../ullava/train/loader.js';

/** pycocotools' rleToString, written from its C source's description: deltas from two runs back, 5-bit groups. */
function rleToString(counts: number[]): string {
  let s = '';
  counts.forEach((c, i) => {
    let x = i > 2 ? c - counts[i - 2] : c;
    let more = true;
    while (more) {
      let ch = x & 0x1f;
      x >>= 5;
      more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      s += String.fromCharCode(ch + 48);
    }
  });
  return s;
}

test('COCO RLE: compressed strings decode to the counts they encode; masks are column-major', () => {
  const counts = [0, 5, 70, 3, 2, 1000, 1, 17, 12, 4];
  assert.equal(rleCountsFromString(rleToString(counts)), counts);
  // 2 x 3 image, column-major runs: 1 zero, 2 ones, 3 zeros -> pixel (y=1,x=0) and (y=0,x=1) set.
  assert.equal([...decodeRle({ size: [2, 3], counts: [1, 2, 3] })], [0, 1, 0, 1, 0, 0]);
  let msg = '';
  try { decodeRle({ size: [2, 3], counts: [1, 2] }, 'x.jsonl:3: masks[0]'); } catch (e) { msg = (e as Error).message; }
  assert.ok(/x\.jsonl:3: masks\[0\]: RLE counts cover 3 pixels, the size says 2 x 3 = 6/.test(msg), msg);
});

test('the manifest reader names the file, the line and the field of every mistake', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-manifest-'));
  const good = { image: 'a.png', conversations: [{ from: 'human', value: '<image>\nSegment it.' }, { from: 'gpt', value: 'Sure. Info: [SEG].' }], masks: ['m.png'] };
  const cases: [unknown, RegExp][] = [
    [{ ...good, conversations: [{ from: 'gpt', value: 'x' }, { from: 'human', value: 'y' }] }, /m\.jsonl:2: "conversations\[0\]\.from" must be "human"/],
    [{ ...good, masks: ['m.png', 'n.png'] }, /m\.jsonl:2: "masks" must be one mask per \[SEG\] in the answers \(1\), got "2 masks"/],
    [{ ...good, masks: [{ size: [2], counts: [1] }] }, /"masks\[0\]\.size" must be two positive integers/],
    [{ ...good, boxes: [[5, 5, 1, 1]] }, /"boxes\[0\]" must be pixel \[x0, y0, x1, y1\] with x0 <= x1/],
    [{ conversations: good.conversations, masks: ['m.png'] }, /"image" must be present when masks or boxes are given/],
  ];
  for (const [rec, re] of cases) {
    const p = join(dir, 'm.jsonl');
    await writeFile(p, JSON.stringify(good) + '\n' + JSON.stringify(rec) + '\n');
    await assertRejects(() => readManifest(p), re);
  }
  await writeFile(join(dir, 'j.jsonl'), '{"image": \n');
  await assertRejects(() => readManifest(join(dir, 'j.jsonl')), /j\.jsonl:1: not valid JSON/);
  await writeFile(join(dir, 'e.jsonl'), '\n\n');
  await assertRejects(() => readManifest(join(dir, 'e.jsonl')), /holds no samples/);
  await writeFile(join(dir, 'ok.jsonl'), JSON.stringify(good) + '\n');
  const [s] = await readManifest(join(dir, 'ok.jsonl'));
  assert.equal([s.image, s.masks], [join(dir, 'a.png'), [{ png: join(dir, 'm.png') }]]);
});

test('the shuffle is a permutation fixed by (seed, epoch), different across epochs and seeds', () => {
  const a = epochOrder(50, 42, 0);
  assert.equal([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(epochOrder(50, 42, 0), a);
  assert.ok(epochOrder(50, 42, 1).join() !== a.join() && epochOrder(50, 7, 0).join() !== a.join());
});
