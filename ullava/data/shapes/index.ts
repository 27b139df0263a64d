// The shapes world: a procedural multimodal dataset (scenes of coloured shapes with exact masks and boxes;
// referring segmentation, grounding, VQA, captions, odd-one-out salient segmentation, moving-shape video).
export { generateShapes, type GenerateOptions, type GenerateResult } from './generate.js';
export { generateSample, TASKS, TASK_WEIGHTS, type ShapesTask, type ShapesRecord, type GeneratedSample } from './samples.js';
export { SPLITS, defaultSeed, checkSeedRange, type SplitName } from './splits.js';
export { demoScene, renderDemo, writeDemo, DEMO_TARGET, DEMO_SIZE } from './demo.js';
export { render, maskOf, boxOf } from './render.js';
