// Decoding through ffmpeg: fixtures are generated RGB frames encoded by the same ffmpeg in a temp dir.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { loadImage } from '../../../ullava/media/load-image.js';
import { loadVideoFrames } from '../../../ullava/media/load-video.js';
import { MediaError } from '../../../ullava/media/errors.js';
import { ffmpegVersion } from '../../../ullava/media/ffmpeg.js';
import { ffmpegEncode, frameIndex, hasEncoder, image, indexFrame, requireFfmpeg, videoArgs, withTempDir } from './helpers.js';

const gradient = image(16, 12, (x, y) => [x * 16, y * 20, 128]);

function diffStats(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  let max = 0, sum = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); max = Math.max(max, d); sum += d; }
  return { max, mean: sum / a.length };
}

test('decode: ffmpeg runs and reports its version', async () => {
  requireFfmpeg();
  const { binary, version } = await ffmpegVersion();
  assert.ok(/^ffmpeg version /.test(version), version);
  assert.ok(binary.path.length > 0);
});

test('decode: BMP exactly, JPEG approximately, lossless WebP exactly, GIF first frame', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const bmp = join(dir, 'a.bmp');
  ffmpegEncode([gradient], bmp, ['-frames:v', '1', '-c:v', 'bmp']);
  const b = await loadImage(bmp);
  assert.equal([b.width, b.height], [16, 12]);
  assert.equal([...b.data], [...gradient.data], 'BMP is lossless');

  const jpg = join(dir, 'a.jpg');
  ffmpegEncode([gradient], jpg, ['-frames:v', '1', '-pix_fmt', 'yuvj444p', '-q:v', '1']);
  const j = await loadImage(jpg);
  assert.equal([j.width, j.height], [16, 12]);
  const d = diffStats(j.data, gradient.data);
  assert.ok(d.mean < 4 && d.max < 24, `JPEG differs too much: mean ${d.mean}, max ${d.max}`);

  if (hasEncoder('libwebp')) {
    const webp = join(dir, 'a.webp');
    ffmpegEncode([gradient], webp, ['-frames:v', '1', '-c:v', 'libwebp', '-lossless', '1']);
    const w = await loadImage(webp);
    assert.equal([...w.data], [...gradient.data], 'lossless WebP');
  }

  const gif = join(dir, 'a.gif');
  ffmpegEncode([3, 4, 5].map((i) => indexFrame(i)), gif, ['-vf', 'split[a][b];[a]palettegen[p];[b][p]paletteuse=dither=none']);
  const g = await loadImage(gif);
  assert.equal([g.width, g.height, frameIndex(g)], [16, 12, 3], 'first GIF frame');
}));

test('decode: 8 uniform frames of a 20-frame video are frames 0 2 5 7 10 12 15 17 (u-LLaVA floor(i * 20/8))', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const { ext, args } = videoArgs();
  const p = join(dir, `v.${ext}`);
  ffmpegEncode(Array.from({ length: 20 }, (_, i) => indexFrame(i)), p, args);
  const v = await loadVideoFrames(p);
  assert.equal(v.totalFrames, 20);
  assert.equal(v.indices, [0, 2, 5, 7, 10, 12, 15, 17]);
  assert.equal(v.frames.map(frameIndex), [0, 2, 5, 7, 10, 12, 15, 17], 'the decoded frames are those frames');
  assert.ok(v.frames.every((f) => f.width === 16 && f.height === 12 && f.data.length === 16 * 12 * 3));
  assert.equal(v.fps, 10);
  assert.equal(v.timestamps, [0, 0.2, 0.5, 0.7, 1, 1.2, 1.5, 1.7]);
  // headtail with a fixed random source: 4 sorted frames from [0, 10), 4 from [10, 20).
  let s = 1;
  const rnd = () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  const h = await loadVideoFrames(p, { mode: 'headtail', random: rnd, frames: 8 });
  assert.ok(h.indices.slice(0, 4).every((i) => i < 10) && h.indices.slice(4).every((i) => i >= 10), String(h.indices));
  assert.equal(h.frames.map(frameIndex), h.indices);
}));

test('decode: a 3-frame video asked for 8 repeats frames in order (0 0 0 1 1 1 2 2); pad false gives all 3', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const { ext, args } = videoArgs();
  const p = join(dir, `short.${ext}`);
  ffmpegEncode([0, 1, 2].map((i) => indexFrame(i)), p, args);
  const v = await loadVideoFrames(p, { frames: 8 });
  assert.equal(v.indices, [0, 0, 0, 1, 1, 1, 2, 2]);
  assert.equal(v.frames.map(frameIndex), [0, 0, 0, 1, 1, 1, 2, 2]);
  const all = await loadVideoFrames(p, { frames: 8, pad: false });
  assert.equal(all.frames.map(frameIndex), [0, 1, 2]);
}));

test('decode: an animated GIF is a video (TGIF): 12 frames, 8 uniform', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const p = join(dir, 'anim.gif');
  ffmpegEncode(Array.from({ length: 12 }, (_, i) => indexFrame(i)), p, ['-vf', 'split[a][b];[a]palettegen[p];[b][p]paletteuse=dither=none']);
  const v = await loadVideoFrames(p);
  assert.equal(v.totalFrames, 12);
  assert.equal(v.indices, [0, 1, 3, 4, 6, 7, 9, 10]);
  assert.equal(v.frames.map(frameIndex), v.indices);
}));

