// `npm run bench -- <name> [--json FILE] [--quick] [--filter S] [--no-peers] [--seconds N]`
import { parseBenchArgs, type BenchOptions } from './common.js';

const benches: Record<string, () => Promise<{ run(o: BenchOptions): Promise<unknown> }>> = {
  gemm: () => import('./gemm.js'),
  tokenizer: () => import('./tokenizer.js'),
  models: () => import('./models.js'),
  e2e: () => import('./e2e.js'),
  attention: () => import('./attention.js'),
  conv: () => import('./conv.js'),
  train: () => import('./train.js'),
  'train-attention': () => import('./train-attention.js'),
  startup: () => import('./startup.js'),
  'startup-kernels': () => import('./startup-kernels.js'),
  serve: () => import('./serve.js'),
};

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || !(name in benches)) {
    console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--json FILE] [--quick] [--filter S] [--no-peers] [--seconds N]`);
    return 2;
  }
  const opts = parseBenchArgs(rest);
  const mod = await benches[name]();
  await mod.run(opts);
  return 0;
}

process.exitCode = await main();
// TF.js keeps its own GPU object alive; exit explicitly once results are written.
process.exit(process.exitCode);
