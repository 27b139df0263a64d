// The evaluation's view of a data manifest. The manifest reader (v1, ullava/data/manifest*.ts) is used in ONE
// place, parseConversationRecord. Each line is a manifest record; the fields the evaluation needs:
//   "task"  res | rec | semantic | salient | caption | vqa | video (a record of another task than the one
//           evaluated is skipped and counted; a record without one is evaluated as the task asked for)
//   "id"    a name for reports (default: the line number)
//   "boxes" for rec: the ground-truth pixel boxes [x0, y0, x1, y1], one per [LOC] of the answers, or, when
//           the answers have no [LOC] (the published model), one per [SEG] (its mask's box is scored).
//   "targets" (instead of conversations): the official validation conversations (val-conversations.ts),
//           one record per target, id "<id>#<target>"; masks in every MASK form of the manifest.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ManifestError, formatIssue, type ManifestRecord as TrainingSample } from '../data/manifest-types.js';
import { parseRecord } from '../data/manifest-parse.js';
import type { Box } from '../media/boxes.js';
import { valSamples, type AnswerStyle, type ValTarget } from './val-conversations.js';

export const EVAL_TASKS = ['res', 'rec', 'salient', 'caption', 'vqa'] as const;
export type EvalTask = (typeof EVAL_TASKS)[number];

export interface EvalRecord {
  /** "file:line", for error messages. */
  where: string;
  /** 1-based line of the manifest. */
  line: number;
  id: string;
  task: string | null;
  sample: TrainingSample;
  /** The questions (human turns) and ground-truth answers (gpt turns), one per round. */
  questions: string[];
  answers: string[];
  /** rec: ground-truth boxes, in the order of the answers' [LOC] (else [SEG]) tokens. */
  gtBoxes: Box[];
  /**
   * Optional kinds the metrics are also reported by: of each mask / box item, from "refs"[i].expression_type
   * (the shapes world: simple, attribute, relational), and of each round, from "questions"[k].type (VQA kinds).
   */
  itemKinds: (string | null)[];
  roundKinds: (string | null)[];
}

/** The string field `key` of each object of array `raw` (null where absent), or [] when `raw` is not an array. */
function kindsOf(raw: unknown, key: string): (string | null)[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((x) => (typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>)[key] === 'string' ? (x as Record<string, string>)[key] : null));
}

export interface EvalRecords { records: EvalRecord[]; skipped: number; path: string }

const count = (text: string, tok: string) => text.split(tok).length - 1;

function fail(where: string, field: string, message: string): never {
  throw new ManifestError(`${where}: "${field}" ${message}`);
}

/** What the task needs from a record, checked before any model runs. */
function checkForTask(r: EvalRecord, task: EvalTask): void {
  const answers = r.answers.join('\n');
  if (task === 'res' || task === 'salient') {
    if (!r.sample.image) fail(r.where, 'image', `is required for ${task} (the masks are the image's)`);
    if (count(answers, '[SEG]') === 0) fail(r.where, 'conversations', `must have a [SEG] in a gpt answer for ${task} (e.g. "Sure. Info: [SEG].")`);
    if (r.sample.masks.length === 0) fail(r.where, 'masks', `are required for ${task}: one ground-truth mask per [SEG] (${count(answers, '[SEG]')})`);
  } else if (task === 'rec') {
    if (!r.sample.image) fail(r.where, 'image', 'is required for rec');
    const loc = count(answers, '[LOC]'), seg = count(answers, '[SEG]');
    const want = loc || seg;
    if (want === 0) fail(r.where, 'conversations', 'must have a [LOC] or [SEG] in a gpt answer for rec');
    if (r.gtBoxes.length !== want) fail(r.where, 'boxes', `must hold one ground-truth box per ${loc ? '[LOC]' : '[SEG]'} of the answers (${want}), got ${r.gtBoxes.length}`);
  }
}

/**
 * THE call into the manifest reader: one record with conversations (JSON) -> the trainer's sample, checked
 * (masks one per [SEG], boxes one per [LOC], paths resolved against `base`), or a ManifestError naming the
 * line and the field.
 */
function parseConversationRecord(json: Record<string, unknown>, where: string, line: number, base: string): TrainingSample {
  const { record, issues } = parseRecord(json, where, line, base);
  if (!record || issues.length) throw new ManifestError(issues.map(formatIssue).join('\n'));
  return record;
}

/** The targets of a v1 line, their masks left as JSON for parseConversationRecord to read. */
function parseTargets(raw: unknown, where: string): ValTarget<unknown>[] {
  if (!Array.isArray(raw) || raw.length === 0) fail(where, 'targets', `must be a non-empty array, got ${JSON.stringify(raw)?.slice(0, 80)}`);
  return raw.map((t, i) => {
    const f = `targets[${i}]`;
    if (typeof t !== 'object' || t === null) fail(where, f, 'must be an object {sentences, category, mask, box}');
    const { sentences, category, mask, box } = t as Record<string, unknown>;
    if (sentences !== undefined && !(Array.isArray(sentences) && sentences.every((x) => typeof x === 'string' && x.trim()))) fail(where, `${f}.sentences`, 'must be an array of non-empty strings');
    if (typeof category !== 'string' || !category) fail(where, `${f}.category`, `must be a non-empty string, got ${JSON.stringify(category)}`);
    if (box !== undefined && !(Array.isArray(box) && box.length === 4 && box.every((v) => typeof v === 'number' && Number.isFinite(v)) && box[2] >= box[0] && box[3] >= box[1])) {
      fail(where, `${f}.box`, `must be pixel [x0, y0, x1, y1] with x0 <= x1 and y0 <= y1, got ${JSON.stringify(box)}`);
    }
    return { sentences: (sentences as string[] | undefined) ?? null, category, mask: mask ?? null, box: (box as Box | undefined) ?? null };
  });
}

