// Validation of one manifest line (manifest-types.ts has the format). Every problem is collected, not
// only the first: a line with three mistakes reports three issues, each naming its field, what it must be
// and what it is. The record comes back only when the line has no issue.
import { isAbsolute, resolve } from 'node:path';
import {
  TASKS, type Task, type ConversationTurn, type MaskSource, type PixelBox, type VideoSource, type ManifestTarget,
  type ManifestRecord, type ManifestObject, type ManifestIssue, ManifestError, formatIssue,
} from './manifest-types.js';

class Issues {
  readonly list: ManifestIssue[] = [];
  constructor(readonly where: string, readonly line: number) {}
  /** `field` must be `expected`, got `got`. */
  bad(field: string, expected: string, got: unknown): void {
    const shown = JSON.stringify(got);
    this.list.push({ where: this.where, line: this.line, field, message: `must be ${expected}, got ${shown === undefined ? 'nothing' : shown.length > 80 ? shown.slice(0, 77) + '...' : shown}` });
  }
  say(field: string, message: string): void { this.list.push({ where: this.where, line: this.line, field, message }); }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0);
const resolvePath = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));

function parseMask(m: unknown, field: string, base: string, is: Issues): MaskSource | null {
  if (typeof m === 'string') {
    if (!m) { is.bad(field, 'a PNG path, a COCO RLE, polygons or a label map', m); return null; }
    return { png: resolvePath(base, m) };
  }
  if (!isObj(m)) { is.bad(field, 'a PNG path, a COCO RLE {size, counts}, polygons {size, polygons} or a label map {label_png, class_id}', m); return null; }
  if ('label_png' in m) {
    const okPath = typeof m.label_png === 'string' && m.label_png.length > 0;
    const okId = Number.isInteger(m.class_id) && (m.class_id as number) >= 0 && (m.class_id as number) < 255;
    if (!okPath) is.bad(`${field}.label_png`, 'the path of a label PNG', m.label_png);
    if (!okId) is.bad(`${field}.class_id`, 'an integer class id in 0..254 (255 is the ignore label)', m.class_id);
    return okPath && okId ? { labelPng: resolvePath(base, m.label_png as string), classId: m.class_id as number } : null;
  }
  let ok = true;
  if (!isSize(m.size)) { is.bad(`${field}.size`, 'two positive integers [height, width]', m.size); ok = false; }
  if ('polygons' in m) {
    const polys = m.polygons;
    if (!Array.isArray(polys) || polys.length === 0) { is.bad(`${field}.polygons`, 'a non-empty array of polygons [x, y, x, y, ...]', polys); return null; }
    polys.forEach((p, k) => {
      if (!Array.isArray(p) || p.length < 6 || p.length % 2 !== 0 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        is.bad(`${field}.polygons[${k}]`, 'at least 3 points as [x, y, x, y, ...] (an even count of finite numbers)', p); ok = false;
      }
    });
    return ok ? { polygons: { size: m.size as [number, number], polygons: polys as number[][] } } : null;
  }
  const c = m.counts;
  const okCounts = (typeof c === 'string' && c.length > 0) || (Array.isArray(c) && c.every((v) => Number.isInteger(v) && v >= 0));
  if (!okCounts) { is.bad(`${field}.counts`, 'an array of non-negative integers or a compressed RLE string', c); ok = false; }
  else if (Array.isArray(c) && isSize(m.size)) {
    const total = c.reduce((a: number, v: number) => a + v, 0);
    const [h, w] = m.size as [number, number];
    if (total !== h * w) { is.say(`${field}.counts`, `cover ${total} pixels, but the size says ${h} x ${w} = ${h * w}`); ok = false; }
  }
  return ok ? { rle: { size: m.size as [number, number], counts: c as number[] | string } } : null;
}

