import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertRejects } from '../../harness/assert.js';
import { loadImage } from '../../../ullava/media/load-image.js';
import { writePng, writeMaskPng } from '../../../ullava/media/write-png.js';
import { MediaError } from '../../../ullava/media/errors.js';
import { buildPng, image, withTempDir } from './helpers.js';

const rgbOf = (img: { data: Uint8Array }) => [...img.data];

test('png: writePng then loadImage round-trips the exact pixels (odd size)', () => withTempDir(async (dir) => {
  const img = image(7, 5, (x, y) => [x * 36, y * 60, (x * 7 + y * 13) % 256]);
  const p = join(dir, 'a.png');
  await writePng(p, img);
  const back = await loadImage(p);
  assert.equal([back.width, back.height], [7, 5]);
  assert.equal(rgbOf(back), rgbOf(img));
  const raw = PNG.sync.read(readFileSync(p));
  assert.equal([raw.width, raw.height, (raw as unknown as { colorType: number }).colorType], [7, 5, 2], 'an RGB PNG (colour type 2)');
}));

test('png: RGBA, gray, gray+alpha, palette, 1-bit and 16-bit inputs become RGB as PIL convert("RGB") does', () => withTempDir(async (dir) => {
  const load = async (name: string, bytes: Buffer) => { const p = join(dir, name); writeFileSync(p, bytes); return loadImage(p); };
  // RGBA: alpha dropped, colour kept (no compositing), even where alpha is 0.
  const rgba = await load('rgba.png', buildPng({ width: 2, height: 1, bitDepth: 8, colorType: 6, samples: [10, 20, 30, 255, 40, 50, 60, 0] }));
  assert.equal(rgbOf(rgba), [10, 20, 30, 40, 50, 60]);
  // Gray repeated in the three channels.
  const gray = await load('gray.png', buildPng({ width: 3, height: 1, bitDepth: 8, colorType: 0, samples: [0, 128, 255] }));
  assert.equal(rgbOf(gray), [0, 0, 0, 128, 128, 128, 255, 255, 255]);
  const ga = await load('ga.png', buildPng({ width: 2, height: 1, bitDepth: 8, colorType: 4, samples: [7, 0, 200, 255] }));
  assert.equal(rgbOf(ga), [7, 7, 7, 200, 200, 200]);
  // Palette with a tRNS alpha table: colours looked up, alpha ignored.
  const pal = await load('pal.png', buildPng({ width: 3, height: 1, bitDepth: 8, colorType: 3, samples: [2, 0, 1],
    palette: [[1, 2, 3], [4, 5, 6], [7, 8, 9]], trns: Uint8Array.from([0, 128]) }));
  assert.equal(rgbOf(pal), [7, 8, 9, 1, 2, 3, 4, 5, 6]);
  // 1-bit and 4-bit gray scaled to 0..255 (x255, x17).
  const bw = await load('bw.png', buildPng({ width: 9, height: 1, bitDepth: 1, colorType: 0, samples: [1, 0, 1, 1, 0, 0, 0, 0, 1] }));
  assert.equal(rgbOf(bw).filter((_, i) => i % 3 === 0), [255, 0, 255, 255, 0, 0, 0, 0, 255]);
  const g4 = await load('g4.png', buildPng({ width: 3, height: 1, bitDepth: 4, colorType: 0, samples: [0, 5, 15] }));
  assert.equal(rgbOf(g4).filter((_, i) => i % 3 === 0), [0, 85, 255]);
  // 16-bit: the high byte (PIL's 16-bit RGB behaviour), for RGB, RGBA and gray.
  const s16 = [0x0000, 0x7fff, 0x8080, 0xffff, 0x01ff, 0xfe01];
  const rgb16 = await load('rgb16.png', buildPng({ width: 2, height: 1, bitDepth: 16, colorType: 2, samples: s16 }));
  assert.equal(rgbOf(rgb16), s16.map((v) => v >> 8));
  const rgba16 = await load('rgba16.png', buildPng({ width: 1, height: 1, bitDepth: 16, colorType: 6, samples: [0x1234, 0xabcd, 0xff00, 0x0001] }));
  assert.equal(rgbOf(rgba16), [0x12, 0xab, 0xff]);
  const g16 = await load('g16.png', buildPng({ width: 2, height: 1, bitDepth: 16, colorType: 0, samples: [0x7fff, 0xc0de] }));
  assert.equal(rgbOf(g16), [0x7f, 0x7f, 0x7f, 0xc0, 0xc0, 0xc0]);
  // A tRNS colour key on an RGB image: the keyed pixel keeps its colour (pngjs alone would zero it).
  const key = await load('key.png', buildPng({ width: 2, height: 1, bitDepth: 8, colorType: 2, samples: [9, 8, 7, 1, 2, 3],
    trns: Uint8Array.from([0, 9, 0, 8, 0, 7]) }));
  assert.equal(rgbOf(key), [9, 8, 7, 1, 2, 3]);
}));

