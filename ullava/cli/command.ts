// The shape of a CLI subcommand: each lives in its own file under ullava/cli and is listed in main.ts.
export interface CliCommand {
  name: string;
  /** One line for `ullava --help`. */
  summary: string;
  /** Full usage text for `ullava NAME --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line input: main.ts prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}
