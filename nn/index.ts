export * from './module.js';
export * from './layers.js';
export * from './lora.js';
export * from './attention.js';