/**
 * Parses one manifest line (JSON) into its records: one, or one per target of a "targets" record (the
 * official validation conversations in `style`, the answer format of the model evaluated).
 */
export function parseEvalRecords(json: unknown, where: string, line: number, base: string, task: EvalTask, style: AnswerStyle = 'published'): EvalRecord[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ManifestError(`${where}: a record must be a JSON object`);
  const j = json as Record<string, unknown>;
  if (j.targets === undefined || j.conversations !== undefined) return [parseEvalRecord(j, where, line, base)];
  const targets = parseTargets(j.targets, where);
  let samples;
  try { samples = valSamples(task, targets, style, where); } catch (e) { throw new ManifestError((e as Error).message); }
  const { targets: _t, ...rest } = j;
  return samples.map((v) => {
    const r = parseEvalRecord({ ...rest, conversations: v.conversations, masks: v.masks.length ? v.masks : undefined, boxes: v.boxes.length ? v.boxes : undefined },
      `${where} (targets[${v.target}])`, line, base);
    return { ...r, id: targets.length > 1 ? `${r.id}#${v.target}` : r.id };
  });
}

/** Parses one manifest record with conversations. */
export function parseEvalRecord(json: unknown, where: string, line: number, base: string): EvalRecord {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ManifestError(`${where}: a record must be a JSON object`);
  const j = { ...(json as Record<string, unknown>) };
  if (j.task !== undefined && typeof j.task !== 'string') fail(where, 'task', `must be a string, got ${JSON.stringify(j.task)}`);
  if (j.id !== undefined && typeof j.id !== 'string' && typeof j.id !== 'number') fail(where, 'id', `must be a string, got ${JSON.stringify(j.id)}`);
  if (j.video !== undefined) fail(where, 'video', 'is not evaluated by ullava eval (images only); remove the record or give --task of an image set');
  // Version 0 wants one box per [LOC]; rec ground truth of a [SEG]-only answer is read here instead.
  let gtBoxes: Box[] = [];
  if (Array.isArray(j.boxes)) {
    gtBoxes = j.boxes.map((b, i) => {
      if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)) || b[2] < b[0] || b[3] < b[1]) {
        fail(where, `boxes[${i}]`, `must be pixel [x0, y0, x1, y1] with x0 <= x1 and y0 <= y1, got ${JSON.stringify(b)}`);
      }
      return b as Box;
    });
    const gpt = Array.isArray(j.conversations) ? j.conversations.filter((_, i) => i % 2 === 1).map((t) => String((t as { value?: unknown })?.value ?? '')).join('\n') : '';
    if (count(gpt, '[LOC]') === 0) delete j.boxes;
  }
  const sample = parseConversationRecord(j, where, line, base);
  // (The v1 record type allows null conversations, for targets; this one has them.)
  const turns = sample.conversations!;
  return {
    where, line, id: j.id === undefined ? String(line) : String(j.id), task: (j.task as string | undefined) ?? null, sample,
    questions: turns.filter((t) => t.from === 'human').map((t) => t.value),
    answers: turns.filter((t) => t.from === 'gpt').map((t) => t.value),
    gtBoxes, itemKinds: kindsOf(j.refs, 'expression_type'), roundKinds: kindsOf(j.questions, 'type'),
  };
}

/**
 * The records of `path` to evaluate for `task`: those whose "task" is that task or absent (others are
 * skipped and counted). Every record is checked for what the task needs before any model runs.
 * `style`: the answers of "targets" records ('loc' for a model with the [LOC] head).
 */
export async function readEvalRecords(path: string, task: EvalTask, style: AnswerStyle = 'published'): Promise<EvalRecords> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (e) {
    throw new ManifestError(`${path}: cannot read the data manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const base = dirname(resolve(path));
  const records: EvalRecord[] = [];
  let skipped = 0;
  text.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    const where = `${path}:${i + 1}`;
    let json: unknown;
    try { json = JSON.parse(l); } catch (e) { throw new ManifestError(`${where}: not valid JSON (${(e as Error).message})`); }
    const t = (json as { task?: unknown } | null)?.task;
    if (typeof t === 'string' && t !== task) { skipped++; return; }
    for (const r of parseEvalRecords(json, where, i + 1, base, task, style)) {
      checkForTask(r, task);
      records.push(r);
    }
  });
  if (records.length === 0) {
    throw new ManifestError(`${path}: no records to evaluate for task ${task}${skipped ? ` (${skipped} records of other tasks skipped)` : ''}`);
  }
  return { records, skipped, path };
}
