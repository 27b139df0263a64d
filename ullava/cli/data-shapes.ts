// `ullava data shapes`: writes a shapes-world dataset (or, with --demo, the README's demo picture).
import { parseOptions, parseNumber } from './model-options.js';
import { UsageError, type CliCommand } from './command.js';
import { generateShapes } from '../data/shapes/generate.js';
import { TASKS, TASK_WEIGHTS, type ShapesTask } from '../data/shapes/samples.js';
import { SPLITS, defaultSeed, type SplitName } from '../data/shapes/splits.js';
import { writeDemo, DEMO_SIZE } from '../data/shapes/demo.js';

const OPTIONS = {
  out: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, split: { type: 'string' },
  tasks: { type: 'string' }, size: { type: 'string' }, demo: { type: 'string' }, quiet: { type: 'boolean' },
} as const;

const range = (s: SplitName) => `[${SPLITS[s][0]}, ${SPLITS[s][1]})`;

const USAGE = `usage: ullava data shapes --out DIR --n N [--seed S] [--split train|val|test] [--tasks LIST] [--size PX]
       ullava data shapes --demo DIR

Writes N samples of the shapes world (scenes of 1-6 coloured shapes, some overlapping, on plain or
textured backgrounds, with exact masks and boxes) to DIR: images/<seed>.png, videos/<seed>/<frame>.png
and manifest.jsonl (one line per sample: "task", "image" or "video": {"frames": [...]}, "conversations",
one COCO RLE mask per [SEG], and "refs" / "questions" / "motion" for evaluation). Sample k comes from
seed S + k alone: the same seed (with the same --tasks and --size) always gives the same sample.

  --split NAME   train (default), val or test; each owns a seed range, so test scenes never appear in
                 training: train ${range('train')}, val ${range('val')}, test ${range('test')}
  --seed S       the first seed (default: the split's first)
  --tasks LIST   comma-separated, drawn with these weights: ${TASKS.map((t) => `${t} ${TASK_WEIGHTS[t]}`).join(', ')}
                 (default all). res: referring segmentation (simple, attribute, relational expressions);
                 rec: grounding (mask + box); vqa; caption; salient: the odd one out; video: 8 frames of a
                 moving shape
  --size PX      image width and height (default 64)
  --demo DIR     write DIR/demo.png (the README's picture, ${DEMO_SIZE}x${DEMO_SIZE}, with a red square) and
                 DIR/demo-mask.png (the red square's exact mask), then stop
  --quiet        no progress line`;

export const shapesCommand: CliCommand = {
  name: 'shapes',
  summary: 'generate the shapes world: a procedural dataset for every u-LLaVA task (train/val/test by seed)',
  usage: USAGE,
  async run(argv) {
    const { values } = parseOptions(argv, OPTIONS);
    if (values.demo) {
      const w = await writeDemo(values.demo);
      console.log(`${w.image}\n${w.mask}`);
      return 0;
    }
    if (!values.out) throw new UsageError('--out DIR is required');
    const n = parseNumber('n', values.n, { integer: true, min: 1 });
    if (n === undefined) throw new UsageError('--n N is required');
    const split = (values.split ?? 'train') as SplitName;
    if (!(split in SPLITS)) throw new UsageError(`--split must be train, val or test, got "${values.split}"`);
    const seed = parseNumber('seed', values.seed, { integer: true, min: 0 }) ?? defaultSeed(split);
    const tasks = values.tasks?.split(',').map((t) => t.trim()).filter(Boolean);
    for (const t of tasks ?? []) if (!(TASKS as readonly string[]).includes(t)) throw new UsageError(`--tasks: unknown task "${t}" (known: ${TASKS.join(', ')})`);
    const size = parseNumber('size', values.size, { integer: true, min: 32 });
    const t0 = performance.now();
    let r;
    try {
      r = await generateShapes({ out: values.out, n, seed, split, tasks: tasks as ShapesTask[] | undefined, size,
        onProgress: values.quiet ? undefined : (d, total) => process.stderr.write(`\r${d}/${total} samples`) });
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    if (!values.quiet) process.stderr.write('\n');
    const s = (performance.now() - t0) / 1000;
    console.log(`${r.samples} samples (${Object.entries(r.byTask).map(([k, v]) => `${k} ${v}`).join(', ')}), ${r.files} pictures, ` +
      `seeds ${seed}..${seed + n - 1} (${split}) in ${s.toFixed(1)} s -> ${r.manifest}`);
    return 0;
  },
};
