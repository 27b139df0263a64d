// The trainer's periodic evaluation (EvalHook of ullava/train/trainer.ts) from the same evaluation as
// `ullava eval`: teacher-forced, no bootstrap (the numbers go to metrics.jsonl as {"eval": name, ...}).
import type { EvalHook } from '../train/trainer.js';
import { evaluateRecords } from './evaluate.js';
import type { EvalRecord, EvalTask } from './records.js';

export interface EvalHookOptions {
  records: readonly EvalRecord[];
  task: EvalTask;
  /** Records per forward (default 1). */
  batch?: number;
  /** Logged name (default the task). */
  name?: string;
}

/** The hook: its numbers are the task's metrics (e.g. ciou, giou) and "count", the items scored. */
export function evaluationHook(o: EvalHookOptions): EvalHook {
  return {
    name: o.name ?? o.task,
    async run({ model, tokenizer }) {
      const r = await evaluateRecords(model, tokenizer, o.records, { task: o.task, batch: o.batch, bootstrap: false });
      return { ...Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, v.value])), count: r.items };
    },
  };
}
