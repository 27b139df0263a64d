// RefCOCO, RefCOCO+, RefCOCOg and RefCLEF in REFER's layout (lichengunc/refer, which LISA and u-LLaVA read):
//   ROOT/<dataset>/refs(<splitBy>).p   Python pickle: a list of refs {ref_id, ann_id, image_id, split,
//                                       category_id, sentences: [{sent, raw, tokens, sent_id}], sent_ids, file_name}
//   ROOT/<dataset>/instances.json      COCO-style {images, annotations (segmentation, bbox xywh), categories}
//   ROOT/images/mscoco/images/train2014/<file_name>   (RefCOCO/+/g)   ROOT/images/saiapr_tc-12/<file_name> (RefCLEF)
// The pickle is read by the safe unpickler (no code runs). One manifest record per image and split, with one
// target per ref: its sentences, its category, its annotation's mask (polygons, RLE, or RefCLEF's list of
// RLEs merged into one) and box (xywh -> xyxy pixels).
import { join } from 'node:path';
import { unpickle, PickleError } from '../pickle.js';
import { compressRle, mergeRles, rleCounts, RleError, type CocoRle } from '../coco/rle.js';
import { checkPolygon } from '../coco/polygon.js';
import {
  ConvertError, fail, manifestPath, progressTicker, readBytes, readJson, requireFile, rootPath, writeManifest, xywhToXyxy,
  type ConvertOptions, type ConvertResult, type ManifestMask, type ManifestRecord, type Target,
} from './common.js';

export type ReferDataset = 'refcoco' | 'refcoco+' | 'refcocog' | 'refclef';

/** The official splits of each dataset and splitBy (REFER's README); the first splitBy is the default. */
export const REFER_SPLITS: Record<ReferDataset, Record<string, string[]>> = {
  refcoco: { unc: ['train', 'val', 'testA', 'testB'], google: ['train', 'val', 'test'] },
  'refcoco+': { unc: ['train', 'val', 'testA', 'testB'] },
  refcocog: { umd: ['train', 'val', 'test'], google: ['train', 'val'] },
  refclef: { unc: ['train', 'val', 'testA', 'testB', 'testC'], berkeley: ['train', 'val', 'test'] },
};

interface CocoImage { id: number; file_name: string; height: number; width: number }
interface CocoAnn { id: number; image_id: number; segmentation: unknown; bbox: unknown; category_id: number }

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a COCO-style instances JSON into maps by id, checking the fields the converters use. */
export interface CocoIndex {
  images: Map<number, CocoImage>; anns: Map<number, CocoAnn>; annsByImage: Map<number, CocoAnn[]>; categories: Map<number, string>;
}

export async function readCocoInstances(path: string): Promise<CocoIndex> {
  return indexCoco(await readJson(path, 'COCO instances JSON'), path);
}

/** Indexes an already parsed COCO-style JSON (`path` names it in errors). */
export function indexCoco(j: unknown, path: string): CocoIndex {
  if (!isObj(j)) fail(path, '(file)', 'a JSON object {images, annotations, categories}', j);
  for (const k of ['images', 'annotations', 'categories']) if (!Array.isArray(j[k])) fail(path, k, 'an array', j[k]);
  const images = new Map<number, CocoImage>();
  (j.images as unknown[]).forEach((im, i) => {
    const w = `${path}: images[${i}]`;
    if (!isObj(im) || !Number.isInteger(im.id)) fail(w, 'id', 'an integer', isObj(im) ? im.id : im);
    if (typeof im.file_name !== 'string' || !im.file_name) fail(w, 'file_name', 'a file name', im.file_name);
    if (!Number.isInteger(im.height) || (im.height as number) <= 0) fail(w, 'height', 'a positive integer', im.height);
    if (!Number.isInteger(im.width) || (im.width as number) <= 0) fail(w, 'width', 'a positive integer', im.width);
    images.set(im.id as number, im as unknown as CocoImage);
  });
  const anns = new Map<number, CocoAnn>();
  const annsByImage = new Map<number, CocoAnn[]>();
  (j.annotations as unknown[]).forEach((a, i) => {
    const w = `${path}: annotations[${i}]`;
    if (!isObj(a) || !Number.isInteger(a.id)) fail(w, 'id', 'an integer', isObj(a) ? a.id : a);
    if (!Number.isInteger(a.image_id)) fail(w, 'image_id', 'an integer', a.image_id);
    if (!Number.isInteger(a.category_id)) fail(w, 'category_id', 'an integer', a.category_id);
    anns.set(a.id as number, a as unknown as CocoAnn);
    const list = annsByImage.get(a.image_id as number) ?? [];
    list.push(a as unknown as CocoAnn);
    annsByImage.set(a.image_id as number, list);
  });
  const categories = new Map<number, string>();
  (j.categories as unknown[]).forEach((c, i) => {
    if (!isObj(c) || !Number.isInteger(c.id) || typeof c.name !== 'string') fail(`${path}: categories[${i}]`, '(category)', '{id, name}', c);
    categories.set(c.id as number, c.name as string);
  });
  return { images, anns, annsByImage, categories };
}

/**
 * A COCO segmentation as a manifest mask, checked and without rasterising: polygons stay polygons, an RLE
 * stays as it is (numeric or compressed counts), a list of RLEs (RefCLEF) is merged into one compressed
 * RLE, an empty segmentation becomes an empty mask (LISA's reading).
 */
