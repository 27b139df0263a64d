// test/ullava/data/shapes/generate.test.ts: the shapes-world generator (ullava/data/shapes): determinism
// by seed, exact masks and boxes against the painted pixels, expressions that pick out one shape, the
// split seed ranges, and manifests the training reader (manifest v0) accepts.
import * as assert from 'uvu/assert';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../../../harness/test.js';
import { encodeMask } from '../../../../ullava/data/coco/rle.js';
import { masksToBoxes } from '../../../../ullava/media/boxes.js';
import { generateSample, generateShapes, SPLITS, checkSeedRange, renderDemo, DEMO_TARGET, maskOf, boxOf, TASKS } from '../../../../ullava/data/shapes/index.js';
import { rngFor } from '../../../../ullava/data/shapes/random.js';
import { sampleScene } from '../../../../ullava/data/shapes/sample-scene.js';
import { expressionsFor } from '../../../../ullava/data/shapes/referring.js';
import { COLOURS } from '../../../../ullava/data/shapes/vocabulary.js';
import { decodeRle, readManifest } from '../../../../ullava/train/sample.js';
import { loadImage } from '../../../../ullava/media/index.js';

const opts = { width: 64, height: 64, tasks: TASKS, split: 'train' };

test('a sample is a pure function of its seed: the same record and pixels twice, different ones for another seed', () => {
  for (const seed of [0, 7, 123456, 1_100_000_003]) {
    const a = generateSample(seed, opts), b = generateSample(seed, opts);
    assert.equal(JSON.stringify(a.record), JSON.stringify(b.record), `record of seed ${seed}`);
    assert.equal(a.pictures.map((p) => Array.from(p.image.data)), b.pictures.map((p) => Array.from(p.image.data)), `pixels of seed ${seed}`);
  }
  const x = generateSample(1, opts), y = generateSample(2, opts);
  assert.not.equal(Array.from(x.pictures[0].image.data), Array.from(y.pictures[0].image.data));
});

test('masks are exactly the pixels painted in the shape\'s colour where it is on top; boxes are their extent; RLE round-trips', () => {
  let checked = 0;
  for (let seed = 0; seed < 40; seed++) {
    const rs = sampleScene(rngFor(seed, 9), 64, 64);
    rs.scene.shapes.forEach((s, i) => {
      const m = maskOf(rs.rendered, i), rgb = COLOURS[s.colour];
      for (let p = 0; p < m.length; p++) {
        const painted = rs.rendered.image.data[3 * p] === rgb[0] && rs.rendered.image.data[3 * p + 1] === rgb[1] && rs.rendered.image.data[3 * p + 2] === rgb[2];
        if (m[p]) assert.ok(painted, `seed ${seed} shape ${i}: a mask pixel not painted ${s.colour}`);
      }
      const box = boxOf(m, 64)!;
      let minX = 64, minY = 64, maxX = -1, maxY = -1;
      m.forEach((v, p) => { if (v) { const x = p % 64, y = Math.floor(p / 64); minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); } });
      assert.equal(box, [minX, minY, maxX + 1, maxY + 1]);
      assert.equal(Array.from(decodeRle(encodeMask(m, 64, 64))), Array.from(m), 'RLE round trip');
      checked++;
    });
  }
  assert.ok(checked > 80, `${checked} shapes checked`);
});

test('every referring expression names a shape of the scene and no two shapes share an expression', () => {
  for (let seed = 0; seed < 60; seed++) {
    const rs = sampleScene(rngFor(seed, 11), 64, 64);
    const all = rs.scene.shapes.flatMap((_, i) => expressionsFor(rs.scene, i));
    const owners = new Map<string, number>();
    for (const e of all) {
      const prev = owners.get(e.text);
      assert.ok(prev === undefined || prev === e.target, `seed ${seed}: "${e.text}" names shapes ${prev} and ${e.target}`);
      owners.set(e.text, e.target);
      const t = rs.scene.shapes[e.target];
      if (e.type === 'simple') assert.ok(e.text.includes(t.kind) || e.text.includes(t.colour), e.text);
    }
  }
  // A hand-made scene: two squares, the red one left of the blue one, and a green star.
  const scene = { width: 64, height: 64, background: { pattern: 'plain' as const, tone: [200, 200, 200] as const, contrast: 0, period: 4 },
    shapes: [{ kind: 'square' as const, colour: 'red' as const, size: 'small' as const, cx: 12, cy: 30, r: 6 },
      { kind: 'square' as const, colour: 'blue' as const, size: 'large' as const, cx: 45, cy: 30, r: 12 },
      { kind: 'star' as const, colour: 'green' as const, size: 'medium' as const, cx: 30, cy: 55, r: 8 }] };
  const texts = (i: number) => expressionsFor(scene, i).map((e) => e.text);
  assert.ok(texts(0).includes('the red square') && texts(0).includes('the small square') && texts(0).includes('the smallest square'));
  assert.ok(texts(1).includes('the largest square') && texts(1).includes('the square right of the red square'));
  assert.ok(!texts(0).includes('the square'), 'two squares: "the square" is ambiguous');
  assert.ok(texts(2).includes('the star') && texts(2).includes('the green shape'));
});

