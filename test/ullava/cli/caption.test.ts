import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { join } from 'node:path';
import { run, root, describe, squareImage, randomModel } from './helpers.js';
import { ffmpegEncode, videoArgs } from '../media/helpers.js';

test('ullava caption describes a short video (8 frames sampled uniformly), streamed or as JSON', async () => {
  const model = await randomModel();
  const frames = Array.from({ length: 12 }, (_, i) => {
    const f = squareImage(32, 24);
    for (let p = 0; p < f.data.length; p += 3) f.data[p + 1] = (f.data[p + 1] + 20 * i) % 256;
    return f;
  });
  const { ext, args } = videoArgs();
  const video = join(root, `clip.${ext}`);
  ffmpegEncode(frames, video, args);
  const r = run(['caption', '--model', model, '--video', video, '--max-new-tokens', '3', '--json', '--quiet']);
  assert.equal(r.status, 0, describe(r));
  const j = JSON.parse(r.stdout);
  assert.equal(j.prompt, 'Describe the video in detail.');
  assert.equal(j.frames.total, 12);
  assert.equal(j.frames.indices.length, 8);
  assert.equal(j.timings.tokens, 3);
  const s = run(['caption', '--model', model, '--video', video, '--max-new-tokens', '3', '--frames', '4', '--prompt', 'What happens?', '--quiet']);
  assert.equal(s.status, 0, describe(s));
  assert.ok(s.stdout.endsWith('\n') && s.stdout.trim().length > 0, JSON.stringify(s.stdout));
});
