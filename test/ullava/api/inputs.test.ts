// The keys that decide whether the API re-encodes an image: they follow the content, not the object.
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { readImage, readVideo } from '../../../ullava/api/inputs.js';
import { encodeRgbPng, type RgbImage } from '../../../ullava/media/index.js';

const img = (v: number): RgbImage => ({ width: 4, height: 3, data: new Uint8Array(36).fill(v) });

test('readImage: equal pixels share a key whatever the object or encoding; a changed pixel or a rewritten file does not', async () => {
  const a = await readImage(img(10), 'x'), b = await readImage(img(10), 'x');
  assert.equal(a.key, b.key, 'two objects with the same pixels');
  const png = await readImage(encodeRgbPng(img(10)), 'x');
  assert.equal(png.key, a.key, 'PNG bytes of the same pixels');
  assert.equal([...png.value.data], [...img(10).data]);
  const changed = img(10);
  changed.data[35] = 11;
  assert.ok((await readImage(changed, 'x')).key !== a.key, 'one pixel changed');
  assert.ok((await readImage({ width: 6, height: 2, data: img(10).data }, 'x')).key !== a.key, 'same bytes, other size');

  const dir = mkdtempSync(join(tmpdir(), 'ullava-inputs-'));
  try {
    const file = join(dir, 'a.png');
    writeFileSync(file, encodeRgbPng(img(10)));
    utimesSync(file, 1000, 1000);
    const f1 = await readImage(file, 'x'), f2 = await readImage(file, 'x');
    assert.equal(f1.key, f2.key, 'the same file twice');
    writeFileSync(file, encodeRgbPng(img(20)));
    utimesSync(file, 2000, 2000);
    const f3 = await readImage(file, 'x');
    assert.ok(f3.key !== f1.key, 'the file rewritten');
    assert.equal(f3.value.data[0], 20);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('readVideo: frames are content-keyed; the frame count is part of the key', async () => {
  const v1 = await readVideo([img(1), img(2)], 8, 'x'), v2 = await readVideo([img(1), img(2)], 8, 'x');
  assert.equal(v1.key, v2.key);
  assert.ok((await readVideo([img(2), img(1)], 8, 'x')).key !== v1.key, 'frame order matters');
  let msg = '';
  try { await readVideo('clip.mp4', 0, 'caption: video'); } catch (e) { msg = (e as Error).message; }
  assert.equal(msg, 'caption: video: frames must be a positive integer, got 0');
});
