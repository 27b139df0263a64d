// `ullava convert IN OUT`: PyTorch .bin/.pth (or a shard index, or safetensors) to safetensors, sharded
// by size, streaming one tensor at a time, with a progress bar.
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { convertCheckpoint, DEFAULT_SHARD_BYTES } from '../../nn/io/convert.js';
import { ProgressBar } from './progress.js';

const usage = `usage: ullava convert IN OUT [--shard-size SIZE] [--dtype f32|f16|bf16] [--quiet]

Converts a checkpoint to safetensors without loading it whole into memory.
  IN    PyTorch .bin/.pth/.pt, pytorch_model.bin.index.json, a safetensors file or index, or a directory
  OUT   a directory (model.safetensors or model-0000i-of-0000n.safetensors + model.safetensors.index.json),
        or a path ending in .safetensors
  --shard-size SIZE  largest shard, e.g. 5GB (default), 500MB, 2GiB
  --dtype D          re-encode floating-point tensors (integer tensors are kept)`;

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad size "${s}"`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
  const n = Math.floor(Number(m[1]) * mult[unit]);
  if (n <= 0) throw new UsageError(`bad size "${s}"`);
  return n;
}

export const convert: CliCommand = {
  name: 'convert',
  summary: 'convert PyTorch .bin/.pth checkpoints (or shard indexes) to sharded safetensors',
  usage,
  async run(argv) {
    const pos: string[] = [];
    let shard = DEFAULT_SHARD_BYTES, dtype: 'F32' | 'F16' | 'BF16' | undefined, quiet = false;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--shard-size') shard = parseSize(argv[++i] ?? '');
      else if (a === '--dtype') {
        const d = (argv[++i] ?? '').toUpperCase();
        if (d !== 'F32' && d !== 'F16' && d !== 'BF16') throw new UsageError(`--dtype must be f32, f16 or bf16`);
        dtype = d;
      } else if (a === '--quiet') quiet = true;
      else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
      else pos.push(a);
    }
    if (pos.length !== 2) throw new UsageError('expected IN and OUT');
    let bar: ProgressBar | undefined;
    const res = await convertCheckpoint(pos[0], pos[1], {
      maxShardBytes: shard, dtype,
      onProgress: quiet ? undefined : (done, total) => { (bar ??= new ProgressBar('convert', total)).update(done); },
    });
    bar?.finish(res.bytes);
    if (!quiet) console.error(`wrote ${res.tensors} tensors (${res.bytes} bytes) to ${res.files.join(', ')}`);
    return 0;
  },
};
