// test/ullava/data/convert/tgif.test.ts: TGIF (ullava/data/convert/tgif.ts): the published TSV with GIFs
// made by the bundled ffmpeg, u-LLaVA's JSON, and --probe on a damaged GIF.
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import { convertTgif, TGIF_PROMPT } from '../../../../ullava/data/convert/tgif.js';
import { loadVideoFrames } from '../../../../ullava/media/load-video.js';
import { ffmpegEncode, indexFrame } from '../../media/helpers.js';
import { tempDir, put, readJsonl } from './fixtures.js';

test('TGIF-v1.0.tsv: one video record per line, GIFs by URL name; --probe reads them with ffmpeg', async () => {
  const root = await tempDir('tgif');
  await put(join(root, 'gifs/.keep'), '');
  ffmpegEncode([0, 1, 2, 3].map((i) => indexFrame(i)), join(root, 'gifs/tumblr_abc123.gif'), []);
  await put(join(root, 'TGIF-v1.0.tsv'),
    'https://38.media.tumblr.com/tumblr_abc123.gif\ta man is dancing on a stage\n' +
    'https://38.media.tumblr.com/tumblr_abc123.gif\tsomeone dances\n');
  const out = join(root, 'tgif.jsonl');
  await convertTgif({ root, out, probe: true });
  const recs = await readJsonl(out);
  assert.equal(recs, [
    { id: 'tgif-tumblr_abc123', source: 'tgif', task: 'video', video: 'gifs/tumblr_abc123.gif', conversations: [{ from: 'human', value: TGIF_PROMPT }, { from: 'gpt', value: 'a man is dancing on a stage' }] },
    { id: 'tgif-tumblr_abc123#1', source: 'tgif', task: 'video', video: 'gifs/tumblr_abc123.gif', conversations: [{ from: 'human', value: TGIF_PROMPT }, { from: 'gpt', value: 'someone dances' }] },
  ]);
  // the loader decodes what the manifest points at
  const v = await loadVideoFrames(join(root, recs[0].video), { frames: 2 });
  assert.is(v.totalFrames, 4, 'the GIF\'s 4 frames');
  assert.is(v.frames.length, 2);
});

test('u-LLaVA TGIF JSON: gif + conversations kept; a damaged GIF is named with its item under --probe', async () => {
  const root = await tempDir('tgif-json');
  await put(join(root, 'gifs/x.gif'), new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0]));
  const conv = [{ from: 'human', value: '<video>\nWhat happens?' }, { from: 'gpt', value: 'a cat jumps' }];
  await put(join(root, 'tgif.json'), JSON.stringify([{ gif: 'gifs/x.gif', conversations: conv }]));
  const out = join(root, 'o.jsonl');
  await convertTgif({ root, out, annotations: join(root, 'tgif.json') });
  assert.equal((await readJsonl(out))[0], { id: 'tgif-x', source: 'tgif', task: 'video', video: 'gifs/x.gif', conversations: conv });
  await assertRejects(() => convertTgif({ root, out, annotations: join(root, 'tgif.json'), probe: true }), /tgif\.json: item 0: .*x\.gif/);
  await writeFile(join(root, 'TGIF-v1.0.tsv'), 'https://x.tumblr.com/tumblr_missing.gif\tnothing\n');
  await assertRejects(() => convertTgif({ root, out }), /TGIF-v1\.0\.tsv:1: the GIF of https:\/\/x\.tumblr\.com\/tumblr_missing\.gif is not in .*gifs/);
});
