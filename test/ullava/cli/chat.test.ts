import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run, root, squarePng, describe, randomModel } from './helpers.js';

test('ullava chat over a pipe: one answer line per question, history kept across turns and cleared by /reset', async () => {
  const img = await squarePng();
  const model = await randomModel();
  const input = 'What is this?\nWhat is this?\n/reset\nWhat is this?\n';
  const r = run(['chat', '--model', model, '--image', img, '--max-new-tokens', '4', '--json-lines', '--quiet'], { input });
  assert.equal(r.status, 0, describe(r));
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.turn ?? l.command), [1, 2, '/reset', 1]);
  // history = messages before the question: the second turn sees the first exchange, the one after /reset nothing.
  assert.equal(lines.map((l) => l.history ?? null), [0, 2, null, 0]);
  // Greedy: the same question on a fresh history gets the same answer.
  assert.equal(lines[3].answer, lines[0].answer);

  // Plain mode: the answers, each followed by a newline, on stdout only.
  const p = run(['chat', '--model', model, '--image', img, '--max-new-tokens', '4', '--quiet'], { input });
  assert.equal(p.status, 0, describe(p));
  const answers = p.stdout.split('\n');
  assert.equal(answers.length, 4, JSON.stringify(p.stdout));
  assert.equal([answers[0], answers[2], answers[3]], [lines[0].answer, lines[3].answer, '']);
  assert.equal(answers[1], lines[1].answer);
  assert.ok(/history cleared/.test(p.stderr), p.stderr);
});

test('ullava chat: /image switches images, masks of [SEG] answers are written to --out, errors go on and exit 1', async () => {
  const img = await squarePng();
  const out = join(root, 'chat-out');
  const input = `Hello\n/image ${join(root, 'missing.png')}\n/image ${img}\nSegment it.\n/quit\nnever asked\n`;
  const r = run(['chat', '--model', await randomModel(), '--max-new-tokens', '2', '--json-lines', '--quiet', '--out', out, '--answer-prefix', 'Sure. Info: [SEG]'], { input });
  assert.equal(r.status, 1, describe(r));
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4, r.stdout);
  assert.equal(lines[0].masks, [], 'no image, no mask');
  assert.ok(/missing\.png: no such file/.test(lines[1].error), JSON.stringify(lines[1]));
  assert.equal(lines[2].command, '/image');
  assert.equal([lines[3].turn, lines[3].history, lines[3].masks.length], [1, 0, 1]);
  assert.ok(existsSync(lines[3].masks[0].file) && existsSync(lines[3].overlay), JSON.stringify(lines[3]));
  assert.ok(/missing\.png: no such file/.test(r.stderr), r.stderr);
});
