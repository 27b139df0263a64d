import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng } from '../../../ullava/media/index.js';
import { run, root, squarePng, describe, randomModel } from './helpers.js';
import { writeTinyUllava } from '../../../ullava/models/ullava/tiny.js';

test('ullava segment --force-seg without --model (the built-in shapes model) writes a 0/255 mask at the image size, an overlay and a JSON with one mask and its box', async () => {
  const img = await squarePng();
  const out = join(root, 'seg-out');
  const r = run(['segment', '--image', img, '--prompt', 'the red square', '--force-seg', '--out', out, '--max-new-tokens', '4', '--json']);
  assert.equal(r.status, 0, describe(r));
  assert.ok(/no --model given: using the built-in shapes-world model \(models\/shapes/.test(r.stderr), `no default-model notice:\n${r.stderr}`);
  const printed = JSON.parse(r.stdout);
  const saved = JSON.parse(readFileSync(join(out, 'square.json'), 'utf8'));
  assert.equal(printed, saved, '--json prints the saved JSON');
  assert.equal(saved.prompt, 'the red square');
  assert.equal(saved.question, 'Output the segmentation mask of the red square in the image.');
  assert.ok(saved.answer.startsWith('Sure. Info:') && saved.answer.includes('[SEG]'), saved.answer);
  assert.equal(saved.masks.length, 1);
  assert.equal(saved.boxSource, 'mask');
  const m = saved.masks[0];
  assert.equal(m.file, join(out, 'square_mask_0.png'));
  const mask = decodePng(readFileSync(m.file), m.file, 1e6);
  assert.equal([mask.width, mask.height], [40, 30]);
  let area = 0;
  for (let i = 0; i < mask.data.length; i += 3) {
    assert.ok(mask.data[i] === 0 || mask.data[i] === 255, `mask value ${mask.data[i]}`);
    if (mask.data[i] === 255) area++;
  }
  assert.equal(m.area, area, 'area = mask pixels');
  if (area > 0) {
    assert.ok(Array.isArray(m.box) && m.box.length === 4 && m.box[0] >= 0 && m.box[2] <= 39 && m.box[3] <= 29, JSON.stringify(m.box));
  } else assert.equal(m.box, null);
  assert.equal(saved.boxes, [m.box]);
  assert.ok(existsSync(join(out, 'square_overlay.png')));
  assert.ok(saved.timings.answerMs > 0 && saved.timings.tokens >= 4, JSON.stringify(saved.timings));
});

test('ullava segment without [SEG] in the answer says so, exits 0 and writes masks: []', async () => {
  const img = await squarePng();
  const out = join(root, 'seg-none');
  // The random test model's greedy answer to this prompt has no [SEG] (it would need to pick 1 of 32010 tokens).
  const r = run(['segment', '--model', await randomModel(), '--image', img, '--prompt', 'the red square', '--out', out, '--max-new-tokens', '3']);
  assert.equal(r.status, 0, describe(r));
  assert.ok(/no mask: the answer has no \[SEG\]/.test(r.stdout) && /--force-seg/.test(r.stdout), r.stdout);
  const saved = JSON.parse(readFileSync(join(out, 'square.json'), 'utf8'));
  assert.equal(saved.masks, []);
  assert.ok(!existsSync(join(out, 'square_mask_0.png')));
});

test('ullava ground prints pixel boxes (from the mask on the published layout), draws them and saves JSON', async () => {
  const img = await squarePng();
  const out = join(root, 'ground-out');
  const r = run(['ground', '--model', await randomModel(), '--image', img, '--prompt', 'red square', '--force-seg', '--out', out, '--max-new-tokens', '2', '--quiet']);
  assert.equal(r.status, 0, describe(r));
  assert.ok(/from the masks/.test(r.stdout), r.stdout);
  const line = /box 0: (\[[^\]]*\]|\(none: empty mask\))/.exec(r.stdout);
  assert.ok(line, r.stdout);
  const saved = JSON.parse(readFileSync(join(out, 'square_ground.json'), 'utf8'));
  assert.equal(saved.boxSource, 'mask');
  assert.equal(saved.boxes.length, 1);
  if (saved.boxes[0]) assert.equal(line[1], `[${saved.boxes[0].join(', ')}]`);
  assert.ok(existsSync(join(out, 'square_ground.png')));
  assert.equal(r.stderr.includes('loading weights'), false, '--quiet hides the progress bar');
});

test('ullava ground on a checkpoint with the [LOC] decoder: boxes from the decoder, mask boxes from the masks', async () => {
  const img = await squarePng();
  const model = await writeTinyUllava(join(root, 'tiny-head'), { layout: 'head' });
  const out = join(root, 'ground-head');
  const r = run(['ground', '--model', model, '--image', img, '--prompt', 'red square', '--force-seg', '--out', out, '--max-new-tokens', '2', '--json', '--quiet']);
  assert.equal(r.status, 0, describe(r));
  const j = JSON.parse(r.stdout);
  assert.ok(j.answer.startsWith('Sure. Mask:') && j.answer.includes('[LOC]'), j.answer);
  assert.equal(j.boxSource, 'loc-decoder');
  assert.equal([j.boxes.length, j.masks.length], [1, 1]);
  assert.ok(j.boxes[0].every(Number.isFinite), JSON.stringify(j.boxes));
  assert.ok(/from the \[LOC\] decoder/.test(r.stderr), r.stderr);
});
