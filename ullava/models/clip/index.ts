export * from './config.js';
export * from './embeddings.js';
export * from './encoder.js';
export * from './model.js';
export * from './preprocess.js';
export * from './load.js';
