// LLaVA's chat JSON: LLaVA-Instruct-150K (llava_instruct_150k.json, images from COCO train2017) and
// LLaVA-CC3M-Pretrain-595K (chat.json, images from its images.zip). Both are one JSON list of
// {id, image: "<file name>", conversations: [{from: "human" | "gpt", value}, ...]} with "<image>" in the
// first human turn. Records keep the conversations as they are (task vqa for Instruct, caption for CC3M),
// the image path made relative to the manifest. Turns are checked (alternating, human first, strings, one
// "<image>" when there is an image) so a bad item is reported with its index and id now.
import { join } from 'node:path';
import {
  ConvertError, fail, isFile, manifestPath, progressTicker, readJson, rootPath, writeManifest,
  type ConvertOptions, type ConvertResult, type ManifestRecord, type Task, type Turn,
} from './common.js';

export type ChatSource = 'llava-instruct' | 'cc3m';

const DEFAULTS: Record<ChatSource, { file: string; images: string; task: Task }> = {
  'llava-instruct': { file: 'llava_instruct_150k.json', images: 'train2017', task: 'vqa' },
  cc3m: { file: 'chat.json', images: 'images', task: 'caption' },
};

/** Checks LLaVA conversations; `media` is the placeholder that must open the first human turn's content. */
export function checkConversations(c: unknown, where: string, media: '<image>' | '<video>' | null): Turn[] {
  if (!Array.isArray(c) || c.length < 2) fail(where, 'conversations', 'a list of at least one human and one gpt turn', c);
  const turns = c.map((t, i): Turn => {
    const want = i % 2 === 0 ? 'human' : 'gpt';
    const turn = t as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || turn.from !== want) fail(where, `conversations[${i}].from`, `"${want}" (turns alternate, human first)`, turn?.from);
    if (typeof turn.value !== 'string') fail(where, `conversations[${i}].value`, 'a string', turn.value);
    return { from: want, value: turn.value };
  });
  if (media) {
    const n = turns.reduce((k, t) => k + t.value.split(media).length - 1, 0);
    if (n !== 1 || !turns[0].value.includes(media)) fail(where, 'conversations[0].value', `a human turn holding the one "${media}" placeholder of the conversation`, `${n} placeholders`);
  }
  return turns;
}

export async function convertChat(source: ChatSource, opts: ConvertOptions): Promise<ConvertResult> {
  const d = DEFAULTS[source];
  const path = opts.annotations ?? rootPath(opts, d.file);
  const imageDir = opts.images ?? rootPath(opts, d.images);
  const items = await readJson(path, `${source} conversations JSON`);
  if (!Array.isArray(items)) fail(path, '(file)', 'a JSON list of {id, image, conversations}', typeof items);
  const tick = progressTicker(opts, `${source} items`, items.length);
  const records: ManifestRecord[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    tick(i + 1);
    const it = items[i] as Record<string, unknown>;
    const id = typeof it?.id === 'string' || typeof it?.id === 'number' ? String(it.id) : String(i);
    const where = `${path}: item ${i} (id ${id})`;
    if (typeof it !== 'object' || it === null) fail(where, '(item)', 'an object {id, image, conversations}', it);
    let image: string | undefined;
    if (it.image !== undefined) {
      if (typeof it.image !== 'string' || !it.image) fail(where, 'image', 'a file name', it.image);
      image = join(imageDir, it.image);
      if (!(await isFile(image))) throw new ConvertError(`${where}: image ${image} does not exist; --images DIR is the folder of ${source === 'cc3m' ? "the 595K images (images.zip)" : 'COCO train2017'}`);
    }
    const conversations = checkConversations(it.conversations, where, image ? '<image>' : null);
    const recId = ids.has(id) ? `${id}#${i}` : id; // LLaVA-Instruct repeats ids across its task subsets
    ids.add(recId);
    records.push({ id: `${source}-${recId}`, source, task: d.task, ...(image ? { image: manifestPath(opts.out, image) } : {}), conversations });
  }
  await writeManifest(opts.out, records);
  return { records: records.length, out: opts.out, skipped: [] };
}
