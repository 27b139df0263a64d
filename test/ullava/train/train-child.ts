// A training run in a child process, for the kill-and-resume and Ctrl-C tests: `node train-child.js JSON`
// with {model, manifest, out, stage, maxSteps, saveSteps, resume}. Prints "STEP n" after every step.
import { readTrainConfig } from '../../../ullava/train/train-config.js';
import { resolveConfigPath } from '../../../ullava/train/builtin-configs.js';
import { readManifest } from '../../../ullava/train/sample.js';
import { train } from '../../../ullava/train/trainer.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { ULLAVA_LOSS_FUNCTIONS } from '../../../ullava/train/loss-functions.js';

const a = JSON.parse(process.argv[2]) as { model: string; manifest: string; out: string; stage: 'stage2' | 'stage2-lora'; maxSteps: number; saveSteps: number; resume: boolean };
const cfg = await readTrainConfig(resolveConfigPath(a.stage));
Object.assign(cfg.training, { dtype: 'f32', batchSize: 2, maxLength: 64, warmupRatio: 0.2, learningRate: 1e-3, maxSteps: a.maxSteps, saveSteps: a.saveSteps, saveTotalLimit: 3 });
const l = await loadUllava(a.model, { dtype: 'f32' });
const r = await train({ model: l.model, tokenizer: l.tokenizer, modelDir: a.model, config: cfg, samples: await readManifest(a.manifest), out: a.out,
  resume: a.resume, losses: ULLAVA_LOSS_FUNCTIONS, progress: false, say: () => undefined,
  onStep: (m) => process.stdout.write(`STEP ${m.step}\n`) });
process.stdout.write(`DONE ${r.lastStep} ${r.interrupted ? 'interrupted' : 'complete'}\n`);
