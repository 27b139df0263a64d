// The package's main entry (`import { Ullava } from 'ullava-ts'`): u-LLaVA as a library.
//
//   const m = await Ullava.load(dir);          // no dir: the built-in shapes-world model (models/shapes)
//   const r = await m.chat('What is in the picture?', { image: 'photo.jpg', onToken: (t) => process.stdout.write(t) });
//   const { masks, boxes } = await m.segment('photo.jpg', 'the dog on the left');
//   await m.dispose();
//
// The tensor engine, the nn layers and the checkpoint formats are the entries 'ullava-ts/engine',
// 'ullava-ts/nn' and 'ullava-ts/nn/io'.
export { Ullava } from './api/ullava.js';
export type {
  LoadOptions, GenerationOptions, ChatTurn, ChatOptions, LocateOptions, CaptionOptions, Reply, LocateResult, AnswerDetails,
} from './api/types.js';
export { encodeMaskPng, type Mask } from './api/masks.js';
export type { ImageInput, VideoInput } from './api/inputs.js';
export { defaultModelDir, cacheDir, DefaultModelMissingError } from './api/default-model.js';
export { loadImage, loadImageBytes, loadVideoFrames, MediaError, type RgbImage, type Box, type MediaErrorCode } from './media/index.js';
export type { FinishReason } from './chat/generate.js';