export function cocoSegmentationToMask(seg: unknown, h: number, w: number, where: string): ManifestMask {
  try {
    if (Array.isArray(seg) && seg.length === 0) return { size: [h, w], counts: [h * w] };
    if (Array.isArray(seg) && seg.every((p) => Array.isArray(p))) {
      return { size: [h, w], polygons: seg.map((p, i) => checkPolygon(p, `${where}[${i}]`)) };
    }
    const checkRle = (r: unknown, at: string): CocoRle => {
      if (!isObj(r)) throw new RleError(`${at}: expected polygons [[x, y, ...], ...] or an RLE {"size": [h, w], "counts": ...}, got ${JSON.stringify(r)?.slice(0, 80)}`);
      rleCounts(r as unknown as CocoRle, at);
      const size = r.size as [number, number];
      if (size[0] !== h || size[1] !== w) throw new RleError(`${at}: RLE size ${JSON.stringify(size)} is not the image's [${h}, ${w}]`);
      return { size: [h, w], counts: r.counts as number[] | string };
    };
    if (Array.isArray(seg)) {
      const rles = seg.map((r, i) => checkRle(r, `${where}[${i}]`));
      return rles.length === 1 ? rles[0] : compressRle(mergeRles(rles, false, where));
    }
    return checkRle(seg, where);
  } catch (e) {
    if (e instanceof RleError) throw new ConvertError(e.message);
    throw e;
  }
}

function sentencesOf(ref: Record<string, unknown>, where: string): string[] {
  if (!Array.isArray(ref.sentences) || ref.sentences.length === 0) fail(where, 'sentences', 'a non-empty list of {sent, ...}', ref.sentences);
  return ref.sentences.map((s, i) => {
    const text = isObj(s) ? (typeof s.sent === 'string' ? s.sent : s.raw) : undefined;
    if (typeof text !== 'string' || !text.trim()) fail(where, `sentences[${i}].sent`, 'a non-empty string', isObj(s) ? s.sent : s);
    return text;
  });
}

export async function convertRefer(dataset: ReferDataset, opts: ConvertOptions): Promise<ConvertResult> {
  const splitBys = REFER_SPLITS[dataset];
  const splitBy = opts.splitBy ?? Object.keys(splitBys)[0];
  const official = splitBys[splitBy];
  if (!official) throw new ConvertError(`${dataset} has no splitBy "${splitBy}" (REFER publishes ${Object.keys(splitBys).join(', ')})`);
  if (opts.split && !official.includes(opts.split)) {
    throw new ConvertError(`${dataset} (${splitBy}) has no split "${opts.split}"; its splits are ${official.join(', ')}`);
  }
  const dir = rootPath(opts, dataset);
  const refsPath = opts.annotations ?? join(dir, `refs(${splitBy}).p`);
  const instancesPath = join(dir, 'instances.json');
  const imageDir = opts.images ?? rootPath(opts, dataset === 'refclef' ? 'images/saiapr_tc-12' : 'images/mscoco/images/train2014');

  let refs: unknown;
  try {
    refs = unpickle(await readBytes(refsPath, `REFER refs pickle`), { file: refsPath, py2Strings: 'utf8' });
  } catch (e) {
    if (e instanceof PickleError) throw new ConvertError(`${e.message}; the file is damaged or truncated: download REFER's ${dataset} again`);
    throw e;
  }
  if (!Array.isArray(refs)) fail(refsPath, '(pickle)', 'a list of refs', typeof refs);
  const coco = await readCocoInstances(instancesPath);

  const groups = new Map<string, ManifestRecord>();
  const tick = progressTicker(opts, `${dataset} refs`, refs.length);
  for (let i = 0; i < refs.length; i++) {
    tick(i + 1);
    const ref = refs[i];
    const where = `${refsPath}: ref ${isObj(ref) && ref.ref_id !== undefined ? ref.ref_id : `#${i}`}`;
    if (!isObj(ref)) fail(where, '(ref)', 'a dict', ref);
    if (typeof ref.split !== 'string' || !official.includes(ref.split)) fail(where, 'split', `one of ${official.join(', ')}`, ref.split);
    if (opts.split && ref.split !== opts.split) continue;
    for (const k of ['ann_id', 'image_id', 'category_id']) if (!Number.isInteger(ref[k])) fail(where, k, 'an integer', ref[k]);
    const ann = coco.anns.get(ref.ann_id as number);
    if (!ann) throw new ConvertError(`${where}: ann_id ${ref.ann_id} is not in ${instancesPath}; refs and instances.json must come from the same ${dataset} download`);
    const image = coco.images.get(ref.image_id as number);
    if (!image) throw new ConvertError(`${where}: image_id ${ref.image_id} is not in ${instancesPath}`);
    if (ann.image_id !== image.id) throw new ConvertError(`${where}: annotation ${ann.id} belongs to image ${ann.image_id}, not ${image.id}`);
    const category = coco.categories.get(ref.category_id as number);
    if (category === undefined) throw new ConvertError(`${where}: category_id ${ref.category_id} is not in ${instancesPath}`);
    const annWhere = `${instancesPath}: annotation ${ann.id} (${where.replace(`${refsPath}: `, '')})`;
    const target: Target = {
      sentences: sentencesOf(ref, where),
      category,
      mask: cocoSegmentationToMask(ann.segmentation, image.height, image.width, `${annWhere}: segmentation`),
      box: xywhToXyxy(ann.bbox, annWhere),
    };
    const key = `${ref.split}\u0000${image.id}`;
    let rec = groups.get(key);
    if (!rec) {
      const imagePath = join(imageDir, image.file_name);
      await requireFile(imagePath, `${where} (image ${image.id})`, 'image');
      rec = { id: `${dataset}-${splitBy}-${ref.split}-${image.id}`, source: dataset, split: ref.split, task: 'res', image: manifestPath(opts.out, imagePath), targets: [] };
      groups.set(key, rec);
    }
    rec.targets!.push(target);
  }
  const records = [...groups.values()];
  await writeManifest(opts.out, records);
  return { records: records.length, out: opts.out, skipped: [] };
}
