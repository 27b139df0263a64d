// `ullava data <subcommand>`: dataset tools. Each subcommand is a CliCommand of its own, listed here.
import type { CliCommand } from './command.js';
import { shapesCommand } from '../data/shapes/cli.js';

const SUBCOMMANDS: CliCommand[] = [shapesCommand];

function usage(): string {
  const width = Math.max(...SUBCOMMANDS.map((c) => c.name.length));
  return ['usage: ullava data <subcommand> [options]', '', 'subcommands:',
    ...SUBCOMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '', ...SUBCOMMANDS.map((c) => c.usage)].join('\n');
}

export const dataCommand: CliCommand = {
  name: 'data',
  summary: 'dataset tools: ' + SUBCOMMANDS.map((c) => c.name).join(', '),
  get usage() { return usage(); },
  async run(argv) {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h') { console.log(usage()); return name ? 0 : 2; }
    const sub = SUBCOMMANDS.find((c) => c.name === name);
    if (!sub) { console.error(`ullava data: unknown subcommand "${name}"\n\n${usage()}`); return 2; }
    if (rest.includes('--help') || rest.includes('-h')) { console.log(sub.usage); return 0; }
    return sub.run(rest);
  },
};
