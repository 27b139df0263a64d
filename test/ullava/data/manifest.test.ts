// test/ullava/data/manifest.test.ts: the manifest v1 reader and validator (ullava/data/manifest*.ts), v0 lines included.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, validateManifest, formatSummary, checkRecordMedia } from '../../../ullava/data/manifest.js';
import { decodeRle, rleCountsFromString } from '../../../ullava/data/mask-decode.js';
import { writeImage } from './helpers.js';

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

test('v0 lines: the reader names the file, the line and the field of every mistake', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-manifest-'));
  const good = { image: 'a.png', conversations: [{ from: 'human', value: '<image>\nSegment it.' }, { from: 'gpt', value: 'Sure. Info: [SEG].' }], masks: ['m.png'] };
  const cases: [unknown, RegExp][] = [
    [{ ...good, conversations: [{ from: 'gpt', value: 'x' }, { from: 'human', value: 'y' }] }, /m\.jsonl:2: "conversations\[0\]\.from" must be "human"/],
    [{ ...good, masks: ['m.png', 'n.png'] }, /m\.jsonl:2: "masks" must be one mask per \[SEG\] in the answers \(1\), got "2 masks"/],
    [{ ...good, masks: [{ size: [2], counts: [1] }] }, /"masks\[0\]\.size" must be two positive integers/],
    [{ ...good, boxes: [[5, 5, 1, 1]] }, /"boxes\[0\]" must be pixel \[x0, y0, x1, y1\] with x0 <= x1/],
    [{ conversations: good.conversations, masks: ['m.png'] }, /"image" must be present when masks or boxes are given/],
    [{ ...good, boxes: [[1, 1, 2, 2], [1, 1, 3, 3]] }, /"boxes" must be one box per \[LOC\] in the answers \(0\), or one per \[SEG\] \(1\) as rec ground truth, got "2 boxes"/],
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
  // Without [LOC], one box per [SEG] is accepted: rec ground truth for the evaluation.
  await writeFile(join(dir, 'rec.jsonl'), JSON.stringify({ ...good, task: 'rec', boxes: [[1, 1, 2, 2]] }) + '\n');
  assert.equal((await readManifest(join(dir, 'rec.jsonl')))[0].boxes, [[1, 1, 2, 2]]);
  const [s] = await readManifest(join(dir, 'ok.jsonl'));
  assert.equal([s.image, s.masks], [join(dir, 'a.png'), [{ png: join(dir, 'm.png') }]]);
});


const v1 = {
  res: { task: 'res', image: 'a.png', targets: [{ sentences: ['the red box', 'left one'], category: 'Square', mask: { size: [2, 3], counts: [1, 2, 3] }, box: [0, 0, 1, 1] }] },
  semantic: { task: 'semantic', image: 'a.png', targets: [{ category: 'wall', mask: { label_png: 'l.png', class_id: 3 } }, { category: 'sky', mask: { size: [2, 3], polygons: [[0, 0, 2, 0, 2, 1]] } }] },
  salient: { task: 'salient', image: 'a.png', targets: [{ category: 'dog', mask: 'm.png', reason: 'It is in focus.' }] },
  rec: { task: 'rec', image: 'a.png', targets: [{ sentences: ['the cat'], category: 'cat', box: [1, 2, 3, 4] }] },
  video: { task: 'video', video: { frames: ['f0.png', 'f1.png'] }, conversations: [{ from: 'human', value: '<video>\nWhat happens?' }, { from: 'gpt', value: 'A dog runs.' }] },
};

test('v1 lines: targets, label maps, polygons, videos are read with paths resolved against the manifest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-manifest-v1-'));
  const p = join(dir, 'v1.jsonl');
  await writeFile(p, Object.values(v1).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const rs = await readManifest(p);
  assert.equal(rs.map((r) => r.task), ['res', 'semantic', 'salient', 'rec', 'video']);
  assert.equal(rs[0].targets![0], { sentences: ['the red box', 'left one'], category: 'Square', mask: { rle: { size: [2, 3], counts: [1, 2, 3] } }, box: [0, 0, 1, 1], reason: null });
  assert.equal(rs[1].targets![0].mask, { labelPng: join(dir, 'l.png'), classId: 3 });
  assert.equal(rs[1].targets![1].mask, { polygons: { size: [2, 3], polygons: [[0, 0, 2, 0, 2, 1]] } });
  assert.equal(rs[2].targets![0].reason, 'It is in focus.');
  assert.equal(rs[4].video, { frames: [join(dir, 'f0.png'), join(dir, 'f1.png')] });
  assert.equal([rs[4].image, rs[4].conversations!.length, rs[0].conversations], [null, 2, null]);
  assert.equal([rs[0].line, rs[0].where], [1, `${p}:1`]);
});

