// Semantic segmentation sets whose labels are class-index PNGs: ADE20K (SceneParsing, ADEChallengeData2016)
// and COCO-Stuff 164k (stuffthingmaps). One record per image with one target per class present; the mask
// is {label_png, class_id} with class_id the PIXEL VALUE in that PNG (the collator's mask is png == class_id,
// 255 ignored), so no label file is rewritten. Class handling as LISA's (and u-LLaVA's) reading:
//  - ADE20K: value 0 ("other") -> ignore; values 1..150 are ADE20K_CLASSES[v - 1] (LISA shifts the
//    map by one; the shift is undone here by keeping the raw value as class_id);
//  - COCO-Stuff: values 0..181 are COCOSTUFF_CLASSES[v]; classes whose name holds '-' -> ignore; 255 unlabeled.
// Two inputs: the published layout (ROOT/images/<split>/*.jpg + ROOT/annotations/<split>/*.png; --images,
// --labels override), or u-LLaVA's preprocessed annotation file (--annotations: JSON list or JSONL of
// {image_path, label_path, classes: [{class, class_id}]}, paths relative to ROOT, u-LLaVA's class_id being
// LISA's shifted index for ADE20K).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ADE20K_CLASSES, COCOSTUFF_CLASSES } from './classes.js';
import { readLabelPng, presentValues } from './label-png.js';
import {
  ConvertError, fail, manifestPath, progressTicker, readJsonList, requireFile, rootPath, writeManifest,
  type ConvertOptions, type ConvertResult, type ManifestRecord, type Target,
} from './common.js';

export type LabelMapSource = 'ade20k' | 'cocostuff';

/** The class name of a raw pixel value, or null when the value is ignored. Throws on values outside the set. */
export function classOfValue(source: LabelMapSource, v: number): string | null {
  if (v === 255) return null;
  if (source === 'ade20k') {
    if (v === 0) return null;
    if (v <= ADE20K_CLASSES.length) return ADE20K_CLASSES[v - 1];
  } else if (v < COCOSTUFF_CLASSES.length) {
    const name = COCOSTUFF_CLASSES[v];
    return name.includes('-') ? null : name;
  }
  throw new RangeError(`pixel value ${v} is not a ${source} class (${source === 'ade20k' ? '0..150' : '0..181'} or 255)`);
}

/** u-LLaVA's class_id -> the raw pixel value (ADE20K's ids are shifted down by one from the PNG's). */
function rawValueOf(source: LabelMapSource, classId: number): number { return source === 'ade20k' ? classId + 1 : classId; }

async function fromAnnotationFile(source: LabelMapSource, opts: ConvertOptions): Promise<ManifestRecord[]> {
  const path = opts.annotations!;
  const items = await readJsonList(path, `${source} annotation file`);
  const tick = progressTicker(opts, `${source} annotations`, items.length);
  const records: ManifestRecord[] = [];
  for (let i = 0; i < items.length; i++) {
    tick(i + 1);
    const it = items[i] as Record<string, unknown>;
    const where = `${path}: item ${i}`;
    if (typeof it !== 'object' || it === null) fail(where, '(item)', 'an object {image_path, label_path, classes}', it);
    if (typeof it.image_path !== 'string') fail(where, 'image_path', 'a path', it.image_path);
    if (typeof it.label_path !== 'string') fail(where, 'label_path', 'a path', it.label_path);
    if (!Array.isArray(it.classes) || it.classes.length === 0) fail(where, 'classes', 'a non-empty list of {class, class_id}', it.classes);
    const image = rootPath(opts, it.image_path), label = rootPath(opts, it.label_path);
    await requireFile(image, where, 'image_path');
    await requireFile(label, where, 'label_path');
    const targets: Target[] = it.classes.map((c: Record<string, unknown>, k: number) => {
      if (typeof c?.class !== 'string' || !Number.isInteger(c.class_id)) fail(where, `classes[${k}]`, '{class: name, class_id: integer}', c);
      return { category: c.class as string, mask: { label_png: manifestPath(opts.out, label), class_id: rawValueOf(source, c.class_id as number) } };
    });
    records.push({ id: `${source}-${i}`, source, split: opts.split, task: 'semantic', image: manifestPath(opts.out, image), targets });
  }
  return records;
}

async function fromLayout(source: LabelMapSource, opts: ConvertOptions): Promise<{ records: ManifestRecord[]; empty: number }> {
  const split = opts.split ?? (source === 'ade20k' ? 'training' : 'train2017');
  const imageDir = opts.images ?? rootPath(opts, 'images', split);
  const labelDir = opts.labels ?? rootPath(opts, 'annotations', split);
  let names: string[];
  try { names = (await readdir(imageDir)).filter((n) => /\.jpe?g$/i.test(n)).sort(); } catch (e) {
    throw new ConvertError(`${imageDir}: cannot list the ${source} images (${(e as NodeJS.ErrnoException).code ?? e}); expected ROOT/images/${split}/*.jpg (or --images DIR)`);
  }
  if (names.length === 0) throw new ConvertError(`${imageDir}: no .jpg images; expected ROOT/images/${split}/*.jpg (or --images DIR)`);
  const tick = progressTicker(opts, `${source} label maps`, names.length);
  const records: ManifestRecord[] = [];
  let empty = 0;
  for (let i = 0; i < names.length; i++) {
    tick(i + 1);
    const stem = names[i].replace(/\.jpe?g$/i, '');
    const image = join(imageDir, names[i]), label = join(labelDir, `${stem}.png`);
    const where = `${source} image ${stem}`;
    await requireFile(label, where, 'label map');
    const map = await readLabelPng(label, where);
    const targets: Target[] = [];
    for (const v of presentValues(map.values)) {
      let name: string | null;
      try { name = classOfValue(source, v); } catch (e) { throw new ConvertError(`${where}: ${label}: ${(e as Error).message}; is this the right dataset?`); }
      if (name !== null) targets.push({ category: name, mask: { label_png: manifestPath(opts.out, label), class_id: v } });
    }
    if (targets.length === 0) { empty++; continue; } // LISA draws another image when nothing is labelled
    records.push({ id: `${source}-${split}-${stem}`, source, split, task: 'semantic', image: manifestPath(opts.out, image), targets });
  }
  return { records, empty };
}

export async function convertLabelMaps(source: LabelMapSource, opts: ConvertOptions): Promise<ConvertResult> {
  if (opts.annotations) {
    const records = await fromAnnotationFile(source, opts);
    await writeManifest(opts.out, records);
    return { records: records.length, out: opts.out, skipped: [] };
  }
  const { records, empty } = await fromLayout(source, opts);
  await writeManifest(opts.out, records);
  return { records: records.length, out: opts.out, skipped: empty ? [{ reason: 'no labelled class in the label map', count: empty }] : [] };
}
