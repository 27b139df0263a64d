// Mutation fuzzing of the checkpoint readers: thousands of corrupted variants of valid safetensors and
// torch.save files. Each must either load (and every tensor read) or fail with a CheckpointFormatError:
// never another exception type, never a hang, never an allocation beyond the file's own size.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { CheckpointFormatError } from '../../../nn/io/dtypes.js';
import { SafetensorsReader, encodeSafetensorsHeader } from '../../../nn/io/safetensors.js';
import { TorchReader } from '../../../nn/io/torch.js';
import { MemorySource } from '../../../nn/io/source.js';
import { bytesOf, rng, statePickle, torchSave, type FixtureStorage, type FixtureTensor } from './fixtures.js';

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x20, 0x2e, 0x28, 0x71, 0x58, 0x8a, 0x5d, 0x7d, 0x30];

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * b.length);
    switch (Math.floor(r() * 7)) {
      case 0: b[at] ^= 1 << Math.floor(r() * 8); break;
      case 1: b[at] = INTERESTING[Math.floor(r() * INTERESTING.length)]; break;
      case 2: b = b.subarray(0, at); break; // truncate
      case 3: { // a 32/64-bit field set to something absurd
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (at + 8 <= b.length) v.setUint32(at, [0xffffffff, 0x7fffffff, 0x80000000, 1 << 20][Math.floor(r() * 4)], true);
        break;
      }
      case 4: { const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256)); const c = new Uint8Array(b.length + ins.length); c.set(b.subarray(0, at)); c.set(ins, at); c.set(b.subarray(at), at + ins.length); b = c; break; }
      case 5: { const tail = b.subarray(Math.min(b.length, at + Math.floor(r() * 16))); const c = new Uint8Array(at + tail.length); c.set(b.subarray(0, at)); c.set(tail, at); b = c; break; }
      case 6: { const j = Math.floor(r() * b.length); const t = b[at]; b[at] = b[j]; b[j] = t; break; }
    }
  }
  return b;
}

async function exercise(kind: 'st' | 'pt', bytes: Uint8Array): Promise<'ok' | 'refused'> {
  const src = new MemorySource(bytes, `fuzz.${kind}`);
  try {
    const r = kind === 'st' ? await SafetensorsReader.open(src) : await TorchReader.open(src);
    for (const t of r.tensors) {
      const d = await r.read(t.name);
      if (d.length !== t.byteLength) throw new Error(`read ${d.length} bytes for ${t.name}, expected ${t.byteLength}`);
      // the only allocations are bounded by the file: a tensor cannot be larger than the bytes that exist
      if (t.byteLength > bytes.length) throw new Error(`tensor ${t.name} of ${t.byteLength} bytes from a ${bytes.length}-byte file`);
    }
    return 'ok';
  } catch (e) {
    if (e instanceof CheckpointFormatError) return 'refused';
    throw new Error(`unexpected ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack?.split('\n').slice(1, 4).join('\n')}`);
  }
}

function seeds(): { st: Uint8Array; pt: Uint8Array[]; pkl: (m: (b: Uint8Array) => Uint8Array) => Uint8Array } {
  const ts = [
    { name: 'a', dtype: 'F32' as const, shape: [2, 3], data: bytesOf(new Float32Array(6).fill(1)) },
    { name: 'b', dtype: 'BF16' as const, shape: [4], data: new Uint8Array(8) },
    { name: 'c', dtype: 'I64' as const, shape: [1], data: new Uint8Array(8) },
    { name: 'd', dtype: 'BOOL' as const, shape: [3], data: new Uint8Array(3) },
  ];
  const { header, dataBytes } = encodeSafetensorsHeader(ts, { format: "pt" });
  const st = new Uint8Array(header.length + dataBytes);
  st.set(header);
  const storages: FixtureStorage[] = [
    { key: '0', dtype: 'F32', bytes: bytesOf(new Float32Array(6)) },
    { key: '1', dtype: 'F16', bytes: new Uint8Array(4) },
    { key: '2', dtype: 'I64', bytes: new Uint8Array(16) },
  ];
  const tensors: FixtureTensor[] = [
    { name: 'w', storage: '0', shape: [2, 3], parameter: true },
    { name: 'wt', storage: '0', shape: [3, 2], stride: [1, 3] },
    { name: 'h', storage: '1', shape: [2] },
    { name: 'ids', storage: '2', shape: [2] },
  ];
  const pkl = statePickle(storages, tensors);
  // mutations inside data.pkl only, in an otherwise valid zip: reaches deeper into the unpickler
  const pklMut = (m: (b: Uint8Array) => Uint8Array) => torchSave(storages, tensors, { pickle: m(pkl) });
  return { st, pt: [torchSave(storages, tensors), torchSave(storages, tensors, { protocol: 4, zip64: true })], pkl: pklMut };
}

test('fuzz: thousands of mutated safetensors and torch files load or fail cleanly', async () => {
  const { st, pt, pkl } = seeds();
  const r = rng(20241126);
  // A fixed number of cases from a fixed seed: the same files on every machine, however fast or loaded
  // (a hang would be stopped by the runner's hang guard; speed is not checked here).
  const total = 8000;
  const t0 = performance.now();
  const counts = { ok: 0, refused: 0 };
  let cases = 0;
  assert.ok(await exercise('st', st) === 'ok' && await exercise('pt', pt[0]) === 'ok' && await exercise('pt', pt[1]) === 'ok', 'seeds load');
  for (; cases < total; cases++) {
    const kind = cases % 3 === 0 ? 'st' : 'pt';
    const m = kind === 'st' ? mutate(st, r) : cases % 3 === 1 ? mutate(pt[cases % 2], r) : pkl((b) => mutate(b, r));
    counts[await exercise(kind, m)]++;
  }
  console.log(`     fuzz: ${cases} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${counts.ok} loaded, ${counts.refused} refused cleanly`);
  assert.ok(counts.refused > cases / 4, 'mutations should mostly be detected');
});
