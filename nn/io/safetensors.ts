// safetensors: 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data buffer.
// Validation follows the format's rules: offsets relative to the data buffer, contiguous without gaps or
// overlaps, each range exactly numel * itemsize, the last one ending at the end of the file.
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { CheckpointFormatError, isSourceDType, shapeNumel, sourceItemSize, type SourceDType, type TensorInfo } from './dtypes.js';
import type { ByteSource } from './source.js';
import { SourceReader, openFileWith, type CheckpointReader } from './reader.js';

/** Same limit as the reference implementation: a bigger header is a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry extends TensorInfo {
  /** Absolute offset of the tensor's first byte in the file. */
  offset: number;
}

export class SafetensorsReader extends SourceReader<SafetensorsEntry> implements CheckpointReader {
  readonly format = 'safetensors' as const;

  private constructor(src: ByteSource, tensors: SafetensorsEntry[], readonly metadata: Record<string, string>, owned: boolean) {
    super(src, tensors, owned);
  }

  static openFile(path: string): Promise<SafetensorsReader> { return openFileWith(path, SafetensorsReader.open); }

  /** Parses and validates the header; reads nothing else. `owned`: close() also closes the source. */
  static async open(src: ByteSource, owned = false): Promise<SafetensorsReader> {
    const where = src.name;
    if (src.size < 8) throw new CheckpointFormatError(`${where}: not a safetensors file: ${src.size} bytes, too short for a header`);
    const lenBytes = await src.read(0, 8);
    const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (n > MAX_HEADER_BYTES) throw new CheckpointFormatError(`${where}: safetensors header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    if (n < 2) throw new CheckpointFormatError(`${where}: safetensors header length ${n} is too small`);
    if (8 + n > src.size) throw new CheckpointFormatError(`${where}: truncated: header of ${n} bytes but the file has ${src.size}`);
    const headerBytes = await src.read(8, n);
    let text: string;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes); } catch {
      throw new CheckpointFormatError(`${where}: safetensors header is not valid UTF-8`);
    }
    if (!text.startsWith('{')) throw new CheckpointFormatError(`${where}: safetensors header does not start with '{'`);
    let json: unknown;
    try { json = JSON.parse(text); } catch (e) {
      throw new CheckpointFormatError(`${where}: safetensors header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointFormatError(`${where}: safetensors header is not a JSON object`);
    const dataStart = 8 + n;
    const dataSize = src.size - dataStart;
    const metadata: Record<string, string> = {};
    const entries: (SafetensorsEntry & { begin: number; end: number })[] = [];
    for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CheckpointFormatError(`${where}: __metadata__ must be an object of strings`);
        for (const [k, s] of Object.entries(v)) {
          if (typeof s !== 'string') throw new CheckpointFormatError(`${where}: __metadata__.${k} is not a string`);
          metadata[k] = s;
        }
        continue;
      }
      const w = `${where}: tensor "${name}"`;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CheckpointFormatError(`${w}: entry is not an object`);
      const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
      if (!isSourceDType(dtype)) throw new CheckpointFormatError(`${w}: unknown dtype ${JSON.stringify(dtype)}`);
      if (!Array.isArray(shape)) throw new CheckpointFormatError(`${w}: shape is not an array`);
      const numel = shapeNumel(shape, w);
      if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
        throw new CheckpointFormatError(`${w}: data_offsets must be two non-negative integers, got ${JSON.stringify(off)}`);
      }
      const [begin, end] = off as [number, number];
      if (end < begin) throw new CheckpointFormatError(`${w}: data_offsets [${begin}, ${end}] end before they begin`);
      if (end > dataSize) throw new CheckpointFormatError(`${w}: data_offsets [${begin}, ${end}] run past the end of the file (data is ${dataSize} bytes)`);
      const byteLength = numel * sourceItemSize(dtype);
      if (!Number.isSafeInteger(byteLength) || end - begin !== byteLength) {
        throw new CheckpointFormatError(`${w}: ${dtype}${JSON.stringify(shape)} needs ${byteLength} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
      }
      entries.push({ name, dtype, shape: shape as number[], byteLength, offset: dataStart + begin, begin, end });
    }
    const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let pos = 0;
    for (const e of sorted) {
      if (e.begin < pos) throw new CheckpointFormatError(`${where}: tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (ends at ${pos})`);
      if (e.begin > pos) throw new CheckpointFormatError(`${where}: gap in the data buffer before tensor "${e.name}" ([${pos}, ${e.begin}) belongs to no tensor)`);
      pos = e.end;
    }
    if (pos !== dataSize) {
      throw new CheckpointFormatError(`${where}: the tensors cover ${pos} bytes of data but the file holds ${dataSize} after the header (truncated or trailing bytes)`);
    }
    const tensors = entries.map(({ begin: _b, end: _e, ...t }) => t);
    return new SafetensorsReader(src, tensors, metadata, owned);
  }

  read(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return this.src.read(e.offset, e.byteLength);
  }

}

/** A tensor to write: its bytes given directly or produced when the writer reaches it (streaming). */
export interface TensorToWrite {
  name: string;
  dtype: SourceDType;
  shape: number[];
  data: Uint8Array | (() => Promise<Uint8Array>);
}

/** The header bytes (length prefix + JSON padded with spaces to a multiple of 8) for these tensors, in order. */
export function encodeSafetensorsHeader(tensors: readonly Omit<TensorToWrite, 'data'>[], metadata?: Record<string, string>): { header: Uint8Array; dataBytes: number } {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) obj.__metadata__ = metadata;
  let pos = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) throw new Error(`safetensors: duplicate or reserved tensor name "${t.name}"`);
    seen.add(t.name);
    const n = shapeNumel(t.shape, `safetensors: tensor "${t.name}"`) * sourceItemSize(t.dtype);
    obj[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + n] };
    pos += n;
  }
  let json = JSON.stringify(obj);
  let bytes = new TextEncoder().encode(json);
  const pad = (8 - (bytes.length % 8)) % 8;
  if (pad) { json += ' '.repeat(pad); bytes = new TextEncoder().encode(json); }
  const header = new Uint8Array(8 + bytes.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(bytes.length), true);
  header.set(bytes, 8);
  return { header, dataBytes: pos };
}

/**
 * Writes a safetensors file atomically: everything goes to a temporary file beside the target, which is
 * flushed and renamed over it only when complete, so a crash never leaves a half-written checkpoint.
 * `onBytes` is called after each tensor with the number of data bytes written (for progress bars).
 */
export async function writeSafetensors(path: string, tensors: readonly TensorToWrite[],
  opts: { metadata?: Record<string, string>; onBytes?: (n: number) => void } = {}): Promise<void> {
  const { header } = encodeSafetensorsHeader(tensors, opts.metadata);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'wx');
  let ok = false;
  try {
    let pos = 0;
    const write = async (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await fh.write(b, done, Math.min(b.length - done, 1 << 30), pos + done);
        done += bytesWritten;
      }
      pos += b.length;
    };
    await write(header);
    for (const t of tensors) {
      const data = typeof t.data === 'function' ? await t.data() : t.data;
      const want = shapeNumel(t.shape, t.name) * sourceItemSize(t.dtype);
      if (data.length !== want) throw new Error(`safetensors: tensor "${t.name}" ${t.dtype}${JSON.stringify(t.shape)} needs ${want} bytes, got ${data.length}`);
      await write(data);
      opts.onBytes?.(data.length);
    }
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await unlink(tmp).catch(() => {});
  }
  await rename(tmp, path);
}
