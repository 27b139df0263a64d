// Evaluating u-LLaVA on a manifest, for `ullava eval` and for the trainer's periodic evaluation.
//
// Two protocols:
//  - teacher-forced (the official one: eval_ullava.py runs the model on the ground-truth conversation with
//    inference=True): the ground-truth answers, [SEG] / [LOC] included, are fed; each mask comes from the
//    hidden state before its [SEG] (the training forward, ullava/train/forward.ts, run without gradients),
//    each [LOC] box from the box decoder. The answer text reported is the model's greedy choice at every
//    answer position given the true prefix (logits.argmax, as eval_ullava_grounding.py decodes it).
//  - generative (--generate): the model answers each question itself (greedy, the session API), the
//    earlier rounds' ground-truth answers in its history; the masks / boxes are those of the [SEG] / [LOC]
//    tokens it wrote. An expected [SEG] the answer lacks counts as an empty mask (I = 0, U = the ground
//    truth's area); a missing box has IoU 0.
//
// Scoring units ("items"): res / salient: every ground-truth mask (one per [SEG] of the answers);
// rec: every ground-truth box; vqa / caption: every answer (gpt turn). The bootstrap resamples records.
import { Tensor, noGrad, scope, reshape, indexSelect, argmax, cast } from '../../engine/index.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import { trainingForward } from '../train/forward.js';
import { prepareExample, IGNORE_INDEX, type PreparedExample } from '../train/example.js';
import { ManifestError } from '../train/sample.js';
import { preprocessImage } from '../models/sam/preprocess.js';
import { loadImage, masksToBoxes, denormalizeFromPaddedSquare, type Box, type RgbImage } from '../media/index.js';
import { UllavaSession, clampBox } from '../session.js';
import {
  maskIntersectionUnion, maskIoU, cumulativeIoU, generalizedIoU, predictedBoxIoU, precisionAt, exactMatch, tokenF1,
} from './metrics.js';
import { bootstrapInterval, type BootstrapOptions, type BootstrapInterval } from './bootstrap.js';
import type { EvalRecord, EvalTask } from './records.js';

/** One scored unit. Which fields are set depends on the task. */
export interface ItemResult {
  /** 0-based round (gpt turn) the item belongs to, and its index among the record's items. */
  round: number;
  index: number;
  /** The record's kind of this item (EvalRecord.itemKinds / roundKinds), when it names one. */
  kind?: string;
  /** The model's answer of that round (teacher-forced: its greedy choice at each position). */
  answer: string;
  /** res / salient. */
  intersection?: number;
  union?: number;
  /** res / salient: the mask IoU (1 for an empty union); rec: the box IoU. */
  iou?: number;
  /** rec: predicted (null: none) and ground-truth pixel boxes. */
  box?: Box | null;
  gtBox?: Box;
  /** vqa / caption: the ground-truth answer, exact match and token F1. */
  truth?: string;
  correct?: boolean;
  f1?: number;
}

export interface SampleResult { id: string; line: number; where: string; image: string | null; items: ItemResult[] }

/** A badly scored item kept for its picture: the prediction and ground truth at the image's size. */
export interface WorstCase {
  sample: SampleResult;
  item: ItemResult;
  score: number;
  width: number;
  height: number;
  /** res / salient: 0/1 prediction and ground truth (255 = ignored) masks. */
  pred?: Uint8Array;
  gt?: Uint8Array;
}

export interface MetricValue { value: number; ci95: [number, number] | null }

export interface EvalResult {
  task: EvalTask;
  protocol: 'teacher-forced' | 'generative';
  primary: string;
  metrics: Record<string, MetricValue>;
  samples: SampleResult[];
  items: number;
  bootstrap: (BootstrapOptions & { unit: 'record' }) | null;
  worst: WorstCase[];
}

