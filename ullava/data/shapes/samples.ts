// One sample of the shapes world from its seed: the task (drawn from the seed among the tasks asked for),
// the scene or clip, the conversation and the targets, as a manifest line (v1 fields, also valid v0:
// conversations + one COCO RLE mask per [SEG]) plus the pictures to write beside it.
//
// Fields beyond the manifest's, for evaluation: "refs" (per [SEG]: expression, expression_type
// simple|attribute|relational|salient, category, box [x0,y0,x1,y1] in pixel edges), "questions" (per VQA
// round: type and answer), "motion" (video: the moving shape and its direction), "seed". Every image line
// also gives "objects": each shape's kind, colour and size words with its visible mask (the dense labels the
// recipe's "vision" stage learns from).
import type { RgbImage } from '../../media/image.js';
import { rngFor, type Rng } from './random.js';
import { boxOf, maskOf } from './render.js';
import { encodeMask, type NumericRle as CocoRleCounts } from '../coco/rle.js';
import { expressionsFor, type Expression } from './referring.js';
import { sampleClip, sampleOddOneOut, sampleScene, type RenderedScene } from './sample-scene.js';
import { caption } from './describe.js';
import { vqaCandidates, type VqaType } from './vqa.js';
import {
  captionQuestion, groundQuestion, salientQuestion, segAnswer, segmentQuestion, videoCaptionQuestion, withMedia,
} from './wording.js';
import { capitalise } from './vocabulary.js';
import { masksToBoxes, type Box } from '../../media/boxes.js';

export const TASKS = ['res', 'rec', 'vqa', 'caption', 'salient', 'video'] as const;
export type ShapesTask = typeof TASKS[number];
/** How often each task is drawn when all are asked for. */
export const TASK_WEIGHTS: Record<ShapesTask, number> = { res: 0.35, rec: 0.1, vqa: 0.25, caption: 0.1, salient: 0.1, video: 0.1 };

export interface Turn { from: 'human' | 'gpt'; value: string }
export interface Ref { expression: string; expression_type: Expression['type'] | 'salient'; category: string; box: [number, number, number, number] }

export interface ShapesRecord {
  id: string; task: ShapesTask; source: 'shapes'; split: string; seed: number;
  image?: string; video?: { frames: string[] };
  conversations: Turn[];
  masks?: CocoRleCounts[];
  /** rec: the ground-truth box of each [SEG] (inclusive pixel box, as u-LLaVA's mask2bbox), for `ullava eval --task rec`. */
  boxes?: Box[];
  refs?: Ref[];
  questions?: { type: VqaType; answer: string }[];
  motion?: { mover: string; direction: string };
  objects?: { category: string; attributes: string[]; mask: CocoRleCounts }[];
}

export interface GeneratedSample { record: ShapesRecord; pictures: { path: string; image: RgbImage }[] }

export interface SampleOptions { width: number; height: number; tasks: readonly ShapesTask[]; split: string }

function pickTask(seed: number, tasks: readonly ShapesTask[]): ShapesTask {
  return tasks[rngFor(seed, 1).weighted(tasks.map((t) => TASK_WEIGHTS[t]))];
}

/** Up to `k` expressions for distinct shapes, the type drawn first (simple 40%, attribute 30%, relational 30%) among those the scene has. */
function chooseExpressions(rs: RenderedScene, rng: Rng, k: number): Expression[] {
  const all = rs.scene.shapes.flatMap((_, i) => expressionsFor(rs.scene, i));
  const out: Expression[] = [];
  while (out.length < k) {
    const left = all.filter((e) => !out.some((o) => o.target === e.target));
    if (!left.length) break;
    const types = (['simple', 'attribute', 'relational'] as const).filter((t) => left.some((e) => e.type === t));
    const type = types[rng.weighted(types.map((t) => ({ simple: 0.4, attribute: 0.3, relational: 0.3 })[t]))];
    out.push(rng.pick(left.filter((e) => e.type === type)));
  }
  return out;
}

function segmentationSample(rs: RenderedScene, rng: Rng, task: 'res' | 'rec'): Omit<ShapesRecord, 'id' | 'task' | 'source' | 'split' | 'seed'> | null {
  const exprs = chooseExpressions(rs, rng, task === 'res' ? rng.int(1, 3) : rng.int(1, 2));
  if (!exprs.length) return null;
  const { width: W, height: H } = rs.scene;
  const conversations: Turn[] = [], masks: CocoRleCounts[] = [], refs: Ref[] = [], boxes: Box[] = [];
  exprs.forEach((e, i) => {
    const shape = rs.scene.shapes[e.target], mask = maskOf(rs.rendered, e.target);
    const q = task === 'res' ? segmentQuestion(e.text, rng) : groundQuestion(e.text, rng);
    conversations.push({ from: 'human', value: i === 0 ? withMedia(q, 'image') : q }, { from: 'gpt', value: segAnswer(shape.kind) });
    masks.push(encodeMask(mask, H, W));
    boxes.push(masksToBoxes(mask, W, H)!);
    refs.push({ expression: e.text, expression_type: e.type, category: shape.kind, box: boxOf(mask, W)! });
  });
  if (task === 'res') return { conversations, masks, refs };
  return { conversations, masks, boxes, refs };
}

