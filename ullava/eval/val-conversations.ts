// Manifest records given as "targets" (v1: referring expressions, categories, masks, boxes) become the
// conversations of the official validation sets, not the training ones: no prompt pool and no random draw.
//  - res / rec (ValResDataset): one sample per target, one round per referring expression (the official
//    code keeps up to 10, drawn at random when there are more; here the first 10, so a run is repeatable),
//    each asking "<image>\nOutput the segmentation mask of the {sentence} in the image." ("<image>" only in
//    the first round), each answered with the target's mask: the same ground truth once per round.
//  - salient (ValSalientSegDataset): one round, "<image>\nFind the salient object in the image.".
// The answers are those the model was trained to give: the published checkpoint's
// "Sure. Info: [SEG]; [tag]{category}[/tag]." or, for a model with the [LOC] head, HEAD's
// "Sure. Mask: [SEG]; Location: [LOC]; [tag]{category}[/tag]." (salient: without the tag, as the official
// validation answer).
import type { Box } from '../media/boxes.js';
import type { EvalTask } from './records.js';

export const VAL_RES_PROMPT = '<image>\nOutput the segmentation mask of the <class> in the image.';
export const VAL_SALIENT_PROMPT = '<image>\nFind the salient object in the image.';
export const VAL_MAX_SENTENCES = 10;

export type AnswerStyle = 'published' | 'loc';

export interface ValTarget<M> { sentences: string[] | null; category: string; mask: M | null; box: Box | null }

export interface ValSample<M> {
  /** Index of the target in the record. */
  target: number;
  conversations: { from: 'human' | 'gpt'; value: string }[];
  /** One ground-truth mask per [SEG] (per round), when the target has a mask. */
  masks: M[];
  /** One ground-truth box per round, when the target has a box. */
  boxes: Box[];
}

function answer(task: EvalTask, category: string, style: AnswerStyle): string {
  const tag = `[tag]${category.toLowerCase()}[/tag]`;
  if (task === 'salient') return style === 'loc' ? 'Sure. Mask: [SEG]; Location: [LOC];' : 'Sure. Info: [SEG].';
  return style === 'loc' ? `Sure. Mask: [SEG]; Location: [LOC]; ${tag}.` : `Sure. Info: [SEG]; ${tag}.`;
}

/**
 * The validation samples of one record's targets. Throws (with `where`) for what cannot be evaluated:
 * a task without targets semantics (vqa, caption), a res target without mask, a rec target without box,
 * a res / rec target without referring expressions.
 */
export function valSamples<M>(task: EvalTask, targets: readonly ValTarget<M>[], style: AnswerStyle, where: string): ValSample<M>[] {
  if (task === 'vqa' || task === 'caption') throw new Error(`${where}: "targets" records have no ${task} answers; write "conversations"`);
  return targets.map((t, i): ValSample<M> => {
    const field = `targets[${i}]`;
    if ((task === 'res' || task === 'salient') && !t.mask) throw new Error(`${where}: "${field}.mask" is required for ${task} (the ground truth)`);
    if (task === 'rec' && !t.box) throw new Error(`${where}: "${field}.box" is required for rec (the ground truth)`);
    let questions: string[];
    if (task === 'salient') questions = [VAL_SALIENT_PROMPT];
    else {
      const sentences = (t.sentences ?? []).slice(0, VAL_MAX_SENTENCES);
      if (sentences.length === 0) throw new Error(`${where}: "${field}.sentences" must hold at least one referring expression for ${task}`);
      questions = sentences.map((s, k) => {
        const q = VAL_RES_PROMPT.split('<class>').join(s);
        return k === 0 ? q : q.split('<image>').join('');
      });
    }
    const a = answer(task, t.category, style);
    return {
      target: i,
      conversations: questions.flatMap((q) => [{ from: 'human' as const, value: q }, { from: 'gpt' as const, value: a }]),
      masks: t.mask ? questions.map(() => t.mask!) : [],
      boxes: t.box ? questions.map(() => t.box!) : [],
    };
  });
}
