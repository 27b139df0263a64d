// What is in a media file, asked of ffmpeg itself (ffprobe is not assumed to exist): ffmpeg prints the
// input's streams on stderr whenever it opens a file, and with `-map 0:v:0 -c copy -f null -` it demuxes
// the first video stream without decoding it and reports the number of packets on `-progress`. For video
// that packet count is the frame count that decord's len(VideoReader) gives (decord indexes packets), i.e.
// the `vlen` the reference's frame sampling starts from, at the cost of reading the file once, not decoding it.
import { MediaError } from './errors.js';
import { lastErrorLine, runFfmpeg } from './ffmpeg.js';

export interface MediaProbe {
  /** Size of the first video stream as stored (before any rotation metadata is applied). */
  width: number;
  height: number;
  /** ffmpeg's decoder name: png, mjpeg, gif, webp, h264, ... */
  codec: string;
  /** Average frame rate ffmpeg reports (fps, else tbr); null when it reports neither. */
  fps: number | null;
  /** Container duration in seconds; null for still images and streams without one. */
  durationSec: number | null;
  /** Packets in the first video stream (= frames); null unless countFrames was asked. */
  frameCount: number | null;
}

export interface ProbeOptions { countFrames?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv }

/**
 * The input half of an ffmpeg command line for a local file. The file: protocol keeps names like
 * "a:b.mp4" from being read as URLs, and the protocol whitelist keeps playlist-like inputs (HLS, concat)
 * from opening anything but local files. Rotation metadata is ignored unless `autorotate`.
 */
export function ffmpegInputArgs(absPath: string, autorotate = false): string[] {
  return [...(autorotate ? [] : ['-noautorotate']), '-protocol_whitelist', 'file', '-i', `file:${absPath}`];
}

// Decoders that render TEXT as pictures (ffmpeg's tty demuxer plays .txt/.ans files as video): a file
// that only ffmpeg's text renderer accepts is not an image the model should see.
const TEXT_CODECS = new Set(['ansi', 'bintext', 'xbin', 'idf']);

/** Probes `absPath` (already checked to exist and be non-empty); `path` is the name used in messages. */
export async function probeMedia(absPath: string, path: string, opts: ProbeOptions = {}): Promise<MediaProbe> {
  const input = ffmpegInputArgs(absPath);
  const args = opts.countFrames
    ? ['-nostats', '-progress', 'pipe:1', ...input, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-']
    : input; // no output: ffmpeg prints the input and exits 1, as expected
  const run = await runFfmpeg(args, { path, timeoutMs: opts.timeoutMs ?? 60_000, env: opts.env, maxStdoutBytes: 1 << 20 });
  if (run.stderr.trim() === '') {
    // ffmpeg always talks when it opens a file: silence means the binary is not ffmpeg (or crashed).
    throw new MediaError('ffmpeg-failed', path, `${path}: the ffmpeg binary printed nothing (exit code ${run.code}); ` +
      'check that FFMPEG_PATH, if set, points at ffmpeg itself');
  }
  const info = parseStreamInfo(run.stderr);
  if (!info) {
    const streams = /^\s*Stream #\d+:\d+.*?: (Audio|Subtitle|Data|Attachment)/m.exec(run.stderr);
    throw new MediaError('not-media', path, streams
      ? `${path}: has no video stream (only ${streams[1].toLowerCase()}); give an image or a video file`
      : `${path}: not an image or video that ffmpeg can read (${lastErrorLine(run.stderr, run.code)})`);
  }
  if (TEXT_CODECS.has(info.codec)) {
    throw new MediaError('not-media', path, `${path}: a text file (ffmpeg would only render it as ${info.codec} text art), not an image or video`);
  }
  let frameCount: number | null = null;
  if (opts.countFrames) {
    if (run.code !== 0) throw new MediaError('corrupt', path, `${path}: ffmpeg could not read the video stream (${lastErrorLine(run.stderr, run.code)})`);
    const counts = [...run.stdout.toString('utf8').matchAll(/^frame=(\d+)$/gm)];
    if (counts.length === 0) throw new MediaError('ffmpeg-failed', path, `${path}: ffmpeg reported no frame count (${lastErrorLine(run.stderr, run.code)})`);
    frameCount = Number(counts.at(-1)![1]);
  }
  return { ...info, frameCount };
}

/** Parses the first video stream of the input section of ffmpeg's stderr; null when there is none with a size. */
function parseStreamInfo(stderr: string): Omit<MediaProbe, 'frameCount'> | null {
  const input = stderr.split(/^Output #0|^Stream mapping:/m)[0];
  const line = /^\s*Stream #\d+:\d+.*?: Video: (.*)$/m.exec(input)?.[1];
  if (!line) return null;
  const size = /, (\d+)x(\d+)(?=[\s,]|$)/.exec(line);
  if (!size) return null;
  const width = Number(size[1]), height = Number(size[2]);
  if (width <= 0 || height <= 0) return null;
  const rate = (unit: string): number | null => {
    const m = new RegExp(`([\\d.]+)(k?) ${unit}\\b`).exec(line);
    return m ? Number(m[1]) * (m[2] ? 1000 : 1) : null;
  };
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(input);
  return {
    width, height,
    codec: /^(\w+)/.exec(line)?.[1] ?? 'unknown',
    fps: rate('fps') ?? rate('tbr'),
    durationSec: d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null,
  };
}
