// Finding and running the ffmpeg binary. Everything that is not a PNG (JPEG, WebP, GIF, BMP, videos) is
// decoded by ffmpeg in a child process: FFMPEG_PATH if set (a system ffmpeg), else the static binary that
// the npm package @ffmpeg-installer/ffmpeg ships inside itself (its install downloads nothing, so it works
// on machines that only reach the npm registry; ffmpeg-static does not). ffprobe is not assumed: the
// bundled package has none, so probing is done by ffmpeg itself (probe.ts).
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MediaError } from './errors.js';

export interface FfmpegBinary { path: string; source: 'FFMPEG_PATH' | 'bundled' }

const FIX = 'set FFMPEG_PATH to an ffmpeg executable, or reinstall the bundled one with `npm install @ffmpeg-installer/ffmpeg` ' +
  '(optional dependencies must not be omitted: it installs the binary for this platform as @ffmpeg-installer/<os>-<arch>)';

/** The ffmpeg to run: $FFMPEG_PATH when set (it must be an executable file), else the bundled binary. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinary {
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv) {
    let ok = false;
    try { ok = statSync(fromEnv).isFile(); accessSync(fromEnv, constants.X_OK); } catch { ok = false; }
    if (!ok) {
      throw new MediaError('ffmpeg-unavailable', fromEnv,
        `FFMPEG_PATH=${fromEnv} is not an executable file: point FFMPEG_PATH at an ffmpeg binary, ` +
        'or unset it to use the ffmpeg bundled with the npm package @ffmpeg-installer/ffmpeg');
    }
    return { path: fromEnv, source: 'FFMPEG_PATH' };
  }
  let bundled: string;
  try {
    // A CommonJS package that throws a string on unsupported platforms: load it lazily, inside a try.
    bundled = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch (e) {
    throw new MediaError('ffmpeg-unavailable', '',
      `no ffmpeg: the bundled binary for ${process.platform}-${process.arch} could not be loaded (${String((e as Error)?.message ?? e)}); ${FIX}`);
  }
  return { path: bundled, source: 'bundled' };
}

export interface FfmpegRun { code: number | null; stdout: Buffer; stderr: string }

export interface RunOptions {
  /** The media file the run is about, for error messages. */
  path: string;
  /** ffmpeg is killed and the run fails with 'too-large' if it writes more than this to stdout. */
  maxStdoutBytes?: number;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Runs ffmpeg with `args` (stdin closed), collecting stdout as bytes and the tail of stderr as text.
 * A non-zero exit is returned, not thrown: the caller knows what the failure means. Thrown: the binary
 * could not be started, the run timed out, or stdout went over its cap.
 */
export function runFfmpeg(args: string[], opts: RunOptions): Promise<FfmpegRun> {
  const bin = findFfmpeg(opts.env);
  const { path, maxStdoutBytes = Infinity, timeoutMs = 120_000 } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(bin.path, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0, stderr = '', failure: MediaError | null = null;
    const fail = (err: MediaError) => { if (!failure) { failure = err; child.kill('SIGKILL'); } };
    const timer = setTimeout(() => fail(new MediaError('ffmpeg-failed', path,
      `${path}: ffmpeg did not finish within ${timeoutMs / 1000} s (killed); the file may be damaged or very long`)), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
      if (bytes > maxStdoutBytes) {
        fail(new MediaError('too-large', path, `${path}: the decoded output went over ${maxStdoutBytes} bytes (killed); ` +
          'downscale the file, or raise the maxPixels option'));
      } else chunks.push(b);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => { stderr = (stderr + s).slice(-STDERR_KEEP); });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(failure ?? new MediaError('ffmpeg-unavailable', path,
        `cannot run ffmpeg at ${bin.path} (${bin.source === 'FFMPEG_PATH' ? 'from FFMPEG_PATH' : 'bundled'}): ` +
        `${e.code ?? e.message}${e.code === 'EACCES' ? ' (not executable: chmod +x it)' : ''}; ${FIX}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ code, stdout: Buffer.concat(chunks, bytes), stderr });
    });
  });
}

// Lines ffmpeg prints that never explain a failure: the stream listing, hints, progress.
const NOISE = /^(At least one output file must be specified|To ignore this|Consider increasing|Press \[q\]|frame=|video:|Conversion failed!|Exiting normally|Input #|Output #|Stream #|Stream mapping|Duration:|Metadata:|\w+\s+: )/;
const ERRORISH = /error|invalid|fail|could not|cannot|unable|not found|no such|unsupported|not supported|unspecified|corrupt|truncated|missing|matches no|overread|no .* found/i;

/** The stderr line that best explains a failure: the last error-like line, else the last line (minus noise). */
export function lastErrorLine(stderr: string, code?: number | null): string {
  const lines = stderr.split(/\r?\n|\r/).map((l) => l.trim().replace(/ @ 0x[0-9a-f]+\]/, ']'))
    .filter((l) => l && !NOISE.test(l));
  for (let i = lines.length - 1; i >= 0; i--) if (ERRORISH.test(lines[i])) return lines[i];
  return lines.at(-1) ?? `ffmpeg printed no error${code != null ? `, exit code ${code}` : ''}`;
}

/** `ffmpeg -version`'s first line and where the binary came from, for `ullava doctor` and bug reports. */
export async function ffmpegVersion(env?: NodeJS.ProcessEnv): Promise<{ binary: FfmpegBinary; version: string }> {
  const binary = findFfmpeg(env);
  const run = await runFfmpeg(['-version'], { path: binary.path, timeoutMs: 10_000, env });
  return { binary, version: run.stdout.toString('utf8').split('\n')[0].trim() };
}
