// `ullava merge-lora --model DIR --adapter PATH --out DIR`: folds LoRA adapters (from a `ullava train`
// checkpoint of a LoRA stage) into the weights: W' = W + (alpha / r) · B·A on every adapted projection.
// The result is a plain model directory in the published key layout (no adapter keys), which every
// command loads and which runs at the base model's cost.
import { copyFile, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { parseOptions, loadModel, ensureDir } from './model-options.js';
import { loadModuleWeights } from '../../nn/io/load-module.js';
import { writeShardedSafetensors } from '../../nn/io/convert.js';
import { applyLora, loraLayers, isLoraKey } from '../train/stages.js';
import { tensorToWrite } from '../train/checkpoint.js';

const OPTIONS = {
  model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' }, quiet: { type: 'boolean' },
} as const;

const USAGE = `usage: ullava merge-lora --model DIR --adapter PATH --out DIR [--dtype D]

Folds LoRA adapters into the model's weights (W + alpha/r * B A on each adapted projection) and writes
a model directory without adapters, loadable by every command.

  --model DIR      the base model (a checkpoint directory of the LoRA run holds it, with its adapters)
  --adapter PATH   adapter_model.safetensors, or the directory holding it and adapter_config.json
                   (r, lora_alpha, target_modules), as \`ullava train\` writes them
  --out DIR        where the merged model goes (config.json, model.safetensors, tokenizer files)
  --dtype D        dtype to load and write the weights in (default f32: the merge adds in f32)`;

const MODEL_FILES = ['config.json', 'tokenizer.model', 'added_tokens.json', 'special_tokens_map.json', 'tokenizer_config.json'];

export const mergeLoraCommand: CliCommand = {
  name: 'merge-lora',
  summary: 'fold LoRA adapters of a training checkpoint into the weights',
  usage: USAGE,
  async run(argv) {
    const { values } = parseOptions(argv, OPTIONS);
    if (!values.model || !values.adapter || !values.out) throw new UsageError('--model, --adapter and --out are required');
    const isDir = await stat(values.adapter).then((s) => s.isDirectory(), () => { throw new Error(`--adapter ${values.adapter}: no such file or directory`); });
    const adapterFile = isDir ? join(values.adapter, 'adapter_model.safetensors') : values.adapter;
    const cfgPath = join(isDir ? values.adapter : dirname(values.adapter), 'adapter_config.json');
    let ac: { r?: unknown; lora_alpha?: unknown; target_modules?: unknown };
    try { ac = JSON.parse(await readFile(cfgPath, 'utf8')); } catch (e) {
      throw new Error(`${cfgPath}: cannot read the adapter's config (${(e as Error).message}); it says r, lora_alpha and target_modules`);
    }
    const targets = ac.target_modules;
    if (!Number.isInteger(ac.r) || (ac.r as number) < 1 || typeof ac.lora_alpha !== 'number' || !Array.isArray(targets) ||
      !targets.every((t) => ['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(t))) {
      throw new Error(`${cfgPath}: expected r (integer >= 1), lora_alpha (number) and target_modules (of q_proj, k_proj, v_proj, o_proj), got ${JSON.stringify(ac)}`);
    }
    const loaded = await loadModel({ model: values.model, dtype: values.dtype ?? 'f32', quiet: values.quiet });
    const { model } = loaded;
    try {
      applyLora(model, { r: ac.r as number, alpha: ac.lora_alpha, dropout: 0, targetModules: targets }, 0);
      // Strict on the adapters: every lora_A / lora_B of the model must be in the file, and nothing else.
      await loadModuleWeights(model, adapterFile, { optional: (k) => !isLoraKey(k), where: adapterFile });
      const layers = loraLayers(model);
      for (const [, l] of layers) l.merge();
      await ensureDir(values.out);
      const tensors = [...model.stateDict()].filter(([k]) => !isLoraKey(k)).map(([k, t]) => tensorToWrite(k, t));
      const files = await writeShardedSafetensors(values.out, 'model', tensors);
      for (const f of MODEL_FILES) {
        if (await stat(join(values.model, f)).then(() => true, () => false)) await copyFile(join(values.model, f), join(values.out, f));
      }
      if (!values.quiet) process.stderr.write(`merged ${layers.length} LoRA layers (r ${ac.r}, alpha ${ac.lora_alpha}) into ${join(values.out, files[0])}\n`);
    } finally { model.dispose(); }
    return 0;
  },
};
