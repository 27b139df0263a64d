// `ullava data <subcommand>`: the data tools (manifest validation; the converters and the shapes world add
// their subcommands to this list).
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { dataValidate } from './data-validate.js';
import { dataConvert } from './data-convert.js';
import { shapesCommand } from './data-shapes.js';

const subcommands: CliCommand[] = [dataConvert, dataValidate, shapesCommand];

const usage = ['usage: ullava data <subcommand> [options]', '', 'subcommands:',
  ...subcommands.map((c) => `  ${c.name.padEnd(10)}  ${c.summary}`), '', 'Run `ullava data <subcommand> --help` for its options.'].join('\n');

export const dataCommand: CliCommand = {
  name: 'data',
  summary: 'data manifests: validate (and convert datasets, make the shapes world)',
  usage,
  async run(argv) {
    const [name, ...rest] = argv;
    const sub = subcommands.find((c) => c.name === name);
    if (!sub) throw new UsageError(name ? `unknown subcommand "${name}"` : 'give a subcommand');
    if (rest.includes('--help') || rest.includes('-h')) { console.log(sub.usage); return 0; }
    try { return await sub.run(rest); } catch (e) {
      if (e instanceof UsageError) { console.error(`ullava data ${name}: ${e.message}\n\n${sub.usage}`); return 2; }
      throw e;
    }
  },
};
