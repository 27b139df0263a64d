// What a run records: one JSON line per logged step in OUT/metrics.jsonl (appended and flushed, so a
// killed run keeps every line it logged), and OUT/loss.svg, the loss curve of each loss part redrawn as
// the run goes, drawn by Vega-Lite (rendered to SVG headless, no browser or canvas needed).
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../media/atomic-write.js';

export interface StepMetrics {
  step: number;
  epoch: number;
  /** The loss parts (ce, bce, dice, l1, giou) and their weighted total ("loss"). */
  losses: Record<string, number>;
  lr: number;
  gradNorm: number | null;
  /** f16 runs: the loss scale after this step, and whether the step was skipped (inf/NaN gradients). */
  lossScale?: number;
  skipped?: boolean;
  tokensPerSecond: number;
  stepMs: number;
  time: string;
}

export class MetricsLog {
  readonly jsonl: string;
  readonly svg: string;
  private points: StepMetrics[] = [];
  private drawing: Promise<void> = Promise.resolve();
  private busy = false;
  private dirty = false;

  constructor(readonly out: string) {
    this.jsonl = join(out, 'metrics.jsonl');
    this.svg = join(out, 'loss.svg');
  }

  /**
   * Starts a new log, or (resuming) keeps the lines up to `upToStep` and drops any later ones that a
   * killed run logged after its last checkpoint, so the file reads as one uninterrupted run.
   */
  async open(upToStep: number | null): Promise<void> {
    let kept: StepMetrics[] = [];
    if (upToStep !== null) {
      const text = await readFile(this.jsonl, 'utf8').catch(() => '');
      kept = text.split('\n').filter((l) => l.trim()).flatMap((l) => { try { return [JSON.parse(l) as StepMetrics]; } catch { return []; } })
        .filter((m) => m.step <= upToStep);
    }
    this.points = kept.filter((m) => m.losses !== undefined);
    await writeFile(this.jsonl, kept.map((m) => JSON.stringify(m) + '\n').join(''));
  }

  async log(m: StepMetrics): Promise<void> {
    this.points.push(m);
    await appendFile(this.jsonl, JSON.stringify(m) + '\n');
  }

  /** An evaluation's numbers, as a line of their own ({"step", "eval": name, "metrics"}). */
  async logEval(step: number, name: string, values: Record<string, number>): Promise<void> {
    await appendFile(this.jsonl, JSON.stringify({ step, eval: name, metrics: values, time: new Date().toISOString() }) + '\n');
  }

  /**
   * Redraws loss.svg in the background. Calls while a drawing runs coalesce into one more drawing with the
   * latest points, so a long run never queues renders; the promise settles when the file is up to date.
   * A drawing failure is reported on stderr, not fatal.
   */
  draw(): Promise<void> {
    if (this.busy) { this.dirty = true; return this.drawing; }
    this.busy = true;
    this.drawing = (async () => {
      do {
        this.dirty = false;
        try {
          const svg = await lossCurveSvg([...this.points]);
          await writeFileAtomic(this.svg, new TextEncoder().encode(svg));
        } catch (e) { process.stderr.write(`warning: could not draw ${this.svg}: ${(e as Error).message}\n`); }
      } while (this.dirty);
      this.busy = false;
    })();
    return this.drawing;
  }
}

/** The Vega-Lite spec of the loss curves: one line per loss part over the steps, log-scaled y. */
export function lossCurveSpec(points: StepMetrics[]): Record<string, unknown> {
  const values = points.flatMap((p) => Object.entries(p.losses).filter(([, v]) => Number.isFinite(v) && v > 0)
    .map(([part, value]) => ({ step: p.step, part, value })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'u-LLaVA training loss', width: 640, height: 320, data: { values },
    mark: { type: 'line', point: values.length < 200 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { type: 'log' } },
      color: { field: 'part', type: 'nominal', title: 'part' },
    },
  };
}

export async function lossCurveSvg(points: StepMetrics[]): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(lossCurveSpec(points) as never).spec), { renderer: 'none' });
  try { return await view.toSVG(); } finally { view.finalize(); }
}
