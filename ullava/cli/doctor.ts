import type { CliCommand } from './command.js';
export const doctor: CliCommand = { name: 'doctor', summary: 'tmp', usage: 'tmp', run: async () => 0 };
