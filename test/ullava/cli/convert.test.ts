import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { test, HANG_GUARD_MS } from '../../harness/test.js';
import { bytesOf, torchSave } from '../../nn/io/fixtures.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../../ullava/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: HANG_GUARD_MS });

test('cli: ullava convert (torch -> sharded safetensors, progress) and ullava inspect', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ullava-cli-'));
  try {
    const pt = torchSave([{ key: '0', dtype: 'F32', bytes: bytesOf(new Float32Array(12).fill(1)) }, { key: '1', dtype: 'I64', bytes: new Uint8Array(16) }],
      [{ name: 'visual_model.w', storage: '0', shape: [3, 4], parameter: true }, { name: 'ids', storage: '1', shape: [2] }]);
    await writeFile(join(dir, 'sam.pth'), pt);
    let r = cli('inspect', join(dir, 'sam.pth'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(/visual_model\.w\s+F32\s+\[3, 4\]/.test(r.stdout) && /2 tensors, 14 parameters/.test(r.stdout), r.stdout);
    r = cli('convert', join(dir, 'sam.pth'), join(dir, 'out'), '--shard-size', '40B', '--dtype', 'bf16');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(/convert \[#+\] 100\.0%/.test(r.stderr) && /ETA/.test(r.stderr), r.stderr);
    r = cli('inspect', '--json', join(dir, 'out'));
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.tensors, [{ name: 'visual_model.w', dtype: 'BF16', shape: [3, 4] }, { name: 'ids', dtype: 'I64', shape: [2] }]);
    await writeFile(join(dir, 'bad.bin'), new Uint8Array(100));
    r = cli('inspect', join(dir, 'bad.bin'));
    assert.equal(r.status, 1);
    assert.ok(/ullava inspect: .*bad\.bin/.test(r.stderr), r.stderr);
  } finally { await rm(dir, { recursive: true }); }
});
