// test/ullava/train/loader.test.ts: the loader's seeded order (ullava/train/loader.ts).
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { epochOrder, sampleSeed } from '../../../ullava/train/loader.js';

test('the shuffle is a permutation fixed by (seed, epoch), different across epochs and seeds', () => {
  const a = epochOrder(50, 42, 0);
  assert.equal([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(epochOrder(50, 42, 0), a);
  assert.ok(epochOrder(50, 42, 1).join() !== a.join() && epochOrder(50, 7, 0).join() !== a.join());
});

test('each sample\'s seed is fixed by (run seed, epoch, index) and differs across each of them', () => {
  const s = sampleSeed(42, 3, 17);
  assert.is(sampleSeed(42, 3, 17), s);
  const others = [sampleSeed(43, 3, 17), sampleSeed(42, 4, 17), sampleSeed(42, 3, 18)];
  assert.ok(others.every((o) => o !== s), `${s} vs ${others}`);
});

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataLoader } from '../../../ullava/train/loader.js';
import { readManifest } from '../../../ullava/data/manifest.js';
import { prepareExample, type PreparedExample } from '../../../ullava/data/collate.js';
import { MediaWorkerPool } from '../../../ullava/data/collate-pool.js';
import { inlineMediaRunner, type MediaRunner } from '../../../ullava/data/collate-media.js';
import { ImageCache } from '../../../ullava/data/collate-cache.js';
import { assertRejects } from '../../harness/assert.js';
import { ullavaTokenizer, smallConfig, tempDir, writeImage } from '../data/helpers.js';

/** 6 res samples with targets on 3 images (two samples per image), the 5th one's image missing. */
async function writeLoaderData(): Promise<string> {
  const dir = await tempDir('loader');
  for (let i = 0; i < 3; i++) await writeImage(join(dir, `i${i}.png`), 8, 6, [i, 1, i + 3, 4]);
  const mask = { size: [6, 8], counts: [10, 3, 3, 3, 29] };
  const lines = Array.from({ length: 6 }, (_, k) => ({ task: 'res', image: k === 4 ? 'gone.png' : `i${k % 3}.png`,
    targets: [{ sentences: ['the box', 'the red box', 'the square', 'it'], category: 'box', mask }] }));
  const p = join(dir, 'd.jsonl');
  await writeFile(p, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return p;
}

async function loaderWith(path: string, runner: MediaRunner): Promise<DataLoader> {
  const samples = await readManifest(path);
  const o = { tokenizer: await ullavaTokenizer(), config: smallConfig(), maxLength: 200, runner, cache: new ImageCache() };
  return new DataLoader(samples, 2, 42, (s, ctx) => prepareExample(s, { ...o, seed: ctx.seed }));
}

const plain = (es: PreparedExample[]) => JSON.stringify(es, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v));

test('the worker-thread loader gives the same batches as the inline one; draws repeat per (seed, epoch) and change across epochs; a missing image fails its batch with the line', async () => {
  const path = await writeLoaderData();
  const pool = new MediaWorkerPool(2);
  try {
    const inline = await loaderWith(path, inlineMediaRunner), pooled = await loaderWith(path, pool);
    for (const epoch of [0, 1]) {
      const bad = epochOrder(6, 42, epoch).indexOf(4);   // where line 5 falls in this epoch
      for (let b = 0; b < 3; b++) {
        const at = { epoch, batch: b };
        if (b === Math.floor(bad / 2)) {
          await assertRejects(() => inline.get(at), /d\.jsonl:5: "image": .*gone\.png/);
          await assertRejects(() => pooled.get(at), /d\.jsonl:5: "image": .*gone\.png/);
          continue;
        }
        const [x, y] = [await inline.get(at), await pooled.get(at)];
        assert.equal(x.indices, y.indices);
        assert.is(plain(y.examples), plain(x.examples), `epoch ${epoch} batch ${b}`);
      }
    }
    // A fresh loader at the same position draws the same conversations; the next epoch draws others.
    const again = await loaderWith(path, inlineMediaRunner);
    const pos = { epoch: 1, batch: [0, 1, 2].find((b) => !epochOrder(6, 42, 1).slice(2 * b, 2 * b + 2).includes(4))! };
    const a = (await again.get(pos)).examples, b = (await inline.get(pos)).examples;
    assert.is(plain(a), plain(b));
    const [s0] = await readManifest(path);
    const o = { tokenizer: await ullavaTokenizer(), config: smallConfig(), maxLength: 200 };
    const ids = async (epoch: number) => (await prepareExample(s0, { ...o, seed: sampleSeed(42, epoch, 0) })).ids.join();
    const seen = new Set(await Promise.all([0, 1, 2, 3, 4, 5].map(ids)));
    assert.ok(seen.size > 1, 'sample 0 is asked differently across epochs');
  } finally { await pool.close(); }
});
