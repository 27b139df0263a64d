// Shared by the data tests: the real LLaMA tokenizer with u-LLaVA's added tokens, the small training
// config (28 px CLIP: 4 image tokens; tiny SAM), and small images, masks and label maps on disk.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { writeUllavaTokenizer } from '../../../ullava/models/ullava/tiny.js';
import { loadTokenizer } from '../../../ullava/tokenizer/load.js';
import type { LlamaTokenizer } from '../../../ullava/tokenizer/llama.js';
import { ullavaConfigFromJSON, type UllavaConfig } from '../../../ullava/models/ullava/config.js';
import { encodeRgbPng } from '../../../ullava/media/index.js';
import { smallTrainConfigJSON } from '../train/fixture.js';

const toks = new Map<boolean, Promise<LlamaTokenizer>>();
export function ullavaTokenizer(withLoc = false): Promise<LlamaTokenizer> {
  if (!toks.has(withLoc)) {
    toks.set(withLoc, (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ullava-data-tok-'));
      await writeUllavaTokenizer(dir, withLoc);
      return (await loadTokenizer(dir)) as LlamaTokenizer;
    })());
  }
  return toks.get(withLoc)!;
}

export function smallConfig(layout: 'published' | 'head' = 'published'): UllavaConfig {
  return ullavaConfigFromJSON(smallTrainConfigJSON(layout), 'small config', layout);
}

export function tempDir(tag: string): Promise<string> { return mkdtemp(join(tmpdir(), `ullava-data-${tag}-`)); }

/** A W x H RGB PNG of one colour with a rectangle of another. */
export async function writeImage(path: string, W: number, H: number, rect: [number, number, number, number] = [0, 0, 0, 0]): Promise<void> {
  const rgb = new Uint8Array(W * H * 3).fill(90);
  for (let y = rect[1]; y < rect[3]; y++) for (let x = rect[0]; x < rect[2]; x++) rgb.set([230, 40, 40], 3 * (y * W + x));
  await writeFile(path, encodeRgbPng({ width: W, height: H, data: rgb }));
}

const CRC = (() => { const t = new Uint32Array(256); for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; t[n] = c >>> 0; } return t; })();
function crc32(b: Uint8Array): number { let c = 0xffffffff; for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; }
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8); head.writeUInt32BE(data.length, 0); head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A label map PNG written from the PNG specification: 8-bit gray (colour type 0) or 8-bit palette (colour
 * type 3, VOC style, the palette's colours unrelated to the ids), each row with filter `filter` (0 none, 1 sub, 2 up).
 */
export function labelPng(labels: Uint8Array, W: number, H: number, o: { palette?: boolean; filter?: 0 | 1 | 2 } = {}): Buffer {
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(W, 0); ihdr.writeUInt32BE(H, 4); ihdr[8] = 8; ihdr[9] = o.palette ? 3 : 0;
  const f = o.filter ?? 0;
  const raw = Buffer.alloc(H * (W + 1));
  for (let y = 0; y < H; y++) {
    raw[y * (W + 1)] = f;
    for (let x = 0; x < W; x++) {
      const v = labels[y * W + x], left = x ? labels[y * W + x - 1] : 0, up = y ? labels[(y - 1) * W + x] : 0;
      raw[y * (W + 1) + 1 + x] = (v - (f === 1 ? left : f === 2 ? up : 0)) & 0xff;
    }
  }
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (o.palette) parts.push(chunk('PLTE', Buffer.from(Array.from({ length: 256 }, (_, i) => [(i * 37) & 255, (i * 91) & 255, (i * 13) & 255]).flat())));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}
