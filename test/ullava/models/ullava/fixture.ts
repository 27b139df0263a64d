// The tiny u-LLaVA in exactly the published file layout: two PyTorch .bin shards (torch.save zips with
// bf16 storages, as the published 16-bit checkpoint) + pytorch_model.bin.index.json, config.json with the
// nested llm_config, tokenizer.model and added_tokens.json. Built from writeTinyUllava's safetensors.
import { mkdtemp, writeFile, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyUllava } from '../../../../ullava/models/ullava/tiny.js';
import { openCheckpoint } from '../../../../nn/io/checkpoint.js';
import { convertFloatBytes } from '../../../../nn/io/hostconv.js';
import { torchSave, type FixtureStorage, type FixtureTensor } from '../../../nn/io/fixtures.js';

const cache = new Map<string, Promise<string>>();

/** A directory holding the tiny model as safetensors (what the CLI's demo writes). Shared by tests. */
export function tinySafetensorsDir(layout: 'published' | 'head' = 'published'): Promise<string> {
  const key = `st-${layout}`;
  if (!cache.has(key)) cache.set(key, mkdtemp(join(tmpdir(), `ullava-tiny-${layout}-`)).then((d) => writeTinyUllava(d, { layout })));
  return cache.get(key)!;
}

/** The same weights as two torch .bin shards in bf16 + the HF shard index, as jinxu95/ullava ships them. */
export function tinyPublishedDir(): Promise<string> {
  if (!cache.has('bin')) cache.set('bin', (async () => {
    const src = await tinySafetensorsDir();
    const dir = await mkdtemp(join(tmpdir(), 'ullava-tiny-bin-'));
    const reader = await openCheckpoint(src);
    try {
      const names = reader.tensors.map((t) => t.name);
      const half = Math.ceil(names.length / 2);
      const shards = [names.slice(0, half), names.slice(half)];
      const weightMap: Record<string, string> = {};
      let total = 0;
      for (let s = 0; s < 2; s++) {
        const file = `pytorch_model-0000${s + 1}-of-00002.bin`;
        const storages: FixtureStorage[] = [];
        const tensors: FixtureTensor[] = [];
        for (const [i, name] of shards[s].entries()) {
          const info = reader.tensors.find((t) => t.name === name)!;
          const bytes = convertFloatBytes(info.dtype, await reader.read(name), 'BF16');
          storages.push({ key: String(i), dtype: 'BF16', bytes });
          tensors.push({ name, storage: String(i), shape: info.shape });
          weightMap[name] = file;
          total += bytes.length;
        }
        await writeFile(join(dir, file), torchSave(storages, tensors, { archive: `pytorch_model-0000${s + 1}-of-00002` }));
      }
      await writeFile(join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
    } finally {
      await reader.close();
    }
    for (const f of ['config.json', 'tokenizer.model', 'added_tokens.json', 'special_tokens_map.json', 'tokenizer_config.json']) {
      await copyFile(join(src, f), join(dir, f));
    }
    return dir;
  })());
  return cache.get('bin')!;
}

export async function removeDir(dir: string): Promise<void> { await rm(dir, { recursive: true, force: true }); }