export interface EvaluateOptions {
  task: EvalTask;
  /** Answer the questions instead of teacher forcing (default false). */
  generate?: boolean;
  /** Records per teacher-forced forward (default 1, as the official evaluation); generation runs one at a time. */
  batch?: number;
  /** Longest generated answer in tokens (default 64). */
  maxNewTokens?: number;
  /** Keep the N worst items for pictures (default 0). */
  worst?: number;
  /** Bootstrap settings, or false for none (the trainer's periodic evaluation). Default 1000 resamples, seed 0. */
  bootstrap?: BootstrapOptions | false;
  /** Called after each batch with the records done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export const PRIMARY_METRIC: Record<EvalTask, string> = { res: 'ciou', salient: 'ciou', rec: 'prec@0.5', vqa: 'accuracy', caption: 'token_f1' };

/** The task's metrics over the items of these records (a resample may repeat records). */
export function taskMetrics(task: EvalTask, samples: readonly SampleResult[]): Record<string, number> {
  const items = samples.flatMap((s) => s.items);
  switch (task) {
    case 'res': case 'salient': {
      const counts = items.map((i) => ({ intersection: i.intersection!, union: i.union! }));
      return { ciou: cumulativeIoU(counts), giou: generalizedIoU(counts) };
    }
    case 'rec': {
      const ious = items.map((i) => i.iou!);
      return { 'prec@0.5': precisionAt(ious, 0.5), miou: ious.length ? ious.reduce((a, b) => a + b, 0) / ious.length : NaN };
    }
    case 'vqa': return { accuracy: items.length ? items.filter((i) => i.correct).length / items.length : NaN };
    case 'caption': return { token_f1: items.length ? items.reduce((a, i) => a + i.f1!, 0) / items.length : NaN };
  }
}

const kindOf = (k: string | null | undefined): { kind?: string } => (k ? { kind: k } : {});

/** Records reduced to their items of one kind (for the metrics by kind). */
function onlyKind(samples: readonly SampleResult[], kind: string): SampleResult[] {
  return samples.map((s) => ({ ...s, items: s.items.filter((i) => i.kind === kind) }));
}

/** How bad an item is, lower = worse: IoU, 1/0 for a match, token F1. */
function itemScore(i: ItemResult): number {
  return i.iou ?? (i.correct !== undefined ? (i.correct ? 1 : 0) : i.f1 ?? 0);
}

/** The N lowest-scored items seen so far (ties: the earlier one stays). */
class WorstList {
  readonly cases: WorstCase[] = [];
  constructor(readonly n: number) {}
  wants(score: number): boolean { return this.n > 0 && (this.cases.length < this.n || score < this.cases[this.cases.length - 1].score); }
  add(c: WorstCase): void {
    if (!this.wants(c.score)) return;
    let at = this.cases.length;
    while (at > 0 && this.cases[at - 1].score > c.score) at--;
    this.cases.splice(at, 0, c);
    if (this.cases.length > this.n) this.cases.pop();
  }
}

const binary = (logits: ArrayLike<number>) => { const m = new Uint8Array(logits.length); for (let p = 0; p < m.length; p++) m[p] = logits[p] > 0 ? 1 : 0; return m; };

/** [start, end) of each supervised run of labels: one per answer (the answer's tokens and its </s>). */
export function answerSpans(labels: readonly number[]): [number, number][] {
  const spans: [number, number][] = [];
  for (let t = 0; t < labels.length; t++) {
    if (labels[t] === IGNORE_INDEX) continue;
    if (spans.length && spans[spans.length - 1][1] === t) spans[spans.length - 1][1] = t + 1;
    else spans.push([t, t + 1]);
  }
  return spans;
}

const roundOf = (spans: [number, number][], p: number) => spans.findIndex(([a, b]) => p >= a && p < b);

interface EvalExample { record: EvalRecord; ex: PreparedExample; spans: [number, number][]; width: number; height: number }

/**
 * The training example of a record, with every supervised [SEG] decoded: a rec answer's [SEG] has no
 * ground-truth mask but its mask gives the box, so the SAM input is made for it too.
 */
async function prepareEvalExample(r: EvalRecord, model: UllavaForCausalLM, tokenizer: LlamaTokenizer): Promise<EvalExample> {
  const config = model.config;
  const maxLength = config.llm.maxPositionEmbeddings;
  const ex = await prepareExample(r.sample, { tokenizer, config, maxLength });
  const spans = answerSpans(ex.labels);
  if (spans.length !== r.answers.length) throw new ManifestError(`${r.where}: the conversation is longer than the model's ${maxLength} positions (an answer would be cut)`);
  let width = 0, height = 0;
  if (r.sample.image) {
    const segAll = ex.ids.flatMap((t, p) => (t === config.segTokenId && ex.labels[p] !== IGNORE_INDEX ? [p] : []));
    let image: RgbImage | null = null;
    if (ex.sam) [height, width] = ex.sam.originalSize;
    else {
      image = await loadImage(r.sample.image).catch((e) => { throw new ManifestError(`${r.where}: image: ${(e as Error).message}`); });
      [width, height] = [image.width, image.height];
    }
    if (segAll.length > ex.segPositions.length) {
      image ??= await loadImage(r.sample.image);
      if (!ex.sam) {
        const input = preprocessImage(image.data, image.height, image.width, { imageSize: config.sam.encoder.imageSize });
        ex.sam = { pixels: input.pixels, inputSize: input.inputSize, originalSize: input.originalSize };
      }
      // The targets of these extra masks are never read (no loss here); empty masks keep the shapes.
      while (ex.masks.length < segAll.length) ex.masks.push(new Uint8Array(width * height));
      ex.segPositions = segAll;
    }
  }
  return { record: r, ex, spans, width, height };
}

/** One teacher-forced forward over a batch of records. */
async function teacherForcedBatch(model: UllavaForCausalLM, tokenizer: LlamaTokenizer, records: EvalRecord[], task: EvalTask,
  worst: WorstList): Promise<SampleResult[]> {
  const batch = await Promise.all(records.map((r) => prepareEvalExample(r, model, tokenizer)));
  const examples = batch.map((b) => b.ex);
  const out = noGrad(() => trainingForward(model, examples, { gradientCheckpointing: false }));
  let maskArrays: Float32Array[], boxArray: Float32Array | null, predicted: Int32Array, S: number;
  try {
    maskArrays = (await Promise.all(out.maskLogits.map((t) => t.toArray()))) as Float32Array[];
    boxArray = out.boxes ? ((await out.boxes.toArray()) as Float32Array) : null;
    // The greedy token at each answer position: row p - 1 predicts token p.
    const [B, seq, H] = out.hidden.shape;
    S = seq;
    const rows: number[] = [];
    batch.forEach((b, i) => { for (const [a, e] of b.spans) for (let p = a; p < e; p++) rows.push(i * S + p - 1); });
    const ids = noGrad(() => scope(() => {
      const idx = Tensor.fromHost(Int32Array.from(rows), [rows.length], 'i32', out.hidden.device);
      const logits = out.lmHead(indexSelect(reshape(out.hidden, [B * S, H]), 0, idx));
      return argmax(logits.dtype === 'f32' ? logits : cast(logits, 'f32'), -1);
    }));
    try { predicted = (await ids.toArray()) as Int32Array; } finally { ids.dispose(); }
  } finally {
    for (const t of [out.hidden, ...out.maskLogits, ...out.maskTargets, out.boxes, out.boxTargets]) t?.dispose();
  }

  const results: SampleResult[] = [];
  let row = 0, maskAt = 0, boxAt = 0;
  for (const { record: r, ex, spans, width, height } of batch) {
    const texts = spans.map(([a, e]) => {
      const got = Array.from(predicted.subarray(row, row + (e - a)));
      row += e - a;
      const eos = got.indexOf(tokenizer.eosId);
      return tokenizer.decode(eos >= 0 ? got.slice(0, eos) : got);
    });
    const s: SampleResult = { id: r.id, line: r.line, where: r.where, image: r.sample.image, items: [] };
    const masks = ex.sam && ex.segPositions.length ? maskArrays[maskAt++] : null;
    const n = width * height;
    const predMask = (j: number) => masks!.subarray(j * n, (j + 1) * n);
    if (task === 'res' || task === 'salient') {
      r.sample.masks.forEach((_, j) => {
        const pred = predMask(j), gt = ex.masks[j];
        const c = maskIntersectionUnion(pred, gt);
        const round = roundOf(spans, ex.segPositions[j]);
        const item: ItemResult = { round, index: j, ...kindOf(r.itemKinds[j]), answer: texts[round], ...c, iou: maskIoU(c) };
        s.items.push(item);
        if (worst.wants(item.iou!)) worst.add({ sample: s, item, score: item.iou!, width, height, pred: binary(pred), gt: Uint8Array.from(gt) });
      });
    } else if (task === 'rec') {
      const fromLoc = !!model.detDecoder && ex.locPositions.length > 0;
      r.gtBoxes.forEach((gtBox, j) => {
        let box: Box | null, pos: number;
        if (fromLoc) {
          const v = boxArray!.subarray(4 * (boxAt + j), 4 * (boxAt + j) + 4);
          box = clampBox(denormalizeFromPaddedSquare([v[0], v[1], v[2], v[3]], width, height), width, height);
          pos = ex.locPositions[j];
        } else {
          box = masksToBoxes(predMask(j), width, height);
          pos = ex.segPositions[j];
        }
        const round = roundOf(spans, pos);
        const item: ItemResult = { round, index: j, ...kindOf(r.itemKinds[j]), answer: texts[round], box, gtBox, iou: predictedBoxIoU(box, gtBox) };
        s.items.push(item);
        worst.add({ sample: s, item, score: item.iou!, width, height });
      });
    } else {
      r.answers.forEach((truth, k) => {
        const item: ItemResult = { round: k, index: k, ...kindOf(r.roundKinds[k]), answer: texts[k], truth, correct: exactMatch(texts[k], truth), f1: tokenF1(texts[k], truth) };
        s.items.push(item);
        worst.add({ sample: s, item, score: itemScore(item), width, height });
      });
    }
    boxAt += model.detDecoder ? ex.locPositions.length : 0;
    results.push(s);
  }
  return results;
}

const count = (text: string, tok: string) => text.split(tok).length - 1;

/** One record answered by the model itself, round by round, with the earlier ground-truth answers as history. */
async function generativeRecord(session: UllavaSession, model: UllavaForCausalLM, tokenizer: LlamaTokenizer, r: EvalRecord, task: EvalTask,
  o: { maxNewTokens: number }, worst: WorstList): Promise<SampleResult> {
  let image: RgbImage | null = null;
  let gtMasks: Uint8Array[] = [];
  if (task === 'res' || task === 'salient') {
    // The ground-truth masks exactly as the teacher-forced path reads them.
    gtMasks = (await prepareExample(r.sample, { tokenizer, config: model.config, maxLength: model.config.llm.maxPositionEmbeddings })).masks;
  }
  if (r.sample.image) {
    image = await loadImage(r.sample.image).catch((e) => { throw new ManifestError(`${r.where}: image: ${(e as Error).message}`); });
    session.setImage(image);
  } else session.clearMedia();
  const width = image?.width ?? 0, height = image?.height ?? 0;
  const s: SampleResult = { id: r.id, line: r.line, where: r.where, image: r.sample.image, items: [] };
  const useLoc = count(r.answers.join('\n'), '[LOC]') > 0;
  let first = 0;
  for (let k = 0; k < r.answers.length; k++) {
    session.reset();
    for (let i = 0; i < k; i++) session.conversation.user(r.questions[i]).assistant(r.answers[i]);
    const answer = await session.ask(r.questions[k], { maxNewTokens: o.maxNewTokens, temperature: 0 });
    const text = answer.text;
    if (task === 'res' || task === 'salient') {
      const want = count(r.answers[k], '[SEG]');
      for (let j = 0; j < want; j++) {
        const gt = gtMasks[first + j];
        const pred = answer.masks[j] ?? new Float32Array(gt.length);
        const c = maskIntersectionUnion(pred, gt);
        const item: ItemResult = { round: k, index: first + j, ...kindOf(r.itemKinds[first + j]), answer: text, ...c, iou: maskIoU(c) };
        s.items.push(item);
        if (worst.wants(item.iou!)) worst.add({ sample: s, item, score: item.iou!, width, height, pred: binary(pred), gt: Uint8Array.from(gt) });
      }
      first += want;
    } else if (task === 'rec') {
      const want = count(r.answers[k], useLoc ? '[LOC]' : '[SEG]');
      for (let j = 0; j < want; j++) {
        const gtBox = r.gtBoxes[first + j];
        const box = answer.boxes[j] ?? null;
        const item: ItemResult = { round: k, index: first + j, ...kindOf(r.itemKinds[first + j]), answer: text, box, gtBox, iou: predictedBoxIoU(box, gtBox) };
        s.items.push(item);
        worst.add({ sample: s, item, score: item.iou!, width, height });
      }
      first += want;
    } else {
      const truth = r.answers[k];
      const item: ItemResult = { round: k, index: k, ...kindOf(r.roundKinds[k]), answer: text, truth, correct: exactMatch(text, truth), f1: tokenF1(text, truth) };
      s.items.push(item);
      worst.add({ sample: s, item, score: itemScore(item), width, height });
    }
  }
  return s;
}

/** Evaluates `records` (all of the task asked for) and returns the metrics with their bootstrap intervals. */
export async function evaluateRecords(model: UllavaForCausalLM, tokenizer: LlamaTokenizer, records: readonly EvalRecord[],
  o: EvaluateOptions): Promise<EvalResult> {
  const batchSize = o.batch ?? 1;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`evaluate: batch must be a positive integer, got ${batchSize}`);
  const worst = new WorstList(o.worst ?? 0);
  const samples: SampleResult[] = [];
  if (o.generate) {
    const session = new UllavaSession({ model, tokenizer, config: model.config, dir: '' });
    try {
      for (const r of records) {
        samples.push(await generativeRecord(session, model, tokenizer, r, o.task, { maxNewTokens: o.maxNewTokens ?? 64 }, worst));
        o.onProgress?.(samples.length, records.length);
      }
    } finally { session.dispose(); }
  } else {
    for (let i = 0; i < records.length; i += batchSize) {
      samples.push(...await teacherForcedBatch(model, tokenizer, records.slice(i, i + batchSize), o.task, worst));
      o.onProgress?.(samples.length, records.length);
    }
  }
  const boot = o.bootstrap === false ? null : { resamples: 1000, seed: 0, level: 0.95, ...o.bootstrap };
  const metrics: Record<string, MetricValue> = {};
  // Every metric over all items, then over the items of each kind the records name ("ciou/relational").
  const kinds = [...new Set(samples.flatMap((s) => s.items.flatMap((i) => (i.kind ? [i.kind] : []))))].sort();
  for (const kind of [null, ...kinds]) {
    const scoped = (rs: readonly SampleResult[]) => (kind === null ? rs : onlyKind(rs, kind));
    for (const [name, value] of Object.entries(taskMetrics(o.task, scoped(samples)))) {
      let ci: BootstrapInterval | null = null;
      if (boot) ci = bootstrapInterval(samples, (rs) => taskMetrics(o.task, scoped(rs))[name], boot);
      metrics[kind === null ? name : `${name}/${kind}`] = { value, ci95: ci ? [ci.low, ci.high] : null };
    }
  }
  return {
    task: o.task, protocol: o.generate ? 'generative' : 'teacher-forced', primary: PRIMARY_METRIC[o.task], metrics, samples,
    items: samples.reduce((a, s) => a + s.items.length, 0), bootstrap: boot ? { ...boot, unit: 'record' } : null, worst: worst.cases,
  };
}
