// The checks every decoder makes before touching a file's content, so that the common mistakes (a typo in
// the path, a directory, a zero-byte download) get a plain message instead of a decoder's complaint.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MediaError } from './errors.js';

/** Resolves `path` and checks that it is a non-empty regular file; returns its absolute path and size. */
export async function checkSourceFile(path: string): Promise<{ absPath: string; size: number }> {
  const absPath = resolve(path);
  let st;
  try {
    st = await stat(absPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new MediaError('not-found', path, `${path}: no such file (resolved to ${absPath}); check the path`, { cause: e });
    }
    throw new MediaError('not-found', path, `${path}: cannot be read (${code ?? (e as Error).message}); check the path and its permissions`, { cause: e });
  }
  if (!st.isFile()) throw new MediaError('not-media', path, `${path}: is a ${st.isDirectory() ? 'directory' : 'special file'}, not an image or video file`);
  if (st.size === 0) throw new MediaError('empty', path, `${path}: the file is empty (0 bytes); it may be an interrupted download or copy`);
  return { absPath, size: st.size };
}
