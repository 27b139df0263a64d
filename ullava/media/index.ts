// Host-side media: decoding images and video frames to RGB, boxes from masks, and the PNG outputs.
export { MediaError, DEFAULT_MAX_PIXELS, type MediaErrorCode } from './errors.js';
export { type RgbImage, checkRgbImage } from './image.js';
export { loadImage, loadImageBytes, type LoadImageOptions } from './load-image.js';
export { loadVideoFrames, type LoadVideoOptions, type VideoFrames } from './load-video.js';
export { sampleFrameIndices, type FrameSampling, type SamplingOptions } from './frame-sampling.js';
export { findFfmpeg, ffmpegVersion, type FfmpegBinary } from './ffmpeg.js';
export { probeMedia, type MediaProbe } from './probe.js';
export { decodePng, encodeRgbPng, encodeGrayPng, isPng } from './png.js';
export { masksToBoxes, boxIoU, normalizeToPaddedSquare, denormalizeFromPaddedSquare, type Box } from './boxes.js';
export { writeFileAtomic } from './atomic-write.js';
export { writePng, writeMaskPng, binarizeMask } from './write-png.js';
export { drawOverlay, writeOverlayPng, OVERLAY_COLORS, type OverlayOptions, type Rgb } from './overlay.js';
