// Random access to the bytes of a file without reading all of it: checkpoints are many GB, so readers
// ask for ranges (a header, a zip directory, one tensor) and nothing else is held in memory.
import { open, type FileHandle } from 'node:fs/promises';
import { CheckpointFormatError } from './dtypes.js';

export interface ByteSource {
  /** Name used in error messages (usually the path). */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; throws if the range is outside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size) {
    throw new CheckpointFormatError(`${src.name}: truncated or corrupt: range [${offset}, ${offset + length}) is outside the file (${src.size} bytes)`);
  }
}

/** Largest single read: one tensor at a time, never a whole multi-GB file. */
export const MAX_READ_BYTES = 2 ** 32;

export class FileSource implements ByteSource {
  private constructor(readonly name: string, readonly size: number, private fh: FileHandle) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new CheckpointFormatError(`${path}: not a regular file`);
      return new FileSource(path, st.size, fh);
    } catch (e) { await fh.close(); throw e; }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (length > MAX_READ_BYTES) throw new CheckpointFormatError(`${this.name}: refusing a single read of ${length} bytes`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      // fs.read takes at most 2 GiB per call.
      const chunk = Math.min(length - done, 1 << 30);
      const { bytesRead } = await this.fh.read(out, done, chunk, offset + done);
      if (bytesRead === 0) throw new CheckpointFormatError(`${this.name}: file shrank while reading`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> { await this.fh.close(); }
}

/** A source over bytes already in memory (tests, fuzzing, small embedded files). */
export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(private bytes: Uint8Array, readonly name = '<memory>') { this.size = bytes.length; }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
  async close(): Promise<void> {}
}