test('the splits own disjoint seed ranges and a run outside its split is refused', () => {
  assert.ok(SPLITS.train[1] <= SPLITS.val[0] && SPLITS.val[1] <= SPLITS.test[0]);
  assert.throws(() => checkSeedRange('train', SPLITS.test[0], 10), /not inside the train split's range/);
  assert.throws(() => checkSeedRange('test', 5, 10), /give --seed between 1100000000/);
  checkSeedRange('test', SPLITS.test[0], 10);
});

test('a generated manifest has every task, "task" on every line, and the training reader (v0) accepts it with one mask per [SEG]', async () => {
  const out = await mkdtemp(join(tmpdir(), 'ullava-shapes-'));
  const r = await generateShapes({ out, n: 60, seed: 1000, split: 'train' });
  assert.equal(r.samples, 60);
  for (const t of TASKS) assert.ok((r.byTask[t] ?? 0) > 0, `task ${t} present: ${JSON.stringify(r.byTask)}`);
  const lines = (await readFile(r.manifest, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => TASKS.includes(l.task) && l.source === 'shapes' && l.split === 'train'));
  const samples = await readManifest(r.manifest);
  assert.equal(samples.length, 60);
  const res = lines.find((l) => l.task === 'res');
  const segs = res.conversations.filter((c: { from: string }) => c.from === 'gpt').length;
  assert.equal(res.masks.length, segs);
  assert.match(res.conversations[1].value, /^Sure\. Info: \[SEG\]; \[tag\](square|circle|triangle|star|hexagon|diamond)\[\/tag\]\.$/);
  const img = await loadImage(join(out, res.image));
  assert.equal([img.width, img.height], [64, 64]);
  // rec lines carry one ground-truth box per [SEG]: the mask's inclusive box, as the evaluation scores it.
  const rec = lines.find((l) => l.task === 'rec');
  assert.equal(rec.boxes.length, rec.masks.length);
  rec.masks.forEach((m: { size: [number, number]; counts: number[] }, i: number) => {
    assert.equal(rec.boxes[i], masksToBoxes(decodeRle(m), m.size[1], m.size[0]), `rec box ${i}`);
  });
  const video = lines.find((l) => l.task === 'video');
  assert.equal(video.video.frames.length, 8);
  assert.match(video.conversations[0].value, /^<video>\n/);
});

test('the demo scene: a red square whose mask is the red pixels of the picture', () => {
  const r = renderDemo();
  const m = maskOf(r, DEMO_TARGET);
  let red = 0, inMask = 0;
  for (let p = 0; p < m.length; p++) {
    const isRed = r.image.data[3 * p] === COLOURS.red[0] && r.image.data[3 * p + 1] === COLOURS.red[1] && r.image.data[3 * p + 2] === COLOURS.red[2];
    red += +isRed; inMask += m[p];
    assert.is(!!m[p], isRed, `pixel ${p}`);
  }
  assert.ok(inMask > 1000, `the red square covers ${inMask} pixels`);
});

test('video clips: 8 frames in which the named shape moves the stated way and the others stay still', async () => {
  const { sampleClip } = await import('../../../../ullava/data/shapes/sample-scene.js');
  for (let seed = 0; seed < 12; seed++) {
    const clip = sampleClip(rngFor(seed, 5), 64, 64);
    assert.equal(clip.frames.length, 8);
    const centroid = (f: number, i: number) => {
      const m = maskOf(clip.frames[f].rendered, i);
      let sx = 0, sy = 0, n = 0;
      m.forEach((v, p) => { if (v) { sx += p % 64; sy += Math.floor(p / 64); n++; } });
      return [sx / n, sy / n];
    };
    const [x0, y0] = centroid(0, clip.mover), [x7, y7] = centroid(7, clip.mover);
    const d = { left: x0 - x7, right: x7 - x0, up: y0 - y7, down: y7 - y0 }[clip.direction];
    assert.ok(d > 0.3 * 64, `seed ${seed}: the ${clip.direction} move covers ${d} px`);
    clip.frames[0].scene.shapes.forEach((_, i) => {
      if (i !== clip.mover) assert.equal(centroid(0, i), centroid(7, i), `seed ${seed}: shape ${i} stays`);
    });
  }
});

test('VQA answers on a hand-made scene: counts, colours, sizes, larger, left/right', async () => {
  const { vqaCandidates } = await import('../../../../ullava/data/shapes/vqa.js');
  const scene = { width: 64, height: 64, background: { pattern: 'plain' as const, tone: [200, 200, 200] as const, contrast: 0, period: 4 },
    shapes: [{ kind: 'square' as const, colour: 'red' as const, size: 'small' as const, cx: 12, cy: 30, r: 6 },
      { kind: 'circle' as const, colour: 'blue' as const, size: 'large' as const, cx: 45, cy: 30, r: 12 }] };
  const byType = new Map<string, { question: string; answer: string }[]>();
  for (let s = 0; s < 30; s++) for (const q of vqaCandidates(scene, rngFor(s, 3))) byType.set(q.type, [...(byType.get(q.type) ?? []), q]);
  assert.ok(byType.get('count')!.every((q) => q.answer === 'Two.'));
  for (const q of byType.get('colour')!) assert.is(q.answer, q.question.includes('square') ? 'Red.' : 'Blue.');
  // The answer names the shape as the question did ("the circle": the only circle).
  for (const q of byType.get('larger')!) assert.match(q.answer, /^The (blue )?circle\.$/);
  for (const q of byType.get('left_right')!) assert.is(q.answer, /^Is the (red )?square/.test(q.question) ? 'Left.' : 'Right.');
  for (const q of byType.get('count_kind')!) {
    const kind = /How many (\w+)s are/.exec(q.question)![1];
    assert.is(q.answer, kind === 'square' || kind === 'circle' ? 'One.' : 'Zero.', q.question);
  }
  for (const q of byType.get('exists')!) assert.is(q.answer, /red square|blue circle/.test(q.question) ? 'Yes.' : 'No.', q.question);
});