/** One MASK (JSON) checked and resolved against `base`; throws a ManifestError naming `where` and every problem. */
export function parseMaskField(m: unknown, base: string, where: string): MaskSource {
  const is = new Issues(where, 0);
  const parsed = parseMask(m, 'mask', base, is);
  if (!parsed) throw new ManifestError(is.list.map(formatIssue).join('\n'));
  return parsed;
}

/** "objects": [{"category", "attributes": [words], "mask"}] of an image line. */
function parseObjects(v: unknown, hasImage: boolean, base: string, is: Issues): ManifestObject[] {
  if (!Array.isArray(v)) { is.bad('objects', 'an array of {category, attributes, mask}', v); return []; }
  if (!hasImage) is.say('objects', 'is given on a line without "image" (objects annotate an image)');
  const word = (w: unknown) => typeof w === 'string' && w.trim().length > 0;
  return v.flatMap((o, i): ManifestObject[] => {
    const f = `objects[${i}]`;
    if (!isObj(o)) { is.bad(f, 'an object {category, attributes, mask}', o); return []; }
    if (!word(o.category)) is.bad(`${f}.category`, 'a non-empty word', o.category);
    const attrs = o.attributes ?? [];
    if (!Array.isArray(attrs) || !attrs.every(word)) is.bad(`${f}.attributes`, 'an array of non-empty words', o.attributes);
    const mask = parseMask(o.mask, `${f}.mask`, base, is);
    if (!mask || !word(o.category) || !Array.isArray(attrs) || !attrs.every(word)) return [];
    return [{ category: o.category as string, attributes: attrs as string[], mask }];
  });
}

function parseBox(b: unknown, field: string, is: Issues): PixelBox | null {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)) || b[2] < b[0] || b[3] < b[1]) {
    is.bad(field, 'pixel [x0, y0, x1, y1] with x0 <= x1 and y0 <= y1', b);
    return null;
  }
  return b as PixelBox;
}

function parseConversations(v: unknown, is: Issues): ConversationTurn[] | null {
  if (!Array.isArray(v) || v.length < 2) { is.bad('conversations', 'an array of at least one human and one gpt turn', v); return null; }
  let ok = true;
  const turns = v.map((t, i): ConversationTurn => {
    const want = i % 2 === 0 ? 'human' : 'gpt';
    const turn = isObj(t) ? t : {};
    if (turn.from !== want) { is.bad(`conversations[${i}].from`, `"${want}" (turns alternate, human first)`, isObj(t) ? t.from : t); ok = false; }
    if (typeof turn.value !== 'string') { is.bad(`conversations[${i}].value`, 'a string', turn.value); ok = false; }
    return { from: want, value: String(turn.value) };
  });
  if (turns.length % 2 !== 0) { is.bad('conversations', 'pairs of human and gpt turns (the last turn is a human one)', `${turns.length} turns`); ok = false; }
  return ok ? turns : null;
}

function parseVideo(v: unknown, base: string, is: Issues): VideoSource | null {
  if (typeof v === 'string' && v) return { path: resolvePath(base, v) };
  if (isObj(v) && Array.isArray(v.frames) && v.frames.length > 0 && v.frames.every((f) => typeof f === 'string' && f)) {
    return { frames: (v.frames as string[]).map((f) => resolvePath(base, f)) };
  }
  is.bad('video', 'a video file path or {"frames": [image paths, ...]}', v);
  return null;
}

const NEEDS_SENTENCES: Task[] = ['res', 'rec'];
const TARGET_TASKS: Task[] = ['res', 'rec', 'semantic', 'salient'];

