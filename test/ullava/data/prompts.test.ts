// test/ullava/data/prompts.test.ts: the official prompt pools and answers, and targets -> conversations
// (ullava/data/prompts.ts) drawn reproducibly from a seeded stream.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import {
  SEG_PROMPTS, SS_PROMPTS, materialize, segAnswer, explanationSuffix, fillTemplate, drawWithoutReplacement,
} from '../../../ullava/data/prompts.js';
import { splitmix32 } from '../../../ullava/data/rng.js';
import type { ManifestRecord, ManifestTarget } from '../../../ullava/data/manifest-types.js';

const rle = (k: number) => ({ rle: { size: [2, 2] as [number, number], counts: [k, 4 - k] } });
const target = (o: Partial<ManifestTarget>): ManifestTarget => ({ sentences: null, category: 'Square', mask: rle(1), box: null, reason: null, ...o });
function rec(task: ManifestRecord['task'], targets: ManifestTarget[]): ManifestRecord {
  return { where: 'm.jsonl:7', line: 7, task, id: null, source: null, split: null, image: '/x/a.png', video: null, conversations: null, masks: [], boxes: [], targets, objects: [] };
}

test('the pools are the official SEG.json (9) and SS.json (8) templates, each asking about <image>', () => {
  assert.is(SEG_PROMPTS.length, 9);
  assert.is(SS_PROMPTS.length, 8);
  assert.ok(SEG_PROMPTS.every((t) => t.startsWith('<image> ') && t.includes('<class>')));
  assert.ok(SS_PROMPTS.every((t) => t.startsWith('<image> ') && !t.includes('<class>')));
  assert.is(SEG_PROMPTS[8], '<image> Where is <class>?');
  assert.is(SS_PROMPTS[1], '<image> Segment the main part in this image. Then give the reason');
  assert.is(segAnswer('Square', 'published'), 'Sure. Info: [SEG]; [tag]square[/tag].');
  assert.is(segAnswer('Big Dog', 'loc'), 'Sure. Mask: [SEG]; Location: [LOC]; [tag]big dog[/tag].');
  assert.is(explanationSuffix('It Is Bright.'), ' Explanation: it is bright.');
  // Later rounds drop "<image>" and keep the space after it, as the official build_sample does.
  assert.is(fillTemplate(SEG_PROMPTS[4], 'the cat', 0), '<image> Find the the cat in the picture.');
  assert.is(fillTemplate(SEG_PROMPTS[4], 'the cat', 1), ' Find the the cat in the picture.');
});

test('res: up to 3 distinct expressions, one round each, the same mask, reproducible by seed', () => {
  const r = rec('res', [target({ sentences: ['a', 'b', 'c', 'd', 'e'] })]);
  const m = materialize(r, splitmix32(5));
  assert.is(m.conversations.length, 6);
  const questions = m.conversations.filter((_, i) => i % 2 === 0).map((t) => t.value);
  const used = questions.map((q, k) => {
    const t = SEG_PROMPTS.find((p) => ['a', 'b', 'c', 'd', 'e'].some((s) => fillTemplate(p, s, k) === q));
    assert.ok(t, `round ${k}'s question "${q}" is a pool template filled with an expression`);
    return ['a', 'b', 'c', 'd', 'e'].find((s) => fillTemplate(t!, s, k) === q);
  });
  assert.is(new Set(used).size, 3, 'three different expressions');
  assert.ok(questions[0].startsWith('<image> ') && !questions[1].includes('<image>') && questions[1].startsWith(' '));
  assert.ok(m.conversations.filter((_, i) => i % 2 === 1).every((t) => t.value === 'Sure. Info: [SEG]; [tag]square[/tag].'));
  assert.equal(m.masks, [rle(1), rle(1), rle(1)]);
  assert.equal(m.maskFields, ['targets[0].mask', 'targets[0].mask', 'targets[0].mask']);
  assert.equal(m.boxes, []);
  assert.equal(materialize(r, splitmix32(5)), m, 'same seed, same conversation');
  const variants = new Set(Array.from({ length: 20 }, (_, s) => JSON.stringify(materialize(r, splitmix32(100 + s)).conversations)));
  assert.ok(variants.size > 10, `seeds give different draws (${variants.size} of 20)`);
  assert.is(materialize(rec('res', [target({ sentences: ['only'] })]), splitmix32(1)).conversations.length, 2, 'one expression, one round');
});

test('semantic: up to 3 classes, lower-cased in the question, each round with its own mask', () => {
  const ts = ['Wall', 'Sky', 'Floor', 'Tree', 'Road'].map((c, i) => target({ category: c, mask: rle(i % 4) }));
  const m = materialize(rec('semantic', ts), splitmix32(9));
  assert.is(m.conversations.length, 6);
  m.maskFields.forEach((f, k) => {
    const j = Number(/targets\[(\d)\]/.exec(f)![1]);
    assert.equal(m.masks[k], ts[j].mask);
    assert.ok(m.conversations[2 * k].value.includes(ts[j].category.toLowerCase()), 'the question names the class');
    assert.is(m.conversations[2 * k + 1].value, `Sure. Info: [SEG]; [tag]${ts[j].category.toLowerCase()}[/tag].`);
  });
  assert.is(new Set(m.maskFields).size, 3);
});

test('salient: one round from the SS pool, the explanation appended; loc style adds [LOC] with the box', () => {
  const m = materialize(rec('salient', [target({ category: 'Dog', reason: 'It Is Sharp.' })]), splitmix32(3));
  assert.is(m.conversations.length, 2);
  assert.ok(SS_PROMPTS.includes(m.conversations[0].value));
  assert.is(m.conversations[1].value, 'Sure. Info: [SEG]; [tag]dog[/tag]. Explanation: it is sharp.');
  const l = materialize(rec('salient', [target({ category: 'Dog', reason: 'r', box: [1, 2, 3, 4] })]), splitmix32(3), 'loc');
  assert.is(l.conversations[1].value, 'Sure. Mask: [SEG]; Location: [LOC]; [tag]dog[/tag]. Explanation: r');
  assert.equal(l.boxes, [[1, 2, 3, 4]]);
  // No box: the collator takes the mask's (null here).
  assert.equal(materialize(rec('semantic', [target({})]), splitmix32(1), 'loc').boxes, [null]);
});

test('rec: a box-only target answers with [LOC] alone, and is refused by the published format', () => {
  const r = rec('rec', [target({ sentences: ['the cat'], category: 'cat', mask: null, box: [0, 0, 5, 5] })]);
  const m = materialize(r, splitmix32(1), 'loc');
  assert.is(m.conversations[1].value, 'Sure. Location: [LOC]; [tag]cat[/tag].');
  assert.equal([m.masks, m.boxes], [[], [[0, 0, 5, 5]]]);
  assert.throws(() => materialize(r, splitmix32(1), 'published'), /m\.jsonl:7: "targets": a target with a box and no mask cannot be trained with the published answer format/);
});

test('drawing without replacement gives k distinct items, each item about equally often', () => {
  const rng = splitmix32(11), seen = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) {
    const d = drawWithoutReplacement([0, 1, 2, 3, 4], 3, rng);
    assert.is(new Set(d).size, 3);
    for (const x of d) seen[x]++;
  }
  assert.ok(seen.every((c) => Math.abs(c - 3000) < 200), `counts ${seen}`);
});
