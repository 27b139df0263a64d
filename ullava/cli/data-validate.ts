// `ullava data validate MANIFEST [--media]`: every problem of every line of a data manifest (line, field,
// what it must be), then a summary per task. --media also decodes every image, video and mask of the valid
// lines and checks the masks are at their image's size (what the trainer's loader would otherwise find
// only when it reaches that batch). Exit status 1 when anything is wrong.
import { parseArgs } from 'node:util';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { validateManifest, formatSummary, checkRecordMedia } from '../data/manifest.js';
import { formatIssue } from '../data/manifest-types.js';

const usage = `usage: ullava data validate MANIFEST [--media] [--max-errors N]

Checks a data manifest (JSONL, one sample per line): prints every problem as FILE:LINE: "FIELD" ..., then
how many lines of each task are valid and invalid. Exit status 0 when all lines are valid, 1 otherwise.
  --media          also decode every image, video and mask of the valid lines (slower)
  --max-errors N   print at most N problems (default: all)`;

export const dataValidate: CliCommand = {
  name: 'validate',
  summary: 'check a data manifest: every error with its line and field, a summary per task',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { media: { type: 'boolean' }, 'max-errors': { type: 'string' } } });
    if (positionals.length !== 1) throw new UsageError('give exactly one MANIFEST');
    const max = values['max-errors'] === undefined ? Infinity : Number(values['max-errors']);
    if (!(max >= 0)) throw new UsageError(`--max-errors must be a non-negative number, got ${values['max-errors']}`);
    const r = await validateManifest(positionals[0]);
    const lines = r.issues.map(formatIssue);
    let mediaBad = 0;
    if (values.media) {
      let done = 0;
      for (const rec of r.records) {
        try { await checkRecordMedia(rec); } catch (e) {
          mediaBad++;
          lines.push((e as Error).message);
          const t = r.perTask[rec.task];
          t.valid--; t.invalid++;
        }
        if (process.stderr.isTTY && ++done % 50 === 0) process.stderr.write(`\rmedia: ${done} / ${r.records.length}`);
      }
      if (process.stderr.isTTY && r.records.length >= 50) process.stderr.write('\n');
    }
    for (const l of lines.slice(0, max)) console.log(l);
    if (lines.length > max) console.log(`... and ${lines.length - max} more`);
    const badLines = new Set(r.issues.map((i) => i.line)).size + mediaBad;
    console.log(`${lines.length ? '' : 'ok: '}${r.lines} lines, ${badLines} with problems${values.media ? ' (media checked)' : ''}`);
    console.log(formatSummary(r));
    return lines.length ? 1 : 0;
  },
};
