// The training-sample manifest, version 0: the minimal format `ullava train` reads until the data issue
// (issue 12) defines the full one (datasets, converters, prompt templates). One JSON object per line:
//
//   {"image": "images/cat.jpg",                          path, relative to the manifest's directory
//    "conversations": [{"from": "human", "value": "<image>\nWhat is this? Segment it."},
//                      {"from": "gpt",   "value": "Sure. Info: [SEG]; [tag]cat[/tag]."}],
//    "masks": ["masks/cat.png" | {"size": [h, w], "counts": [..] or "RLE string"}],   one per [SEG]
//    "boxes": [[x0, y0, x1, y1]]}                        one per [LOC], pixels of the image
//
// `conversations` is LLaVA's format (alternating human / gpt turns, human first). The image is optional
// (text-only samples); masks and boxes are optional, but when present their count must equal the number
// of [SEG] / [LOC] tokens in the gpt turns. Masks are PNGs (non-zero = inside) or COCO RLE (column-major,
// counts as numbers or the compressed string), at the image's size. Every error names the file, the
// line and the field.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';

export interface ConversationTurn { from: 'human' | 'gpt'; value: string }

/** COCO run-length encoding: alternating runs of 0 and 1 in column-major order, starting with 0. */
export interface CocoRle { size: [number, number]; counts: number[] | string }

export type MaskSource = { png: string } | { rle: CocoRle };

export interface TrainingSample {
  /** Where it came from ("file:line"), for error messages. */
  where: string;
  image: string | null;
  conversations: ConversationTurn[];
  masks: MaskSource[];
  boxes: [number, number, number, number][];
}

export class ManifestError extends Error {
  constructor(message: string) { super(message); this.name = 'ManifestError'; }
}

function fail(where: string, field: string, expected: string, got: unknown): never {
  const shown = JSON.stringify(got);
  throw new ManifestError(`${where}: "${field}" must be ${expected}, got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`);
}

function parseMask(m: unknown, where: string, i: number, base: string): MaskSource {
  const field = `masks[${i}]`;
  if (typeof m === 'string') return { png: isAbsolute(m) ? m : resolve(base, m) };
  if (typeof m !== 'object' || m === null) fail(where, field, 'a PNG path or a COCO RLE object {size, counts}', m);
  const { size, counts } = m as Record<string, unknown>;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) {
    fail(where, `${field}.size`, 'two positive integers [height, width]', size);
  }
  const okCounts = typeof counts === 'string' || (Array.isArray(counts) && counts.every((v) => Number.isInteger(v) && v >= 0));
  if (!okCounts) fail(where, `${field}.counts`, 'an array of non-negative integers or a compressed RLE string', counts);
  return { rle: { size: size as [number, number], counts: counts as number[] | string } };
}

/** Validates one manifest record (already JSON-parsed). `base`: the directory relative paths start from. */
export function parseSample(json: unknown, where: string, base: string): TrainingSample {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(where, '(record)', 'a JSON object', json);
  const j = json as Record<string, unknown>;
  let image: string | null = null;
  if (j.image !== undefined && j.image !== null) {
    if (typeof j.image !== 'string' || !j.image) fail(where, 'image', 'a non-empty path', j.image);
    image = isAbsolute(j.image) ? j.image : resolve(base, j.image);
  }
  if (!Array.isArray(j.conversations) || j.conversations.length < 2) fail(where, 'conversations', 'an array of at least one human and one gpt turn', j.conversations);
  const conversations = j.conversations.map((t, i): ConversationTurn => {
    const want = i % 2 === 0 ? 'human' : 'gpt';
    const turn = t as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || turn.from !== want) fail(where, `conversations[${i}].from`, `"${want}" (turns alternate, human first)`, turn?.from);
    if (typeof turn.value !== 'string') fail(where, `conversations[${i}].value`, 'a string', turn.value);
    return { from: want, value: turn.value };
  });
  if (conversations.length % 2 !== 0) fail(where, 'conversations', 'pairs of human and gpt turns (the last turn is a human one)', conversations.length);
  const answers = conversations.filter((t) => t.from === 'gpt').map((t) => t.value).join('\n');
  const count = (tok: string) => answers.split(tok).length - 1;
  const masks = j.masks === undefined ? [] : Array.isArray(j.masks) ? j.masks.map((m, i) => parseMask(m, where, i, base)) : fail(where, 'masks', 'an array', j.masks);
  const boxes = j.boxes === undefined ? [] : Array.isArray(j.boxes) ? j.boxes.map((b, i) => {
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)) || b[2] < b[0] || b[3] < b[1]) {
      fail(where, `boxes[${i}]`, 'pixel [x0, y0, x1, y1] with x0 <= x1 and y0 <= y1', b);
    }
    return b as [number, number, number, number];
  }) : fail(where, 'boxes', 'an array', j.boxes);
  if (masks.length && masks.length !== count('[SEG]')) fail(where, 'masks', `one mask per [SEG] in the answers (${count('[SEG]')})`, `${masks.length} masks`);
  if (boxes.length && boxes.length !== count('[LOC]')) fail(where, 'boxes', `one box per [LOC] in the answers (${count('[LOC]')})`, `${boxes.length} boxes`);
  if ((masks.length || boxes.length) && !image) fail(where, 'image', 'present when masks or boxes are given', j.image);
  return { where, image, conversations, masks, boxes };
}

/** Reads a JSONL manifest (blank lines skipped). Relative paths are resolved against its directory. */
export async function readManifest(path: string): Promise<TrainingSample[]> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (e) {
    throw new ManifestError(`${path}: cannot read the data manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const base = dirname(resolve(path));
  const out: TrainingSample[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${path}:${i + 1}`;
    let json: unknown;
    try { json = JSON.parse(line); } catch (e) { throw new ManifestError(`${where}: not valid JSON (${(e as Error).message})`); }
    out.push(parseSample(json, where, base));
  });
  if (out.length === 0) throw new ManifestError(`${path}: the manifest holds no samples (one JSON object per line expected)`);
  return out;
}

/** Decodes COCO RLE to a row-major 0/1 mask [h * w]. */
export function decodeRle(rle: CocoRle, where = 'RLE'): Uint8Array {
  const [h, w] = rle.size;
  const counts = typeof rle.counts === 'string' ? rleCountsFromString(rle.counts) : rle.counts;
  const colMajor = new Uint8Array(h * w);
  let pos = 0, v = 0;
  for (const c of counts) {
    if (pos + c > h * w) throw new ManifestError(`${where}: RLE counts cover more than ${h} x ${w} pixels`);
    if (v) colMajor.fill(1, pos, pos + c);
    pos += c; v ^= 1;
  }
  if (pos !== h * w) throw new ManifestError(`${where}: RLE counts cover ${pos} pixels, the size says ${h} x ${w} = ${h * w}`);
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = colMajor[x * h + y];
  return out;
}

/** pycocotools' compressed counts: 6-bit chunks with a continuation bit, deltas from two runs back. */
export function rleCountsFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new ManifestError(`RLE string ends inside a number: ${JSON.stringify(s.slice(0, 40))}`);
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++; k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0) throw new ManifestError(`RLE string decodes to a negative run: ${JSON.stringify(s.slice(0, 40))}`);
    counts.push(x);
  }
  return counts;
}
