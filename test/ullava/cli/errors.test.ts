import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, root, squarePng, describe } from './helpers.js';

test('ullava segment/ground/chat/caption: usage errors exit 2 with the usage', async () => {
  const img = await squarePng();
  const cases: [string[], RegExp][] = [
    [['segment', '--image', img], /--prompt TEXT is required/],
    [['ground', '--prompt', 'x'], /--image F is required/],
    [['segment', '--image', img, '--prompt', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['chat', '--image', img, '--video', 'v.mp4'], /--image and --video cannot be used together/],
    [['caption'], /--video F is required/],
    [['segment', '--image', img, '--prompt', 'x', '--max-new-tokens', 'many'], /--max-new-tokens must be an integer/],
    [['chat', '--top-p', '1.5'], /top-p must be in \(0, 1\]/],
    [['segment', '--image', img, '--prompt', 'x', '--dtype', 'int4'], /--dtype must be bf16, f16 or f32/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${describe(r)}`);
    assert.ok(pattern.test(r.stderr) && new RegExp(`usage: ullava ${args[0]}`).test(r.stderr), `${args.join(' ')}: ${r.stderr}`);
  }
});

test('ullava segment: a missing image, a directory without config.json and a model that does not fit exit 1 with a plain message', async () => {
  const img = await squarePng();
  const noStack = (s: string) => !/\n\s+at /.test(s);
  const a = run(['segment', '--image', join(root, 'nope.png'), '--prompt', 'x']);
  assert.equal(a.status, 1, describe(a));
  assert.ok(/nope\.png: no such file/.test(a.stderr) && noStack(a.stderr), a.stderr);

  const empty = join(root, 'not-a-model');
  mkdirSync(empty, { recursive: true });
  const b = run(['segment', '--image', img, '--prompt', 'x', '--model', empty]);
  assert.equal(b.status, 1, describe(b));
  assert.ok(/no config\.json there/.test(b.stderr) && noStack(b.stderr), b.stderr);

  const c = run(['segment', '--image', img, '--prompt', 'x', '--quiet'], { env: { ULLAVA_MEMORY_GB: '0.001' } });
  assert.equal(c.status, 1, describe(c));
  assert.ok(/u-LLaVA needs .* GiB .*more than the .* GiB available/.test(c.stderr) && noStack(c.stderr), c.stderr);
  assert.ok(!/loading weights/.test(c.stderr), 'refused before loading');
});
