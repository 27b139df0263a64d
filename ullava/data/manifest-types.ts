// The records of the data manifest, version 1 (JSONL, one sample per line; v0 lines are v1 lines without
// the new fields). The agreed format (helpers collate, convert, shapes, eval):
//
//   {"task": "res" | "rec" | "semantic" | "salient" | "caption" | "vqa" | "video",     optional on v0 lines
//    "id": "refcoco-123", "source": "refcoco", "split": "train",                       optional
//    "image": "images/cat.jpg"  |  "video": "clips/a.gif"  |  "video": {"frames": ["f0.jpg", ...]},
//    EITHER "conversations": [{"from": "human", "value": "<image>\n..."}, {"from": "gpt", "value": "..."}, ...]
//           with "masks": [MASK, ...] (one per [SEG] in the answers) and "boxes": [[x0,y0,x1,y1], ...] (one per [LOC])
//    OR     "targets": [{"sentences": ["the cat on the left", ...],   referring expressions (res / rec)
//                        "category": "cat", "mask": MASK, "box": [x0, y0, x1, y1], "reason": "..." (salient)}]}
//
//   MASK: "masks/cat.png" (non-zero = inside) | COCO RLE {"size": [h, w], "counts": [..] | "string"}
//       | polygons {"size": [h, w], "polygons": [[x, y, x, y, ...], ...]} | {"label_png": path, "class_id": n}
// Paths are relative to the manifest's directory; masks and boxes are at the image's pixel size.
// "reason" (the salient explanation) is this reader's addition to the agreed fields: the salient answer needs it.
// "objects" (optional, on image lines): every object of the image as {"category": "square", "attributes":
// ["red", "small"], "mask": MASK}, instance annotations in the spirit of COCO's (plus attribute words, as Visual
// Genome's); the "vision" training stage (train/patch-word-forward.ts) learns from them, the other stages ignore them.

export const TASKS = ['res', 'rec', 'semantic', 'salient', 'caption', 'vqa', 'video'] as const;
export type Task = typeof TASKS[number];

export interface ConversationTurn { from: 'human' | 'gpt'; value: string }

/** COCO run-length encoding: alternating runs of 0 and 1 in column-major order, starting with 0. */
export interface CocoRle { size: [number, number]; counts: number[] | string }

/** A mask as the manifest gives it, with its paths already resolved to absolute ones. */
export type MaskSource =
  | { png: string }
  | { rle: CocoRle }
  | { polygons: { size: [number, number]; polygons: number[][] } }
  | { labelPng: string; classId: number };

export type PixelBox = [number, number, number, number];

/** A video: a file ffmpeg reads (mp4, gif, ...) or frames already extracted, in order. */
export type VideoSource = { path: string } | { frames: string[] };

export interface ManifestTarget {
  /** Referring expressions (res / rec); null for semantic / salient targets, which are asked by category. */
  sentences: string[] | null;
  category: string;
  mask: MaskSource | null;
  box: PixelBox | null;
  /** Salient only: the explanation appended to the answer. */
  reason: string | null;
}

/** An annotated object of an image: its category and attribute words, and its mask. */
export interface ManifestObject { category: string; attributes: string[]; mask: MaskSource }

/** One line of the manifest, validated. (TrainingSample is the same type under its v0 name.) */
export interface ManifestRecord {
  /** "file:line", for error messages. */
  where: string;
  /** 1-based line number in the manifest. */
  line: number;
  /** The task (v0 lines without "task": inferred, see inferTask). */
  task: Task;
  id: string | null;
  source: string | null;
  split: string | null;
  image: string | null;
  video: VideoSource | null;
  /** Given conversations (v0 style); null when the record has targets. */
  conversations: ConversationTurn[] | null;
  /** Masks / boxes of the given conversations, one per [SEG] / [LOC] in the answers. */
  masks: MaskSource[];
  boxes: PixelBox[];
  /** Targets the collator turns into up to 3 rounds (prompts.ts); null when the record has conversations. */
  targets: ManifestTarget[] | null;
  /** Every object of the image ("objects"), or empty when the line gives none. */
  objects: ManifestObject[];
}

export class ManifestError extends Error {
  constructor(message: string) { super(message); this.name = 'ManifestError'; }
}

/** One problem with one field of one line. */
export interface ManifestIssue { where: string; line: number; field: string; message: string }

export function formatIssue(i: ManifestIssue): string {
  // Whole-line problems ("(line)", "(record)", "(file)") have no field to quote.
  return i.field.startsWith('(') ? `${i.where}: ${i.message}` : `${i.where}: "${i.field}" ${i.message}`;
}
