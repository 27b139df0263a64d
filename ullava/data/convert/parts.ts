// Part segmentation sets in COCO's JSON format, as LISA reads them:
//  - PACO-LVIS: ROOT/vlpart/paco/annotations/paco_lvis_v1_<split>.json, images ROOT/coco/<file_name>
//    (file_name is "train2017/....jpg"); categories are objects ("bowl") or parts ("bowl:rim"), with LVIS
//    sense suffixes ("mug_(drinking_vessel)") cut at "_(".
//  - PASCAL-Part (VOC 2010): ROOT/vlpart/pascal_part/<split>.json, images
//    ROOT/vlpart/pascal_part/VOCdevkit/VOC2010/JPEGImages/<file_name>; every category is "object:part".
// One record per image with one target per annotation: category (a part reads "{object} {part}", one of
// LISA's two phrasings), mask (polygons or RLE, as in the file) and box. u-LLaVA's own preprocessed file
// (--annotations: a JSON list or JSONL of {image_path, classes: [..], annotations: [{segmentation, bbox,
// height, width}]}, paths relative to ROOT) is read too.
import { join } from 'node:path';
import { cocoSegmentationToMask, indexCoco } from './refer.js';
import {
  ConvertError, fail, manifestPath, progressTicker, readText, requireFile, rootPath, writeManifest, xywhToXyxy,
  type ConvertOptions, type ConvertResult, type ManifestRecord, type Target,
} from './common.js';

export type PartSource = 'paco-lvis' | 'pascal-part';

/** LISA's naming of a PACO / Pascal-Part category: "obj" or ["obj", "part"], LVIS "_(sense)" suffixes cut. */
export function partCategoryName(source: PartSource, name: string): string {
  const pieces = name.trim().split(':');
  if (pieces.length === 1 && source === 'paco-lvis') return pieces[0].split('_(')[0];
  if (pieces.length !== 2) throw new RangeError(`category "${name}" is not "object:part"`);
  const [obj, part] = source === 'paco-lvis' ? pieces.map((p) => p.split('_(')[0]) : pieces;
  return `${obj} ${part}`;
}

async function fromCoco(source: PartSource, annPath: string, json: unknown, opts: ConvertOptions): Promise<{ records: ManifestRecord[]; empty: number }> {
  const split = opts.split ?? 'train';
  const imageDir = opts.images ?? (source === 'paco-lvis' ? rootPath(opts, 'coco') : rootPath(opts, 'vlpart/pascal_part/VOCdevkit/VOC2010/JPEGImages'));
  const coco = indexCoco(json, annPath);
  const names = new Map<number, string>();
  for (const [id, name] of coco.categories) {
    try { names.set(id, partCategoryName(source, name)); } catch (e) { throw new ConvertError(`${annPath}: category ${id}: ${(e as Error).message}`); }
  }
  const records: ManifestRecord[] = [];
  let empty = 0, done = 0;
  const tick = progressTicker(opts, `${source} images`, coco.images.size);
  for (const image of coco.images.values()) {
    tick(++done);
    const anns = coco.annsByImage.get(image.id) ?? [];
    if (anns.length === 0) { empty++; continue; }
    const where = `${annPath}: image ${image.id}`;
    const targets: Target[] = anns.map((a) => {
      const category = names.get(a.category_id);
      if (category === undefined) throw new ConvertError(`${annPath}: annotation ${a.id}: category_id ${a.category_id} is not in the categories`);
      const annWhere = `${annPath}: annotation ${a.id} (image ${image.id})`;
      return { category, mask: cocoSegmentationToMask(a.segmentation, image.height, image.width, `${annWhere}: segmentation`), box: xywhToXyxy(a.bbox, annWhere) };
    });
    const path = join(imageDir, image.file_name);
    await requireFile(path, where, 'image');
    records.push({ id: `${source}-${split}-${image.id}`, source, split, task: 'semantic', image: manifestPath(opts.out, path), targets });
  }
  return { records, empty };
}

async function fromUllava(source: PartSource, annPath: string, items: unknown[], opts: ConvertOptions): Promise<ManifestRecord[]> {
  const tick = progressTicker(opts, `${source} items`, items.length);
  const records: ManifestRecord[] = [];
  for (let i = 0; i < items.length; i++) {
    tick(i + 1);
    const it = items[i] as Record<string, unknown>;
    const where = `${annPath}: item ${i}`;
    if (typeof it !== 'object' || it === null || typeof it.image_path !== 'string') fail(where, 'image_path', 'a path', (it as Record<string, unknown>)?.image_path);
    const classes = it.classes, anns = it.annotations;
    if (!Array.isArray(classes) || !Array.isArray(anns) || classes.length !== anns.length || classes.length === 0) {
      fail(where, 'classes/annotations', 'two non-empty lists of the same length', { classes: Array.isArray(classes) ? classes.length : classes, annotations: Array.isArray(anns) ? anns.length : anns });
    }
    const targets: Target[] = anns.map((a: Record<string, unknown>, k: number) => {
      if (typeof classes[k] !== 'string') fail(where, `classes[${k}]`, 'a string', classes[k]);
      const h = a?.height, w = a?.width;
      if (!Number.isInteger(h) || !Number.isInteger(w)) fail(where, `annotations[${k}].height/width`, 'integers', [h, w]);
      const t: Target = { category: classes[k] as string, mask: cocoSegmentationToMask(a.segmentation, h as number, w as number, `${where}: annotations[${k}].segmentation`) };
      if (a.bbox !== undefined) t.box = xywhToXyxy(a.bbox, `${where}: annotations[${k}]`);
      return t;
    });
    const image = rootPath(opts, it.image_path);
    await requireFile(image, where, 'image_path');
    records.push({ id: `${source}-${i}`, source, split: opts.split, task: 'semantic', image: manifestPath(opts.out, image), targets });
  }
  return records;
}

export async function convertParts(source: PartSource, opts: ConvertOptions): Promise<ConvertResult> {
  const split = opts.split ?? 'train';
  const annPath = opts.annotations ?? (source === 'paco-lvis'
    ? rootPath(opts, `vlpart/paco/annotations/paco_lvis_v1_${split}.json`)
    : rootPath(opts, `vlpart/pascal_part/${split}.json`));
  const text = (await readText(annPath, `${source} annotations (--annotations FILE, or the dataset's ROOT)`)).trim();
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) {
    // not one JSON document: u-LLaVA's JSONL, one item a line
    if (!text.startsWith('{')) throw new ConvertError(`${annPath}: not valid JSON (${(e as Error).message}); a truncated download? fetch it again`);
    json = text.split('\n').filter((l) => l.trim()).map((l, i) => {
      try { return JSON.parse(l); } catch (e2) { throw new ConvertError(`${annPath}:${i + 1}: not valid JSON (${(e2 as Error).message})`); }
    });
  }
  // a one-line JSONL file parses as one object: an item, not a COCO file
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'image_path' in json && !('images' in json)) json = [json];
  if (!Array.isArray(json)) {
    const { records, empty } = await fromCoco(source, annPath, json, opts);
    await writeManifest(opts.out, records);
    return { records: records.length, out: opts.out, skipped: empty ? [{ reason: 'image without annotations', count: empty }] : [] };
  }
  const items = json;
  const records = await fromUllava(source, annPath, items, opts);
  await writeManifest(opts.out, records);
  return { records: records.length, out: opts.out, skipped: [] };
}