function parseTarget(t: unknown, i: number, task: Task | null, base: string, is: Issues): ManifestTarget | null {
  const f = `targets[${i}]`;
  if (!isObj(t)) { is.bad(f, 'an object {sentences, category, mask, box}', t); return null; }
  const before = is.list.length;
  let sentences: string[] | null = null;
  if (t.sentences !== undefined && t.sentences !== null) {
    if (!Array.isArray(t.sentences) || t.sentences.length === 0 || !t.sentences.every((s) => typeof s === 'string' && s.trim())) {
      is.bad(`${f}.sentences`, 'a non-empty array of non-empty referring expressions', t.sentences);
    } else sentences = t.sentences as string[];
  } else if (task && NEEDS_SENTENCES.includes(task)) is.bad(`${f}.sentences`, `present for a "${task}" target (its referring expressions)`, t.sentences);
  if (typeof t.category !== 'string' || !t.category.trim()) is.bad(`${f}.category`, 'a non-empty class name (the answer\'s [tag]...[/tag])', t.category);
  const mask = t.mask === undefined || t.mask === null ? null : parseMask(t.mask, `${f}.mask`, base, is);
  const box = t.box === undefined || t.box === null ? null : parseBox(t.box, `${f}.box`, is);
  let reason: string | null = null;
  if (t.reason !== undefined && t.reason !== null) {
    if (typeof t.reason !== 'string') is.bad(`${f}.reason`, 'a string (the salient explanation)', t.reason); else reason = t.reason;
  }
  if (task === null) { /* the line's "task" is missing or wrong, reported once; what a target needs depends on it */ }
  else if (t.mask === undefined && t.box === undefined) {
    if (task === 'rec') is.bad(f, 'given a "box" or a "mask" (what the answer\'s [LOC] / [SEG] is trained on)', 'neither');
    else is.bad(`${f}.mask`, `present for a "${task}" target (what the answer's [SEG] is trained on)`, t.mask);
  } else if (t.mask === undefined && task !== 'rec') is.bad(`${f}.mask`, `present for a "${task}" target (the answer's [SEG]); only "rec" targets may have a box alone`, t.mask);
  if (is.list.length > before) return null;
  return { sentences, category: (t.category as string).trim(), mask, box, reason };
}

/** The task of a v0 line without "task". */
function inferTask(r: { video: unknown; masks: unknown[]; boxes: unknown[] }): Task {
  if (r.video) return 'video';
  if (r.masks.length) return 'res';
  if (r.boxes.length) return 'rec';
  return 'vqa';
}

const count = (turns: ConversationTurn[], tok: string) => turns.filter((t) => t.from === 'gpt').reduce((a, t) => a + t.value.split(tok).length - 1, 0);