/** Every visible shape of a rendered scene as an annotated object: kind, colour and size words, visible mask. */
function objectsOf(rs: RenderedScene): NonNullable<ShapesRecord['objects']> {
  const { width: W, height: H } = rs.scene;
  return rs.scene.shapes.flatMap((s, i) => (rs.rendered.visibleArea[i] > 0
    ? [{ category: s.kind, attributes: [s.colour, s.size], mask: encodeMask(maskOf(rs.rendered, i), H, W) }] : []));
}

/** The sample of `seed` (the same bytes whatever else is generated). */
export function generateSample(seed: number, o: SampleOptions): GeneratedSample {
  const task = pickTask(seed, o.tasks);
  const base = { id: `${o.split}-${seed}`, task, source: 'shapes' as const, split: o.split, seed };
  const image = `images/${seed}.png`;
  // Scenes without a usable expression (res/rec) are drawn again from the same stream.
  const rng = rngFor(seed, 2);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (task === 'res' || task === 'rec') {
      const rs = sampleScene(rng, o.width, o.height);
      const body = segmentationSample(rs, rng, task);
      if (!body) continue;
      return { record: { ...base, image, ...body, objects: objectsOf(rs) }, pictures: [{ path: image, image: rs.rendered.image }] };
    }
    if (task === 'vqa') {
      const rs = sampleScene(rng, o.width, o.height);
      const qs = rng.shuffle(vqaCandidates(rs.scene, rng)).slice(0, rng.int(1, 3));
      const conversations = qs.flatMap((q, i): Turn[] => [{ from: 'human', value: i === 0 ? withMedia(q.question, 'image') : q.question }, { from: 'gpt', value: q.answer }]);
      return { record: { ...base, image, conversations, questions: qs.map((q) => ({ type: q.type, answer: q.answer })), objects: objectsOf(rs) },
        pictures: [{ path: image, image: rs.rendered.image }] };
    }
    if (task === 'caption') {
      const rs = sampleScene(rng, o.width, o.height);
      return { record: { ...base, image, conversations: [{ from: 'human', value: withMedia(captionQuestion(rng), 'image') }, { from: 'gpt', value: caption(rs.scene) }], objects: objectsOf(rs) },
        pictures: [{ path: image, image: rs.rendered.image }] };
    }
    if (task === 'salient') {
      const s = sampleOddOneOut(rng, o.width, o.height);
      const shape = s.scene.shapes[s.odd], mask = maskOf(s.rendered, s.odd);
      return {
        record: { ...base, image, conversations: [{ from: 'human', value: withMedia(salientQuestion(rng), 'image') }, { from: 'gpt', value: segAnswer(shape.kind, s.explanation) }],
          masks: [encodeMask(mask, o.height, o.width)],
          refs: [{ expression: 'the odd one out', expression_type: 'salient', category: shape.kind, box: boxOf(mask, o.width)! }], objects: objectsOf(s) },
        pictures: [{ path: image, image: s.rendered.image }],
      };
    }
    // video
    const clip = sampleClip(rng, o.width, o.height);
    const m = clip.frames[0].scene.shapes[clip.mover], name = `${m.colour} ${m.kind}`;
    const frames = clip.frames.map((_, f) => `videos/${seed}/${f}.png`);
    const moves = { left: 'to the left', right: 'to the right', up: 'up', down: 'down' }[clip.direction];
    const conversations: Turn[] = rng.chance(0.5)
      ? [{ from: 'human', value: withMedia(videoCaptionQuestion(rng), 'video') }, { from: 'gpt', value: `The ${name} moves ${moves}.` }]
      : [{ from: 'human', value: withMedia(`Which way does the ${name} move?`, 'video') }, { from: 'gpt', value: `${capitalise(clip.direction)}.` }];
    return {
      record: { ...base, video: { frames }, conversations, motion: { mover: name, direction: clip.direction } },
      pictures: clip.frames.map((f, i) => ({ path: frames[i], image: f.rendered.image })),
    };
  }
  throw new Error(`shapes: seed ${seed} gave no ${task} sample in 50 scenes`);
}
