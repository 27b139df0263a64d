// What `ullava eval` leaves in its output directory, every file written atomically:
//   report.json   {task, protocol, metric (the primary one's name), value, ci95, count (records, items,
//                 skipped), metrics (every metric with its interval), bootstrap, model, data, date}
//   samples.csv   one row per scored item (RFC 4180 quoting), columns by task (csvColumns)
//   worst/        the N worst items as pictures: <rank>_<id>_<index>.png, the ground truth tinted green
//                 and the prediction red (res / salient), or their boxes outlined (rec)
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic, writeOverlayPng, loadImage, type Box, type Rgb } from '../media/index.js';
import type { EvalResult, ItemResult, SampleResult } from './evaluate.js';
import type { EvalTask } from './records.js';

export interface EvalReport {
  task: EvalTask;
  protocol: EvalResult['protocol'];
  metric: string;
  value: number;
  ci95: [number, number] | null;
  count: { records: number; items: number; skipped: number };
  metrics: EvalResult['metrics'];
  bootstrap: EvalResult['bootstrap'];
  model: string;
  data: string;
  date: string;
}

export function buildReport(r: EvalResult, meta: { model: string; data: string; skipped: number; date?: Date }): EvalReport {
  const primary = r.metrics[r.primary];
  return {
    task: r.task, protocol: r.protocol, metric: r.primary, value: primary.value, ci95: primary.ci95,
    count: { records: r.samples.length, items: r.items, skipped: meta.skipped },
    metrics: r.metrics, bootstrap: r.bootstrap, model: meta.model, data: meta.data, date: (meta.date ?? new Date()).toISOString(),
  };
}

/** A CSV field: quoted when it holds a comma, quote, line break or edge spaces (quotes doubled), as RFC 4180. */
export function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const fmtBox = (b: Box | null | undefined) => (b ? b.map((v) => Math.round(v * 100) / 100).join(' ') : '');

export function csvColumns(task: EvalTask): string[] {
  const head = ['id', 'line', 'round', 'index'];
  if (task === 'res' || task === 'salient') return [...head, 'intersection', 'union', 'iou', 'answer'];
  if (task === 'rec') return [...head, 'iou', 'hit', 'pred_box', 'gt_box', 'answer'];
  if (task === 'vqa') return [...head, 'correct', 'answer', 'truth'];
  return [...head, 'token_f1', 'answer', 'truth'];
}

function csvRow(task: EvalTask, s: SampleResult, i: ItemResult): unknown[] {
  const head = [s.id, s.line, i.round, i.index];
  if (task === 'res' || task === 'salient') return [...head, i.intersection, i.union, i.iou, i.answer];
  if (task === 'rec') return [...head, i.iou, i.iou! > 0.5 ? 1 : 0, fmtBox(i.box), fmtBox(i.gtBox), i.answer];
  if (task === 'vqa') return [...head, i.correct ? 1 : 0, i.answer, i.truth];
  return [...head, i.f1, i.answer, i.truth];
}

export function samplesCsv(r: EvalResult): string {
  const lines = [csvColumns(r.task).join(',')];
  for (const s of r.samples) for (const i of s.items) lines.push(csvRow(r.task, s, i).map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

const GT_COLOR: Rgb = [60, 180, 75], PRED_COLOR: Rgb = [230, 25, 75];

/** A file name part from a record id: anything but letters, digits, '-' and '_' becomes '_'. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60) || 'record';

/** Writes the pictures of the worst cases; returns their paths (text tasks have none). */
export async function writeWorstPictures(dir: string, r: EvalResult): Promise<string[]> {
  const cases = r.worst.filter((c) => c.sample.image && (c.pred || c.item.gtBox));
  if (cases.length === 0) return [];
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [rank, c] of cases.entries()) {
    const image = await loadImage(c.sample.image!);
    const file = join(dir, `${String(rank + 1).padStart(3, '0')}_${safe(c.sample.id)}_${c.item.index}.png`);
    if (c.pred && c.gt) {
      // 255 (ignored) ground-truth pixels are not drawn as inside.
      const gt = c.gt.map((v) => (v !== 0 && v !== 255 ? 1 : 0));
      await writeOverlayPng(file, image, [gt, c.pred], [], { colors: [GT_COLOR, PRED_COLOR] });
    } else {
      await writeOverlayPng(file, image, [], [c.item.gtBox!, c.item.box ?? [NaN, NaN, NaN, NaN]], { colors: [GT_COLOR, PRED_COLOR] });
    }
    files.push(file);
  }
  return files;
}

/** report.json, samples.csv and worst/ in `out`; returns the paths. */
export async function writeEvalOutputs(out: string, r: EvalResult, report: EvalReport): Promise<{ report: string; csv: string; pictures: string[] }> {
  await mkdir(out, { recursive: true });
  const enc = new TextEncoder();
  const csv = join(out, 'samples.csv');
  await writeFileAtomic(csv, enc.encode(samplesCsv(r)));
  const pictures = await writeWorstPictures(join(out, 'worst'), r);
  const path = join(out, 'report.json');
  await writeFileAtomic(path, enc.encode(JSON.stringify(report, null, 2) + '\n'));
  return { report: path, csv, pictures };
}
