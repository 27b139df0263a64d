// `ullava inspect FILE`: tensor names, dtypes, shapes and the parameter count of any checkpoint
// (safetensors, PyTorch .bin/.pth, shard index or directory), from headers only.
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { openCheckpoint } from '../../nn/io/checkpoint.js';
import { shapeNumel } from '../../nn/io/dtypes.js';

const usage = `usage: ullava inspect FILE [--json]

Lists the tensors of a checkpoint (safetensors, PyTorch .bin/.pth, *.index.json, or a directory):
name, dtype, shape, then the total number of parameters and bytes. Reads headers only.
  --json   print one JSON object instead of the table`;

export const inspect: CliCommand = {
  name: 'inspect',
  summary: 'list the tensors (name, dtype, shape) and parameter count of a checkpoint',
  usage,
  async run(argv) {
    const json = argv.includes('--json');
    const files = argv.filter((a) => a !== '--json');
    if (files.length !== 1 || files[0].startsWith('-')) throw new UsageError('expected exactly one FILE');
    const r = await openCheckpoint(files[0]);
    try {
      let params = 0, bytes = 0;
      for (const t of r.tensors) { params += shapeNumel(t.shape, t.name); bytes += t.byteLength; }
      if (json) {
        console.log(JSON.stringify({ path: r.path, format: r.format, metadata: r.metadata, tensors: r.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })), parameters: params, bytes }));
        return 0;
      }
      const w = Math.min(80, Math.max(4, ...r.tensors.map((t) => t.name.length)));
      const lines = [`${'name'.padEnd(w)}  ${'dtype'.padEnd(7)}  shape`];
      for (const t of r.tensors) lines.push(`${t.name.padEnd(w)}  ${t.dtype.padEnd(7)}  [${t.shape.join(', ')}]`);
      lines.push('', `${r.format}: ${r.tensors.length} tensors, ${params.toLocaleString('en-US')} parameters, ${bytes.toLocaleString('en-US')} bytes`);
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    } finally { await r.close(); }
  },
};
