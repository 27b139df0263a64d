// The prompts and answers u-LLaVA was trained with, and the turning of a record's "targets" into a
// conversation (the official ResDataset / SemanticSegDataset / SalientSegDataset build_sample):
//  - the question is a template drawn from the SEG pool (referring, semantic) or the SS pool (salient), its
//    "<class>" replaced by the referring expression (res / rec) or the lower-cased class name (semantic);
//  - up to 3 rounds per sample (salient: 1), the expressions / classes drawn without replacement; every
//    round after the first drops "<image>" from its template and keeps the space that followed it
//    ("USER:  Can you ..."), as the official code does;
//  - the answer: the published model's "Sure. Info: [SEG]; [tag]{category}[/tag]." or, for models with the
//    [LOC] head (the newer code), "Sure. Mask: [SEG]; Location: [LOC]; [tag]{category}[/tag]."; the category
//    lower-cased; salient answers end with " Explanation: {reason}" (lower-cased).
// The draws come from the caller's seeded stream, so an epoch's conversations are reproducible.
import { ManifestError, type ConversationTurn, type ManifestRecord, type ManifestTarget, type MaskSource, type PixelBox } from './manifest-types.js';

/** dataset/templates/SEG.json (9 templates): referring and semantic segmentation. */
export const SEG_PROMPTS: readonly string[] = [
  '<image> Can you segment and locate the <class> in this image?',
  '<image> Please segment and locate the <class> in this image.',
  '<image> What is <class> in this image? Please respond with segmentation mask and the bounding box.',
  '<image> What is <class> in this image? Please output mask and bbox.',
  '<image> Find the <class> in the picture.',
  '<image> Can you help me to find the <class> in the image?',
  '<image> Output the mask and bounding box (bbox) of the <class> in the image?',
  '<image> Look at the image, segment and locate the <class> in the picture.',
  '<image> Where is <class>?',
];

/** dataset/templates/SS.json (8 templates): salient segmentation. */
export const SS_PROMPTS: readonly string[] = [
  '<image> Can you segment the salient object in this image and explain why?',
  '<image> Segment the main part in this image. Then give the reason',
  '<image> What is salient one in this image? Please respond with segmentation mask and tell me why.',
  '<image> What is salient part in this image? Please output segmentation mask and give me the reason.',
  '<image> Find the salient object in the picture.',
  '<image> What makes the image stand out? Please explain.',
  '<image> Output the mask of the salient part in the image and the reason.',
  '<image> Look at the image, segment the main object in the picture and explain.',
];

/** The validation prompt (ValResDataset): one fixed template, up to 10 expressions per sample. */
export const VAL_SEG_PROMPT = '<image>\nOutput the segmentation mask of the <class> in the image.';

export const CLASS_PLACEHOLDER = '<class>';
export const IMAGE_PLACEHOLDER = '<image>';
export const MAX_ROUNDS = 3;

/** 'published': answers with [SEG] only (jinxu95/ullava); 'loc': the newer answers with [SEG] and [LOC]. */
export type AnswerStyle = 'published' | 'loc';

export function segAnswer(category: string, style: AnswerStyle): string {
  const c = category.toLowerCase();
  return style === 'published' ? `Sure. Info: [SEG]; [tag]${c}[/tag].` : `Sure. Mask: [SEG]; Location: [LOC]; [tag]${c}[/tag].`;
}

/**
 * A rec target with a box and no mask can only be answered by the [LOC] head: "Sure. Location: [LOC];
 * [tag]{category}[/tag]." (the official data always has both; this form is ours, for box-only datasets).
 */
export function locOnlyAnswer(category: string): string {
  return `Sure. Location: [LOC]; [tag]${category.toLowerCase()}[/tag].`;
}

/** The salient explanation suffix of SalientSegDataset. */
export function explanationSuffix(reason: string): string {
  return ` Explanation: ${reason.toLowerCase()}`;
}

/** A conversation with the masks and boxes of its [SEG] / [LOC] tokens, in answer order. */
export interface MaterializedSample {
  conversations: ConversationTurn[];
  masks: MaskSource[];
  /** One per [LOC]; null: the box of the round's mask (computed from the decoded mask, as the official semantic/salient code does). */
  boxes: (PixelBox | null)[];
  /** The manifest field of each mask ("masks[i]" or "targets[j].mask"), for errors. */
  maskFields: string[];
}

/** k distinct items of xs (k <= xs.length), in draw order: a partial Fisher-Yates with `rng`. */
export function drawWithoutReplacement<T>(xs: readonly T[], k: number, rng: () => number): T[] {
  const a = [...xs];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

function pick<T>(xs: readonly T[], rng: () => number): T { return xs[Math.floor(rng() * xs.length)]; }

/** The question of round `round` from a template: "<class>" filled; "<image>" removed after round 0. */
export function fillTemplate(template: string, subject: string, round: number): string {
  const q = template.split(CLASS_PLACEHOLDER).join(subject);
  return round === 0 ? q : q.split(IMAGE_PLACEHOLDER).join('');
}

/**
 * A record as a conversation. Records with conversations are returned as they are; records with targets get
 * up to 3 rounds drawn with `rng` (a () => [0, 1) stream, e.g. seeded by (run seed, epoch, sample)).
 */
export function materialize(r: ManifestRecord, rng: () => number, style: AnswerStyle = 'published'): MaterializedSample {
  if (!r.targets) return { conversations: r.conversations ?? [], masks: r.masks, boxes: r.boxes, maskFields: r.masks.map((_, i) => `masks[${i}]`) };
  const rounds: { question: string; target: ManifestTarget }[] = [];
  if (r.task === 'salient') {
    const target = r.targets.length === 1 ? r.targets[0] : pick(r.targets, rng);
    rounds.push({ question: pick(SS_PROMPTS, rng), target });
  } else if (r.task === 'res' || r.task === 'rec') {
    // Each (target, expression) pair is a candidate round; one target with n expressions is the official case.
    const pairs = r.targets.flatMap((t) => (t.sentences ?? []).map((s) => ({ t, s })));
    drawWithoutReplacement(pairs, Math.min(MAX_ROUNDS, pairs.length), rng).forEach(({ t, s }, k) => {
      rounds.push({ question: fillTemplate(pick(SEG_PROMPTS, rng), s, k), target: t });
    });
  } else {
    drawWithoutReplacement(r.targets, Math.min(MAX_ROUNDS, r.targets.length), rng).forEach((t, k) => {
      rounds.push({ question: fillTemplate(pick(SEG_PROMPTS, rng), t.category.toLowerCase(), k), target: t });
    });
  }
  const conversations: ConversationTurn[] = [], masks: MaskSource[] = [], boxes: (PixelBox | null)[] = [], maskFields: string[] = [];
  rounds.forEach(({ question, target: t }) => {
    let answer: string;
    if (t.mask) {
      answer = segAnswer(t.category, style);
      masks.push(t.mask);
      maskFields.push(`targets[${r.targets!.indexOf(t)}].mask`);
      if (style === 'loc') boxes.push(t.box);
    } else if (style === 'loc') {
      answer = locOnlyAnswer(t.category);
      boxes.push(t.box);
    } else {
      throw new ManifestError(`${r.where}: "targets": a target with a box and no mask cannot be trained with the published answer format (it has no [LOC]); give it a "mask", or train a model with the [LOC] head`);
    }
    if (r.task === 'salient' && t.reason) answer += explanationSuffix(t.reason);
    conversations.push({ from: 'human', value: question }, { from: 'gpt', value: answer });
  });
  return { conversations, masks, boxes, maskFields };
}
