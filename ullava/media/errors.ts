// One typed error for everything that can go wrong reading or writing media, so a caller (the CLI, the
// server, a data loader that skips bad samples) can branch on `code` and a person can act on the message:
// each message names the file and says what to do.

export type MediaErrorCode =
  | 'not-found'          // no such file
  | 'empty'              // the file has zero bytes
  | 'not-media'          // ffmpeg (or the PNG signature) says this is not an image or a video
  | 'corrupt'            // recognised format, but the data is damaged (bad CRC, truncated stream)
  | 'too-large'          // width x height is over the pixel limit
  | 'ffmpeg-unavailable' // no ffmpeg binary could be run
  | 'ffmpeg-failed'      // ffmpeg ran but failed (timeout, crash, unexpected output)
  | 'no-frames'          // a video stream with zero decodable frames
  | 'write-failed';      // an output could not be written (the previous file, if any, is untouched)

export class MediaError extends Error {
  constructor(readonly code: MediaErrorCode, readonly path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaError';
  }
}

/** The default pixel limit: 64 megapixels (an 8000 x 8000 photo), about 192 MB as RGB. */
export const DEFAULT_MAX_PIXELS = 64 * 1024 * 1024;

export function tooLarge(path: string, width: number, height: number, maxPixels: number): MediaError {
  const mp = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} megapixels`;
  return new MediaError('too-large', path,
    `${path}: ${width} x ${height} = ${mp(width * height)} is over the limit of ${mp(maxPixels)} ` +
    `(${maxPixels} pixels); downscale the file, or raise the limit with the maxPixels option`);
}
