// `ullava data convert`: turns a published dataset into the training manifest (JSONL, manifest v1).
import { resolve } from 'node:path';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { parseOptions } from './model-options.js';
import { CONVERTERS } from '../data/convert/index.js';

const CONVERT_OPTIONS = {
  from: { type: 'string' }, root: { type: 'string' }, split: { type: 'string' }, out: { type: 'string' },
  'split-by': { type: 'string' }, annotations: { type: 'string' }, images: { type: 'string' }, labels: { type: 'string' },
  videos: { type: 'string' }, probe: { type: 'boolean' }, quiet: { type: 'boolean' },
} as const;

const width = Math.max(...Object.keys(CONVERTERS).map((k) => k.length));
const CONVERT_USAGE = `usage: ullava data convert --from SOURCE --root DIR [--split S] --out MANIFEST [options]

Writes a training manifest (JSONL, one record per line) from a dataset in its published format. Nothing is
copied: image, video, mask and label paths in the manifest point at the dataset's files (relative to the
manifest's folder). Every file is checked as it is read; a damaged or missing one stops the conversion with
the file and the record named, and the manifest is written only when all is well (atomically).

sources:
${Object.entries(CONVERTERS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`).join('\n')}

  --root DIR          the dataset's folder (layouts above)
  --out MANIFEST      the JSONL file to write
  --split S           one split (REFER: train, val, testA, testB, test, testC as the dataset has them;
                      ADE20K training|validation; COCO-Stuff train2017|val2017; PACO / Pascal-Part train|val)
  --split-by NAME     REFER's splitBy: refcoco unc|google, refcoco+ unc, refcocog umd|google, refclef unc|berkeley
  --annotations FILE  the annotation file, instead of the default place under ROOT (also u-LLaVA's own files)
  --images DIR        the images' folder, instead of the default under ROOT
  --labels DIR        the label / mask PNGs' folder (ADE20K, COCO-Stuff, MSRA)
  --videos DIR        TGIF's GIF folder (default ROOT/gifs)
  --probe             TGIF: open every video with ffmpeg now (slow; finds unreadable files before training)
  --quiet             no progress lines`;

export const dataConvert: CliCommand = {
  name: 'convert',
  summary: 'convert a published dataset (RefCOCO, ADE20K, LLaVA JSON, TGIF, ...) to a training manifest',
  usage: CONVERT_USAGE,
  async run(argv) {
    const { values } = parseOptions(argv, CONVERT_OPTIONS);
    const from = values.from;
    if (!from) throw new UsageError('--from SOURCE is required');
    const conv = CONVERTERS[from];
    if (!conv) throw new UsageError(`unknown source "${from}"; one of ${Object.keys(CONVERTERS).join(', ')}`);
    if (!values.root) throw new UsageError('--root DIR is required');
    if (!values.out) throw new UsageError('--out MANIFEST is required');
    if (values.videos && values.images) throw new UsageError('give --videos or --images, not both');
    const t0 = performance.now();
    let last = 0;
    const res = await conv.run({
      root: resolve(values.root), out: resolve(values.out), split: values.split, splitBy: values['split-by'],
      annotations: values.annotations && resolve(values.annotations), images: (values.images ?? values.videos) && resolve((values.images ?? values.videos)!),
      labels: values.labels && resolve(values.labels), probe: values.probe,
      onProgress: values.quiet ? undefined : (stage, done, total) => {
        const now = performance.now();
        if (done < total && now - last < 2000) return;
        last = now;
        process.stderr.write(`${from}: ${stage} ${done}/${total} (${((now - t0) / 1000).toFixed(1)} s)\n`);
      },
    });
    const skipped = res.skipped.map((s) => `; skipped ${s.count}: ${s.reason}`).join('');
    console.log(`${values.out}: ${res.records} records from ${from}${skipped}`);
    return 0;
  },
};
