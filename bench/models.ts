// Model-level speed: CLIP image encoding, LLaMA prefill and KV-cached decode, SAM image-encoder latency.
// --quick (and any software adapter by default) runs scaled-down configs that keep the real models'
// structure; on a GPU the real shapes (CLIP ViT-L/14, LLaMA-7B, SAM ViT-H) with random bf16 weights.
// The PyTorch peer (bench/peers/models.py) runs the same shapes on the GPU machine.
import { getDevice, Tensor, randn, noGrad, scope, type DType } from '../engine/index.js';
import { LlamaForCausalLM } from '../ullava/models/llama/model.js';
import { KVCache } from '../ullava/models/llama/kv-cache.js';
import { LLAMA_7B, tinyLlamaConfig, type LlamaConfig } from '../ullava/models/llama/config.js';
import { ClipVisionModel } from '../ullava/models/clip/model.js';
import { CLIP_VIT_L14_224, type ClipVisionConfig } from '../ullava/models/clip/config.js';
import { Sam } from '../ullava/models/sam/model.js';
import { samVitH, samTiny, type SamConfig } from '../ullava/models/sam/config.js';
import { timeGpu, printTable, makeReport, writeJson, parseBenchArgs, type BenchOptions } from './common.js';

interface Row { model: string; config: string; dtype: DType; metric: string; value: number; unit: string; ms: number }

interface Configs { llama: LlamaConfig; clip: ClipVisionConfig; sam: SamConfig; prefill: number; decode: number; label: string }

function configs(real: boolean): Configs {
  if (real) return { llama: LLAMA_7B, clip: CLIP_VIT_L14_224, sam: samVitH(), prefill: 512, decode: 64, label: 'real shapes' };
  return {
    llama: tinyLlamaConfig({ vocabSize: 32000, hiddenSize: 512, intermediateSize: 1376, numHiddenLayers: 4, numAttentionHeads: 8,
      numKeyValueHeads: 8, maxPositionEmbeddings: 2048 }),
    clip: { ...CLIP_VIT_L14_224, hiddenSize: 256, intermediateSize: 1024, numHiddenLayers: 4, numAttentionHeads: 4 },
    sam: samTiny({ imageSize: 256, embedDim: 128, depth: 4, numHeads: 4, windowSize: 7, globalAttnIndexes: [3], mlpRatio: 4 }),
    prefill: 128, decode: 32, label: 'scaled-down shapes (software adapter)',
  };
}

export async function run(o: BenchOptions): Promise<void> {
  const device = await getDevice();
  const software = device.describe().adapterType !== 'gpu';
  const c = configs(!o.quick && !software);
  const dtype: DType = software ? 'f32' : 'bf16';
  const sync = () => device.sync();
  const rows: Row[] = [];
  const add = (r: Row) => { rows.push(r); console.log(`${r.model.padEnd(8)} ${r.metric.padEnd(24)} ${r.value.toFixed(2)} ${r.unit}`); };

  if (!o.filter || 'clip'.includes(o.filter)) {
    const clip = new ClipVisionModel(c.clip, { dtype, seed: 1 });
    const px = randn([1, 3, c.clip.imageSize, c.clip.imageSize], 0, 1, { seed: 2, dtype });
    const t = await timeGpu(() => noGrad(() => clip.features(px).dispose()), sync, o.seconds, 10);
    add({ model: 'clip', config: JSON.stringify(c.clip), dtype, metric: 'image encode (layer -2)', value: t.meanMs, unit: 'ms', ms: t.meanMs });
    clip.dispose(); px.dispose();
  }
  if (!o.filter || 'llama'.includes(o.filter)) {
    const lm = new LlamaForCausalLM(c.llama, { dtype, seed: 3 });
    const ids = Tensor.from(Array.from({ length: c.prefill }, (_, i) => (i * 7919) % c.llama.vocabSize), [1, c.prefill], 'i32');
    const prefill = await timeGpu(() => noGrad(() => scope(() => {
      const cache = new KVCache(c.llama, { batch: 1, maxLength: c.prefill + 1, dtype, device });
      lm.forward({ inputIds: ids, kvCache: cache, lastLogitsOnly: true });
      cache.dispose();
    })), sync, o.seconds, 10);
    add({ model: 'llama', config: JSON.stringify(c.llama), dtype, metric: `prefill ${c.prefill} tokens`, value: (c.prefill / prefill.meanMs) * 1000, unit: 'tokens/s', ms: prefill.meanMs });
    // Decode: one token per step against the growing cache, reading back the logits each step as generation does.
    const cache = new KVCache(c.llama, { batch: 1, maxLength: c.prefill + c.decode + 1, dtype, device });
    noGrad(() => scope(() => { lm.forward({ inputIds: ids, kvCache: cache, lastLogitsOnly: true }); }));
    const one = Tensor.from([42], [1, 1], 'i32');
    await sync();
    const t0 = performance.now();
    for (let i = 0; i < c.decode; i++) {
      const logits = noGrad(() => scope(() => lm.forward({ inputIds: one, kvCache: cache, lastLogitsOnly: true }).logits));
      await logits.toArray();
      logits.dispose();
    }
    const ms = (performance.now() - t0) / c.decode;
    add({ model: 'llama', config: JSON.stringify(c.llama), dtype, metric: `decode (after ${c.prefill})`, value: 1000 / ms, unit: 'tokens/s', ms });
    cache.dispose(); one.dispose(); ids.dispose(); lm.dispose();
  }
  if (!o.filter || 'sam'.includes(o.filter)) {
    const sam = new Sam(c.sam, 5);
    if (dtype !== 'f32') sam.to(dtype);
    const S = c.sam.encoder.imageSize;
    const px = randn([1, 3, S, S], 0, 1, { seed: 6, dtype });
    const t = await timeGpu(() => noGrad(() => sam.encodeImage(px).dispose()), sync, o.seconds, 5);
    add({ model: 'sam', config: JSON.stringify(c.sam.encoder), dtype, metric: 'image encoder', value: t.meanMs, unit: 'ms', ms: t.meanMs });
    sam.dispose(); px.dispose();
  }
  console.log();
  printTable(rows.map((r) => ({ model: r.model, metric: r.metric, dtype: r.dtype, value: r.value, unit: r.unit })));
  if (o.json) {
    writeJson(o.json, makeReport('models', device, rows, [c.label, 'random weights; times include waiting for the GPU',
      'peer: PyTorch on the GPU machine (bench/peers) — not run where no GPU machine was lent']));
    console.log(`wrote ${o.json}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(parseBenchArgs(process.argv.slice(2)));
