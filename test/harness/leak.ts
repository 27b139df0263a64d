// The leak check shared by the training-loop tests: after a first step has sized every pool and cache,
// `steps` more steps must leave the device's live bytes exactly where they were.
import * as assert from 'uvu/assert';
import type { Device, Tensor } from '../../engine/index.js';

/** Runs `step` 1 + `steps` times; asserts live bytes stay flat; returns the first and the last loss. */
export async function assertStepsLeakNothing(dev: Device, step: () => Tensor, steps: number): Promise<{ first: number; last: number }> {
  const firstLoss = step();
  const first = await firstLoss.item();
  firstLoss.dispose();
  await dev.sync();
  const baseline = dev.memory().liveBytes;
  let last = 0;
  for (let i = 0; i < steps; i++) {
    const l = step();
    if (i === steps - 1) last = await l.item();
    l.dispose();
  }
  await dev.sync();
  assert.equal(dev.memory().liveBytes, baseline, `live bytes after ${steps} steps`);
  return { first, last };
}