test('the validator reports every problem of every line, with a summary per task', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-manifest-bad-'));
  const p = join(dir, 'bad.jsonl');
  const lines = [
    v1.res,                                                                                    // 1 ok
    { ...v1.res, targets: [{ category: '', mask: { size: [2, 3], counts: [1, 2] }, box: [3, 0, 1, 1] }] }, // 2: three problems
    { ...v1.semantic, targets: [{ category: 'wall', mask: { label_png: 'l.png', class_id: 255 } }] },     // 3
    { ...v1.semantic, targets: [{ category: 'sky', mask: { size: [2, 3], polygons: [[0, 0, 2]] } }] },    // 4
    { task: 'res', targets: v1.res.targets },                                                   // 5: no image
    { image: 'a.png', targets: v1.rec.targets },                                                // 6: no task
    { ...v1.rec, targets: [{ sentences: ['x'], category: 'cat' }] },                             // 7: neither mask nor box
    { ...v1.salient, targets: [{ category: 'dog', box: [0, 0, 1, 1] }] },                        // 8: salient needs a mask
    { task: 'video', image: 'a.png', video: 'v.mp4', conversations: v1.video.conversations },    // 9: both media
    { task: 'caption', image: 'a.png', conversations: v1.video.conversations, targets: v1.res.targets }, // 10: both
    { task: 'segment', image: 'a.png', conversations: v1.video.conversations },                 // 11: unknown task
    { task: 'vqa', conversations: [{ from: 'human', value: '<image>\nWhat?' }, { from: 'gpt', value: 'A.' }, { from: 'human', value: '<image> And?' }, { from: 'gpt', value: 'B.' }] }, // 12
  ];
  await writeFile(p, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"image": \n');
  const r = await validateManifest(p);
  const msgs = r.issues.map((i) => `${i.line} ${i.field}`);
  assert.equal(msgs, [
    '2 targets[0].sentences', '2 targets[0].category', '2 targets[0].mask.counts', '2 targets[0].box',
    '3 targets[0].mask.class_id',
    '4 targets[0].mask.polygons[0]',
    '5 image',
    '6 task',
    '7 targets[0]',
    '8 targets[0].mask',
    '9 video',
    '10 targets',
    '11 task', '11 conversations[0].value',
    '12 conversations[0].value', '12 conversations[2].value',
    '13 (line)',
  ]);
  const text = r.issues.map((i) => i.message).join('\n');
  assert.match(text, /must be an integer class id in 0\.\.254 \(255 is the ignore label\), got 255/);
  assert.match(text, /cover 3 pixels, but the size says 2 x 3 = 6/);
  assert.match(text, /holds "<video>" but the line has no "video"/);
  assert.match(text, /holds "<image>": the image goes in the first human turn only/);
  assert.match(text, /must be at least 3 points as \[x, y, x, y, \.\.\.\]/);
  assert.equal(r.records.length, 1);
  assert.equal(r.perTask, { res: { valid: 1, invalid: 2 }, semantic: { invalid: 2, valid: 0 }, unknown: { valid: 0, invalid: 3 }, vqa: { valid: 0, invalid: 1 }, rec: { valid: 0, invalid: 1 }, salient: { valid: 0, invalid: 1 }, video: { valid: 0, invalid: 1 }, caption: { valid: 0, invalid: 1 } });
  assert.match(formatSummary(r), /^task +valid +invalid\nres +1 +2\nrec +0 +1\nsemantic +0 +2\nsalient +0 +1\ncaption +0 +1\nvqa +0 +1\nvideo +0 +1\nunknown +0 +3$/);
  // readManifest throws with all of them, each naming the file and the line.
  await assertRejects(() => readManifest(p), /bad\.jsonl: 17 problems on 12 of 13 lines:\n.*bad\.jsonl:2: "targets\[0\]\.sentences" must be present for a "res" target[\s\S]*bad\.jsonl:13: not valid JSON/);
});

test('the media check decodes the image and every mask, naming the line, field and path of a bad one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-manifest-media-'));
  await writeImage(join(dir, 'a.png'), 3, 2);
  await writeFile(join(dir, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really'));
  const p = join(dir, 'm.jsonl');
  await writeFile(p, [
    v1.res,
    { ...v1.res, image: 'missing.png' },
    { ...v1.res, targets: [{ ...v1.res.targets[0], mask: { size: [3, 3], counts: [9] } }] },
    { ...v1.salient, targets: [{ category: 'dog', mask: 'broken.png' }] },
  ].map((l) => JSON.stringify(l)).join('\n'));
  const rs = await readManifest(p);
  await checkRecordMedia(rs[0]);
  await assertRejects(() => checkRecordMedia(rs[1]), /m\.jsonl:2: "image": .*missing\.png/);
  await assertRejects(() => checkRecordMedia(rs[2]), /m\.jsonl:3: "targets\[0\]\.mask" is 3x3 but the image is 3x2/);
  await assertRejects(() => checkRecordMedia(rs[3]), /m\.jsonl:4: "targets\[0\]\.mask": .*broken\.png/);
});
