// bench/gpu.ts part "sam": SAM ViT-H's image encoder (1024x1024, batch 1, random bf16 weights) through
// ours against a PyTorch encoder of the same structure written from torch ops in bench/peers/torch_gpu.py
// (segment-anything is not installed on the GPU machine), on the same GPU in the same run.
import { randn, noGrad, type Device } from '../engine/index.js';
import { ImageEncoderViT } from '../ullava/models/sam/image-encoder.js';
import { samVitH, samTiny, type SamEncoderConfig } from '../ullava/models/sam/config.js';
import { runPeer, timeBatched, type GpuArgs } from './gpu-run.js';

export function samEncoderConfig(quick: boolean): SamEncoderConfig {
  return quick ? samTiny({ imageSize: 128, embedDim: 64, depth: 2, numHeads: 2, windowSize: 4, globalAttnIndexes: [1], mlpRatio: 4 }).encoder
    : samVitH().encoder;
}

export async function samPart(args: GpuArgs, device: Device, rec: Record<string, unknown>, deadline: number): Promise<'ok' | 'partial'> {
  const config = samEncoderConfig(args.quick);
  const dtype = 'bf16';
  rec.config = config;
  rec.dtype = dtype;
  rec.notes = ['image encoder only (patch embed, blocks, neck), batch 1, random weights; time per image, median of batches',
    "peer: segment-anything's ImageEncoderViT structure in torch ops, attention as the official code (materialised scores + decomposed rel-pos) and with SDPA + bias"];
  const enc = new ImageEncoderViT(config);
  enc.to(dtype);
  const px = randn([1, 3, config.imageSize, config.imageSize], 0, 1, { seed: 6, dtype });
  try {
    const t = await timeBatched(() => noGrad(() => enc.forward(px)).dispose(), () => device.sync(), { targetMs: 1, seconds: args.quick ? 1 : 6, maxReps: 1 });
    rec.ours = { msPerImage: t.msPerOp, batchesMs: t.batchMs };
    console.log(`[gpu]   sam encoder: ours ${t.msPerOp.toFixed(1)} ms/image`);
  } finally { enc.dispose(); px.dispose(); device.trimPool(); }
  const left = (deadline - performance.now()) / 1000;
  const torch = await runPeer(args, 'sam', { config, dtype, seconds: args.quick ? 1 : 5 }, left) as { error?: string; variants?: { name: string; msPerImage: number }[] };
  rec.torch = torch;
  const best = torch.variants?.filter((v) => v.msPerImage).sort((a, b) => a.msPerImage - b.msPerImage)[0];
  // torch's time / ours: above 1, ours is faster.
  rec.oursSpeedupVsTorchBest = best && rec.ours ? best.msPerImage / (rec.ours as { msPerImage: number }).msPerImage : null;
  return torch.error ? 'partial' : 'ok';
}
