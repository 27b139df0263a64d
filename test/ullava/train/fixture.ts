// What the training tests train: the tiny u-LLaVA in the published layout, but with a 28 px CLIP (4 image
// tokens instead of 256, so a sample is ~60 tokens and a step takes a fraction of a second on lavapipe),
// and a few synthetic samples: an image with one coloured rectangle, its mask, and a conversation asking
// to segment it ("Sure. Info: [SEG]."), written as a manifest in the trainer's JSONL format.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDevice, getRandomState, manualSeed, setRandomState } from '../../../engine/index.js';
import { writeShardedSafetensors } from '../../../nn/io/convert.js';
import { tinyUllavaConfigJSON, writeUllavaTokenizer } from '../../../ullava/models/ullava/tiny.js';
import { ullavaConfigFromJSON } from '../../../ullava/models/ullava/config.js';
import { UllavaForCausalLM } from '../../../ullava/models/ullava/model.js';
import { tensorToWrite } from '../../../ullava/train/checkpoint.js';
import { encodeRgbPng, encodeGrayPng } from '../../../ullava/media/index.js';

export function smallTrainConfigJSON(layout: 'published' | 'head' = 'published'): Record<string, unknown> {
  const j = tinyUllavaConfigJSON(layout) as { llm_config: { vision_config: Record<string, unknown> } };
  j.llm_config.vision_config = { ...j.llm_config.vision_config, image_size: 28 };
  return j;
}

const cache = new Map<string, Promise<string>>();

/** A model directory (config.json, model.safetensors, tokenizer files), written once per test process. */
export function smallTrainModelDir(layout: 'published' | 'head' = 'published'): Promise<string> {
  if (!cache.has(layout)) {
    cache.set(layout, (async () => {
      const dir = await mkdtemp(join(tmpdir(), `ullava-train-model-${layout}-`));
      await getDevice();
      const json = smallTrainConfigJSON(layout);
      // Parts of the model draw from the default random stream: seed it, so the weights do not depend on
      // which tests ran before (the overfit and gradient tests are sensitive to the initialisation).
      const saved = getRandomState();
      manualSeed(99);
      const model = new UllavaForCausalLM(ullavaConfigFromJSON(json, 'small train model', layout), { seed: 99 });
      setRandomState(saved);
      try {
        await writeShardedSafetensors(dir, 'model', [...model.stateDict()].map(([k, t]) => tensorToWrite(k, t)));
      } finally { model.dispose(); }
      await writeFile(join(dir, 'config.json'), JSON.stringify(json, null, 2) + '\n');
      await writeUllavaTokenizer(dir, layout === 'head');
      return dir;
    })());
  }
  return cache.get(layout)!;
}

const COLORS: [number, number, number][] = [[230, 40, 40], [40, 200, 60], [40, 80, 230], [220, 200, 30], [200, 60, 200], [30, 200, 200], [250, 140, 20], [120, 120, 120]];
const NAMES = ['red', 'green', 'blue', 'yellow', 'purple', 'cyan', 'orange', 'grey'];

/** n samples (n <= 8) in `dir`: image_i.png (W x H), mask_i.png, and train.jsonl. Returns the manifest path. */
export async function writeTrainData(dir: string, n: number, o: { width?: number; height?: number; boxes?: boolean } = {}): Promise<string> {
  const W = o.width ?? 32, H = o.height ?? 32;
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    // Rectangles at different places and sizes on a mid-grey background, on the 8-pixel grid that the tiny
    // SAM's 16-pixel patches make of a 32-pixel image (so a mask is a union of embedding cells).
    const x0 = 8 * (i % 3), y0 = 8 * (Math.floor(i / 3) % 3), x1 = Math.min(W, x0 + 8 * (1 + (i % 2))), y1 = Math.min(H, y0 + 8 * (1 + (Math.floor(i / 2) % 2)));
    const rgb = new Uint8Array(W * H * 3).fill(90);
    const mask = new Uint8Array(W * H);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { rgb.set(COLORS[i % 8], 3 * (y * W + x)); mask[y * W + x] = 255; }
    await writeFile(join(dir, `image_${i}.png`), encodeRgbPng({ width: W, height: H, data: rgb }));
    await writeFile(join(dir, `mask_${i}.png`), encodeGrayPng(mask, W, H));
    const answer = o.boxes ? 'Sure. Mask: [SEG]; Location: [LOC].' : 'Sure. Info: [SEG].';
    lines.push(JSON.stringify({
      image: `image_${i}.png`,
      conversations: [{ from: 'human', value: `<image>\nSegment the ${NAMES[i % 8]} box.` }, { from: 'gpt', value: answer }],
      masks: [`mask_${i}.png`],
      ...(o.boxes ? { boxes: [[x0, y0, x1 - 1, y1 - 1]] } : {}),
    }));
  }
  const manifest = join(dir, 'train.jsonl');
  await writeFile(manifest, lines.join('\n') + '\n');
  return manifest;
}
