// Every output file is written atomically: the bytes go to a temporary file in the same directory, are
// flushed to disk, and the temporary file is renamed over the target (rename within one filesystem is
// atomic on POSIX and replaces the target on Windows). A failure at any point removes the temporary
// file and leaves the target as it was: a reader never sees a half-written PNG, and a good file from an
// earlier run is never replaced by a broken one.
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MediaError } from './errors.js';

/**
 * Writes `data` (bytes, or chunks produced one after the other, e.g. by a streaming encoder) to `path`
 * atomically. Throws MediaError 'write-failed' (the target untouched) on any failure, including a
 * chunk producer that throws.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | Iterable<Uint8Array>): Promise<void> {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = false;
  try {
    const fh = await open(tmp, 'wx');
    created = true;
    try {
      for (const chunk of data instanceof Uint8Array ? [data] : data) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `the directory ${dirname(target)} does not exist`
      : code === 'EISDIR' ? 'the path is a directory'
      : code ?? (e as Error)?.message ?? String(e);
    throw new MediaError('write-failed', path, `${path}: could not be written (${why}); any previous file there is unchanged`, { cause: e });
  }
}
