// TGIF (Tumblr GIFs with one-sentence descriptions), the video half of u-LLaVA's stage I. Two inputs:
//  - the published TGIF-v1.0.tsv: one "<gif url>\t<description>" a line; the GIFs, downloaded, are
//    --videos DIR (default ROOT/gifs) named as the URL's last path segment (tumblr_....gif), or the same
//    name with .mp4 where they were transcoded;
//  - u-LLaVA's annotation file (--annotations: a JSON list or JSONL of {gif, conversations}, gif relative
//    to ROOT), whose conversations are kept as they are.
// Records: task video, "video" = the file (gif or mp4; the loader decodes both through the bundled ffmpeg),
// conversations = LLaVA turns with "<video>" in the first human turn. From the TSV the human turn is a
// fixed caption request (TGIF_PROMPT) and the answer is the description. --probe opens every video with
// ffmpeg now, so an unreadable file is reported with its record instead of failing an epoch later.
import { basename, join } from 'node:path';
import { probeMedia } from '../../media/probe.js';
import { checkConversations } from './chat.js';
import {
  ConvertError, fail, isFile, manifestPath, progressTicker, readText, rootPath, writeManifest,
  type ConvertOptions, type ConvertResult, type ManifestRecord, type Turn,
} from './common.js';

export const TGIF_PROMPT = '<video>\nDescribe this video briefly.';

interface Item { id: string; video: string; conversations: Turn[]; where: string }

/** The file a TGIF URL was saved as: its last path segment, or that name with .mp4. */
async function findVideo(dir: string, url: string): Promise<string | null> {
  const name = basename(new URL(url).pathname);
  for (const cand of [name, name.replace(/\.gif$/i, '.mp4')]) if (await isFile(join(dir, cand))) return join(dir, cand);
  return null;
}

async function itemsFromTsv(path: string, text: string, opts: ConvertOptions): Promise<Item[]> {
  const dir = opts.images ?? rootPath(opts, 'gifs');
  const items: Item[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (!line.trim()) continue;
    const where = `${path}:${i + 1}`;
    const tab = line.indexOf('\t');
    if (tab < 0) throw new ConvertError(`${where}: expected "<gif url>\\t<description>", found no tab`);
    const url = line.slice(0, tab).trim(), caption = line.slice(tab + 1).trim();
    if (!/^https?:\/\//.test(url)) throw new ConvertError(`${where}: the first column must be the GIF's URL, got ${JSON.stringify(url.slice(0, 60))}`);
    if (!caption) throw new ConvertError(`${where}: empty description`);
    const video = await findVideo(dir, url);
    if (!video) throw new ConvertError(`${where}: the GIF of ${url} is not in ${dir} (as ${basename(new URL(url).pathname)} or .mp4); download it or pass --videos DIR`);
    items.push({ id: basename(video).replace(/\.(gif|mp4)$/i, ''), video, conversations: [{ from: 'human', value: TGIF_PROMPT }, { from: 'gpt', value: caption }], where });
  }
  return items;
}

async function itemsFromJson(path: string, text: string, opts: ConvertOptions): Promise<Item[]> {
  let list: unknown[];
  if (text.startsWith('[')) {
    try { list = JSON.parse(text); } catch (e) { throw new ConvertError(`${path}: not valid JSON (${(e as Error).message})`); }
  } else {
    list = text.split('\n').filter((l) => l.trim()).map((l, i) => {
      try { return JSON.parse(l); } catch (e) { throw new ConvertError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`); }
    });
  }
  const items: Item[] = [];
  for (let i = 0; i < list.length; i++) {
    const it = list[i] as Record<string, unknown>;
    const where = `${path}: item ${i}`;
    if (typeof it !== 'object' || it === null || typeof it.gif !== 'string' || !it.gif) fail(where, 'gif', 'the video file, relative to ROOT', (it as Record<string, unknown>)?.gif);
    const video = rootPath(opts, it.gif);
    if (!(await isFile(video))) throw new ConvertError(`${where}: video ${video} does not exist; check --root`);
    items.push({ id: basename(it.gif).replace(/\.(gif|mp4)$/i, ''), video, conversations: checkConversations(it.conversations, where, '<video>'), where });
  }
  return items;
}

export async function convertTgif(opts: ConvertOptions): Promise<ConvertResult> {
  const path = opts.annotations ?? rootPath(opts, 'TGIF-v1.0.tsv');
  const text = (await readText(path, 'TGIF annotations (ROOT/TGIF-v1.0.tsv or --annotations FILE)')).trim();
  const items = /^[[{]/.test(text) ? await itemsFromJson(path, text, opts) : await itemsFromTsv(path, text, opts);
  const tick = progressTicker(opts, opts.probe ? 'tgif videos probed' : 'tgif items', items.length);
  const records: ManifestRecord[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    tick(i + 1);
    const it = items[i];
    if (opts.probe) {
      try { await probeMedia(it.video, it.video, { countFrames: true }); } catch (e) { throw new ConvertError(`${it.where}: ${(e as Error).message}`); }
    }
    const n = seen.get(it.id) ?? 0; // TGIF has several descriptions of one GIF: one record each
    seen.set(it.id, n + 1);
    records.push({ id: `tgif-${it.id}${n ? `#${n}` : ''}`, source: 'tgif', split: opts.split, task: 'video', video: manifestPath(opts.out, it.video), conversations: it.conversations });
  }
  await writeManifest(opts.out, records);
  return { records: records.length, out: opts.out, skipped: [] };
}
