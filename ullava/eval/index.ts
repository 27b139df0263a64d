// Evaluation: metrics, bootstrap intervals, the evaluation of a manifest, reports, the trainer's hook.
export * from './metrics.js';
export * from './bootstrap.js';
export * from './records.js';
export * from './evaluate.js';
export * from './report.js';
export * from './hook.js';