test('png: a damaged or truncated PNG is a MediaError "corrupt" naming the file', () => withTempDir(async (dir) => {
  const good = buildPng({ width: 4, height: 4, bitDepth: 8, colorType: 2, samples: new Array(48).fill(100) });
  const flipped = Buffer.from(good);
  flipped[good.length - 20] ^= 0xff; // inside IDAT: CRC mismatch
  const p = join(dir, 'bad.png');
  writeFileSync(p, flipped);
  const e = await assertRejects(() => loadImage(p), /bad\.png: damaged PNG/);
  assert.ok(e instanceof MediaError && e.code === 'corrupt' && e.path === p, String(e));
  writeFileSync(p, good.subarray(0, 40));
  const t = await assertRejects(() => loadImage(p), /damaged PNG/);
  assert.equal((t as MediaError).code, 'corrupt');
}));

test('png: over the pixel limit is refused from the header, saying the size and the limit', () => withTempDir(async (dir) => {
  const p = join(dir, 'big.png');
  // A header claiming 100000 x 100000 with no image data: refused before anything is inflated.
  const hdr = buildPng({ width: 1, height: 1, bitDepth: 8, colorType: 2, samples: [0, 0, 0] });
  hdr.writeUInt32BE(100000, 16); hdr.writeUInt32BE(100000, 20);
  writeFileSync(p, hdr);
  const e = await assertRejects(() => loadImage(p), /100000 x 100000 .* over the limit of 64\.0 megapixels/);
  assert.equal((e as MediaError).code, 'too-large');
  await writePng(p, image(20, 10, () => [1, 2, 3]));
  await assertRejects(() => loadImage(p, { maxPixels: 199 }), /20 x 10 .*limit .*199 pixels/);
  assert.equal((await loadImage(p, { maxPixels: 200 })).width, 20);
}));

test('png: writeMaskPng writes a single-channel 0/255 PNG, logits > threshold', () => withTempDir(async (dir) => {
  const p = join(dir, 'm.png');
  const logits = Float32Array.from([-1, 0, 0.5, 3, -0.1, 2]);
  await writeMaskPng(p, logits, 3, 2);
  const bytes = readFileSync(p);
  assert.equal([bytes[24], bytes[25]], [8, 0], 'IHDR: bit depth 8, colour type 0 (gray)');
  const png = PNG.sync.read(bytes);
  assert.equal([...png.data].filter((_, i) => i % 4 === 0), [0, 0, 255, 255, 0, 255]);
  await writeMaskPng(p, logits, 3, 2, { threshold: 1 });
  assert.equal([...PNG.sync.read(readFileSync(p)).data].filter((_, i) => i % 4 === 0), [0, 0, 0, 255, 0, 255]);
  await assertRejects(() => writeMaskPng(p, logits, 4, 2), /mask has 6 values, expected 4 x 2/);
}));
