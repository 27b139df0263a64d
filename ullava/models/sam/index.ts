// SAM (segment_anything's ViT-B/L/H image encoder, prompt encoder with LISA/u-LLaVA text embeddings,
// mask decoder), its host-side pre/postprocessing and checkpoint loading under three namings.
export {
  samTiny, embeddingGrid, type SamEncoderConfig, type SamDecoderConfig, type SamConfig, SAM_PIXEL_MEAN,
  SAM_PIXEL_STD, samVitH, samVitL, samVitB, SAM_CONFIGS, type SamVariant, samMlpDim,
} from './config.js';
export { samConfigFromHF, samConfigToHF } from './hf-config.js';
export { inferSamConfig, SAM_DECODER_HEADS } from './infer-config.js';
export { LayerNorm2d, MLPBlock } from './common.js';
export {
  windowPartition, windowUnpartition, relPosIndex, getRelPos, relPosTerms, relPosBiasRows, decomposedRelPosBias,
  ATTENTION_BLOCK_BYTES, PatchEmbed, EncoderAttention, EncoderBlock, Neck, ImageEncoderViT,
} from './image-encoder.js';
export {
  PositionEmbeddingRandom, MaskDownscaling, type PointPrompts, type Prompts, PromptEncoder,
} from './prompt-encoder.js';
export { DecoderAttention, TwoWayAttentionBlock, TwoWayTransformer } from './two-way-transformer.js';
export { OutputUpscaling, type MaskDecoderInputs, MaskDecoder } from './mask-decoder.js';
export { type SamPrediction, Sam } from './model.js';
export { preprocessShape, preprocessImage, applyCoords, type SamInput, applyBoxes } from './preprocess.js';
export { postprocessMasks } from './postprocess.js';
export { detectSamNaming, samKey, samStateDict, loadSamStateDict, loadSam, samShapes, type LoadSamOptions, type SamNaming } from './load.js';
