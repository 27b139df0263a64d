import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { writeSafetensors, encodeSafetensorsHeader } from '../../../nn/io/safetensors.js';
import { openCheckpoint } from '../../../nn/io/checkpoint.js';

test('a safetensors file whose header length starts 0x80 0x0? is not taken for a legacy PyTorch pickle', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sniff-'));
  try {
    // Grow the metadata until the header length is 0x0380 (bytes 80 03: a pickle's "protocol 3" opening).
    let pad = '';
    const t = { name: 'w', dtype: 'F32' as const, shape: [1] };
    while (new DataView(encodeSafetensorsHeader([t], { x: pad }).header.buffer).getUint32(0, true) < 0x380) pad += 'a';
    const { header } = encodeSafetensorsHeader([t], { x: pad });
    assert.equal([header[0], header[1]], [0x80, 0x03]);
    const path = join(dir, 'w.safetensors');
    await writeSafetensors(path, [{ ...t, data: new Uint8Array(4) }], { metadata: { x: pad } });
    const r = await openCheckpoint(path);
    assert.equal(r.format, 'safetensors');
    await r.close();
  } finally { await rm(dir, { recursive: true, force: true }); }
});
