// `ullava eval --model DIR --data MANIFEST --task res|rec|salient|caption|vqa [--generate] [--batch N]
// [--out DIR] [--limit N] [--worst N]`: the paper's metrics on a manifest, with bootstrap intervals, a
// per-item CSV and pictures of the worst cases (ullava/eval).
import { join, resolve } from 'node:path';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { MODEL_OPTIONS, MODEL_USAGE, parseOptions, parseNumber, loadModel, ensureDir } from './model-options.js';
import { ProgressBar } from './progress.js';
import { EVAL_TASKS, readEvalRecords, type EvalTask } from '../eval/records.js';
import { evaluateRecords } from '../eval/evaluate.js';
import { buildReport, writeEvalOutputs } from '../eval/report.js';
import type { AnswerStyle } from '../eval/val-conversations.js';
import { readUllavaConfig } from '../models/ullava/config.js';

/**
 * The answer format of the model in DIR ("targets" records are asked in it): HEAD's with [LOC] when its
 * config has loc_token_idx. A directory without a readable config.json is reported by loadModel next.
 */
async function answerStyleOf(dir: string | undefined): Promise<AnswerStyle> {
  if (dir === undefined) return 'published';
  const config = await readUllavaConfig(join(dir, 'config.json')).catch(() => null);
  return config?.locTokenId != null ? 'loc' : 'published';
}

const OPTIONS = {
  ...MODEL_OPTIONS,
  data: { type: 'string' }, task: { type: 'string' }, generate: { type: 'boolean' }, batch: { type: 'string' },
  out: { type: 'string' }, limit: { type: 'string' }, worst: { type: 'string' }, 'max-new-tokens': { type: 'string' },
  resamples: { type: 'string' }, seed: { type: 'string' },
} as const;

const USAGE = `usage: ullava eval --data MANIFEST --task res|rec|salient|caption|vqa [--model DIR] [--generate] [--batch N]
                   [--out DIR] [--limit N] [--worst N]

Evaluates u-LLaVA on a manifest (JSONL: image, conversations, masks, boxes, and optionally "task" and "id";
records of another task are skipped). Metrics:
  res, salient   cIoU = sum I / sum U over all masks, gIoU = mean per-mask IoU (an empty ground truth with an
                 empty prediction counts 1); mask = logit > 0; ground-truth pixels 255 are ignored
  rec            Prec@0.5 = share of boxes with IoU > 0.5 (and mean IoU); the box of the [LOC] decoder when
                 the model has one and the answers have [LOC], else the box of the [SEG] mask. Ground truth:
                 "boxes" (pixel x0, y0, x1, y1), one per [LOC], or per [SEG] when the answers have no [LOC]
  vqa            exact-match accuracy after lower-casing, collapsing spaces, trimming and removing trailing
                 periods
  caption        token F1 (SQuAD's bag-of-words F1 on lower-cased words without punctuation), a simple
                 stand-in for CIDEr / BLEU
Protocols: teacher-forced (default, the official one): the ground-truth answers with their [SEG] / [LOC]
are fed and the masks / boxes come from those tokens' hidden states; the answer text is the model's
greedy token at each answer position. --generate: the model answers each question itself (greedy), with
the earlier rounds' true answers as history; a [SEG] it does not write counts as an empty mask.
Each metric has a bootstrap 95% interval (records resampled with replacement; seeded, reproducible).
Writes to OUT:
  report.json    {task, protocol, metric, value, ci95, count, metrics, bootstrap, model, data, date}
  samples.csv    one row per mask / box / answer: id, line, round, index, then IoU (I, U) or correct / F1,
                 the answer
  worst/         the N worst items: the image with the ground truth green and the prediction red

  --data MANIFEST    the records to evaluate
  --task T           res, rec, salient, caption or vqa
  --generate         the generative protocol instead of the teacher-forced one
  --batch N          records per teacher-forced forward (default 1; generation runs one at a time)
  --out DIR          output directory (default ./ullava-eval)
  --limit N          evaluate only the first N records (of the task)
  --worst N          pictures of the N worst items (default 8; 0 = none)
  --max-new-tokens N longest generated answer (--generate; default 64)
  --resamples N      bootstrap resamples (default 1000)
  --seed S           bootstrap seed (default 0)
${MODEL_USAGE}`;

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'the paper\'s metrics (cIoU, gIoU, Prec@0.5, exact match) on a manifest, with bootstrap intervals',
  usage: USAGE,
  async run(argv) {
    const { values } = parseOptions(argv, OPTIONS);
    if (!values.data) throw new UsageError('--data MANIFEST is required');
    if (!values.task) throw new UsageError(`--task is required (${EVAL_TASKS.join(', ')})`);
    if (!(EVAL_TASKS as readonly string[]).includes(values.task)) throw new UsageError(`--task must be one of ${EVAL_TASKS.join(', ')}, got "${values.task}"`);
    const task = values.task as EvalTask;
    const batch = parseNumber('batch', values.batch, { integer: true, min: 1 }) ?? 1;
    const limit = parseNumber('limit', values.limit, { integer: true, min: 1 });
    const worst = parseNumber('worst', values.worst, { integer: true, min: 0 }) ?? 8;
    const maxNewTokens = parseNumber('max-new-tokens', values['max-new-tokens'], { integer: true, min: 1 }) ?? 64;
    const resamples = parseNumber('resamples', values.resamples, { integer: true, min: 1 }) ?? 1000;
    const seed = parseNumber('seed', values.seed, { integer: true }) ?? 0;
    const out = values.out ?? 'ullava-eval';
    const say = (s: string) => { if (!values.quiet) process.stderr.write(s + '\n'); };

    // The manifest is read and checked before the (slow) model load.
    const { records: all, skipped } = await readEvalRecords(values.data, task, await answerStyleOf(values.model));
    const records = limit ? all.slice(0, limit) : all;
    await ensureDir(out);
    const loaded = await loadModel(values);
    say(`evaluating ${task} (${values.generate ? 'generative' : 'teacher-forced'}) on ${records.length} records of ${values.data}` +
      `${skipped ? ` (${skipped} of other tasks skipped)` : ''}`);
    const bar = values.quiet ? null : new ProgressBar('evaluating', records.length, process.stderr, 30, 'count');
    let done = 0;
    try {
      const result = await evaluateRecords(loaded.model, loaded.tokenizer, records, {
        task, generate: !!values.generate, batch, maxNewTokens, worst, bootstrap: { resamples, seed },
        onProgress: (d) => { done = d; if (d < records.length) bar?.update(d); },
      });
      bar?.finish(done);
      const report = buildReport(result, { model: loaded.demo ? `${loaded.dir} (the built-in shapes-world model)` : resolve(loaded.dir), data: resolve(values.data), skipped });
      const files = await writeEvalOutputs(out, result, report);
      for (const [name, m] of Object.entries(result.metrics)) {
        console.log(`${name} ${fmt(m.value)}${m.ci95 ? ` (95% CI ${fmt(m.ci95[0])} .. ${fmt(m.ci95[1])})` : ''}`);
      }
      console.log(`${result.items} ${task === 'res' || task === 'salient' ? 'masks' : task === 'rec' ? 'boxes' : 'answers'} in ${result.samples.length} records`);
      console.log(`report: ${files.report}\nper item: ${files.csv}${files.pictures.length ? `\nworst ${files.pictures.length}: ${resolve(out, 'worst')}` : ''}`);
      return 0;
    } finally {
      loaded.model.dispose();
    }
  },
};
