// Collects a run of scripts/train-shapes.sh and an evaluation of scripts/eval-shapes.sh into one JSON for
// bench/results: per stage (sam, vision, stage1, stage2, and vision2 and stage2b when run) the steps, wall time (first to last logged step, plus the first step's own time),
// median step time, mean tokens/s, first and last losses; the held-out metrics; the checkpoint's size.
// Usage: node scripts/shapes-results.mjs RUN_DIR EVAL_DIR OUT.json [MODEL_DIR]
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { loadavg, cpus } from 'node:os';

const [run, evalDir, out, modelDir] = process.argv.slice(2);
if (!run || !evalDir || !out) throw new Error('usage: node scripts/shapes-results.mjs RUN_DIR EVAL_DIR OUT.json [MODEL_DIR]');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; };
const stages = {};
// vision2 and stage2b (the vision stage again, then stage II again) are the recipe's last two stages when VISION2_STEPS > 0.
for (const name of ['sam', 'vision', 'stage1', 'stage2', 'vision2', 'stage2b']) {
  if (['vision2', 'stage2b'].includes(name) && !existsSync(join(run, name, 'metrics.jsonl'))) continue;
  const rows = readFileSync(join(run, name, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.step !== undefined && r.losses);
  const t0 = Date.parse(rows[0].time) - rows[0].stepMs, t1 = Date.parse(rows[rows.length - 1].time);
  const tok = rows.map((r) => r.tokensPerSecond).filter((x) => x > 0);
  const manifest = join(run, `data-${name}`, 'manifest.jsonl');
  stages[name] = {
    samples: readFileSync(manifest, 'utf8').split('\n').filter(Boolean).length, steps: rows.length,
    wallMinutes: +((t1 - t0) / 60000).toFixed(1), medianStepMs: Math.round(median(rows.map((r) => r.stepMs))),
    meanTokensPerSecond: tok.length ? Math.round(tok.reduce((a, b) => a + b, 0) / tok.length) : null,
    firstLosses: rows[0].losses, lastLosses: rows[rows.length - 1].losses,
    // Mean of the last 50 steps: one step's loss is noisy.
    last50MeanLosses: Object.fromEntries(Object.keys(rows[rows.length - 1].losses).map((k) => [k, +(rows.slice(-50).reduce((a, r) => a + (r.losses[k] ?? 0), 0) / Math.min(50, rows.length)).toFixed(4)])),
  };
}
const summary = JSON.parse(readFileSync(join(evalDir, 'summary.json'), 'utf8'));
// The vision stage's per-patch word accuracy on test images, when scripts/probe-patch-words.mjs wrote it there.
let patchWords = null;
try { patchWords = JSON.parse(readFileSync(join(evalDir, 'patch-words.json'), 'utf8')); } catch { /* not measured */ }
let bytes = null;
// The model as it would ship: the checkpoint without the optimizer state and the trainer's state.
if (modelDir) bytes = readdirSync(modelDir).filter((f) => !['optimizer.safetensors', 'trainer_state.json'].includes(f)).reduce((a, f) => a + statSync(join(modelDir, f)).size, 0);
const report = {
  bench: 'shapes-recipe', date: new Date().toISOString(),
  commit: execSync('git rev-parse --short HEAD').toString().trim(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAverageAtCollection: loadavg() },
  recipe: 'scripts/train-shapes.sh (sam, vision, stage I, stage II) then scripts/eval-shapes.sh on test seeds',
  totalTrainingWallMinutes: +Object.values(stages).reduce((a, s) => a + s.wallMinutes, 0).toFixed(1),
  stages, heldOutTest: summary, visionStagePatchWords: patchWords, checkpointBytes: bytes,
  bars: { 'res ciou (simple, attribute)': 0.8, 'rec prec@0.5': 0.85, 'vqa accuracy': 0.9, 'salient ciou': 0.85 },
};
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify({ totalTrainingWallMinutes: report.totalTrainingWallMinutes, checkpointBytes: bytes }, null, 0));
