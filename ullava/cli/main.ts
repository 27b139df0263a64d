#!/usr/bin/env node
// `ullava <command> [args]`: the command-line entry point. Each command lives in its own file.
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { doctor } from './doctor.js';
import { tokenize } from './tokenize.js';
import { convert } from './convert.js';
import { inspect } from './inspect.js';
import { chat } from './chat.js';
import { segment } from './segment.js';
import { ground } from './ground.js';
import { caption } from './caption.js';
import { trainCommand } from './train.js';
import { mergeLoraCommand } from './merge-lora.js';
import { dataCommand } from './data.js';

const commands: CliCommand[] = [doctor,
  tokenize,
  convert,
  inspect,
  chat,
  segment,
  ground,
  caption,
  trainCommand,
  mergeLoraCommand,
  dataCommand,
];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return ['usage: ullava <command> [options]', '', 'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '', 'Run `ullava <command> --help` for the options of one command.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') { console.log(help()); return name ? 0 : 2; }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) { console.error(`ullava: unknown command "${name}"\n\n${help()}`); return 2; }
  if (rest.includes('--help') || rest.includes('-h')) { console.log(cmd.usage); return 0; }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) { console.error(`ullava ${name}: ${e.message}\n\n${cmd.usage}`); return 2; }
    const err = e as Error;
    console.error(`ullava ${name}: ${err?.message ?? err}`);
    if (process.env.ULLAVA_DEBUG) console.error(err?.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