/** Validates one JSON-parsed line. `base`: the directory relative paths start from. */
export function parseRecord(json: unknown, where: string, line: number, base: string): { record: ManifestRecord | null; issues: ManifestIssue[] } {
  const is = new Issues(where, line);
  if (!isObj(json)) { is.bad('(record)', 'a JSON object', json); return { record: null, issues: is.list }; }
  const j = json;
  let task: Task | null = null;
  if (j.task !== undefined) {
    if (typeof j.task === 'string' && (TASKS as readonly string[]).includes(j.task)) task = j.task as Task;
    else is.bad('task', `one of ${TASKS.join(', ')}`, j.task);
  }
  const optString = (k: string): string | null => {
    const v = j[k];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    is.bad(k, 'a string', v); return null;
  };
  const id = optString('id'), source = optString('source'), split = optString('split');
  let image: string | null = null, video: VideoSource | null = null;
  if (j.image !== undefined && j.image !== null) {
    if (typeof j.image !== 'string' || !j.image) is.bad('image', 'a non-empty path', j.image); else image = resolvePath(base, j.image);
  }
  if (j.video !== undefined && j.video !== null) video = parseVideo(j.video, base, is);
  if (j.image != null && j.video != null) is.say('video', 'and "image" are both given; a sample has one image or one video');

  const hasConv = j.conversations !== undefined, hasTargets = j.targets !== undefined;
  let conversations: ConversationTurn[] | null = null, targets: ManifestTarget[] | null = null;
  let masks: MaskSource[] = [], boxes: PixelBox[] = [];
  if (hasConv && hasTargets) is.say('targets', 'and "conversations" are both given; give one (targets become conversations in the collator)');
  else if (!hasConv && !hasTargets) is.bad('conversations', 'given, or "targets" (one of them is needed)', undefined);
  else if (hasConv) {
    conversations = parseConversations(j.conversations, is);
    if (j.masks !== undefined) {
      if (!Array.isArray(j.masks)) is.bad('masks', 'an array', j.masks);
      else masks = j.masks.map((m, i) => parseMask(m, `masks[${i}]`, base, is)).filter((m): m is MaskSource => m !== null);
    }
    if (j.boxes !== undefined) {
      if (!Array.isArray(j.boxes)) is.bad('boxes', 'an array', j.boxes);
      else boxes = j.boxes.map((b, i) => parseBox(b, `boxes[${i}]`, is)).filter((b): b is PixelBox => b !== null);
    }
    if (conversations) {
      // The media block goes into the first question only; a placeholder elsewhere, or without its media, would be read as text.
      conversations.forEach((t, i) => {
        for (const [ph, has] of [['<image>', image !== null], ['<video>', video !== null]] as const) {
          if (!t.value.includes(ph)) continue;
          if (i > 0) is.say(`conversations[${i}].value`, `holds "${ph}": the ${ph.slice(1, -1)} goes in the first human turn only`);
          else if (!has) is.say(`conversations[${i}].value`, `holds "${ph}" but the line has no "${ph.slice(1, -1)}"`);
        }
      });
      const segs = count(conversations, '[SEG]'), locs = count(conversations, '[LOC]');
      if (Array.isArray(j.masks) && j.masks.length && j.masks.length !== segs) is.bad('masks', `one mask per [SEG] in the answers (${segs})`, `${j.masks.length} masks`);
      // Boxes go with the [LOC]s; an answer without [LOC] (the published model) may give one per [SEG]: the
      // ground truth `ullava eval --task rec` scores the mask's box against (training ignores them).
      const boxesOk = (n: number) => n === locs || (locs === 0 && n === segs);
      if (Array.isArray(j.boxes) && j.boxes.length && !boxesOk(j.boxes.length)) is.bad('boxes', `one box per [LOC] in the answers (${locs})${locs ? '' : `, or one per [SEG] (${segs}) as rec ground truth`}`, `${j.boxes.length} boxes`);
    }
    if ((Array.isArray(j.masks) && j.masks.length || Array.isArray(j.boxes) && j.boxes.length) && j.image == null) is.bad('image', 'present when masks or boxes are given', j.image);
  } else {
    if (task === null && j.task === undefined) is.bad('task', `given on a line with "targets" (${TARGET_TASKS.join(', ')})`, undefined);
    else if (task !== null && !TARGET_TASKS.includes(task)) is.bad('task', `one of ${TARGET_TASKS.join(', ')} on a line with "targets" (a ${task} sample needs "conversations")`, task);
    if (!Array.isArray(j.targets) || j.targets.length === 0) is.bad('targets', 'a non-empty array of {sentences, category, mask, box}', j.targets);
    else {
      const parsed = j.targets.map((t, i) => parseTarget(t, i, task, base, is));
      if (parsed.every((t) => t !== null)) targets = parsed as ManifestTarget[];
    }
    if (j.image == null) is.bad('image', 'present on a line with "targets" (their masks and boxes are on an image)', j.image);
    if (j.masks !== undefined) is.say('masks', 'is not used on a line with "targets": give each target\'s "mask"');
    if (j.boxes !== undefined) is.say('boxes', 'is not used on a line with "targets": give each target\'s "box"');
  }
  const objects = j.objects === undefined ? [] : parseObjects(j.objects, j.image != null, base, is);
  if (is.list.length) return { record: null, issues: is.list };
  return {
    record: {
      where, line, task: task ?? inferTask({ video, masks, boxes }), id, source, split, image, video,
      conversations, masks, boxes, targets, objects,
    },
    issues: [],
  };
}
