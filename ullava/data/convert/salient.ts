// Salient object segmentation: MSRA-10K and MSRA-B publish each image X.jpg with its ground truth X.png
// (0 background, 255 salient) in one folder. One record per image with one target: the mask PNG
// (the manifest's "non-zero = inside", which is u-LLaVA's `label == 255` on these binary masks).
// Two inputs:
//  - the published folder (--root, or --images DIR and --labels DIR when apart): category "salient object";
//  - u-LLaVA's salient annotation file (--annotations: JSON list or JSONL of {image_path, label_path,
//    caption} or {..., gpt: {tag, reason}}, paths relative to ROOT): category = caption / gpt.tag, and
//    gpt.reason as the target's "reason" (the answer's " Explanation: ..." suffix).
// Every mask is read once: a damaged PNG is reported now, not mid-epoch, and masks that are not binary
// (values other than 0 and 255) are counted in the result, since "non-zero" and "== 255" differ on them.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePng } from '../../media/png.js';
import {
  ConvertError, fail, isFile, manifestPath, progressTicker, readBytes, readJsonList, requireFile, rootPath, writeManifest,
  type ConvertOptions, type ConvertResult, type ManifestRecord, type Target,
} from './common.js';

export const SALIENT_CATEGORY = 'salient object';

/** Reads a mask PNG; true when every value is 0 or 255. */
async function isBinaryMask(path: string, record: string): Promise<boolean> {
  const bytes = await readBytes(path, 'mask PNG');
  let img;
  try { img = decodePng(bytes, path, 256 * 1024 * 1024); } catch (e) { throw new ConvertError(`${record}: ${(e as Error).message}`); }
  for (let i = 0; i < img.data.length; i++) if (img.data[i] !== 0 && img.data[i] !== 255) return false;
  return true;
}

interface Pair { id: string; image: string; mask: string; category: string; reason?: string; where: string }

async function pairsFromFolder(opts: ConvertOptions): Promise<Pair[]> {
  const imageDir = opts.images ?? opts.root;
  const labelDir = opts.labels ?? imageDir;
  let names: string[];
  try { names = (await readdir(imageDir)).filter((n) => /\.jpe?g$/i.test(n)).sort(); } catch (e) {
    throw new ConvertError(`${imageDir}: cannot list the salient images (${(e as NodeJS.ErrnoException).code ?? e}); pass the folder holding X.jpg + X.png`);
  }
  if (names.length === 0) throw new ConvertError(`${imageDir}: no .jpg images (MSRA-10K / MSRA-B keep X.jpg and its mask X.png side by side)`);
  const pairs: Pair[] = [];
  for (const n of names) {
    const stem = n.replace(/\.jpe?g$/i, '');
    const mask = join(labelDir, `${stem}.png`);
    if (!(await isFile(mask))) throw new ConvertError(`salient image ${stem}: its mask ${mask} does not exist (MSRA publishes X.png beside X.jpg; --labels DIR when they are apart)`);
    pairs.push({ id: stem, image: join(imageDir, n), mask, category: SALIENT_CATEGORY, where: `salient image ${stem}` });
  }
  return pairs;
}

async function pairsFromAnnotations(opts: ConvertOptions): Promise<Pair[]> {
  const path = opts.annotations!;
  const items = await readJsonList(path, 'salient annotation file');
  return Promise.all(items.map(async (raw, i) => {
    const it = raw as Record<string, unknown>;
    const where = `${path}: item ${i}`;
    if (typeof it !== 'object' || it === null) fail(where, '(item)', 'an object {image_path, label_path, caption | gpt}', it);
    if (typeof it.image_path !== 'string') fail(where, 'image_path', 'a path', it.image_path);
    if (typeof it.label_path !== 'string') fail(where, 'label_path', 'a path', it.label_path);
    const gpt = it.gpt as Record<string, unknown> | undefined;
    const category = typeof it.caption === 'string' ? it.caption : typeof gpt?.tag === 'string' ? gpt.tag : undefined;
    if (!category || !category.trim()) fail(where, 'caption', 'the salient object\'s name (or gpt.tag)', it.caption ?? gpt);
    if (gpt?.reason !== undefined && typeof gpt.reason !== 'string') fail(where, 'gpt.reason', 'a string', gpt.reason);
    const image = rootPath(opts, it.image_path), mask = rootPath(opts, it.label_path);
    await requireFile(image, where, 'image_path');
    await requireFile(mask, where, 'label_path');
    return { id: String(i), image, mask, category: category.trim(), reason: gpt?.reason as string | undefined, where };
  }));
}

export async function convertSalient(opts: ConvertOptions): Promise<ConvertResult> {
  const pairs = opts.annotations ? await pairsFromAnnotations(opts) : await pairsFromFolder(opts);
  const tick = progressTicker(opts, 'salient masks', pairs.length);
  const records: ManifestRecord[] = [];
  let nonBinary = 0;
  for (let i = 0; i < pairs.length; i++) {
    tick(i + 1);
    const p = pairs[i];
    if (!(await isBinaryMask(p.mask, p.where))) nonBinary++;
    const target: Target & { reason?: string } = { category: p.category, mask: manifestPath(opts.out, p.mask) };
    if (p.reason) target.reason = p.reason;
    records.push({ id: `msra-${p.id}`, source: 'msra', split: opts.split, task: 'salient', image: manifestPath(opts.out, p.image), targets: [target] });
  }
  await writeManifest(opts.out, records);
  return { records: records.length, out: opts.out, skipped: nonBinary ? [{ reason: 'masks with values other than 0 and 255 (kept; non-zero counts as inside)', count: nonBinary }] : [] };
}
