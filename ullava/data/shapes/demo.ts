// The README's demo picture, docs/demo.png: a fixed shapes-world scene with one red square (and a blue
// circle and a green triangle beside it), so a test can compare the model's mask of "the red square" with
// the generator's exact mask. Regenerate it with `ullava data shapes --demo docs`.
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { encodeGrayPng, encodeRgbPng } from '../../media/png.js';
import { maskOf, render, type Rendered } from './render.js';
import type { Scene } from './scene.js';

export const DEMO_SIZE = 128;

/** The demo scene at `size` x `size` (positions and radii are fractions of the size). */
export function demoScene(size = DEMO_SIZE): Scene {
  return {
    width: size, height: size,
    background: { pattern: 'plain', tone: [235, 232, 220], contrast: 0, period: 4 },
    shapes: [
      { kind: 'square', colour: 'red', size: 'large', cx: 0.3 * size, cy: 0.32 * size, r: 0.19 * size },
      { kind: 'circle', colour: 'blue', size: 'large', cx: 0.7 * size, cy: 0.66 * size, r: 0.2 * size },
      { kind: 'triangle', colour: 'green', size: 'small', cx: 0.76 * size, cy: 0.22 * size, r: 0.09 * size },
    ],
  };
}

/** The index of the red square in demoScene's shapes. */
export const DEMO_TARGET = 0;

export function renderDemo(size = DEMO_SIZE): Rendered { return render(demoScene(size)); }

/** Writes demo.png and demo-mask.png (the red square, 0/255) into `dir`; returns their paths. */
export async function writeDemo(dir: string, size = DEMO_SIZE): Promise<{ image: string; mask: string }> {
  const r = renderDemo(size);
  await mkdir(dir, { recursive: true });
  const image = join(dir, 'demo.png'), mask = join(dir, 'demo-mask.png');
  await writeFile(image, encodeRgbPng(r.image));
  await writeFile(mask, encodeGrayPng(maskOf(r, DEMO_TARGET).map((v) => v * 255), size, size));
  return { image, mask };
}
