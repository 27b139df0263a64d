// SAM (segment_anything's ViT-B/L/H image encoder, prompt encoder with LISA/u-LLaVA text embeddings,
// mask decoder), its host-side pre/postprocessing and checkpoint loading under three namings.
export * from './config.js';
export * from './hf-config.js';
export * from './infer-config.js';
export { LayerNorm2d, MLPBlock } from './common.js';
export * from './image-encoder.js';
export * from './prompt-encoder.js';
export * from './two-way-transformer.js';
export * from './mask-decoder.js';
export * from './model.js';
export * from './preprocess.js';
export * from './postprocess.js';
export * from './load.js';
