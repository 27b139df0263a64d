export {
  numPatches, numPositions, validateClipVisionConfig, clipVisionConfigFromHF, clipVisionConfigToHF,
  type ClipActivation, type ClipVisionConfig, CLIP_VISION_DEFAULTS, CLIP_VIT_L14_224, CLIP_VIT_L14_336, CLIP_TINY,
} from './config.js';
export { ClipVisionEmbeddings } from './embeddings.js';
export { ClipAttention, ClipMLP, ClipEncoderLayer, ClipEncoder } from './encoder.js';
export {
  hiddenStateIndex, selectFeatures, disposeClipOutput, type ClipVisionOutput, type ClipForwardOptions,
  ClipVisionTransformer, ClipVisionModel,
} from './model.js';
export {
  toRgb, expandToSquare, shortestEdgeSize, centerCrop, normalizeToChw, clipResizeCrop, preprocessClip,
  preprocessClipBatch, CLIP_MEAN, CLIP_STD, type ClipPreprocessOptions,
} from './preprocess.js';
export {
  detectClipPrefix, clipKeyRenamer, clipVisionStateDict, inferClipVisionConfig, clipVisionParamShapes,
  checkClipTensors, loadClipVisionModel, CLIP_KEY_PREFIXES, type LoadClipOptions,
} from './load.js';