test('decode errors: missing, empty, directory, garbage bytes, each a MediaError naming the file', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const code = async (p: string, pattern: RegExp, load: (p: string) => Promise<unknown> = loadImage) =>
    ((await assertRejects(() => load(p), pattern)) as MediaError).code;
  assert.equal(await code(join(dir, 'nope.jpg'), /nope\.jpg: no such file/), 'not-found');
  assert.equal(await code(join(dir, 'nope.mp4'), /no such file/, (p) => loadVideoFrames(p)), 'not-found');
  const empty = join(dir, 'empty.png');
  writeFileSync(empty, '');
  assert.equal(await code(empty, /empty\.png: the file is empty/), 'empty');
  assert.equal(await code(dir, /is a directory/), 'not-media');
  const junk = join(dir, 'junk.jpg');
  writeFileSync(junk, Buffer.from('this is not a picture at all, just some text '.repeat(20)));
  const e = await assertRejects(() => loadImage(junk), /junk\.jpg: not an image or video that ffmpeg can read \(.+\)/);
  assert.ok(e instanceof MediaError && e.code === 'not-media', String(e));
  assert.ok(!/At least one output file/.test(e.message), `the useful stderr line, not the noise: ${e.message}`);
  assert.equal(await code(junk, /not an image or video/, (p) => loadVideoFrames(p)), 'not-media');
  // ffmpeg's tty demuxer would "play" a text file as rendered text art: refused.
  const txt = join(dir, 'notes.txt');
  writeFileSync(txt, 'hello\n');
  assert.equal(await code(txt, /notes\.txt: a text file/, (p) => loadVideoFrames(p)), 'not-media');
}));

test('decode errors: a truncated JPEG is "corrupt" (as PIL refuses it); strict false takes what ffmpeg recovers', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const noise = image(64, 48, (x, y) => [(x * 97 + y * 31) % 256, (x * y * 7) % 256, (x ^ y) * 4 % 256]);
  const full = join(dir, 'full.jpg');
  ffmpegEncode([noise], full, ['-frames:v', '1', '-q:v', '2']);
  const bytes = readFileSync(full);
  const cut = join(dir, 'cut.jpg');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const e = await assertRejects(() => loadImage(cut), /cut\.jpg: .*could not decode it cleanly .*truncated/);
  assert.equal((e as MediaError).code, 'corrupt');
  const rec = await loadImage(cut, { strict: false });
  assert.equal([rec.width, rec.height], [64, 48]);
}));

test('decode errors: pixel limit through ffmpeg, for images and video frames', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const bmp = join(dir, 'a.bmp');
  ffmpegEncode([gradient], bmp, ['-frames:v', '1', '-c:v', 'bmp']);
  const e = await assertRejects(() => loadImage(bmp, { maxPixels: 191 }), /a\.bmp: 16 x 12 = .* over the limit .*191 pixels/);
  assert.equal((e as MediaError).code, 'too-large');
  const { ext, args } = videoArgs();
  const vid = join(dir, `v.${ext}`);
  ffmpegEncode([indexFrame(0), indexFrame(1)], vid, args);
  await assertRejects(() => loadVideoFrames(vid, { maxPixels: 100 }), /16 x 12 .*over the limit/);
}));

test('decode errors: FFMPEG_PATH pointing nowhere says how to fix it; a video with zero frames', () => withTempDir(async (dir) => {
  requireFfmpeg();
  const bmp = join(dir, 'a.bmp');
  ffmpegEncode([gradient], bmp, ['-frames:v', '1', '-c:v', 'bmp']);
  const env = { ...process.env, FFMPEG_PATH: join(dir, 'no-such-ffmpeg') };
  const e = await assertRejects(() => loadImage(bmp, { env }), /FFMPEG_PATH=.*no-such-ffmpeg is not an executable file.*unset it/);
  assert.equal((e as MediaError).code, 'ffmpeg-unavailable');
  await assertRejects(() => loadVideoFrames(bmp, { env }), /FFMPEG_PATH/);
  if (existsSync('/bin/true')) {
    const t = await assertRejects(() => loadImage(bmp, { env: { ...process.env, FFMPEG_PATH: '/bin/true' } }), /printed nothing .*FFMPEG_PATH/);
    assert.equal((t as MediaError).code, 'ffmpeg-failed');
  }
  // PNG needs no ffmpeg at all.
  const { writePng } = await import('../../../ullava/media/write-png.js');
  await writePng(join(dir, 'ok.png'), gradient);
  assert.equal((await loadImage(join(dir, 'ok.png'), { env })).width, 16);

  const avi = join(dir, 'zero.avi');
  ffmpegEncode([indexFrame(0)], avi, ['-frames:v', '0', '-c:v', 'mpeg4']);
  const z = await assertRejects(() => loadVideoFrames(avi), /zero\.avi: .*video stream has no frames/);
  assert.equal((z as MediaError).code, 'no-frames');
}));
